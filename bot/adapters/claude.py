"""Claude runs the pipeline's steps, through the official `anthropic` SDK with structured outputs.

Each call sends the same long stable prefix first (the shared guide, then the step's prompt, each marked
for the prompt cache), then the lead as delimited data. The answer is constrained to the step's JSON schema
(`output_config.format`, next to the step's `output_config.effort`) and validated against the step's
pydantic model; an answer that still fails is sent back once with the error, and a second failure hands the
step to the offline path. A refusal (`stop_reason: "refusal"`, the API's safety classifiers declining) is
not retried: the step goes to the offline path at once. No sampling parameter (temperature, top_p, top_k) is
ever sent: current models reject them. Every call, answered or not, is recorded with its prompt, model,
tokens, cost and latency: written to the ledger as it returns, or handed to the caller's `sink` when the call
runs on a worker thread (the caller writes it on its own thread).
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ValidationError

from bot.config import Drafting
from bot.drafting.ledger import Ledger, StepRecord, Usage, cost, worst_case
from bot.drafting.steps import STEP_OUTPUTS
from bot.errors import FollowupError
from prompts import Prompt, guide, load

if TYPE_CHECKING:
    import anthropic

# The SDK is imported when Claude is actually called (it takes about half a second to import): the offline
# path, the demo and every command without a key never load it.


class StepFailed(FollowupError):
    """Claude could not answer this step (API error, or an answer that failed validation twice)."""


class StepRefused(StepFailed):
    """Claude declined to answer this step (`stop_reason: "refusal"`); asking again would not help."""

    def __init__(self, step: str, detail: str) -> None:
        super().__init__(f"Claude declined the {step} step ({detail})")
        self.step = step
        self.detail = detail


Sink = Callable[[StepRecord], None]


@dataclass(frozen=True)
class Choice:
    prompt: Prompt
    model: str
    arm: str | None  # "A" / "B" when the step is split between two versions
    effort: str | None = None  # output_config.effort; None sends none


@dataclass(frozen=True)
class StepCall:
    """One lead's input to one step."""

    key: str  # stable per lead: decides the A/B arm, so a lead sees one version
    run_id: str
    user_text: str


def schema_for(model: type[BaseModel]) -> dict[str, Any]:
    import anthropic

    return {
        "format": {"type": "json_schema", "schema": anthropic.transform_schema(model.model_json_schema())}
    }


def _first_error(exc: ValidationError | ValueError) -> str:
    if isinstance(exc, ValidationError):
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"]) or "answer"
        return f"{where}: {err['msg']}"
    return str(exc)[:200]


