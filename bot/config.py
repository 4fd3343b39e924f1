"""`followup.toml`: everything that is not a secret or an address. Validated on load."""

from __future__ import annotations

import tomllib
from datetime import time
from pathlib import Path
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    create_model,
    field_validator,
    model_validator,
)

from bot.errors import ConfigError

DEFAULT_CONFIG_PATH = Path("followup.toml")


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Hours(_Section):
    """Working hours: a start before the end, on at least one day of the week (0 = Monday … 6 = Sunday)."""

    start: time = time(9, 0)
    end: time = time(17, 0)
    workdays: list[Annotated[int, Field(ge=0, le=6)]] = Field(default_factory=lambda: [0, 1, 2, 3, 4])

    @field_validator("end")
    @classmethod
    def _end_after_start(cls, value: time, info):  # type: ignore[no-untyped-def]
        start = info.data.get("start")
        if start is not None and value <= start:
            raise ValueError("must be later than start")
        return value

    @field_validator("workdays")
    @classmethod
    def _some_day(cls, value: list[int]) -> list[int]:
        if not value:
            raise ValueError("needs at least one day (0 = Monday … 6 = Sunday)")
        return value


class BusinessHours(_Hours):
    timezone: str = "America/New_York"
    holidays_country: str | None = "US"  # "" or None: no holidays

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r} (use an IANA name like 'Europe/Berlin')") from None
        return value

    @field_validator("holidays_country")
    @classmethod
    def _known_country(cls, value: str | None) -> str | None:
        if value:
            import holidays

            if value not in holidays.list_supported_countries():
                raise ValueError(f"unknown country code {value!r} for public holidays")
        return value


def _triggers_model() -> type[BaseModel]:
    """One section per registered rule, named after it, with the rule's own config model."""
    from bot.triggers.registry import RULES

    fields: dict[str, Any] = {
        rule.name: (rule.config, Field(default_factory=rule.config, description=rule.label)) for rule in RULES
    }
    return create_model("Triggers", __base__=_Section, **fields)


Triggers = _triggers_model()


class PipelineConfig(_Section):
    """Deal stages that mean the deal is over, by id or label. With HubSpot, every pipeline's closed stages
    are found from the pipelines themselves; stages listed here are added to them."""

    won_stages: list[str] = Field(default_factory=lambda: ["closedwon"])
    lost_stages: list[str] = Field(default_factory=lambda: ["closedlost"])


class Pacing(_Section):
    """How often one contact hears from the team, whatever triggered the follow-up."""

    quiet_business_days: Annotated[
        int,
        Field(
            ge=0,
            le=30,
            description="No new follow-up for a contact who got an email from us or their rep this many "
            "business days ago or less (unless they wrote back since). 0 turns it off.",
        ),
    ] = 2


class Sequences(_Section):
    """What happens around every rule's sequence (each rule's own `sequence` sets its touches)."""

    completed_after_business_days: Annotated[
        int,
        Field(
            ge=1,
            le=30,
            description="Business days after the break-up email with no reply before the sequence counts as "
            "completed (the contact is marked in the CRM and never re-enters that rule's sequence).",
        ),
    ] = 3
    nurture_after_days: Annotated[
        int,
        Field(
            ge=0,
            le=365,
            description="Days after a sequence completes when a nurture check-in (the closed_lost_nurture "
            "rule's sequence) comes due; 0: no nurture hand-off.",
        ),
    ] = 0
    crm_property: str = Field(
        default="followup_sequence_status",
        pattern=r"^[a-z][a-z0-9_]{0,99}$",
        description="The contact property set to 'completed: <rule> <date>' (HubSpot: a text property).",
    )


class Sending(_Hours):
    """When approved emails leave: inside the recipient's working hours (their time zone when the CRM has
    it, else the team's), at most `mailbox_daily_cap` a day from one mailbox, `spacing_minutes` apart."""

    mailbox_daily_cap: Annotated[int, Field(ge=1, le=2000)] = 80
    spacing_minutes: Annotated[
        int, Field(ge=0, le=120, description="Minutes between two sends from one mailbox; 0: no spacing.")
    ] = 3


