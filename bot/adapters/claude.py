"""Claude as the drafter, through the official `anthropic` SDK with a forced tool call for structure."""

from __future__ import annotations

import json

import anthropic
from pydantic import BaseModel, Field, ValidationError

from bot.drafting.redact import redact
from bot.errors import FollowupError
from bot.records import DraftOutput, Engagement, LeadContext, Urgency
from prompts import load as load_prompt

TOOL_NAME = "record_followup"


class _ToolInput(BaseModel):
    summary: str
    classification: str
    urgency: Urgency
    missing_information: list[str] = Field(default_factory=list)
    review_flags: list[str] = Field(default_factory=list)
    subject: str
    body: str
    source_ids: list[str] = Field(default_factory=list)


class DraftingError(FollowupError):
    pass


def _lead_json(ctx: LeadContext) -> str:
    """The lead as data for the model; sensitive values in what people wrote are replaced first."""
    own = [ctx.contact.email, ctx.contact.phone or "", ctx.owner.email if ctx.owner else ""]

    def clean(e: Engagement) -> dict:
        data = e.model_dump(mode="json", exclude={"contact_id", "owner_id"})
        data["body"] = redact(e.body, allowed=own)
        data["subject"] = redact(e.subject, allowed=own) if e.subject else e.subject
        return data

    payload = {
        "trigger": {"rule": ctx.rule, "reason": ctx.reason},
        "contact": ctx.contact.model_dump(mode="json", exclude={"owner_id", "company_id"}),
        "company": ctx.company.model_dump(mode="json") if ctx.company else None,
        "deal": ctx.deal.model_dump(mode="json") if ctx.deal else None,
        "rep": ctx.owner.model_dump(mode="json", include={"first_name", "last_name", "email"})
        if ctx.owner
        else None,
        "days_you_may_propose": [f"{d:%A %d %B}" for d in ctx.workdays_ahead],
        "history_newest_first": [clean(e) for e in ctx.engagements],
    }
    return json.dumps(payload, indent=1)


class ClaudeDrafter:
    name = "claude"

    def __init__(self, client: anthropic.Anthropic, *, model: str, max_tokens: int) -> None:
        self.client = client
        self.model: str | None = model
        self.max_tokens = max_tokens
        self.prompt = load_prompt("followup_draft")
        self.prompt_version: str | None = self.prompt.version

    def draft(self, context: LeadContext) -> DraftOutput:
        schema = _ToolInput.model_json_schema()
        message = self.client.messages.create(
            model=self.model or "",
            max_tokens=self.max_tokens,
            system=self.prompt.text,
            messages=[{"role": "user", "content": _lead_json(context)}],
            tools=[
                {
                    "name": TOOL_NAME,
                    "description": "Record the follow-up summary, classification and draft for human review.",
                    "input_schema": schema,
                }
            ],
            tool_choice={"type": "tool", "name": TOOL_NAME},
        )
        call = next((b for b in message.content if b.type == "tool_use" and b.name == TOOL_NAME), None)
        if call is None:
            raise DraftingError(f"Claude answered without calling {TOOL_NAME} (stop: {message.stop_reason})")
        try:
            data = _ToolInput.model_validate(call.input)
        except ValidationError as exc:
            raise DraftingError(
                f"Claude's draft did not match the schema: {exc.errors()[0]['msg']}"
            ) from None
        by_id = {e.id: e for e in context.engagements}
        sources = [by_id[i].ref() for i in data.source_ids if i in by_id] or [
            e.ref() for e in context.engagements[:3]
        ]
        if not (data.subject.strip() and data.body.strip()):
            raise DraftingError("Claude's draft has no subject or no body")
        # clipped and cleaned the same way as the offline drafter's, so an over-long answer still fits
        return DraftOutput.fit(**data.model_dump(exclude={"source_ids"}), sources=sources)
