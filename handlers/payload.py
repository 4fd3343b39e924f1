"""Every Slack request the app accepts, as typed models: the one place a payload's shape is checked.

The HTTP gate parses each signed request into one of these before Bolt sees it, and hands Bolt the model's
own dump instead of the raw body, so no listener (and none of Bolt's internals) ever reads a field of the
wrong type or a value the app did not expect. Listeners read the same models (`parse`) from the body Bolt
gives them. Unknown fields are dropped; a field the app uses that is missing, of the wrong type or out of
range makes the whole request invalid."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from blocks.ids import (
    CONVERSATION_ID,
    MESSAGE_TS,
    TEAM_ID,
    USER_ID,
    ActionId,
    CallbackId,
    SnoozeChoice,
)
from blocks.modals import ModalContext

UserId = Annotated[str, StringConstraints(pattern=USER_ID)]
ConversationId = Annotated[str, StringConstraints(pattern=CONVERSATION_ID)]
TeamId = Annotated[str, StringConstraints(pattern=TEAM_ID)]
MessageTs = Annotated[str, StringConstraints(pattern=MESSAGE_TS)]
Token = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9._-]{1,255}$")]
Short = Annotated[str, StringConstraints(max_length=255)]
FOLLOWUP_VALUE = r"^[1-9][0-9]{0,11}$"
SNOOZE_VALUE = rf"^[1-9][0-9]{{0,11}}:({'|'.join(c.value for c in SnoozeChoice)})$"
# buttons whose value is the follow-up's id; the snooze menu's is "<id>:<choice>"; link buttons carry none
ID_VALUED = {
    ActionId.CARD_APPROVE,
    ActionId.CARD_EDIT,
    ActionId.CARD_ESCALATE,
    ActionId.CARD_RETRY,
    ActionId.CARD_DISMISS,
    ActionId.CARD_MARK_SENT,
    ActionId.CARD_RESEND,
    ActionId.CARD_RETRY_LOG,
    ActionId.CARD_CANCEL_SEND,
    ActionId.CARD_HISTORY,
}
LINK_BUTTONS = {ActionId.CARD_OPEN_ORIGINAL, ActionId.STATUS_OPEN_CARD}


class Invalid(ValueError):
    """The request does not fit: the message names what, never echoing the request's own text."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


ResponseUrl = Annotated[str, StringConstraints(max_length=2000)]


class User(_Model):
    id: UserId


class Team(_Model):
    id: TeamId


class Channel(_Model):
    id: ConversationId


class Container(_Model):
    type: Short | None = None
    channel_id: ConversationId | None = None
    message_ts: MessageTs | None = None


class Message(_Model):
    ts: MessageTs


class SelectedOption(_Model):
    value: Annotated[str, StringConstraints(max_length=2000)]


class ActionItem(_Model):
    action_id: ActionId
    block_id: Short | None = None
    type: Short | None = None
    value: Annotated[str, StringConstraints(max_length=2000)] | None = None
    selected_option: SelectedOption | None = None
    action_ts: Short | None = None

    @model_validator(mode="after")
    def _value_fits(self) -> ActionItem:
        if self.action_id in ID_VALUED and not re.fullmatch(FOLLOWUP_VALUE, self.value or ""):
            raise ValueError("the button's value is not a follow-up id")
        if self.action_id is ActionId.CARD_SNOOZE and not (
            self.selected_option and re.fullmatch(SNOOZE_VALUE, self.selected_option.value)
        ):
            raise ValueError("the snooze choice is not one the app offers")
        if self.action_id not in ID_VALUED | LINK_BUTTONS | {ActionId.CARD_SNOOZE}:
            raise ValueError("that action id belongs to a modal input, not a button")
        return self