class Budget(_Section):
    """How many new cards one rep gets a day; the rest wait in their queue, most valuable first."""

    cards_per_rep_per_day: Annotated[
        int,
        Field(
            ge=0,
            le=500,
            description="New cards a rep gets per working day (team calendar); 0: no limit.",
        ),
    ] = 12


class Inbound(_Section):
    """New leads arriving by webhook or POST /inbound: where hot ones are announced, and how fast someone
    must act."""

    hot_channel: str | None = Field(default=None, description="Channel for hot-lead alerts (id, C…).")
    support_channel: str | None = Field(
        default=None, description="Channel where existing customers' support requests go (id, C…)."
    )
    hot_score: Annotated[int, Field(ge=0, le=100)] = Field(
        default=70,
        description="A lead whose score (the mean of fit, intent and urgency) reaches this is hot.",
    )
    enterprise_employees: Annotated[int, Field(ge=1)] = Field(
        default=1000, description="A company (or a stated team) this large makes a lead hot."
    )
    sla_business_hours: Annotated[float, Field(gt=0, le=40)] = Field(
        default=1.0,
        description="Business hours a hot lead may wait for someone to act before the owner is reminded; "
        "twice this and it is escalated to the team lead (or the hot channel).",
    )
    dedupe_minutes: Annotated[int, Field(ge=0, le=1440)] = Field(
        default=10, description="The same address submitting again within this many minutes is one lead."
    )
    hubspot_poll_seconds: Annotated[int, Field(ge=0, le=3600)] = Field(
        default=0,
        description="With HubSpot and no public URL for its webhook: read new form submissions this often "
        "(a stored watermark, so nothing is missed between polls or across restarts); 0: off.",
    )


class RoutingRule(_Section):
    """Leads this rule matches go to its owners in turn (round-robin), skipping anyone away."""

    name: str
    domain_suffixes: list[str] = Field(
        default_factory=list, description='Territory by the lead\'s email domain, e.g. [".de", ".at"].'
    )
    min_employees: Annotated[int | None, Field(ge=0)] = None  # segment by company size
    max_employees: Annotated[int | None, Field(ge=0)] = None
    owners: list[str] = Field(min_length=1, description="CRM owners' email addresses.")

    @field_validator("owners", "domain_suffixes")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]


class Routing(_Section):
    """Who owns a new lead the CRM has no owner for: the first matching rule, else default_owners."""

    rules: list[RoutingRule] = Field(default_factory=list)
    default_owners: list[str] = Field(default_factory=list, description="Round-robin when no rule matches.")
    away: list[str] = Field(
        default_factory=list,
        description="Owners (emails) to skip for now; a Slack status of away counts too.",
    )
    team_lead: str | None = Field(default=None, description="Slack user id a missed hot lead escalates to.")

    @field_validator("default_owners", "away")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]


class Reports(_Section):
    """The weekly digest, and where charts are uploaded (people see a chart in App Home when they can see
    the channel it was shared to)."""

    digest_channel: str | None = Field(default=None, description="Channel id for the weekly digest.")
    digest_weekday: Annotated[int, Field(ge=0, le=6)] = 0  # Monday, in the team's time zone
    digest_hour: Annotated[int, Field(ge=0, le=23)] = 9
    chart_channel: str | None = Field(
        default=None, description="Where App Home's charts are shared (default: the digest channel)."
    )


class Team(_Section):
    """A sales team, for the metrics: its members, and the manager who may see their numbers."""

    members: list[str] = Field(default_factory=list, description="CRM owners' email addresses.")
    lead: str | None = Field(default=None, description="Slack user id of the team's manager.")

    @field_validator("members")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value]


class HubSpotConfig(_Section):
    requests_per_10s: Annotated[
        int,
        Field(
            ge=1,
            le=190,
            description="This app's share of the portal's limit (100 a 10 s, 190 on some tiers).",
        ),
    ] = 90
    searches_per_second: Annotated[
        int, Field(ge=1, le=5, description="HubSpot allows 5 searches a second.")
    ] = 4
    reply_on_inbox_threads: Annotated[
        bool, Field(description="When the lead wrote in through a HubSpot inbox, reply on that thread.")
    ] = True
    properties: dict[str, str] = Field(
        default_factory=dict,
        description="Deal fields the rules read -> your portal's property names "
        "(quote_expires_at, lost_reason).",
    )

    @field_validator("properties")
    @classmethod
    def _known_fields(cls, value: dict[str, str]) -> dict[str, str]:
        unknown = set(value) - {"quote_expires_at", "lost_reason"}
        if unknown:
            raise ValueError(f"unknown field(s) {sorted(unknown)}: use quote_expires_at or lost_reason")
        return value


