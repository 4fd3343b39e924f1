"""Socket Mode: the front door when the app has no public URL (`SLACK_APP_TOKEN` set).

Slack's WebSocket carries the same requests the HTTP door gets, as envelopes; each is checked against
`handlers.payload`'s models exactly as the gate checks HTTP requests, handed to Bolt, and acknowledged by its
`envelope_id` (the listeners store first and acknowledge at once, as over HTTP). Slack delivers at least once:
an event it saw no acknowledgement for (a socket that died before the ack got through) comes again, on any
connection, and is acknowledged without being handled twice.

The connection is slack_sdk's built-in client, which reconnects when Slack asks (`disconnect` with
`refresh_requested`, `warning`, …) and when the socket drops, with one change: each connection has a reader
thread of its own, so a new one takes over without waiting for the old one to close (see `_Client`).
Around it: the socket's state for `GET /healthz`, one clear log line when Slack rejects the app token (no
reconnect loop: only a new token helps), and for `link_disabled` (Socket Mode turned off in the app's
settings) a quiet retry until it is turned back on."""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable
from typing import Any

from slack_bolt import App
from slack_bolt.adapter.socket_mode.base_handler import BaseSocketModeHandler
from slack_bolt.adapter.socket_mode.internals import run_bolt_app, send_response
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.socket_mode.builtin import SocketModeClient
from slack_sdk.socket_mode.builtin.connection import Connection, ConnectionState
from slack_sdk.socket_mode.client import BaseSocketModeClient
from slack_sdk.socket_mode.request import SocketModeRequest
from slack_sdk.socket_mode.response import SocketModeResponse

from bot import telemetry
from bot.errors import FollowupError
from bot.services.deliveries import Deliveries, delivery_key
from handlers.gate import clean_command, clean_event, clean_interaction
from handlers.payload import Invalid

log = logging.getLogger(__name__)

# apps.connections.open's answers that no retry can change: the token is wrong, revoked, or its workspace gone
# (the same set Slack's own Node SDK treats as unrecoverable)
UNRECOVERABLE = {
    "invalid_auth",
    "not_authed",
    "token_revoked",
    "account_inactive",
    "not_allowed_token_type",
    "user_removed_from_team",
    "team_disabled",
}
RECONNECT_GRACE = 60.0  # seconds: reconnecting for longer than this is reported unhealthy
OLD_CONNECTION_GRACE = 15.0  # seconds an old connection may go on delivering after a new one took over

CONNECTING, CONNECTED, RECONNECTING, DISABLED, REJECTED, CLOSED = (
    "connecting",
    "connected",
    "reconnecting",
    "disabled",
    "rejected",
    "closed",
)


