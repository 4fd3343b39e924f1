"""The Chat port's Slack adapter, on the official WebClient: renders with blocks/, retries 429s and 5xx."""

from __future__ import annotations

import logging
import re
import time
from dataclasses import replace

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_handlers import RateLimitErrorRetryHandler, ServerErrorRetryHandler

from blocks.card import card_blocks, card_text, to_dicts
from blocks.ids import USER_ID
from bot.errors import ChatDestinationError
from bot.ports import PostedCard
from bot.snapshot import CardRef, FollowUpView

log = logging.getLogger(__name__)


DESTINATION_ERRORS = {"not_in_channel", "channel_not_found", "is_archived", "user_not_found", "cannot_dm_bot"}
LOOKUP_TTL = 3600.0  # a rep who joins Slack is found within the hour


AWAY_MARKS = (
    "out of office", "ooo", "vacation", "holiday", "on leave", "parental leave", "sick",
    ":palm_tree:", ":airplane:", ":face_with_thermometer:", ":beach_with_umbrella:",
)  # fmt: skip


def web_client(token: str, *, base_url: str | None, timeout: float) -> WebClient:
    """The official client with a timeout and slack_sdk's own retry handlers: rate limits (honouring
    Retry-After) and server errors, besides the default one for dropped connections."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL, timeout=int(max(1, timeout)))
    client.retry_handlers.extend(
        [
            RateLimitErrorRetryHandler(max_retry_count=2),
            ServerErrorRetryHandler(max_retry_count=1),
        ]
    )
    return client


class SlackChat:
    def __init__(self, client: WebClient) -> None:
        self.client = client
        self._tz: dict[str, str | None] = {}
        self._by_email: dict[str, tuple[float, str | None]] = {}

    def find_user_by_email(self, email: str) -> str | None:
        """Slack user id for an email; remembered for an hour, so a scan asks once per rep."""
        key = email.lower()
        cached = self._by_email.get(key)
        if cached and time.monotonic() - cached[0] < LOOKUP_TTL:
            return cached[1]
        try:
            user_id: str | None = self.client.users_lookupByEmail(email=email)["user"]["id"]
        except SlackApiError as exc:
            if exc.response.get("error") != "users_not_found":
                raise
            user_id = None
        self._by_email[key] = (time.monotonic(), user_id)
        return user_id

    def user_timezone(self, user_id: str) -> str | None:
        if user_id not in self._tz:
            try:
                self._tz[user_id] = self.client.users_info(user=user_id)["user"].get("tz")
            except SlackApiError:
                log.warning("users.info failed for %s; using UTC", user_id)
                return None
        return self._tz[user_id]

    def is_away(self, user_id: str) -> bool:
        """Their Slack status says they are away (out of office, vacation, sick): new leads skip them."""
        try:
            profile = self.client.users_info(user=user_id)["user"].get("profile") or {}
        except SlackApiError:
            return False  # unknown: they stay in the rotation
        text = f"{profile.get('status_text') or ''} {profile.get('status_emoji') or ''}".lower()
        return any(mark in text for mark in AWAY_MARKS)

    def is_person(self, user_id: str) -> bool:
        """A real, active, human member of this workspace (asked each time: it decides who may act)."""
        try:
            user = self.client.users_info(user=user_id)["user"]
        except SlackApiError as exc:
            if exc.response.get("error") in ("user_not_found", "users_not_found"):
                return False
            raise
        return user.get("id") == user_id and not user.get("deleted") and not user.get("is_bot")

    def _for_reader(self, followup: FollowUpView, channel: str) -> FollowUpView:
        """A card in a rep's DM writes its times in the rep's Slack zone (else the team's stays). It is
        posted to the user id and refreshed through the DM's channel id, which stands for the owner."""
        reader = channel if re.fullmatch(USER_ID, channel) else None
        if reader is None and channel.startswith("D"):
            reader = followup.owner_slack_id
        if not reader:
            return followup
        try:
            zone = self.user_timezone(reader)
        except Exception:  # the zone only shapes fallback text: never a reason not to post the card
            log.warning("no time zone for %s; the card keeps the team's", reader, exc_info=True)
            return followup
        return replace(followup, viewer_tz=zone) if zone else followup

    def show(self, followup: FollowUpView, channel: str, *, kind: str = "card") -> PostedCard:
        followup = self._for_reader(followup, channel)
        blocks = to_dicts(card_blocks(followup, escalation=kind == "escalation", alert=kind == "alert"))
        try:
            resp = self.client.chat_postMessage(
                channel=channel, blocks=blocks, text=card_text(followup), unfurl_links=False
            )
        except SlackApiError as exc:
            error = exc.response.get("error")
            if error in DESTINATION_ERRORS:
                raise ChatDestinationError(str(error)) from exc
            raise
        posted_channel, ts = resp["channel"], resp["ts"]
        permalink = None
        try:
            permalink = self.client.chat_getPermalink(channel=posted_channel, message_ts=ts)["permalink"]
        except SlackApiError:
            log.warning("no permalink for %s/%s", posted_channel, ts)
        return PostedCard(channel=posted_channel, ts=ts, permalink=permalink)

    def notify(self, user_id: str, text: str) -> None:
        self.client.chat_postMessage(channel=user_id, text=text)

    def upload_image(self, png: bytes, *, filename: str, title: str, channel: str | None) -> str:
        """Slack's current upload flow (files.getUploadURLExternal, the upload, files.completeUploadExternal),
        as slack_sdk's files_upload_v2 runs it."""
        done = self.client.files_upload_v2(content=png, filename=filename, title=title, channel=channel)
        return str(done["file"]["id"])

    def post_blocks(self, channel: str, blocks: list[dict], text: str) -> str:
        return str(self.client.chat_postMessage(channel=channel, blocks=blocks, text=text)["ts"])

    def publish_home(self, user_id: str, blocks: list[dict]) -> None:
        self.client.views_publish(user_id=user_id, view={"type": "home", "blocks": blocks})

    def refresh(self, followup: FollowUpView, card: CardRef) -> None:
        followup = self._for_reader(followup, card.channel)
        blocks = to_dicts(
            card_blocks(followup, escalation=card.kind == "escalation", alert=card.kind == "alert")
        )
        self.client.chat_update(channel=card.channel, ts=card.ts, blocks=blocks, text=card_text(followup))