Seconds = Annotated[float, Field(gt=0, le=600)]


class Timeouts(_Section):
    """Every call to another system gives up after this long."""

    smtp_seconds: Seconds = 30
    slack_seconds: Seconds = 10
    crm_seconds: Seconds = 20
    ai_seconds: Seconds = 60


class Work(_Section):
    """The work queue: how often workers look for work, how long a claim holds, how often to retry."""

    poll_seconds: Annotated[float, Field(gt=0, le=60)] = 0.2
    workers: Annotated[int, Field(ge=1, le=32)] = 4  # sends and CRM logs
    interactive_workers: Annotated[int, Field(ge=1, le=32)] = 4  # what a person waits for: replies, cards
    separate_process: bool = True  # serve runs the workers and the scheduler in a child process
    lease_seconds: Annotated[float, Field(ge=1, le=3600)] = 180
    max_attempts: Annotated[int, Field(ge=1, le=100)] = 8
    chat_max_attempts: Annotated[int, Field(ge=1, le=1000)] = 60
    backoff_seconds: Annotated[float, Field(gt=0, le=3600)] = 5
    max_backoff_seconds: Annotated[float, Field(gt=0, le=86400)] = 600


class SlackConfig(_Section):
    review_channel: str | None = None
    escalation_channel: str | None = None
    admins: list[str] = Field(default_factory=list)
    users: dict[str, str] = Field(default_factory=dict, description="CRM owner email -> Slack user id")

    @field_validator("users")
    @classmethod
    def _lower_emails(cls, value: dict[str, str]) -> dict[str, str]:
        return {email.strip().lower(): uid for email, uid in value.items()}


class Schedule(_Section):
    scan_interval_minutes: Annotated[int, Field(gt=0, le=1440)] = 15
    snooze_check_seconds: Annotated[int, Field(ge=5, le=3600)] = 60
    # how often the replies mailbox (IMAP_*) is read for replies, bounces and out-of-office answers
    reply_poll_seconds: Annotated[int, Field(ge=10, le=3600)] = 60


class Mail(_Section):
    message_id_domain: str = "followup.local"
    # an address that also unsubscribes (a second List-Unsubscribe entry); the link alone is enough
    unsubscribe_mailto: str | None = None


Effort = Literal["low", "medium", "high", "xhigh", "max"]


class StepConfig(_Section):
    """One pipeline step: which prompt version runs (roll back by pinning an older one), on which model and
    effort (`output_config.effort`), and an optional A/B split with a second version. Model and effort
    default to the prompt file's front matter."""

    version: Annotated[int | None, Field(ge=1, description="Prompt version; empty means the newest.")] = None
    model: str | None = None
    effort: Effort | None = None
    ab_version: Annotated[int | None, Field(ge=1)] = None
    ab_share: Annotated[float, Field(ge=0, le=1, description="Share of leads given ab_version.")] = 0.0

    @model_validator(mode="after")
    def _split_needs_two_versions(self) -> StepConfig:
        if self.ab_share > 0 and self.ab_version is None:
            raise ValueError("ab_share is set but ab_version is not")
        return self


class ModelPrice(_Section):
    """US dollars per million tokens. Cache writes cost 1.25x input, cache reads 0.1x, batches half."""

    input: Annotated[float, Field(ge=0)]
    output: Annotated[float, Field(ge=0)]


DEFAULT_PRICES = {
    "claude-sonnet-5-5": ModelPrice(input=3.0, output=15.0),
    "claude-sonnet-4-6": ModelPrice(input=3.0, output=15.0),
    "claude-sonnet-4-5": ModelPrice(input=3.0, output=15.0),
    "claude-haiku-5-5": ModelPrice(input=1.0, output=5.0),
    "claude-haiku-4-5": ModelPrice(input=1.0, output=5.0),
    "claude-opus-5-5": ModelPrice(input=5.0, output=25.0),
    "claude-opus-4-5": ModelPrice(input=5.0, output=25.0),
}


