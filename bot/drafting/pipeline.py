"""The AI pipeline: classify → extract → score → summarize → draft, one narrow step at a time.

Each step runs on Claude when a key is set and on the offline path otherwise; a step Claude cannot answer
(an API error, an answer that failed validation twice, today's spend cap reached) is answered offline, and
the card says which and why. Every step's output is written to the ledger, whichever engine wrote it.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.adapters.claude import ClaudeSteps, StepCall, StepFailed, lead_message
from bot.config import Drafting
from bot.drafting import offline
from bot.drafting.guardrails import apply_guardrails
from bot.drafting.ledger import Ledger, OverSpendCap, StepRecord
from bot.drafting.redact import redact
from bot.drafting.steps import Classification, DraftText, Extraction, LeadClass, Scores, Summary
from bot.records import DraftOutput, Engagement, LeadContext

STEPS = ("classify", "extract", "score", "summarize", "draft")

# what each non-sales class means for the rep reading the card
CLASS_FLAGS = {
    LeadClass.NOT_ENOUGH_INFORMATION: "Not enough information to classify: read the message before replying.",
    LeadClass.SPAM: "Classified as spam: dismiss it unless you know the sender.",
    LeadClass.VENDOR_PITCH: "Classified as a vendor pitch (someone selling to us): dismiss unless useful.",
    LeadClass.RECRUITING: "Classified as recruiting: forward it to the hiring team instead.",
    LeadClass.PRESS: "Classified as a press enquiry: check who speaks for the company before replying.",
    LeadClass.EXISTING_CUSTOMER: "Classified as an existing customer: check with their account manager.",
    LeadClass.PARTNERSHIP: "Classified as a partnership enquiry: the partnerships owner may want this one.",
}

StyleSource = Callable[[LeadContext], list[dict[str, str]]]


def lead_data(ctx: LeadContext) -> dict[str, Any]:
    """The lead as data for the model; sensitive values in what people wrote are replaced first."""
    own = [ctx.contact.email, ctx.contact.phone or "", ctx.owner.email if ctx.owner else ""]

    def clean(e: Engagement) -> dict[str, Any]:
        data = e.model_dump(mode="json", exclude={"contact_id", "owner_id"})
        data["direction"] = e.direction or ("internal" if e.type.value == "note" else None)
        data["body"] = redact(e.body, allowed=own)
        data["subject"] = redact(e.subject, allowed=own) if e.subject else e.subject
        return data

    return {
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


@dataclass
class Run:
    """One lead going through the steps."""

    ctx: LeadContext
    run_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    results: dict[str, BaseModel] = field(default_factory=dict)
    engines: dict[str, str] = field(default_factory=dict)
    prompts: dict[str, tuple[str, str | None]] = field(default_factory=dict)  # step -> (prompt, model)
    offline_records: list[StepRecord] = field(default_factory=list)  # written together when the run ends
    notes: list[str] = field(default_factory=list)
    capped: bool = False

    @property
    def key(self) -> str:
        return self.ctx.contact.id

    def earlier(self) -> dict[str, Any]:
        return {step: out.model_dump(mode="json") for step, out in self.results.items()}

    def get(self, step: str, kind: type[Any]) -> Any:
        out = self.results[step]
        assert isinstance(out, kind)
        return out


class Pipeline:
    """A `Drafter`: the steps on Claude (the offline path under each step) or on the offline path alone."""

    def __init__(
        self,
        engine: ClaudeSteps | None,
        ledger: Ledger | None,
        config: Drafting,
        *,
        style: StyleSource | None = None,
    ) -> None:
        self.engine = engine
        self.ledger = ledger
        self.config = config
        self.style = style
        self.name = "claude" if engine else "offline"
        self.model: str | None = engine.choose("draft", "").model if engine else None
        self.prompt_version: str | None = engine.choose("draft", "").prompt.label if engine else "offline/2"

    # ---- one lead, step by step (scans run these concurrently) ----

    def draft(self, context: LeadContext) -> DraftOutput:
        run = Run(context)
        for step in STEPS:
            self._step(run, step)
        return self.assemble(run)

    def breakup(self, context: LeadContext) -> DraftOutput:
        """The last touch of a sequence, written for this lead's context."""
        run = Run(context)
        for step in ("classify", "extract", "summarize"):
            self._step(run, step)
        self._step(run, "breakup")
        return self.assemble(run, final="breakup")

    def _step(self, run: Run, step: str, *, use_engine: bool = True) -> None:
        if use_engine and self.engine is not None and not run.capped:
            call = StepCall(key=run.key, run_id=run.run_id, user_text=self._message(run, step))
            try:
                out = self.engine.run(step, call)
            except OverSpendCap as exc:
                run.capped = True
                run.notes.append(f"Drafted offline: {exc}.")
            except StepFailed as exc:
                run.notes.append(f"{exc}; the offline path answered the {step} step.")
            else:
                choice = self.engine.choose(step, run.key)
                run.prompts[step] = (choice.prompt.label, choice.model)
                run.results[step] = out
                run.engines[step] = f"claude {choice.prompt.label}" + (
                    f" arm {choice.arm}" if choice.arm else ""
                )
                return
        run.results[step] = self._offline(run, step)
        run.engines[step] = "offline"
        run.offline_records.append(
            StepRecord(
                run_id=run.run_id,
                step=step,
                engine="offline",
                status="ok",
                output=run.results[step].model_dump(mode="json"),
            )
        )

    def _message(self, run: Run, step: str) -> str:
        style = self.style(run.ctx) if (self.style and step in ("draft", "breakup")) else None
        return lead_message(lead_data(run.ctx), run.earlier() or None, style or None)

    def _offline(self, run: Run, step: str) -> BaseModel:
        ctx = run.ctx
        if step == "classify":
            return offline.classify(ctx)
        if step == "extract":
            return offline.extract(ctx, high_value=self.config.high_value_amount)
        cls = run.get("classify", Classification)
        if step == "score":
            return offline.score(ctx, cls, run.get("extract", Extraction))
        if step == "summarize":
            return offline.summarize(ctx, cls, run.get("extract", Extraction), self.config.high_value_amount)
        if step == "draft":
            return offline.draft(ctx, cls)
        return offline.breakup(ctx)

    # ---- the draft the card shows ----

    def assemble(self, run: Run, final: str = "draft") -> DraftOutput:
        if self.ledger is not None:
            self.ledger.record_many(run.offline_records)
            run.offline_records = []
        ctx = run.ctx
        cls = run.get("classify", Classification)
        ext = run.get("extract", Extraction)
        summary = run.get("summarize", Summary)
        text = run.get(final, DraftText)
        scores = run.results.get("score")
        by_id = {e.id: e for e in ctx.engagements}
        sources = [by_id[i].ref() for i in text.source_ids if i in by_id] or [
            e.ref() for e in ctx.engagements[:3]
        ]
        flags = list(run.notes)
        if cls.label in CLASS_FLAGS:
            flags.append(CLASS_FLAGS[cls.label])
        analysis = {
            "label": cls.label.value,
            "confidence": cls.confidence,
            "reason": cls.reason,
            "extraction": ext.model_dump(mode="json"),
            "scores": scores.model_dump(mode="json") if isinstance(scores, Scores) else None,
            "summary": summary.lines,
            "ask": text.ask,
            "engines": run.engines,
            # the prompt and model that wrote the email itself (an A/B arm's version, not the default)
            "prompt": run.prompts.get(final, ("offline/2", None))[0],
            "model": run.prompts.get(final, ("offline/2", None))[1],
        }
        out = DraftOutput.fit(
            summary="\n".join(summary.lines),
            classification=cls.label.value,
            urgency=ext.urgency,
            missing_information=ext.still_needed,
            review_flags=flags,
            subject=text.subject,
            body=text.body,
            sources=sources,
        ).model_copy(update={"analysis": analysis, "run_id": run.run_id})
        return apply_guardrails(out, ctx, high_value=self.config.high_value_amount)

    # ---- many leads, step by step, through the Message Batches API ----

    def draft_batch(self, contexts: Sequence[LeadContext]) -> list[DraftOutput]:
        """Scheduled scans at half price: each step is one batch for all the leads, in step order."""
        runs = [Run(ctx) for ctx in contexts]
        for step in STEPS:
            live = [r for r in runs if not r.capped] if self.engine is not None else []
            if live and self.engine is not None:
                calls = [StepCall(key=r.key, run_id=r.run_id, user_text=self._message(r, step)) for r in live]
                try:
                    answers = self.engine.run_batch(step, calls)
                except OverSpendCap as exc:
                    for r in live:
                        r.capped = True
                        r.notes.append(f"Drafted offline: {exc}.")
                    answers = []
                for r, (answer, in_batch) in zip(live, answers, strict=False):
                    if isinstance(answer, StepFailed):
                        r.notes.append(f"{answer}; the offline path answered the {step} step.")
                        continue
                    choice = self.engine.choose(step, r.key)
                    r.prompts[step] = (choice.prompt.label, choice.model)
                    r.results[step] = answer
                    via = " batch" if in_batch else ""
                    r.engines[step] = f"claude {choice.prompt.label}{via}" + (
                        f" arm {choice.arm}" if choice.arm else ""
                    )
            for r in runs:
                if step not in r.results:
                    self._step(r, step, use_engine=False)
        return [self.assemble(r) for r in runs]
