"""The tests' fake Slack Web API in a process of its own, so a benchmark's load clients and the app's calls
to Slack don't share one interpreter. Prints its URL and token, then serves until stdin closes."""

from __future__ import annotations

import json
import sys
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_httpserver import HTTPServer

from tests.fakes.slack_api import FakeSlack

server = HTTPServer(host="127.0.0.1", port=0, threaded=True)
server.start()
slack = FakeSlack(server)
slack.install()
for user_id, email in json.loads(sys.argv[1] if len(sys.argv) > 1 else "{}").items():
    slack.add_user(user_id, email)


class _Tickets:
    """apps.connections.open for a Socket Mode server in the benchmark's process: a fresh ticket each time."""

    def __init__(self, url: str, app_token: str) -> None:
        self.url, self.app_token = url, app_token

    def connections_open(self, authorization: str | None) -> dict:
        if authorization != f"Bearer {self.app_token}":
            return {"ok": False, "error": "invalid_auth"}
        return {"ok": True, "url": f"{self.url}?ticket={uuid.uuid4().hex}&app_id=A0001"}


if len(sys.argv) > 2:  # Socket Mode: {"url": "ws://…/link/", "app_token": "xapp-…"}
    socket = json.loads(sys.argv[2])
    slack.socket = _Tickets(socket["url"], socket["app_token"])  # type: ignore[assignment]
print(json.dumps({"api_url": slack.api_url, "token": slack.token, "response_url": slack.response_url("x")}))
sys.stdout.flush()
sys.stdin.read()
server.stop()
