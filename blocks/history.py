"""The History modal: a follow-up's whole timeline — every AI output (step, engine, prompt version, model),
every draft, every edit as a diff, every decision, the CRM writes — and the final text."""

from __future__ import annotations

import difflib
from typing import Any

from slack_sdk.models.blocks import Block, ContextBlock, DividerBlock, MarkdownTextObject, SectionBlock
from slack_sdk.models.views import View

from blocks.format import clip, escape, line, person, quote, slack_date
from blocks.ids import CallbackId
from bot.snapshot import FollowUpView

MAX_BLOCKS = 100  # Slack's limit for a modal
KEEP_FIRST = 10

DONE = {
    "create": "Created",
    "approve": "Approved",
    "edit_and_send": "Edited and approved",
    "snooze": "Snoozed",
    "resurface": "Came back from snooze",
    "resurface_escalated": "Came back from snooze (escalated)",
    "escalate": "Escalated",
    "dismiss": "Dismissed",
    "resolve": "Closed",
    "retry": "Retried",
    "resend": "Sent again",
    "mark_sent": "Marked as sent",
    "delivered": "Delivered to the mail server",
    "delivery_failed": "Not delivered",
    "delivery_unknown": "Delivery unknown",
    "come_due": "Came due",
    "release": "Shown (daily budget)",
    "cancel_send": "Send cancelled",
}


def _who(actor: str | None) -> str:
    if not actor:
        return "the app"
    if actor.startswith("drafter:"):
        return f"the drafter ({line(actor.partition(':')[2], 40)})"
    return person(actor, line(actor, 60))


def _ai_output(r: dict[str, Any]) -> str:
    d = r["detail"]
    used = ", ".join(line(x, 60) for x in (d.get("prompt"), d.get("model")) if x)
    out = d.get("output") or {}
    said = ""
    if isinstance(out, dict):
        if "label" in out:
            said = f"{out.get('label')} ({float(out.get('confidence') or 0):.0%})"
        elif "subject" in out:
            said = f"“{out.get('subject')}”"
        elif "lines" in out:
            said = " / ".join(str(x) for x in (out.get("lines") or [])[:3])
    status = r["to_state"] if r["to_state"] == "ok" else f"*{r['to_state']}*"
    error = f" — {line(d.get('error'), 200)}" if d.get("error") else ""
    return clip(
        f"*{line(r['action'], 30)}* by {line(r['actor'], 20)}{f' ({used})' if used else ''}: {status}"
        f"{': ' + line(said, 300) if said else ''}{error}",
        2900,
    )


def _draft(r: dict[str, Any], before: str | None) -> str:
    d = r["detail"]
    if r["record"] == "draft":
        used = ", ".join(line(x, 60) for x in (d.get("prompt_version"), d.get("model")) if x)
        flags = d.get("review_flags") or []
        flagged = f"\n:warning: {line('; '.join(map(str, flags)), 400)}" if flags else ""
        return clip(
            f"*AI draft*{f' ({used})' if used else ''}: “{line(d.get('subject'), 150)}”{flagged}\n"
            f"{quote(escape(clip(str(d.get('body') or ''), 1200)))}",
            2900,
        )
    changes = "\n".join(
        difflib.unified_diff(
            (before or "").splitlines(), str(d.get("body") or "").splitlines(), lineterm="", n=1
        )
    )
    lines = [ln for ln in changes.splitlines() if not ln.startswith(("---", "+++", "@@"))]
    diff = clip(escape("\n".join(lines)) or "(the text did not change)", 2000).replace("```", "'''")
    return clip(f"*Edited by {_who(r['actor'])}*: “{line(d.get('subject'), 150)}”\n```{diff}```", 2900)


def _decision(r: dict[str, Any]) -> str:
    d = r["detail"] or {}
    what = DONE.get(str(r["action"]), line(str(r["action"]), 40))
    extra: list[str] = []
    if d.get("reason"):
        extra.append(f"reason: {line(str(d['reason']).replace('_', ' '), 200)}")
    if d.get("note"):
        extra.append(f"“{line(str(d['note']), 300)}”")
    review = d.get("classification")
    if isinstance(review, dict) and review.get("model") != review.get("human"):
        extra.append(f"class changed from {line(review.get('model'), 40)} to {line(review.get('human'), 40)}")
    if d.get("scheduled_for"):
        extra.append(f"scheduled for {line(d['scheduled_for'], 40)}")
    tail = f" — {'; '.join(extra)}" if extra else ""
    return clip(f"*{what}* by {_who(r['actor'])} → {line(r['to_state'], 20)}{tail}", 2900)


def history_modal(fu: FollowUpView, records: list[dict[str, Any]]) -> View:
    entries: list[str] = []
    last_text: str | None = None
    for r in records:
        when = slack_date(r["at"])
        if r["record"] == "ai_output":
            text = _ai_output(r)
        elif r["record"] in ("draft", "edit"):
            text = _draft(r, last_text)
            last_text = str(r["detail"].get("body") or "")
        elif r["record"] == "crm_write":
            text = f"*Logged to the CRM* ({line(r['action'], 20)}): {line(r['detail'].get('crm_id'), 80)}"
        else:
            text = _decision(r)
        entries.append(clip(f"{when} · {text}", 2990))
    room = MAX_BLOCKS - 6
    left_out = max(0, len(entries) - room)
    if left_out:
        entries = [*entries[:KEEP_FIRST], *entries[KEEP_FIRST + left_out :]]
    blocks: list[Block] = [
        ContextBlock(
            elements=[
                MarkdownTextObject(
                    text=clip(
                        f"*{line(fu.contact_name, 150)}* ({line(fu.contact_email, 200)})"
                        f" · {line(fu.rule, 60)} · {len(records)} records",
                        2900,
                    )
                )
            ]
        )
    ]
    for n, text in enumerate(entries):
        if left_out and n == KEEP_FIRST:
            blocks.append(
                ContextBlock(
                    elements=[
                        MarkdownTextObject(
                            text=f"… {left_out} more records; `followup audit export` has them all."
                        )
                    ]
                )
            )
        blocks.append(SectionBlock(text=MarkdownTextObject(text=text)))
    if fu.sent_at is not None:
        blocks.append(DividerBlock())
        final = f"*Final text, sent {slack_date(fu.sent_at)}*: “{line(fu.draft.subject, 150)}”\n"
        blocks.append(
            SectionBlock(
                text=MarkdownTextObject(text=clip(final + quote(escape(clip(fu.draft.body, 2400))), 2900))
            )
        )
    return View(
        type="modal", callback_id=CallbackId.HISTORY_MODAL, title="History", close="Close", blocks=blocks
    )
