"""A fake Anthropic Messages API on 127.0.0.1 for the real `anthropic` client.

It answers like the API does for what this app uses: structured outputs (`output_config.format`, the answer as
JSON text), usage with prompt-cache reads and writes (a prefix up to a `cache_control` breakpoint is cached
once it reaches the model's minimum length, and read back on the next identical prefix), the Message Batches
endpoints, authentication errors and overload. Like the current API it answers 400 to a sampling parameter
(temperature, top_p, top_k) and to an unknown `output_config.effort`, and it can decline like the safety
classifiers do (`stop_reason: "refusal"`) for the leads a test names. Tests script each step's answers, may
make each answer take `delay` seconds, and read back when each request started and ended (`timings`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

from bot.config import DEFAULT_PRICES

# the smallest prefix the API caches, by model (tokens); unknown models use the largest
CACHE_MINIMUM = {
    "claude-sonnet-5-5": 1024,
    "claude-sonnet-4-5": 1024,
    "claude-haiku-4-5": 4096,
    "claude-haiku-5-5": 4096,  # taken to be Haiku 4.5's
}
SAMPLING = ("temperature", "top_p", "top_k")
EFFORTS = ("low", "medium", "high", "xhigh", "max")

DEFAULTS: dict[str, Any] = {
    "classify": {"label": "sales_opportunity", "confidence": 0.88, "reason": "Asks for a demo for a team."},
    "extract": {
        "company": "Acme",
        "role": "Head of Sales",
        "use_case": "follow-ups on inbound leads",
        "urgency": "high",
        "team_size": "40 reps",
        "geography": None,
        "source": "web form",
        "likely_fit": "B2B sales team on HubSpot",
        "still_needed": ["Budget"],
    },
    "score": {
        "fit": {"score": 80, "evidence": ["40 reps"]},
        "intent": {"score": 75, "evidence": ["asked for a demo"]},
        "urgency": {"score": 60, "evidence": ["before Q1"]},
    },
    "summarize": {"lines": ["Who: a sales lead.", "Last: a form on Tuesday.", "Watch: budget unknown."]},
    "draft": {
        "subject": "Your demo request",
        "body": "Hi,\n\nThanks for your note on Tuesday about follow-ups.\n\n"
        "Would Friday suit for 20 minutes?\n\nSam",
        "ask": "Would Friday suit for 20 minutes?",
        "source_ids": [],
    },
    "breakup": {
        "subject": "Closing the loop",
        "body": "Hi,\n\nI will stop following up for now.\n\nIs a one-word reply possible?\n\nSam",
        "ask": "Is a one-word reply possible?",
        "source_ids": [],
    },
}


def tokens(text: str) -> int:
    """The fake's tokenizer: about four characters a token, like English text."""
    return max(1, len(text) // 4)


def step_of(body: dict[str, Any]) -> str:
    system = body.get("system") or []
    text = system if isinstance(system, str) else "\n".join(b.get("text", "") for b in system)
    for line in text.splitlines()[::-1]:
        if line.startswith("Step: "):
            return line.removeprefix("Step: ").rstrip(".").replace("break-up", "breakup")
    return "draft"


@dataclass(frozen=True)
class Timing:
    """One /v1/messages request as the server saw it (time.monotonic, this process's clock)."""

    step: str
    model: str
    effort: str | None
    started: float
    ended: float


@dataclass
class FakeClaude:
    server: HTTPServer
    api_key: str = "sk-ant-test"
    requests: list[dict[str, Any]] = field(default_factory=list)
    # per step: a dict (always this answer) or a list (one per call, the last one repeating)
    answers: dict[str, Any] = field(default_factory=dict)
    status: int = 200
    delay: float = 0.0  # seconds each answer takes, like a model thinking
    timings: list[Timing] = field(default_factory=list)
    # a request whose user turn holds this text is declined (stop_reason "refusal"), on every step or on
    # `refuse_steps` alone
    refuse_text: str | None = None
    refuse_steps: set[str] | None = None
    in_flight: int = 0
    max_in_flight: int = 0
    cache: set[str] = field(default_factory=set)
    batches: dict[str, dict[str, Any]] = field(default_factory=dict)
    batch_polls_until_ended: int = 1
    # GET /v1/models/{id}: the models this key may use (id -> display name)
    models: dict[str, str] = field(
        default_factory=lambda: {m: m.replace("-", " ").title() for m in DEFAULT_PRICES}
    )
    _calls: dict[str, int] = field(default_factory=dict)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(1))
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def install(self) -> None:
        s = self.server
        s.expect_request("/v1/messages", method="POST").respond_with_handler(self._messages)
        s.expect_request(re.compile(r"^/v1/models/[^/]+$"), method="GET").respond_with_handler(self._model)
        s.expect_request("/v1/messages/batches", method="POST").respond_with_handler(self._batch_create)
        for n in range(1, 50):
            bid = f"msgbatch_{n:04d}"
            s.expect_request(f"/v1/messages/batches/{bid}", method="GET").respond_with_handler(
                lambda r, bid=bid: self._batch_get(r, bid)
            )
            s.expect_request(f"/v1/messages/batches/{bid}/results", method="GET").respond_with_handler(
                lambda r, bid=bid: self._batch_results(r, bid)
            )
            s.expect_request(f"/v1/messages/batches/{bid}/cancel", method="POST").respond_with_handler(
                lambda r, bid=bid: self._batch_cancel(r, bid)
            )

    # ---- what tests look at ----

    def calls_for(self, step: str) -> list[dict[str, Any]]:
        return [r for r in self.requests if step_of(r) == step]

    def timings_for(self, step: str) -> list[Timing]:
        return [t for t in self.timings if t.step == step]

    # ---- answering ----

    def _authorised(self, request: Request) -> bool:
        given = request.headers.get("x-api-key") or request.headers.get("Authorization", "").removeprefix(
            "Bearer "
        )
        return given == self.api_key

    def _answer_for(self, step: str) -> Any:
        with self._lock:
            n = self._calls.get(step, 0)
            self._calls[step] = n + 1
        scripted = self.answers.get(step, DEFAULTS.get(step, {}))
        if isinstance(scripted, list):
            return scripted[min(n, len(scripted) - 1)]
        return scripted

    def _usage(self, body: dict[str, Any]) -> dict[str, int]:
        """Input tokens split the way the API reports them: read from cache, written to cache, the rest."""
        system = body.get("system") or []
        blocks = [{"text": system}] if isinstance(system, str) else list(system)
        rest = json.dumps(body.get("messages", [])) + json.dumps(body.get("output_config", {}))
        total = sum(tokens(b.get("text", "")) for b in blocks) + tokens(rest)
        minimum = CACHE_MINIMUM.get(body.get("model", ""), 4096)
        read = largest = 0  # the longest prefix found in cache; the longest cacheable prefix
        prefix = ""
        for i, block in enumerate(blocks):
            prefix += block.get("text", "")
            size = sum(tokens(b.get("text", "")) for b in blocks[: i + 1])
            if not block.get("cache_control") or size < minimum:
                continue
            key = hashlib.sha256(f"{body.get('model')}|{prefix}".encode()).hexdigest()
            with self._lock:
                if key in self.cache:
                    read = size
                self.cache.add(key)
            largest = size
        write = largest - read
        return {
            "input_tokens": total - read - write,
            "cache_read_input_tokens": read,
            "cache_creation_input_tokens": write,
        }

    def _refuses(self, body: dict[str, Any], step: str) -> bool:
        if self.refuse_text is None or (self.refuse_steps is not None and step not in self.refuse_steps):
            return False
        return self.refuse_text in json.dumps(body.get("messages", []), ensure_ascii=False)

    def _message(self, body: dict[str, Any]) -> dict[str, Any]:
        step = step_of(body)
        if self._refuses(body, step):
            usage = self._usage(body)
            return {
                "id": f"msg_{next(self._ids)}",
                "type": "message",
                "role": "assistant",
                "model": body["model"],
                "content": [],
                "stop_reason": "refusal",
                "stop_sequence": None,
                "stop_details": {"type": "refusal", "category": "general_harms", "explanation": None},
                "usage": {**usage, "output_tokens": 0},
            }
        answer = self._answer_for(step)
        text = answer if isinstance(answer, str) else json.dumps(answer)
        usage = self._usage(body)
        usage["output_tokens"] = tokens(text)
        return {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "stop_sequence": None,
            "usage": usage,
        }

    def _messages(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "authentication_error", "invalid x-api-key")
        body = request.get_json()
        problem = self._invalid(body)
        if problem:
            return self._error(400, "invalid_request_error", problem)
        started = time.monotonic()
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
        finally:
            effort = (body.get("output_config") or {}).get("effort")
            timing = Timing(step_of(body), body.get("model", ""), effort, started, time.monotonic())
            with self._lock:
                self.in_flight -= 1
                self.timings.append(timing)
        if self.status != 200:
            return self._error(self.status, "overloaded_error", "Overloaded")
        return Response(json.dumps(self._message(body)), content_type="application/json")

    @staticmethod
    def _invalid(body: dict[str, Any]) -> str | None:
        """What the API rejects before answering, in its words."""
        for name in SAMPLING:
            if name in body:
                return f"{name}: sampling parameters are not supported on this model; remove {name}"
        effort = (body.get("output_config") or {}).get("effort")
        if effort is not None and effort not in EFFORTS:
            return f"output_config.effort: Input should be {', '.join(map(repr, EFFORTS))}"
        return None

    # ---- Message Batches ----

    def _batch_view(self, bid: str) -> dict[str, Any]:
        b = self.batches[bid]
        ended = b["polls"] >= self.batch_polls_until_ended or b["canceled"]
        n = len(b["requests"])
        return {
            "id": bid,
            "type": "message_batch",
            "processing_status": "ended" if ended else "in_progress",
            "request_counts": {
                "processing": 0 if ended else n,
                "succeeded": n if ended and not b["canceled"] else 0,
                "errored": 0,
                "canceled": n if b["canceled"] else 0,
                "expired": 0,
            },
            "created_at": "2026-11-25T10:00:00Z",
            "expires_at": "2026-11-26T10:00:00Z",
            "ended_at": "2026-11-25T10:05:00Z" if ended else None,
            "cancel_initiated_at": None,
            "archived_at": None,
            "results_url": f"{self.base_url}/v1/messages/batches/{bid}/results" if ended else None,
        }

    def _batch_create(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "authentication_error", "invalid x-api-key")
        body = request.get_json()
        for req in body["requests"]:
            problem = self._invalid(req["params"])
            if problem:
                return self._error(400, "invalid_request_error", f"requests.{req['custom_id']}: {problem}")
        bid = f"msgbatch_{len(self.batches) + 1:04d}"
        self.batches[bid] = {"requests": body["requests"], "polls": 0, "canceled": False}
        return Response(json.dumps(self._batch_view(bid)), content_type="application/json")

    def _batch_get(self, request: Request, bid: str) -> Response:
        if bid not in self.batches:
            return self._error(404, "not_found_error", "batch not found")
        self.batches[bid]["polls"] += 1
        return Response(json.dumps(self._batch_view(bid)), content_type="application/json")

    def _batch_cancel(self, request: Request, bid: str) -> Response:
        self.batches[bid]["canceled"] = True
        return Response(json.dumps(self._batch_view(bid)), content_type="application/json")

    def _batch_results(self, request: Request, bid: str) -> Response:
        lines = []
        for req in self.batches[bid]["requests"]:
            with self._lock:
                self.requests.append({**req["params"], "batch": bid})
            lines.append(
                json.dumps(
                    {
                        "custom_id": req["custom_id"],
                        "result": {"type": "succeeded", "message": self._message(req["params"])},
                    }
                )
            )
        return Response("\n".join(lines) + "\n", content_type="application/binary")

    def _model(self, request: Request) -> Response:
        if not self._authorised(request):
            return self._error(401, "authentication_error", "invalid x-api-key")
        model = request.path.rsplit("/", 1)[1]
        if model not in self.models:
            return self._error(404, "not_found_error", f"model: {model}")
        info = {
            "type": "model",
            "id": model,
            "display_name": self.models[model],
            "created_at": "2026-01-01T00:00:00Z",
        }
        return Response(json.dumps(info), content_type="application/json")

    @staticmethod
    def _error(status: int, kind: str, message: str) -> Response:
        payload = {"type": "error", "error": {"type": kind, "message": message}}
        return Response(json.dumps(payload), status=status, content_type="application/json")
