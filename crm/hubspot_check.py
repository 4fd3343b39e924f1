"""`followup hubspot check`: what a RevOps admin needs to know before turning the app on against a portal.

Each check is a row (✓ or ✗) saying what was found and, for a ✗, how to fix it. Scopes are checked by
asking for the least each one allows (a one-result search, an empty batch create that creates nothing), so
the answer is HubSpot's own, whatever kind of token (Service Key or project app) it is."""

from __future__ import annotations

from collections.abc import Callable

from bot.config import FollowupConfig
from bot.doctor import Check
from bot.ports import Chat
from crm.hubspot import DEFAULT_DEAL_FIELDS, HubSpotCRM
from crm.hubspot_http import OBJECTS, OWNERS, PIPELINES, PROPERTIES, HubSpotError, HubSpotScopeError

# scope -> (what the app needs it for, how it is probed)
SCOPES: dict[str, tuple[str, Callable[[HubSpotCRM], object]]] = {
    "crm.objects.contacts.read": (
        "read contacts, form fills and their calls, notes and meetings",
        lambda crm: crm.http.read(f"{OBJECTS}/contacts/search", {"limit": 1}, search=True),
    ),
    "crm.objects.companies.read": (
        "name the lead's company in cards and drafts",
        lambda crm: crm.http.read(f"{OBJECTS}/companies/search", {"limit": 1}, search=True),
    ),
    "crm.objects.deals.read": (
        "read deals and their pipelines (stale deals, quotes, closed-lost nurture)",
        lambda crm: crm.http.get(f"{PIPELINES}/deals"),
    ),
    "crm.objects.owners.read": (
        "find each lead's owner, whose card it is",
        lambda crm: crm.http.get(OWNERS, {"limit": 1}),
    ),
    "sales-email-read": (
        "read the emails in a lead's history, which drafts quote",
        lambda crm: crm.http.read(f"{OBJECTS}/emails/search", {"limit": 1}, search=True),
    ),
    "crm.objects.contacts.write": (
        "log the sent email, the review-trail note and the owner's task on the contact",
        lambda crm: crm.http.write("POST", f"{OBJECTS}/notes/batch/create", {"inputs": []}),
    ),
}


def run_checks(crm: HubSpotCRM, config: FollowupConfig, chat: Chat | None) -> list[Check]:
    try:
        owners = crm.owners()
    except HubSpotScopeError:
        owners = None  # reported with the scopes below
    except HubSpotError as exc:
        if exc.status == 401:
            return [Check("Token", False, "HubSpot rejected the token.", _TOKEN_FIX)]
        return [Check("HubSpot", False, str(exc), "Check HUBSPOT_API_URL and that HubSpot is reachable.")]
    checks = [Check("Token", True, "HubSpot accepted the token.")]
    checks += _scopes(crm)
    checks += _optional_scopes(crm)
    checks += _pipelines(crm, config)
    checks += _properties(crm, config)
    checks += _sequence_property(crm, config)
    if owners is not None:
        checks += _owners(owners, chat, config)
    return checks


_TOKEN_FIX = (
    "Create a Service Key (Development → Keys) or deploy the project app in hubspot-project/, and put "
    "its token in HUBSPOT_ACCESS_TOKEN."
)


def _scopes(crm: HubSpotCRM) -> list[Check]:
    out = []
    for scope, (why, probe) in SCOPES.items():
        try:
            probe(crm)
            out.append(Check(f"Scope {scope}", True, f"granted: to {why}"))
        except HubSpotScopeError:
            out.append(
                Check(
                    f"Scope {scope}",
                    False,
                    f"missing: needed to {why}",
                    f"Add {scope} to the Service Key (or to the requiredScopes in "
                    "hubspot-project/src/app/app-hsmeta.json, and redeploy).",
                )
            )
    return out


# optional: without them replies go out by email from the rep's address, never on the lead's inbox thread
OPTIONAL_SCOPES: dict[str, str] = {
    "conversations.read": "find the inbox thread a lead wrote in on",
    "conversations.write": "reply on that thread from the shared inbox",
    "communication_preferences.write": "record unsubscribes and hard bounces in HubSpot's communication "
    "preferences (without it, followup's own suppression list still stops every email)",
}