class SocketState:
    """What `GET /healthz` says in Socket Mode: the socket's state, since when, and why."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.state, self.reason, self.since = CONNECTING, "", time.time()
        self.connections = 0  # sessions Slack has said hello on, since the process started

    def set(self, state: str, reason: str = "") -> None:
        with self._lock:
            if state == CONNECTED:
                self.connections += 1
            if state != self.state:
                self.state, self.since = state, time.time()
            self.reason = reason
        telemetry.SOCKET_CONNECTED.set(1 if state == CONNECTED else 0)

    def report(self) -> tuple[bool, dict[str, Any]]:
        with self._lock:
            state, reason, since = self.state, self.reason, self.since
        waited = time.time() - since
        ok = state == CONNECTED or (state in (CONNECTING, RECONNECTING) and waited < RECONNECT_GRACE)
        body: dict[str, Any] = {"ok": ok, "socket": state, "since": round(since, 3)}
        if reason:
            body["reason"] = reason
        return ok, body


class _Client(SocketModeClient):
    """slack_sdk's client, watched: hello and disconnect messages move the state, and the app token's
    rejection and `link_disabled` stop its reconnect loop.

    And one change to how it switches connections. The SDK reads every connection from one thread and, on a
    refresh, closes the old connection before it switches to the new one. Closing waits for the old
    socket's pending read: up to its 3 s receive timeout, or until Slack closes it. All that time nothing is
    dispatched and no ack goes out, which is past Slack's 3 s for whatever arrived meanwhile. Here each
    connection is read by a thread of its own. A new one takes over at once: acks go out on it and its
    envelopes are handled. The old one keeps delivering what Slack still sends on it until Slack closes it,
    or OLD_CONNECTION_GRACE runs out."""

    def __init__(self, *, state: SocketState, retry_seconds: float, **kwargs: Any) -> None:
        self.state, self.retry_seconds = state, retry_seconds
        self.started = False  # the first connection is `serve`'s to report; later ones are logged here
        self._stopped = threading.Event()
        super().__init__(**kwargs)

    def issue_new_wss_url(self) -> str:
        try:
            return str(self.web_client.apps_connections_open(app_token=self.app_token)["url"])
        except SlackApiError as exc:
            code = str(exc.response.get("error"))
            if code == "ratelimited":  # Tier 1; rare (the web client's own retry handler has waited once)
                time.sleep(int(exc.response.headers.get("Retry-After", "30")))
                return self.issue_new_wss_url()
            if code in UNRECOVERABLE:
                self.auto_reconnect_enabled = self.default_auto_reconnect_enabled = False
                self.state.set(REJECTED, f"Slack rejected SLACK_APP_TOKEN: {code}")
                if self.started:
                    log.error(
                        "Socket Mode is down: Slack rejected SLACK_APP_TOKEN (%s). Nothing from Slack "
                        "reaches the app until a valid app-level token with connections:write is set and "
                        "followup serve is restarted.",
                        code,
                    )
            elif self.started:
                log.warning("Socket Mode could not reconnect yet (Slack said %s): trying again", code)
            raise

    def _monitor_current_session(self) -> None:
        """The SDK's check every ping interval, plus: a ping that could not be written means the socket is
        gone (the peer reset it), so reconnect now rather than after five such failures. A connection that
        died silently (no reset) is caught by the SDK's own check: no pong for four ping intervals."""
        session = self.current_session
        super()._monitor_current_session()
        if (
            session is not None
            and session is self.current_session
            and session.is_active()
            and session.consecutive_check_state_error_count > 0
            and self.auto_reconnect_enabled
        ):
            telemetry.SOCKET_RECONNECTS.labels("dropped").inc()
            self.state.set(RECONNECTING, "the connection dropped")
            log.warning("the Socket Mode connection dropped (a ping could not be sent): reconnecting")
            session.disconnect()
            self.connect_to_new_endpoint()

    def connect_to_new_endpoint(self, force: bool = False) -> None:
        if self.state.state in (REJECTED, DISABLED):
            return  # said once; no reconnect loop (DISABLED has its own quiet retry)
        try:
            super().connect_to_new_endpoint(force)
        except SlackApiError as exc:
            if exc.response.get("error") not in UNRECOVERABLE:
                raise

    def _on_message(self, message: str) -> None:
        kind, reason = _peek(message)
        if kind == "hello":
            self.state.set(CONNECTED)
        elif kind == "disconnect":
            telemetry.SOCKET_RECONNECTS.labels(reason or "unknown").inc()
            if reason == "link_disabled":
                self._disabled()
                return  # not to the SDK's queue, which would reconnect at once
            self.state.set(RECONNECTING, f"Slack asked for a new connection: {reason}")
            log.info("Slack asked for a new Socket Mode connection (%s): reconnecting", reason)
        super()._on_message(message)

    def _on_close(self, code: int, reason: str | None = None) -> None:
        if not self.closed and self.state.state == CONNECTED and not self.is_connected():
            telemetry.SOCKET_RECONNECTS.labels("closed").inc()
            self.state.set(RECONNECTING, "the connection closed")
            log.warning("the Socket Mode connection closed (code %s): reconnecting", code)
        super()._on_close(code, reason)

    def _disabled(self) -> None:
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled = False
        self.state.set(DISABLED, "Socket Mode is turned off in the Slack app's settings (link_disabled)")
        log.error(
            "Slack turned Socket Mode off for this app (link_disabled): nothing from Slack reaches the app. "
            "Turn Socket Mode back on in the app's settings (it reconnects by itself within %.0f s), or run "
            "over HTTP without SLACK_APP_TOKEN.",
            self.retry_seconds,
        )
        threading.Thread(target=self._revive, name="socket-revive", daemon=True).start()

    def _revive(self) -> None:
        """Try a new connection every `retry_seconds` while Socket Mode is off; quiet, since the error
        above already said what to do."""
        while not self._stopped.wait(self.retry_seconds):
            if self.state.state != DISABLED:
                return
            try:
                self.wss_uri = self.web_client.apps_connections_open(app_token=self.app_token)["url"]
                self.connect()
            except Exception as exc:  # still off (or Slack unreachable): try again later
                log.debug("Socket Mode is still unavailable: %s", exc)
                continue
            if self.is_connected():
                self.default_auto_reconnect_enabled = self.auto_reconnect_enabled = True
                log.warning("Socket Mode is back on: connected again")
                return

    def connect(self) -> None:
        old_session, old_state = self.current_session, self.current_session_state
        if self.wss_uri is None:
            self.wss_uri = self.issue_new_wss_url()
        session = Connection(
            url=self.wss_uri,
            logger=self.logger,
            ping_interval=self.ping_interval,
            trace_enabled=self.trace_enabled,
            all_message_trace_enabled=self.all_message_trace_enabled,
            ping_pong_trace_enabled=self.ping_pong_trace_enabled,
            receive_buffer_size=self.receive_buffer_size,
            proxy=self.proxy,
            proxy_headers=self.proxy_headers,
            on_message_listener=self._on_message,
            on_error_listener=self._on_error,
            on_close_listener=self._on_close,
            ssl_context=self.web_client.ssl,
        )
        session.connect()  # a failure is logged by the SDK and leaves the session inactive
        if not session.is_active() and old_session is not None and old_session.is_active():
            log.warning("a new Socket Mode connection failed; the current one stays in use")
            return
        state = ConnectionState()
        self.current_session, self.current_session_state = session, state
        self.auto_reconnect_enabled = self.default_auto_reconnect_enabled
        threading.Thread(target=self._read, args=(session, state), name="socket-read", daemon=True).start()
        if old_session is not None:
            threading.Thread(
                target=self._retire, args=(old_session, old_state), name="socket-retire", daemon=True
            ).start()
        if not self.current_app_monitor_started:
            self.current_app_monitor_started = True
            self.current_app_monitor.start()
        self.logger.info(f"A new session has been established (session id: {self.session_id()})")

    def _run_current_session(self) -> None:
        """The SDK's single reader thread: unused, each connection has its own (`_read`)."""

    def _read(self, session: Connection, state: ConnectionState) -> None:
        try:
            session.run_until_completion(state)
        except Exception as exc:
            log.error("a Socket Mode connection stopped reading: %s", exc)

    def _retire(self, session: Connection, state: ConnectionState) -> None:
        """Let an old connection deliver what Slack still sends on it, then close it if Slack has not."""
        deadline = time.monotonic() + OLD_CONNECTION_GRACE
        while session.is_active() and time.monotonic() < deadline and not self._stopped.is_set():
            time.sleep(0.1)
        state.terminated = True
        session.close()

    def close(self) -> None:
        self._stopped.set()
        self.state.set(CLOSED)
        self.current_session_state.terminated = True
        super().close()