class ClaudeSteps:
    name = "claude"

    def __init__(
        self,
        client: anthropic.Anthropic,
        config: Drafting,
        ledger: Ledger | None,
        *,
        sleep: Callable[[float], None] = time.sleep,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.client = client
        self.config = config
        self.ledger = ledger
        self.sleep = sleep
        self.monotonic = monotonic
        # `[drafting] concurrency` bounds the calls in flight from this process, however they are spread
        # (a scan's leads, each lead's classify/extract/score together, an inbound lead meanwhile)
        self._slots = threading.BoundedSemaphore(config.concurrency)

    # ---- choosing the prompt ----

    def choose(self, step: str, key: str) -> Choice:
        cfg = self.config.step(step)
        version, arm = cfg.version, None
        if cfg.ab_version is not None and cfg.ab_share > 0:
            bucket = int(hashlib.sha256(f"{step}:{key}".encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
            if bucket < cfg.ab_share:
                version, arm = cfg.ab_version, "B"
            else:
                arm = "A"
        prompt = load(step, version)
        return Choice(
            prompt=prompt,
            model=cfg.model or self.config.model or prompt.model,
            arm=arm,
            effort=cfg.effort or prompt.effort,
        )

    @staticmethod
    def system(prompt: Prompt) -> list[dict[str, Any]]:
        """The stable prefix: the shared guide (the same for every step) and the step's prompt, each a cache
        breakpoint, so the guide is read from cache by every step and the step text by every lead."""
        return [
            {"type": "text", "text": guide(), "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": prompt.text, "cache_control": {"type": "ephemeral"}},
        ]

    def params(self, step: str, choice: Choice, messages: list[dict[str, Any]]) -> dict[str, Any]:
        """The request: no temperature, top_p or top_k (current models answer 400 to any of them)."""
        output_config = schema_for(STEP_OUTPUTS[step])
        if choice.effort is not None:
            output_config = {"effort": choice.effort, **output_config}
        return {
            "model": choice.model,
            "max_tokens": choice.prompt.max_tokens,
            "system": self.system(choice.prompt),
            "messages": messages,
            "output_config": output_config,
        }

    # ---- one call, with one retry on an invalid answer ----

    def run(self, step: str, call: StepCall, *, sink: Sink | None = None) -> BaseModel:
        """The step's answer. Each call's record goes to `sink` when given (a worker thread's caller writes
        it), to the ledger otherwise. Raises StepRefused, StepFailed or OverSpendCap."""
        import anthropic

        choice = self.choose(step, call.key)
        messages: list[dict[str, Any]] = [{"role": "user", "content": call.user_text}]
        problem = ""
        for attempt in (1, 2):
            params = self.params(step, choice, messages)
            # recorded inside the budget's hold, so the call's cost is never out of both the hold and the
            # record (a Pending counts it from the moment it is added)
            with self._slots, self._budget(choice, params):
                started = time.monotonic()
                try:
                    message = self.client.messages.create(**params)
                except anthropic.APIError as exc:
                    self._record(
                        step,
                        call,
                        choice,
                        "failed",
                        started,
                        error=f"{type(exc).__name__}: {exc}"[:300],
                        sink=sink,
                    )
                    raise StepFailed(f"Claude's {step} step failed ({type(exc).__name__})") from None
                refusal = self._refusal(message)
                text, answer, problem = self._read(step, message)
                status = "refused" if refusal else "ok" if answer is not None else "invalid"
                self._record(
                    step,
                    call,
                    choice,
                    status,
                    started,
                    message=message,
                    error=refusal or problem or None,
                    answer=answer,
                    sink=sink,
                )
            if refusal:
                raise StepRefused(step, refusal)
            if answer is not None:
                return answer
            if attempt == 1:
                messages = [
                    *messages,
                    {"role": "assistant", "content": text or "(no answer)"},
                    {
                        "role": "user",
                        "content": f"That answer did not validate ({problem}). "
                        "Answer again, exactly in the schema.",
                    },
                ]
        raise StepFailed(f"Claude's {step} answer did not validate twice ({problem})")

    def _budget(self, choice: Choice, params: dict[str, Any], *, batch: bool = False) -> Any:
        """Today's spend cap, checked with this call's worst case held while it runs."""
        if self.ledger is None:
            return nullcontext()
        size = len(json.dumps(params["system"])) + len(json.dumps(params["messages"]))
        price = self.config.prices.get(choice.model)
        return self.ledger.reserve(worst_case(price, size, choice.prompt.max_tokens, batch=batch))

    @staticmethod
    def _refusal(message: Any) -> str | None:
        """What the ledger keeps of a refusal: its category and explanation when the API gives them."""
        if message.stop_reason != "refusal":
            return None
        details = getattr(message, "stop_details", None)
        category = getattr(details, "category", None)
        explanation = getattr(details, "explanation", None)
        return "; ".join(["safety refusal", *(str(x) for x in (category, explanation) if x)])[:300]

    @staticmethod
    def _read(step: str, message: Any) -> tuple[str, BaseModel | None, str]:
        text = "".join(b.text for b in message.content if getattr(b, "type", "") == "text")
        if message.stop_reason not in ("end_turn", "stop_sequence"):
            return text, None, f"stopped by {message.stop_reason}"
        try:
            return text, STEP_OUTPUTS[step].model_validate_json(text), ""
        except (ValidationError, ValueError) as exc:
            return text, None, _first_error(exc)

    def _record(
        self,
        step: str,
        call: StepCall,
        choice: Choice,
        status: str,
        started: float,
        *,
        message: Any = None,
        error: str | None = None,
        answer: BaseModel | None = None,
        batch: bool = False,
        sink: Sink | None = None,
    ) -> None:
        if self.ledger is None:
            return
        usage = Usage.of(message.usage) if message is not None else Usage()
        (sink or self.ledger.record)(
            StepRecord(
                run_id=call.run_id,
                step=step,
                engine="claude",
                status=status,
                prompt_name=choice.prompt.name,
                prompt_version=choice.prompt.version,
                prompt_sha=choice.prompt.sha,
                model=choice.model,
                arm=choice.arm,
                batch=batch,
                usage=usage,
                cost_usd=cost(self.config.prices.get(choice.model), usage, batch=batch),
                latency_ms=int((time.monotonic() - started) * 1000),
                error=error,
                output=answer.model_dump(mode="json") if answer is not None else None,
            )
        )

    # ---- many leads at once through the Message Batches API ----

    def run_batch(self, step: str, calls: Sequence[StepCall]) -> list[tuple[BaseModel | StepFailed, bool]]:
        """One batch for one step across many leads, at half price. An invalid answer gets its one retry as a
        normal call; a batch that has not ended within `batch_wait_seconds` is cancelled and its leads are
        answered one call at a time. Each answer comes with whether the batch gave it."""
        choices = [self.choose(step, c.key) for c in calls]
        requests: list[dict[str, Any]] = [
            {
                "custom_id": f"{step}-{i}",
                "params": self.params(step, ch, [{"role": "user", "content": c.user_text}]),
            }
            for i, (c, ch) in enumerate(zip(calls, choices, strict=True))
        ]
        hold = 0.0
        for r, ch in zip(requests, choices, strict=True):
            size = len(json.dumps(r["params"]["system"])) + len(json.dumps(r["params"]["messages"]))
            hold += worst_case(self.config.prices.get(ch.model), size, ch.prompt.max_tokens, batch=True)
        with self.ledger.reserve(hold) if self.ledger is not None else nullcontext():
            answered = self._await_batch(step, calls, choices, requests)
        # what the batch did not answer (cancelled, errored, invalid) is asked one call at a time, with the
        # batch's budget released; a refusal is final
        return [
            (found, True) if found is not None else (self._run_or_fail(step, c), False)
            for found, c in zip(answered, calls, strict=True)
        ]

    def _await_batch(
        self,
        step: str,
        calls: Sequence[StepCall],
        choices: list[Choice],
        requests: list[dict[str, Any]],
    ) -> list[BaseModel | StepRefused | None]:
        """The batch's valid answers and refusals, None where it gave neither."""
        import anthropic

        started = time.monotonic()
        waited_from = self.monotonic()
        try:
            batch = self.client.messages.batches.create(requests=requests)  # type: ignore[arg-type]
            while batch.processing_status != "ended":
                if self.monotonic() - waited_from > self.config.batch_wait_seconds:
                    self.client.messages.batches.cancel(batch.id)
                    return [None] * len(calls)
                self.sleep(self.config.batch_poll_seconds)
                batch = self.client.messages.batches.retrieve(batch.id)
            results = {r.custom_id: r.result for r in self.client.messages.batches.results(batch.id)}
        except anthropic.APIError:
            return [None] * len(calls)
        out: list[BaseModel | StepRefused | None] = []
        for i, (c, ch) in enumerate(zip(calls, choices, strict=True)):
            result = results.get(f"{step}-{i}")
            if result is None or result.type != "succeeded":
                out.append(None)
                continue
            refusal = self._refusal(result.message)
            _, answer, problem = self._read(step, result.message)
            status = "refused" if refusal else "ok" if answer is not None else "invalid"
            self._record(
                step,
                c,
                ch,
                status,
                started,
                message=result.message,
                error=refusal or problem or None,
                answer=answer,
                batch=True,
            )
            out.append(StepRefused(step, refusal) if refusal else answer)
        return out

    def _run_or_fail(self, step: str, call: StepCall) -> BaseModel | StepFailed:
        try:
            return self.run(step, call)
        except StepFailed as exc:
            return exc


def lead_message(
    lead: dict[str, Any], earlier: dict[str, Any] | None = None, style: list[dict] | None = None
) -> str:
    """The user turn: the lead as delimited data, what earlier steps found, and the rep's style examples."""
    parts = [f"<lead>\n{json.dumps(lead, indent=1, ensure_ascii=False)}\n</lead>"]
    if earlier:
        parts.append(
            f"<earlier_steps>\n{json.dumps(earlier, indent=1, ensure_ascii=False)}\n</earlier_steps>"
        )
    if style:
        parts.append(
            "<style_examples>\nThe rep's own recent edits of drafts (before → after). "
            "Write the way the after versions read.\n"
            f"{json.dumps(style, indent=1, ensure_ascii=False)}\n</style_examples>"
        )
    return "\n\n".join(parts)