class BlockActions(_Model):
    type: Literal["block_actions"]
    user: User
    team: Team | None = None
    api_app_id: Short | None = None
    trigger_id: Token
    response_url: ResponseUrl | None = None
    channel: Channel | None = None
    container: Container | None = None
    message: Message | None = None
    actions: list[ActionItem] = Field(min_length=1, max_length=1)

    @property
    def actor(self) -> str:
        return self.user.id

    @property
    def action(self) -> ActionItem:
        return self.actions[0]

    @property
    def followup_id(self) -> int:
        value = self.action.selected_option.value if self.action.selected_option else self.action.value
        return int((value or "").partition(":")[0])

    @property
    def snooze_choice(self) -> SnoozeChoice:
        assert self.action.selected_option is not None
        return SnoozeChoice(self.action.selected_option.value.partition(":")[2])

    @property
    def card(self) -> tuple[str | None, str | None]:
        """(channel, message ts) of the card the button was clicked on."""
        container = self.container or Container()
        channel = self.channel.id if self.channel else container.channel_id
        ts = self.message.ts if self.message else container.message_ts
        return channel, ts

    @property
    def response_urls(self) -> list[str]:
        return [self.response_url] if self.response_url else []


class SharedMessage(_Model):
    ts: MessageTs
    text: Annotated[str, StringConstraints(max_length=40_000)] = ""
    user: UserId | None = None


class MessageShortcut(_Model):
    """The message shortcut "Follow up on this" on a message (a forwarded intro, a pasted email)."""

    type: Literal["message_action"]
    callback_id: Literal["followup-message-lead"]
    trigger_id: Token
    user: User
    team: Team | None = None
    api_app_id: Short | None = None
    channel: Channel
    message: SharedMessage
    message_ts: MessageTs | None = None
    response_url: ResponseUrl | None = None

    @property
    def actor(self) -> str:
        return self.user.id

    @property
    def response_urls(self) -> list[str]:
        return [self.response_url] if self.response_url else []


class InputValue(_Model):
    type: Short | None = None
    value: Annotated[str, StringConstraints(max_length=3000)] | None = None
    selected_user: UserId | None = None
    selected_option: SelectedOption | None = None


class ViewState(_Model):
    values: dict[Short, dict[Short, InputValue]] = Field(default_factory=dict, max_length=100)


class SubmittedView(_Model):
    id: Short | None = None
    type: Literal["modal"]
    callback_id: CallbackId
    hash: Short | None = None
    private_metadata: Annotated[str, StringConstraints(max_length=3000)]
    state: ViewState

    @property
    def context(self) -> ModalContext:
        return ModalContext.model_validate_json(self.private_metadata)

    def value(self, block_id: str, action_id: str) -> InputValue:
        return self.state.values.get(block_id, {}).get(action_id) or InputValue()

    @model_validator(mode="after")
    def _context_fits(self) -> SubmittedView:
        try:
            self.context  # noqa: B018 - parsed here so a bad one is refused before any listener runs
        except ValidationError:
            raise ValueError("private_metadata is not this app's modal context") from None
        return self


class ResponseUrlItem(_Model):
    response_url: ResponseUrl
    channel_id: ConversationId | None = None
    block_id: Short | None = None
    action_id: Short | None = None


class ViewSubmission(_Model):
    type: Literal["view_submission"]
    user: User
    team: Team | None = None
    api_app_id: Short | None = None
    trigger_id: Token | None = None
    view: SubmittedView
    response_urls: list[ResponseUrlItem] = Field(default_factory=list, max_length=10)

    @property
    def actor(self) -> str:
        return self.user.id

    @property
    def card(self) -> tuple[str | None, str | None]:
        ctx = self.view.context
        return ctx.channel, ctx.ts


class SlashCommand(_Model):
    command: Literal["/followup"]
    text: Annotated[str, StringConstraints(max_length=4000)] = ""
    user_id: UserId
    channel_id: ConversationId | None = None
    team_id: TeamId | None = None
    api_app_id: Short | None = None
    trigger_id: Token | None = None
    response_url: ResponseUrl

    @property
    def actor(self) -> str:
        return self.user_id

    @property
    def response_urls(self) -> list[str]:
        return [self.response_url]


