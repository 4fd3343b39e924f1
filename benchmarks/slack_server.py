"""The tests' fake Slack Web API in a process of its own, so a benchmark's load clients and the app's calls
to Slack don't share one interpreter. Prints its URL and token, then serves until stdin closes."""

from __future__ import annotations

import json
import sys
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
print(json.dumps({"api_url": slack.api_url, "token": slack.token, "response_url": slack.response_url("x")}))
sys.stdout.flush()
sys.stdin.read()
server.stop()
