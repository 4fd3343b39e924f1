"""Runs the real app (waitress + Bolt) on 127.0.0.1 and talks to it the way Slack does: signed requests."""

from __future__ import annotations

import hashlib
import hmac
import http.client
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import waitress
from pydantic import SecretStr

from app import Runtime, build, socket_front, wsgi_app
from bot.clock import FixedClock
from bot.settings import Settings
from tests.fakes.slack_api import FakeSlack
from tests.fakes.smtp import Mailbox
from tests.fakes.socket_mode import FakeSocketMode


@dataclass
class Reply:
    status: int
    body: str

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


class SlackRequests:
    """What Slack sends an app, correctly signed: slash commands, events, clicks, modal submissions."""

    port: int
    signing_secret: str
    slack: FakeSlack

    # --- raw HTTP -----------------------------------------------------------
    def request(
        self, method: str, path: str, body: bytes = b"", headers: dict[str, str] | None = None
    ) -> Reply:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request(method, path, body=body, headers=headers or {})
        resp = conn.getresponse()
        reply = Reply(resp.status, resp.read().decode())
        conn.close()
        return reply

    def signed_post(
        self,
        body: str | bytes,
        content_type: str | None,
        *,
        timestamp: int | None = None,
        signature: str | None = None,
        sign: bool = True,
    ) -> Reply:
        """POST to the app as Slack does: the v0 signature over the raw bytes (which need not be UTF-8)."""
        raw = body.encode() if isinstance(body, str) else body
        ts = str(timestamp if timestamp is not None else int(time.time()))
        headers = {"Content-Type": content_type} if content_type else {}
        if sign:
            mac = hmac.new(self.signing_secret.encode(), f"v0:{ts}:".encode() + raw, hashlib.sha256)
            headers["X-Slack-Request-Timestamp"] = ts
            headers["X-Slack-Signature"] = signature or f"v0={mac.hexdigest()}"
        return self.request("POST", "/slack/events", raw, headers)

    # --- what Slack sends ---------------------------------------------------
    def send(self, kind: str, body: dict[str, Any]) -> Reply:
        """Over HTTP: a slash command form-encoded, an interaction as the form's `payload`, an event as
        JSON; each signed."""
        if kind == "slash_commands":
            return self.signed_post(urlencode(body), "application/x-www-form-urlencoded")
        if kind == "interactive":
            return self.signed_post(
                urlencode({"payload": json.dumps(body)}), "application/x-www-form-urlencoded"
            )
        return self.signed_post(json.dumps(body), "application/json")

    def command(self, text: str, *, user: str, channel: str = "DDANA", response: str = "cmd") -> Reply:
        form = {
            "command": "/followup",
            "text": text,
            "user_id": user,
            "user_name": user.lower(),
            "channel_id": channel,
            "team_id": "T0001",
            "team_domain": "acme",
            "api_app_id": "A0001",
            "trigger_id": f"trig.{uuid.uuid4().hex}",
            "response_url": self.slack.response_url(response),
            "token": "legacy",
        }
        return self.send("slash_commands", form)

    def event(self, event: dict[str, Any]) -> Reply:
        envelope = {
            "token": "legacy",
            "team_id": "T0001",
            "api_app_id": "A0001",
            "type": "event_callback",
            "event_id": f"Ev{uuid.uuid4().hex[:10]}",
            "event_time": int(time.time()),
            "event": event,
            "authorizations": [{"team_id": "T0001", "user_id": "UBOT", "is_bot": True}],
        }
        return self.send("events_api", envelope)

    def interact(self, payload: dict[str, Any]) -> Reply:
        base = {
            "team": {"id": "T0001", "domain": "acme"},
            "api_app_id": "A0001",
            "token": "legacy",
            "trigger_id": f"trig.{uuid.uuid4().hex}",
        }
        return self.send("interactive", {**base, **payload})

    def click(
        self,
        action_id: str,
        *,
        user: str,
        card: tuple[str, str],
        value: str | None = None,
        selected: str | None = None,
        response: str = "click",
    ) -> Reply:
        channel, ts = card
        action: dict[str, Any] = {
            "action_id": action_id,
            "block_id": "followup-card-actions",
            "action_ts": f"{time.time():.6f}",
        }
        if selected is not None:
            action.update(
                type="static_select",
                selected_option={"text": {"type": "plain_text", "text": selected}, "value": selected},
            )
        else:
            action.update(type="button", value=value)
        return self.interact(
            {
                "type": "block_actions",
                "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
                "container": {
                    "type": "message",
                    "message_ts": ts,
                    "channel_id": channel,
                    "is_ephemeral": False,
                },
                "channel": {"id": channel, "name": "directmessage"},
                "message": {"ts": ts, "type": "message", "text": "card"},
                "response_url": self.slack.response_url(response),
                "actions": [action],
            }
        )

    def submit(
        self,
        callback_id: str,
        *,
        user: str,
        private_metadata: str,
        values: dict[str, dict[str, dict[str, Any]]],
    ) -> Reply:
        return self.interact(
            {
                "type": "view_submission",
                "user": {"id": user, "username": user.lower(), "team_id": "T0001"},
                "view": {
                    "id": "V0001",
                    "type": "modal",
                    "callback_id": callback_id,
                    "hash": "h1",
                    "private_metadata": private_metadata,
                    "state": {"values": values},
                },
            }
        )