class HomeOpened(_Model):
    type: Literal["app_home_opened"]
    user: UserId
    tab: Short | None = None
    channel: ConversationId | None = None


class Authorization(_Model):
    team_id: TeamId | None = None
    user_id: UserId | None = None
    is_bot: bool = False
    enterprise_id: Short | None = None
    is_enterprise_install: bool = False


class EventCallback(_Model):
    type: Literal["event_callback"]
    team_id: TeamId
    api_app_id: Short | None = None
    event_id: Short
    event_time: int
    event: HomeOpened
    authorizations: list[Authorization] = Field(default_factory=list, max_length=10)

    @property
    def actor(self) -> str:
        return self.event.user


class UrlVerification(_Model):
    type: Literal["url_verification"]
    challenge: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9_-]{1,200}$")]


Interactive = Annotated[BlockActions | ViewSubmission | MessageShortcut, Field(discriminator="type")]
Incoming = BlockActions | ViewSubmission | MessageShortcut | SlashCommand | EventCallback | UrlVerification
_interactive: TypeAdapter[BlockActions | ViewSubmission | MessageShortcut] = TypeAdapter(Interactive)
HANDLED_EVENTS = {"app_home_opened"}


def _fail(exc: ValidationError) -> Invalid:
    """Name the first problem by the app's own field names (never the payload's text or its own keys)."""
    err = exc.errors()[0]
    where = ".".join(str(p) if isinstance(p, int) or p in _NAMES else "*" for p in err["loc"])
    if err["type"] == "value_error":
        return Invalid(str(err.get("ctx", {}).get("error", err["msg"])))
    return Invalid(f"{where or 'payload'}: {err['msg']}")


def _field_names(*models: type[BaseModel]) -> frozenset[str]:
    names: set[str] = {"block_actions", "view_submission", "message_action"}  # the union's tags
    for model in models:
        names |= set(model.model_fields)
    return frozenset(names)


_NAMES = _field_names(
    BlockActions,
    ActionItem,
    SelectedOption,
    Container,
    Message,
    ViewSubmission,
    SubmittedView,
    ViewState,
    InputValue,
    ResponseUrlItem,
    SlashCommand,
    EventCallback,
    HomeOpened,
    Authorization,
    UrlVerification,
    User,
    Team,
    Channel,
    MessageShortcut,
    SharedMessage,
)


def parse(body: dict[str, Any]) -> Incoming:
    """The typed request for a body (as Bolt gives it, or as the gate decoded it); raises Invalid."""
    if not isinstance(body, dict):
        raise Invalid("the request is not an object")
    try:
        kind = body.get("type")
        if "command" in body:
            return SlashCommand.model_validate(body)
        if kind == "event_callback":
            return EventCallback.model_validate(body)
        if kind == "url_verification":
            return UrlVerification.model_validate(body)
        if kind in ("block_actions", "view_submission", "message_action"):
            return _interactive.validate_python(body)
    except ValidationError as exc:
        raise _fail(exc) from None
    raise Invalid("not a request type this app handles")


def event_type(body: dict[str, Any]) -> str | None:
    """The inner event's type of an event callback; events the app does not subscribe to are ignored."""
    event = body.get("event")
    kind = event.get("type") if isinstance(event, dict) else None
    return kind if isinstance(kind, str) else None


def response_url_allowed(url: str, slack_api_url: str | None) -> bool:
    """Only Slack's own hooks host (or a configured Slack API stand-in's) may receive answers, so a forged
    response_url can't make the app post a rep's queue elsewhere."""
    parts = urlsplit(url)
    if parts.scheme == "https" and parts.hostname == "hooks.slack.com":
        return True
    if slack_api_url:
        api = urlsplit(slack_api_url)
        return (parts.scheme, parts.netloc) == (api.scheme, api.netloc)
    return False


def dump(request: Incoming) -> dict[str, Any]:
    return request.model_dump(mode="json", exclude_none=True)
