"""The AI pipeline: classify, extract and score (together) → summarize → draft, in narrow steps.

Classify, extract and score each read the lead alone, so their three model calls run at the same time, on a
small thread pool per lead; summarize and draft read what those found and run after them. Each step runs on
Claude when a key is set and on the offline path otherwise; a step Claude cannot answer (an API error, an
answer that failed validation twice, a safety refusal, today's spend cap reached) is answered offline, and
the card says which and why. Every step's output is written to the ledger, whichever engine wrote it; the
model calls made on the pool's threads hand their records back, and the lead's own thread writes them (a
database session never crosses threads).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel

from bot.adapters.claude import ClaudeSteps, Sink, StepCall, StepFailed, StepRefused, lead_message
from bot.config import Drafting
from bot.drafting import offline
from bot.drafting.guardrails import apply_guardrails
from bot.drafting.ledger import Ledger, OverSpendCap, StepRecord
from bot.drafting.redact import redact
from bot.drafting.steps import Classification, DraftText, Extraction, LeadClass, Scores, Summary
from bot.records import DraftOutput, Engagement, LeadContext

STEPS = ("classify", "extract", "score", "summarize", "draft")
# The steps that read the lead alone (not each other's answers): their model calls run at the same time.
# Score quotes its evidence from the records, as extract does, so it does not wait for them; the offline
# score, which builds on them, runs after both are in.
TOGETHER = ("classify", "extract", "score")
ORDER = {step: i for i, step in enumerate((*STEPS, "breakup"))}

# what the card says when Claude's safety classifiers declined a step
DECLINED = {
    "classify": "classify this lead",
    "extract": "extract this lead's details",
    "score": "score this lead",
    "summarize": "summarize this lead",
    "draft": "draft the email to this lead",
    "breakup": "write the break-up email to this lead",
}

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

    # ---- one lead (scans run several leads at once) ----

    def draft(self, context: LeadContext) -> DraftOutput:
        run = Run(context)
        self._together(run, TOGETHER)
        for step in ("summarize", "draft"):
            self._step(run, step)
        return self.assemble(run)

    def breakup(self, context: LeadContext) -> DraftOutput:
        """The last touch of a sequence, written for this lead's context."""
        run = Run(context)
        self._together(run, ("classify", "extract"))
        self._step(run, "summarize")
        self._step(run, "breakup")
        return self.assemble(run, final="breakup")

    def _together(self, run: Run, steps: Sequence[str]) -> None:
        """Steps that do not read each other's answers: their model calls on a thread pool, at the same time.
        Only the calls run there; their records come back through a Pending and are written here, and the
        answers (or the offline path's) are settled here in step order."""
        if self.engine is None or run.capped:
            for step in steps:
                self._settle(run, step, None)
            return
        calls = {step: self._call(run, step) for step in steps}  # built here: the pool never reads `run`
        pending = self.ledger.pending() if self.ledger is not None else None
        sink = pending.add if pending is not None else None
        with ThreadPoolExecutor(max_workers=len(steps), thread_name_prefix="followup-step") as pool:
            futures = {step: pool.submit(self._ask, step, call, sink) for step, call in calls.items()}
        # every call has returned (leaving the pool waits): what they did is written before anything else,
        # even when one of them raised something unexpected (re-raised by result() below)
        if pending is not None:
            pending.write(order=lambda rec: ORDER.get(rec.step, len(ORDER)))
        for step, future in futures.items():
            self._settle(run, step, future.result())

    def _step(self, run: Run, step: str) -> None:
        """One step on this thread."""
        outcome = None if self.engine is None or run.capped else self._ask(step, self._call(run, step))
        self._settle(run, step, outcome)

    def _call(self, run: Run, step: str) -> StepCall:
        return StepCall(key=run.key, run_id=run.run_id, user_text=self._message(run, step))

    def _ask(self, step: str, call: StepCall, sink: Sink | None = None) -> BaseModel | Exception:
        """Claude's answer, or why there is none (a refusal, a failure, the spend cap)."""
        assert self.engine is not None
        try:
            return self.engine.run(step, call, sink=sink)
        except (OverSpendCap, StepFailed) as exc:
            return exc

    def _settle(self, run: Run, step: str, outcome: BaseModel | Exception | None) -> None:
        """Keep Claude's answer, or say why there is none and answer the step offline."""
        if isinstance(outcome, BaseModel) and self.engine is not None:
            self._claude(run, step, outcome)
            return
        if isinstance(outcome, OverSpendCap):
            if not run.capped:  # steps running together may each meet the cap: the card says it once
                run.notes.append(f"Drafted offline: {outcome}.")
            run.capped = True
        elif isinstance(outcome, StepRefused):
            declined = f"Claude declined to {DECLINED[step]} (safety refusal)"
            run.notes.append(f"{declined}; the offline path wrote it.")
        elif isinstance(outcome, StepFailed):
            run.notes.append(f"{outcome}; the offline path answered the {step} step.")
        elif isinstance(outcome, Exception):
            raise outcome
        self._offline_step(run, step)

    def _claude(self, run: Run, step: str, out: BaseModel, *, via: str = "") -> None:
        assert self.engine is not None
        choice = self.engine.choose(step, run.key)
        run.prompts[step] = (choice.prompt.label, choice.model)
        run.results[step] = out
        arm = f" arm {choice.arm}" if choice.arm else ""
        run.engines[step] = f"claude {choice.prompt.label}{via}{arm}"

    def _offline_step(self, run: Run, step: str) -> None:
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
        earlier = None if step in TOGETHER else run.earlier()
        return lead_message(lead_data(run.ctx), earlier or None, style or None)

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
                calls = [self._call(r, step) for r in live]
                answers: list[tuple[BaseModel | Exception, bool]]
                try:
                    answers = list(self.engine.run_batch(step, calls))
                except OverSpendCap as exc:
                    answers = [(exc, False)] * len(live)
                for r, (answer, in_batch) in zip(live, answers, strict=True):
                    if isinstance(answer, BaseModel):
                        self._claude(r, step, answer, via=" batch" if in_batch else "")
                    else:
                        self._settle(r, step, answer)
            for r in runs:
                if step not in r.results:
                    self._offline_step(r, step)
        return [self.assemble(r) for r in runs]
