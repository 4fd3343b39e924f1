"""Slack's Socket Mode server, on 127.0.0.1: what the app's real slack_sdk client connects to.

As Slack does it: `apps.connections.open` (on the fake Web API, with the app-level token) hands out a one-use
WebSocket URL; the server says `hello`; requests arrive as envelopes (`events_api`, `interactive`,
`slash_commands`) with an `envelope_id` the app must acknowledge within 3 seconds, with the response payload
for interactions. An event that is not acknowledged in time is sent again (`retry_attempt`, `retry_reason`),
up to three times, on whichever connection is open; an interaction or command is not (the person sees an
error). `disconnect` messages (`refresh_requested`, `warning`, `link_disabled`) and a dropped TCP connection
are triggered by the test. Envelopes go to the newest open connection; acks count on any of them."""

from __future__ import annotations

import contextlib
import itertools
import json
import socket
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

from websockets.exceptions import ConnectionClosed
from websockets.sync.server import Server, ServerConnection, serve

ACK_WINDOW = 3.0  # seconds Slack waits for an envelope's acknowledgement
EVENT_RETRIES = 3


@dataclass
class Envelope:
    envelope_id: str
    type: str
    payload: dict[str, Any]
    sent: list[tuple[int, float]] = field(default_factory=list)  # (connection, time) per delivery attempt
    acks: list[tuple[int, float, dict[str, Any] | None]] = field(default_factory=list)
    acked: threading.Event = field(default_factory=threading.Event)
    failed: str | None = None  # what the person would see: no connection, or no ack in time

    @property
    def response(self) -> dict[str, Any] | None:
        return self.acks[0][2] if self.acks else None


@dataclass
class _Conn:
    id: int
    ws: ServerConnection
    opened_at: float
    closing: bool = False  # Slack said disconnect: still delivering until it closes, if nothing newer is open
    dead: bool = False