@dataclass
class AppHarness(SlackRequests):
    runtime: Runtime
    server: Any
    thread: threading.Thread
    stopping: threading.Event
    settings: Settings
    clock: FixedClock
    slack: FakeSlack
    mailbox: Mailbox
    signing_secret: str

    @classmethod
    def start(
        cls, settings: Settings, *, clock: FixedClock, slack: FakeSlack, mailbox: Mailbox, signing_secret: str
    ) -> AppHarness:
        runtime = build(settings, clock=clock)
        runtime.workers.start()
        server = waitress.create_server(wsgi_app(runtime), host="127.0.0.1", port=0, threads=4)
        stopping = threading.Event()

        def serve() -> None:
            # short loop turns instead of server.run(), so stop() can end the loop before closing the socket
            while not stopping.is_set():
                server.asyncore.loop(timeout=0.05, map=server._map, count=1)

        thread = threading.Thread(target=serve, daemon=True)
        thread.start()
        return cls(runtime, server, thread, stopping, settings, clock, slack, mailbox, signing_secret)

    def stop(self) -> None:
        self.stopping.set()
        self.thread.join(timeout=5)
        self.server.close()
        self.runtime.shutdown()

    def restart(self) -> AppHarness:
        """A new process in all but name: new engine, new Bolt app, new server; same database."""
        self.stop()
        return AppHarness.start(
            self.settings,
            clock=self.clock,
            slack=self.slack,
            mailbox=self.mailbox,
            signing_secret=self.signing_secret,
        )

    @property
    def deps(self):  # type: ignore[no-untyped-def]
        return self.runtime.deps

    @property
    def port(self) -> int:  # type: ignore[override]
        return self.server.effective_port


@dataclass
class SocketHarness(SlackRequests):
    """The real app in Socket Mode: the same Bolt app and listeners, reached over the fake Slack's
    WebSocket instead of HTTP. A request's Reply is its envelope's acknowledgement (200, with the response
    payload as the body), or status 0 when Slack would have shown the person an error: no acknowledgement,
    or one later than Slack's 3 s."""

    runtime: Runtime
    front: Any
    settings: Settings
    clock: FixedClock
    slack: FakeSlack
    socket: FakeSocketMode
    mailbox: Mailbox

    @classmethod
    def start(
        cls,
        settings: Settings,
        *,
        clock: FixedClock,
        slack: FakeSlack,
        socket: FakeSocketMode,
        mailbox: Mailbox,
        retry_seconds: float = 30.0,
    ) -> SocketHarness:
        runtime = build(
            settings.model_copy(update={"slack_app_token": SecretStr(socket.app_token)}),
            clock=clock,
            socket_mode=True,
        )
        runtime.workers.start()
        front = socket_front(runtime, ping_interval=1.0, retry_seconds=retry_seconds)
        front.connect()
        return cls(runtime, front, settings, clock, slack, socket, mailbox)

    def send(self, kind: str, body: dict[str, Any]) -> Reply:
        env = self.socket.deliver(kind, body)
        if not env.acks or env.failed:
            return Reply(0, env.failed or "no acknowledgement")
        payload = env.response
        return Reply(200, json.dumps(payload) if payload else "")

    def stop(self) -> None:
        self.front.close()
        self.runtime.shutdown()

    @property
    def deps(self):  # type: ignore[no-untyped-def]
        return self.runtime.deps
