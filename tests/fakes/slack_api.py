"""A fake Slack Web API on 127.0.0.1: the real WebClient talks to it; it records every call."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from pytest_httpserver import HTTPServer
from slack_sdk.errors import SlackObjectFormationError
from slack_sdk.models.blocks import Block
from slack_sdk.models.views import View
from werkzeug import Request, Response

from bot.doctor import BOT_SCOPES
from tests.fakes.socket_mode import FakeSocketMode


@dataclass
class Call:
    method: str
    args: dict[str, Any]
    at: float = field(default_factory=time.monotonic)


@dataclass
class SlackUser:
    id: str
    email: str
    tz: str = "America/New_York"
    name: str = ""
    deleted: bool = False
    is_bot: bool = False
    status_text: str = ""
    status_emoji: str = ""


@dataclass
class FakeSlack:
    server: HTTPServer
    token: str = "xoxb-test-token"
    users: dict[str, SlackUser] = field(default_factory=dict)
    calls: list[Call] = field(default_factory=list)
    responses: list[dict[str, Any]] = field(default_factory=list)  # posts to response_url
    responded: list[str] = field(default_factory=list)  # the response_url names posted to, in order
    fail_methods: dict[str, str] = field(default_factory=dict)  # method -> Slack error code
    down: bool = False  # Slack's API answers 503, as in an outage
    rate_limited: dict[str, int] = field(default_factory=dict)  # method -> how many more calls get a 429
    fail_once: dict[str, bool] = field(default_factory=dict)  # method -> its next call gets a 503
    refused: list[Call] = field(default_factory=list)  # calls answered 429 or 503, for the client to retry
    fail_channels: dict[str, str] = field(default_factory=dict)  # channel -> error code for chat.postMessage
    # the file upload flow: files.getUploadURLExternal reserves an id, the bytes go to its upload URL, and
    # files.completeUploadExternal finishes it (shared to a channel, or kept private)
    reserved: dict[str, dict[str, Any]] = field(default_factory=dict)  # file id -> filename, length
    uploads: dict[str, bytes] = field(default_factory=dict)  # file id -> the bytes received
    files: dict[str, dict[str, Any]] = field(default_factory=dict)  # completed: file id -> title, channel
    scopes: list[str] = field(default_factory=lambda: list(BOT_SCOPES))  # granted to the bot token
    channels: dict[str, dict[str, Any]] = field(default_factory=dict)  # id -> name, is_member, is_archived
    socket: FakeSocketMode | None = None  # Socket Mode: apps.connections.open hands out its URLs
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _ts: itertools.count = field(default_factory=lambda: itertools.count(1))

    @property
    def api_url(self) -> str:
        return self.server.url_for("/api/")

    def response_url(self, name: str = "r1") -> str:
        return self.server.url_for(f"/response/{name}")

    def add_user(self, user_id: str, email: str, tz: str = "America/New_York") -> SlackUser:
        self.users[user_id] = SlackUser(user_id, email, tz)
        return self.users[user_id]

    # --- what tests look at -------------------------------------------------
    def of(self, method: str) -> list[Call]:
        with self._lock:
            return [c for c in self.calls if c.method == method]

    def wait_for(self, method: str, count: int = 1, timeout: float = 5.0) -> list[Call]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = self.of(method)
            if len(found) >= count:
                return found
            time.sleep(0.02)
        raise AssertionError(
            f"expected {count} {method} call(s), got {len(self.of(method))}: {self.methods()}"
        )

    def wait_for_response(self, count: int = 1, timeout: float = 5.0) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                if len(self.responses) >= count:
                    return list(self.responses)
            time.sleep(0.02)
        raise AssertionError(f"expected {count} response_url post(s), got {self.responses}")

    def methods(self) -> list[str]:
        with self._lock:
            return [c.method for c in self.calls]

    # --- the server side ----------------------------------------------------
    def install(self) -> None:
        self.server.expect_request(re.compile(r"^/api/.+")).respond_with_handler(self._api)
        self.server.expect_request(re.compile(r"^/response/.+")).respond_with_handler(self._response_url)
        self.server.expect_request(re.compile(r"^/upload/v1/.+"), method="POST").respond_with_handler(
            self._upload
        )

    def _upload(self, request: Request) -> Response:
        file_id = request.path.rsplit("/", 1)[1]
        data = request.get_data()
        with self._lock:
            reserved = self.reserved.get(file_id)
            if reserved is None or len(data) != reserved["length"]:
                return Response("invalid upload", status=400)
            self.uploads[file_id] = data
        return Response(f"OK - {len(data)}", status=200)

    def _response_url(self, request: Request) -> Response:
        with self._lock:
            self.responses.append(json.loads(request.get_data(as_text=True)))
            self.responded.append(request.path.rsplit("/", 1)[1])
        return Response("ok")

    def _api(self, request: Request) -> Response:
        method = request.path.removeprefix("/api/")
        args: dict[str, Any] = dict(request.args)
        if request.is_json:
            args.update(request.get_json())
        else:
            args.update(request.form.to_dict())
        for key in ("blocks", "view"):
            if isinstance(args.get(key), str):
                args[key] = json.loads(args[key])
        if method == "apps.connections.open" and self.socket is not None:  # the app-level token's one call
            return self._json(self.socket.connections_open(request.headers.get("Authorization")))
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json({"ok": False, "error": "invalid_auth"})
        retry = self._refuse_once(method, args)
        if retry is not None:
            return retry
        with self._lock:
            self.calls.append(Call(method, args))
        if self.down:
            return Response("upstream connect error", status=503, content_type="text/plain")
        if method in self.fail_methods:
            return self._json({"ok": False, "error": self.fail_methods[method]})
        if method == "chat.postMessage" and args.get("channel") in self.fail_channels:
            return self._json({"ok": False, "error": self.fail_channels[args["channel"]]})
        refused = self._limits(method, args)
        if refused:
            return self._json({"ok": False, "error": refused})
        answer = self._json(self._answer(method, args))
        answer.headers["x-oauth-scopes"] = ",".join(self.scopes)  # as Slack sends on every call
        return answer

    def _refuse_once(self, method: str, args: dict[str, Any]) -> Response | None:
        """A 503 or a 429 (with Retry-After) the client is expected to retry; kept apart from `calls`,
        which holds what Slack accepted."""
        with self._lock:
            if self.fail_once.pop(method, None):
                self.refused.append(Call(method, args))
                return Response("upstream connect error", status=503, content_type="text/plain")
            if self.rate_limited.get(method):
                self.rate_limited[method] -= 1
                self.refused.append(Call(method, args))
                return Response(
                    json.dumps({"ok": False, "error": "ratelimited"}),
                    status=429,
                    headers={"Retry-After": "1"},
                    content_type="application/json",
                )
        return None

    def _limits(self, method: str, args: dict[str, Any]) -> str | None:
        """Slack's own refusals for messages and views that break Block Kit's limits, or that show an
        uploaded image Slack does not have."""
        blocks = args.get("blocks") or (args.get("view") or {}).get("blocks") or []
        with self._lock:
            shown = [
                b["slack_file"].get("id") for b in blocks if b.get("type") == "image" and "slack_file" in b
            ]
            missing = [file_id for file_id in shown if file_id not in self.files]
        if missing:
            return "invalid_blocks"
        if method in ("chat.postMessage", "chat.update", "chat.postEphemeral"):
            if len(args.get("text") or "") > 40_000:
                return "msg_too_long"
            blocks = args.get("blocks") or []
            if len(blocks) > 50 or not _blocks_valid(blocks):
                return "invalid_blocks"
        if method in ("views.open", "views.publish", "views.update"):
            view = args.get("view") or {}
            try:
                View(**view).validate_json()
            except (SlackObjectFormationError, TypeError, KeyError):
                return "invalid_arguments"
        return None

    def _answer(self, method: str, args: dict[str, Any]) -> dict[str, Any]:
        if method == "auth.test":
            return {
                "ok": True,
                "url": "https://acme.slack.com/",
                "team": "Acme",
                "user": "followup",
                "team_id": "T0001",
                "user_id": "UBOT",
                "bot_id": "B0001",
            }
        if method == "chat.postMessage":
            channel = args["channel"]
            if channel.startswith("U"):
                channel = "D" + channel[1:]  # a DM to a user id lands in the IM channel
            ts = f"1700000000.{next(self._ts):06d}"
            return {"ok": True, "channel": channel, "ts": ts, "message": {"text": args.get("text", "")}}
        if method == "chat.update":
            return {"ok": True, "channel": args["channel"], "ts": args["ts"]}
        if method == "chat.getPermalink":
            ts = args["message_ts"].replace(".", "")
            return {
                "ok": True,
                "channel": args["channel"],
                "permalink": f"https://acme.slack.com/archives/{args['channel']}/p{ts}",
            }
        if method == "chat.postEphemeral":
            return {"ok": True, "message_ts": "1700000000.999999"}
        if method == "users.lookupByEmail":
            user = next((u for u in self.users.values() if u.email == args["email"]), None)
            if user is None:
                return {"ok": False, "error": "users_not_found"}
            return {"ok": True, "user": {"id": user.id, "profile": {"email": user.email}, "tz": user.tz}}
        if method == "users.info":
            user = self.users.get(args["user"])
            if user is None:
                return {"ok": False, "error": "user_not_found"}
            return {
                "ok": True,
                "user": {
                    "id": user.id,
                    "tz": user.tz,
                    "deleted": user.deleted,
                    "is_bot": user.is_bot,
                    "profile": {
                        "email": user.email,
                        "status_text": user.status_text,
                        "status_emoji": user.status_emoji,
                    },
                },
            }
        if method == "files.getUploadURLExternal":
            try:
                length = int(args.get("length") or 0)
            except ValueError:
                length = 0
            if not args.get("filename") or length <= 0:
                return {"ok": False, "error": "invalid_arguments"}
            file_id = f"F{next(self._ts):08d}"
            with self._lock:
                self.reserved[file_id] = {"filename": args["filename"], "length": length}
            return {
                "ok": True,
                "file_id": file_id,
                "upload_url": self.server.url_for(f"/upload/v1/{file_id}"),
            }
        if method == "files.completeUploadExternal":
            wanted = (
                json.loads(args["files"]) if isinstance(args.get("files"), str) else args.get("files") or []
            )
            done = []
            with self._lock:
                for f in wanted:
                    if f.get("id") not in self.uploads:
                        return {"ok": False, "error": "file_not_found"}
                    self.files[f["id"]] = {"title": f.get("title"), "channel": args.get("channel_id"),
                                           "name": self.reserved[f["id"]]["filename"]}  # fmt: skip
                    done.append({"id": f["id"], "title": f.get("title"), "name": self.files[f["id"]]["name"]})
            return {"ok": True, "files": done}
        if method == "conversations.info":
            found = self.channels.get(args.get("channel", ""))
            if found is None:
                return {"ok": False, "error": "channel_not_found"}
            return {"ok": True, "channel": {"id": args["channel"], "is_archived": False, **found}}
        if method == "views.publish":
            return {"ok": True, "view": {"id": "VHOME", **args["view"]}}
        if method == "views.open":
            return {"ok": True, "view": {"id": "V0001", **args["view"]}}
        return {"ok": False, "error": "unknown_method"}

    @staticmethod
    def _json(payload: dict[str, Any]) -> Response:
        return Response(json.dumps(payload), content_type="application/json")


def _blocks_valid(blocks: list[dict[str, Any]]) -> bool:
    try:
        for block in blocks:
            parsed = Block.parse(block)
            if parsed is None:
                return False
            parsed.validate_json()
    except (SlackObjectFormationError, TypeError, KeyError):
        return False
    return True