def _peek(message: str) -> tuple[str | None, str | None]:
    """The type of a control message (hello, disconnect) and a disconnect's reason; envelopes are left to
    the SDK."""
    if '"envelope_id"' in message:
        return None, None
    try:
        value = json.loads(message)
    except ValueError:
        return None, None
    if not isinstance(value, dict):
        return None, None
    reason = value.get("reason")
    return value.get("type"), reason if isinstance(reason, str) else None


def clean(kind: str, payload: dict[str, Any], slack_api_url: str | None) -> dict[str, Any] | None:
    """An envelope's payload as the app's models read it (raises Invalid); None for an event the app does
    not subscribe to."""
    if not isinstance(payload, dict):
        raise Invalid("the envelope's payload is not an object")
    if kind == "interactive":
        return clean_interaction(payload, slack_api_url)
    if kind == "slash_commands":
        return clean_command(payload, slack_api_url)
    if kind == "events_api":
        return clean_event(payload)
    raise Invalid("the envelope's type is not one the app handles")


class SocketFront(BaseSocketModeHandler):
    """Bolt's built-in Socket Mode handler, with the gate's checks and redelivery detection in front."""

    def __init__(
        self,
        app: App,
        app_token: str,
        *,
        deliveries: Deliveries,
        slack_api_url: str | None = None,
        state: SocketState | None = None,
        ping_interval: float = 5.0,
        retry_seconds: float = 30.0,
    ) -> None:
        self.app, self.deliveries, self.slack_api_url = app, deliveries, slack_api_url
        self.state = state or SocketState()
        self.client: _Client = _Client(
            state=self.state,
            retry_seconds=retry_seconds,
            app_token=app_token,
            logger=logging.getLogger("slack_sdk.socket_mode"),
            web_client=app.client,
            ping_interval=ping_interval,
        )
        self.client.socket_mode_request_listeners.append(self.handle)  # type: ignore[arg-type]

    def connect(self) -> None:
        """The first connection; a rejected token is a FollowupError naming Slack's answer."""
        try:
            self.client.connect()
        except SlackApiError as exc:
            self.client.close()
            code = exc.response.get("error")
            raise FollowupError(f"SLACK_APP_TOKEN was rejected by Slack: {code}") from None
        except (SlackClientError, OSError) as exc:  # Slack's API unreachable
            self.client.close()
            raise FollowupError(
                f"Slack could not be reached to open a Socket Mode connection: {exc}"
            ) from None
        self.client.started = True

    def handle(self, client: BaseSocketModeClient, req: SocketModeRequest) -> None:  # type: ignore[override]
        started = time.time()
        try:
            payload = clean(req.type, req.payload, self.slack_api_url)
        except Invalid as exc:
            log.warning("refused a Slack envelope: Malformed Slack request: %s", exc)
            _ack(client, req)  # acknowledged, so Slack does not send it again; nothing to handle
            return
        key = delivery_key(payload) if payload is not None else None
        if payload is None or (key is not None and self.deliveries.seen(key)):
            if key is not None:
                log.info("Slack sent %s again (retry %s): acknowledged, not handled twice", key,
                         req.retry_attempt)  # fmt: skip
            _ack(client, req)
            return
        response = run_bolt_app(
            self.app,
            SocketModeRequest(
                type=req.type,
                envelope_id=req.envelope_id,
                payload=payload,
                accepts_response_payload=req.accepts_response_payload,
                retry_attempt=req.retry_attempt,
                retry_reason=req.retry_reason,
            ),
        )
        try:
            send_response(client, req, response, started)
            telemetry.REQUESTS.labels("socket").observe(time.time() - started)
        finally:
            if response.status == 200 and key is not None:
                self.deliveries.record(key)  # handled, even if the ack was lost with the socket


