"""A fake Anthropic Messages API on 127.0.0.1 for the real `anthropic` client."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response


@dataclass
class FakeClaude:
    server: HTTPServer
    api_key: str = "sk-ant-test"
    requests: list[dict[str, Any]] = field(default_factory=list)
    tool_input: dict[str, Any] | None = None
    status: int = 200
    delay: float = 0.0  # seconds each answer takes, like a model thinking
    in_flight: int = 0
    max_in_flight: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    def install(self) -> None:
        self.server.expect_request("/v1/messages", method="POST").respond_with_handler(self._messages)

    def _messages(self, request: Request) -> Response:
        # the SDK sends the key as x-api-key or as a bearer token, depending on its version
        given = request.headers.get("x-api-key") or request.headers.get("Authorization", "").removeprefix(
            "Bearer "
        )
        if given != self.api_key:
            return self._error(401, "authentication_error", "invalid x-api-key")
        body = request.get_json()
        with self._lock:
            self.requests.append(body)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            time.sleep(self.delay)
        finally:
            with self._lock:
                self.in_flight -= 1
        if self.status != 200:
            return self._error(self.status, "overloaded_error", "Overloaded")
        tool = body["tools"][0]["name"]
        answer = {
            "id": "msg_test_1",
            "type": "message",
            "role": "assistant",
            "model": body["model"],
            "content": [{"type": "tool_use", "id": "toolu_1", "name": tool, "input": self.tool_input or {}}],
            "stop_reason": "tool_use",
            "stop_sequence": None,
            "usage": {"input_tokens": 812, "output_tokens": 240},
        }
        return Response(json.dumps(answer), content_type="application/json")

    @staticmethod
    def _error(status: int, kind: str, message: str) -> Response:
        payload = {"type": "error", "error": {"type": kind, "message": message}}
        return Response(json.dumps(payload), status=status, content_type="application/json")