def _optional_scopes(crm: HubSpotCRM) -> list[Check]:
    try:
        crm.http.get("/conversations/conversations/2026-09/threads", {"limit": 1})
        granted = True
    except HubSpotScopeError:
        granted = False
    what = " and ".join(v for k, v in OPTIONAL_SCOPES.items() if k.startswith("conversations"))
    detail = (
        f"granted: to {what}"
        if granted
        else f"not granted (optional): replies go by email; with them, {what}"
    )
    preferences = Check(
        "Scope communication_preferences.write",
        True,
        "optional, not probed (checking it would unsubscribe someone): with it, "
        + OPTIONAL_SCOPES["communication_preferences.write"],
    )
    return [Check("Scopes conversations.read/write", True, detail), preferences]


def _pipelines(crm: HubSpotCRM, config: FollowupConfig) -> list[Check]:
    try:
        stages = crm.stages()
    except HubSpotScopeError:
        return []  # the deals scope row says it
    if not stages:
        return [Check("Pipelines", False, "no deal pipelines found", "Create a deal pipeline in HubSpot.")]
    pipelines = {s.pipeline for s in stages}
    closed = [f"{s.label} ({'won' if s.won else 'lost'})" for s in stages if s.closed]
    out = [
        Check(
            "Pipelines",
            True,
            f"{len(pipelines)} deal pipeline(s), {len(stages)} stages; closed: {', '.join(closed) or 'none'}",
        )
    ]
    known = {s.id.lower() for s in stages} | {s.label.lower() for s in stages}
    for name in [*config.pipeline.won_stages, *config.pipeline.lost_stages]:
        if name.lower() not in known:
            out.append(
                Check(
                    f"Stage “{name}”",
                    False,
                    "named in [pipeline] but no pipeline has a stage with that id or label",
                    "Fix the name in followup.toml ([pipeline]) or remove it.",
                )
            )
    return out


def _properties(crm: HubSpotCRM, config: FollowupConfig) -> list[Check]:
    named = {**DEFAULT_DEAL_FIELDS, **config.hubspot.properties}
    try:
        found = crm.http.get(f"{PROPERTIES}/deals") or {}
    except HubSpotScopeError:
        return []
    have = {p.get("name") for p in found.get("results") or []}
    return [
        Check(
            f"Deal property {prop}",
            prop in have,
            f"holds {field.replace('_', ' ')}"
            if prop in have
            else f"not found (the rules read {field} from it)",
            "" if prop in have else f'Set [hubspot.properties] {field} = "<your property>" in followup.toml.',
        )
        for field, prop in named.items()
    ]


def _sequence_property(crm: HubSpotCRM, config: FollowupConfig) -> list[Check]:
    """The contact property a completed sequence is recorded in (HubSpot has no such property built in)."""
    prop = config.sequences.crm_property
    try:
        found = crm.http.get(f"{PROPERTIES}/contacts") or {}
    except HubSpotScopeError:
        return []
    have = prop in {p.get("name") for p in found.get("results") or []}
    return [
        Check(
            f"Contact property {prop}",
            have,
            "marks contacts whose sequence completed without a reply"
            if have
            else "not found (a completed sequence is recorded in it)",
            ""
            if have
            else f"In HubSpot, create a single-line text contact property with the internal name {prop} "
            "(Settings → Properties), or name an existing one in [sequences] crm_property.",
        )
    ]


def _owners(owners: dict, chat: Chat | None, config: FollowupConfig) -> list[Check]:
    if chat is None:
        return [
            Check(
                "Owners in Slack",
                False,
                f"{len(owners)} owner(s); Slack is not configured, so none could be matched",
                "Set SLACK_BOT_TOKEN to match owners to Slack users by email.",
            )
        ]
    unmatched = [
        o.email or o.id for o in owners.values() if not (o.email and chat.find_user_by_email(o.email))
    ]
    if not unmatched:
        return [Check("Owners in Slack", True, f"all {len(owners)} owner(s) matched by email")]
    where = (
        "their cards go to the review channel"
        if config.slack.review_channel
        else "their cards can't be posted"
    )
    return [
        Check(
            "Owners in Slack",
            False,
            f"{len(unmatched)} of {len(owners)} not found in Slack ({_some(unmatched)}): {where}",
            "Use the same email in HubSpot and Slack, or set [slack] review_channel in followup.toml.",
        )
    ]


def _some(names: list[str], shown: int = 5) -> str:
    listed = ", ".join(sorted(names)[:shown])
    return f"{listed} and {len(names) - shown} more" if len(names) > shown else listed