def _ack(client: BaseSocketModeClient, req: SocketModeRequest) -> None:
    client.send_socket_mode_response(SocketModeResponse(envelope_id=req.envelope_id))


class Health:
    """`GET /healthz` (the socket's state: 200 when connected or briefly reconnecting, else 503) and
    `GET /metrics` for a Socket Mode process, which has no other HTTP port."""

    def __init__(self, state: SocketState, metrics: Callable[..., Iterable[bytes]] | None) -> None:
        self.state, self.metrics = state, metrics

    def __call__(self, environ: dict[str, Any], start_response: Callable) -> Iterable[bytes]:
        path = environ.get("PATH_INFO")
        if path == "/metrics" and self.metrics is not None:
            return self.metrics(environ, start_response)
        if path != "/healthz":
            return _answer(start_response, "404 Not Found", b"GET /healthz or /metrics\n", "text/plain")
        ok, body = self.state.report()
        data = json.dumps(body).encode()
        return _answer(
            start_response, "200 OK" if ok else "503 Service Unavailable", data, "application/json"
        )


def _answer(start_response: Callable, status: str, data: bytes, content_type: str) -> list[bytes]:
    start_response(
        status, [("Content-Type", f"{content_type}; charset=utf-8"), ("Content-Length", str(len(data)))]
    )
    return [data]