class FakeSocketMode:
    def __init__(self, app_token: str = "xapp-1-A0001-1-fake", *, any_ticket: bool = False) -> None:
        self.app_token = app_token
        self.any_ticket = any_ticket  # the Web API fake runs in another process and issues the tickets
        self.enabled = True  # Socket Mode on in the app's settings (link_disabled turns it off)
        self.revoked = False
        self.opened: list[str] = []  # apps.connections.open answers, as errors or "ok"
        self.hellos = 0
        self.swallow_next_ack = False  # the next ack is lost with the connection that carried it
        self.envelopes: dict[str, Envelope] = {}
        self._tickets: set[str] = set()
        self._conns: dict[int, _Conn] = {}
        self._ids = itertools.count(1)
        self._lock = threading.Condition()
        self._server: Server = serve(self._session, "127.0.0.1", 0, compression=None, ping_interval=None)
        self.port = self._server.socket.getsockname()[1]
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-socket", daemon=True)
        self._thread.start()

    def close(self) -> None:
        self._server.shutdown()
        self._thread.join(timeout=5)

    # --- the Web API side ----------------------------------------------------
    def connections_open(self, authorization: str | None) -> dict[str, Any]:
        """`apps.connections.open`: the app-level token in the Authorization header, never a bot token."""
        with self._lock:
            if authorization != f"Bearer {self.app_token}":
                answer = {"ok": False, "error": "invalid_auth"}
            elif self.revoked:
                answer = {"ok": False, "error": "token_revoked"}
            elif not self.enabled:
                answer = {"ok": False, "error": "access_denied"}
            else:
                ticket = uuid.uuid4().hex
                self._tickets.add(ticket)
                url = f"ws://127.0.0.1:{self.port}/link/?ticket={ticket}&app_id=A0001"
                answer = {"ok": True, "url": url}
            self.opened.append("ok" if answer["ok"] else str(answer["error"]))
        return answer

    # --- the WebSocket side --------------------------------------------------
    def _session(self, ws: ServerConnection) -> None:
        query = parse_qs(urlsplit(ws.request.path if ws.request else "").query)
        ticket = (query.get("ticket") or [""])[0]
        with self._lock:
            if not (ticket in self._tickets or (self.any_ticket and ticket)):  # one URL, one connection
                ws.close(1008, "invalid ticket")
                return
            self._tickets.discard(ticket)
            conn = _Conn(next(self._ids), ws, time.monotonic())
            self._conns[conn.id] = conn
            self.hellos += 1
            count = len(self._conns)
            self._lock.notify_all()
        ws.send(json.dumps({
            "type": "hello",
            "num_connections": count,
            "debug_info": {"host": "applink-fake", "approximate_connection_time": 18060},
            "connection_info": {"app_id": "A0001"},
        }))  # fmt: skip
        try:
            for message in ws:
                self._received(conn, message)
        except ConnectionClosed:
            pass
        finally:
            with self._lock:
                self._conns.pop(conn.id, None)
                self._lock.notify_all()

    def _received(self, conn: _Conn, message: str | bytes) -> None:
        data = json.loads(message)
        envelope_id = data.get("envelope_id")
        with self._lock:
            env = self.envelopes.get(envelope_id)
            if env is None:
                return
            if self.swallow_next_ack:  # the ack never arrives: the connection dies under it
                self.swallow_next_ack = False
                self._drop(conn)
                return
            env.acks.append((conn.id, time.monotonic(), data.get("payload")))
            env.acked.set()
            self._lock.notify_all()

    # --- what tests do -------------------------------------------------------
    def wait_connected(self, hellos: int = 1, timeout: float = 10.0) -> None:
        """Until `hellos` connections have been greeted in all, and one is open."""
        deadline = time.monotonic() + timeout
        with self._lock:
            while self.hellos < hellos or not self._live():
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"the app did not connect ({self.hellos} hellos, {self.opened})")
                self._lock.wait(left)

    def open_connections(self) -> int:
        with self._lock:
            return len(self._live())

    def deliver(self, kind: str, payload: dict[str, Any], *, wait: float = 5.0) -> Envelope:
        """Send an envelope to the newest open connection (an event is retried if not acknowledged)."""
        env = Envelope(uuid.uuid4().hex, kind, payload)
        with self._lock:
            self.envelopes[env.envelope_id] = env
        if kind == "events_api":
            threading.Thread(target=self._deliver_event, args=(env,), daemon=True).start()
        else:
            self._send(env, attempt=0)
            if not env.failed and not env.acked.wait(ACK_WINDOW):
                env.failed = "no acknowledgement in 3 s"  # Slack shows the person an error; no retry
        env.acked.wait(wait)
        return env

    def _deliver_event(self, env: Envelope) -> None:
        for attempt in range(EVENT_RETRIES + 1):
            self._send(env, attempt=attempt, wait_for_connection=ACK_WINDOW)
            if env.acked.wait(ACK_WINDOW):
                return
        env.failed = "not acknowledged after every retry"

    def _send(self, env: Envelope, *, attempt: int, wait_for_connection: float = 0.0) -> None:
        message: dict[str, Any] = {
            "envelope_id": env.envelope_id,
            "type": env.type,
            "payload": env.payload,
            "accepts_response_payload": env.type != "events_api",
        }
        if env.type == "events_api":
            message.update(retry_attempt=attempt, retry_reason="timeout" if attempt else "")
        deadline = time.monotonic() + wait_for_connection
        with self._lock:
            while not self._live() and time.monotonic() < deadline:
                self._lock.wait(deadline - time.monotonic())
            live = self._live()
            if not live:
                env.failed = "no open connection"
                return
            conn = live[-1]
            env.sent.append((conn.id, time.monotonic()))
        try:
            conn.ws.send(json.dumps(message))
            env.failed = None
        except ConnectionClosed:
            env.failed = "the connection closed under the envelope"

    def disconnect(self, reason: str, *, close_after: float = 1.0) -> None:
        """A `disconnect` message on the newest connection, which Slack then closes after `close_after` s
        (for `link_disabled`, Socket Mode is off from now on: no new connection is allowed)."""
        with self._lock:
            conn = self._live()[-1]
            conn.closing = True  # new envelopes go to a newer connection once there is one
            if reason == "link_disabled":
                self.enabled = False
        conn.ws.send(
            json.dumps({"type": "disconnect", "reason": reason, "debug_info": {"host": "applink-fake"}})
        )
        threading.Timer(close_after, lambda: conn.ws.close(1000, reason)).start()

    def drop(self) -> None:
        """The newest connection dies without a close frame, as when a NAT or load balancer forgets it."""
        with self._lock:
            self._drop(self._live()[-1])

    def _drop(self, conn: _Conn) -> None:
        conn.dead = True
        with contextlib.suppress(OSError):
            conn.ws.socket.shutdown(socket.SHUT_RDWR)
        conn.ws.socket.close()

    def _live(self) -> list[_Conn]:
        """Open connections, the one to use last: the newest not told to disconnect."""
        open_ = [c for c in self._conns.values() if not c.dead]
        return sorted(open_, key=lambda c: (not c.closing, c.id))