class Drafting(_Section):
    model: str | None = Field(
        default=None, description="Model for every step; empty means each prompt file's own model."
    )
    concurrency: Annotated[
        int,
        Field(
            ge=1,
            le=32,
            description="Model calls in flight at most: a scan drafts this many leads at a time, and one "
            "lead's classify, extract and score calls run together when there is room.",
        ),
    ] = 8
    daily_spend_cap_usd: Annotated[
        float,
        Field(ge=0, description="Model spend per day (team time zone); past it, the offline path drafts."),
    ] = 25.0
    use_batches: bool = Field(
        default=False, description="Scheduled scans draft through the Message Batches API at half price."
    )
    batch_wait_seconds: Annotated[int, Field(ge=10, le=86_400)] = 1800
    batch_poll_seconds: Annotated[float, Field(gt=0, le=600)] = 15.0
    high_value_amount: Annotated[
        float, Field(ge=0, description="A deal this large is marked high value and offered for escalation.")
    ] = 50_000
    style_examples: Annotated[
        int, Field(ge=0, le=10, description="The rep's recent approved edits shown to the draft step.")
    ] = 3
    prices: dict[str, ModelPrice] = Field(default_factory=lambda: dict(DEFAULT_PRICES))
    steps: dict[str, StepConfig] = Field(default_factory=dict)

    @field_validator("steps")
    @classmethod
    def _known_steps(cls, steps: dict[str, StepConfig]) -> dict[str, StepConfig]:
        from prompts import STEPS, load

        for name, step in steps.items():
            if name not in STEPS:
                raise ValueError(f"unknown step {name!r}; steps are {', '.join(STEPS)}")
            for version in (step.version, step.ab_version):
                if version is not None:
                    load(name, version)  # raises naming the missing file
        return steps

    @field_validator("prices")
    @classmethod
    def _keep_defaults(cls, prices: dict[str, ModelPrice]) -> dict[str, ModelPrice]:
        return {**DEFAULT_PRICES, **prices}

    def step(self, name: str) -> StepConfig:
        return self.steps.get(name) or StepConfig()


class FollowupConfig(_Section):
    business_hours: BusinessHours = Field(default_factory=BusinessHours)
    triggers: Triggers = Field(default_factory=Triggers)  # type: ignore[valid-type]
    pipeline: PipelineConfig = Field(default_factory=PipelineConfig)
    pacing: Pacing = Field(default_factory=Pacing)
    sequences: Sequences = Field(default_factory=Sequences)
    sending: Sending = Field(default_factory=Sending)
    budget: Budget = Field(default_factory=Budget)
    inbound: Inbound = Field(default_factory=Inbound)
    routing: Routing = Field(default_factory=Routing)
    teams: dict[str, Team] = Field(default_factory=dict)
    reports: Reports = Field(default_factory=Reports)
    timeouts: Timeouts = Field(default_factory=Timeouts)
    work: Work = Field(default_factory=Work)
    hubspot: HubSpotConfig = Field(default_factory=HubSpotConfig)
    slack: SlackConfig = Field(default_factory=SlackConfig)
    schedule: Schedule = Field(default_factory=Schedule)
    mail: Mail = Field(default_factory=Mail)
    drafting: Drafting = Field(default_factory=Drafting)


def load_config(path: Path | None) -> FollowupConfig:
    """Load and validate; an explicit path must exist, the default one may be absent."""
    target = path or DEFAULT_CONFIG_PATH
    if not target.exists():
        if path is not None:
            raise ConfigError(f"FOLLOWUP_CONFIG points at {target}, which does not exist.")
        return FollowupConfig()
    try:
        raw = tomllib.loads(target.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{target}: not valid TOML: {exc}") from None
    return parse_config(raw, source=str(target))


def parse_config(raw: dict, source: str = "followup.toml") -> FollowupConfig:
    try:
        return FollowupConfig.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            msg = err["msg"].removeprefix("Value error, ")
            if err["type"] == "extra_forbidden":
                msg = "unknown key (check the spelling against followup.example.toml)"
            problems.append(f"{key}: {msg}")
        raise ConfigError(f"{source}: " + "; ".join(problems)) from None
