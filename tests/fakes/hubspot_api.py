"""A fake HubSpot on 127.0.0.1 answering the date-based (2026-03) CRM API from memory, with HubSpot's limits:
200 results a search page and no page past 10,000 results (400), 100 ids a batch read, 1,000 a batch
association read, a request budget per 10 s (429 with Retry-After past it, counted), search at 5 a second,
403 naming the missing scope, association type ids checked on create, owners with a type."""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

V = "2026-03"
TIME_PROPS = {
    "hs_timestamp",
    "recent_conversion_date",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
    "hs_v2_date_entered_current_stage",
    "quote_expiration_date",
}
STAMP = "2026-01-01T00:00:00Z"
# HubSpot-defined association type ids, as its association schema lists them (from → to)
ASSOCIATION_TYPES = {
    ("emails", "contacts"): 198,
    ("emails", "companies"): 186,
    ("emails", "deals"): 210,
    ("notes", "contacts"): 202,
    ("notes", "companies"): 190,
    ("notes", "deals"): 214,
    ("tasks", "contacts"): 204,
    ("tasks", "companies"): 192,
    ("tasks", "deals"): 216,
    ("calls", "contacts"): 194,
    ("calls", "deals"): 206,
    ("meetings", "contacts"): 200,
    ("meetings", "deals"): 212,
    ("deals", "contacts"): 3,
    ("deals", "companies"): 5,
    ("contacts", "companies"): 1,
}
ALL_SCOPES = {
    "crm.objects.contacts.read",
    "crm.objects.contacts.write",
    "crm.objects.companies.read",
    "crm.objects.deals.read",
    "crm.objects.owners.read",
    "sales-email-read",
    "communication_preferences.write",
    "conversations.read",
    "conversations.write",
}
READ_SCOPE = {
    "contacts": "crm.objects.contacts.read",
    "companies": "crm.objects.companies.read",
    "deals": "crm.objects.deals.read",
    "emails": "sales-email-read",
}
WRITE_SCOPE = {"emails": "crm.objects.contacts.write", "notes": "crm.objects.contacts.write"}
WRITE_SCOPE["tasks"] = WRITE_SCOPE["contacts"] = "crm.objects.contacts.write"


def _ms(value: str) -> int:
    if value.lstrip("-").isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


def _error(status: int, category: str, message: str, **extra: Any) -> Response:
    body = {"status": "error", "message": message, "category": category, "correlationId": "fake", **extra}
    return Response(json.dumps(body), status=status, content_type="application/json")


@dataclass
class FakeHubSpot:
    server: HTTPServer
    token: str = "pat-test-token"
    objects: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # type -> id -> properties
    links: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)  # (from, id, to) -> ids
    owners: dict[str, dict[str, Any]] = field(default_factory=dict)
    pipelines: list[dict[str, Any]] = field(default_factory=list)
    threads: list[dict[str, Any]] = field(default_factory=list)  # conversations inbox threads
    unsubscribed: set[str] = field(default_factory=set)  # addresses opted out of all email
    thread_messages: list[dict[str, Any]] = field(default_factory=list)  # replies posted on threads
    created: list[dict[str, Any]] = field(default_factory=list)  # bodies of every create call
    requests: list[str] = field(default_factory=list)  # "METHOD /path" of every call that was answered
    scopes: set[str] = field(default_factory=lambda: set(ALL_SCOPES))
    per_10s: int | None = None  # the portal's budget; past it, 429 (None: no limit)
    search_per_s: int | None = None
    rate_limited: int = 0  # 429s answered
    fail_next: dict[str, int] = field(default_factory=dict)  # path -> status its next call is answered with
    # kinds whose next create is stored, then answered 502: HubSpot wrote it, the answer was lost
    lose_next_create: set[str] = field(default_factory=set)
    # when set: a create is stored, then its answer waits for this event (HubSpot wrote it; the reply is lost)
    hold_creates: threading.Event | None = None
    # custom properties an admin created in the portal (a PATCH naming any other is refused, as HubSpot does)
    custom_properties: dict[str, set[str]] = field(
        default_factory=lambda: {"contacts": {"followup_sequence_status"}}
    )
    _ids: itertools.count = field(default_factory=lambda: itertools.count(900000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _window: deque = field(default_factory=deque)
    _search_window: deque = field(default_factory=deque)

    def __post_init__(self) -> None:
        if not self.pipelines:
            self.pipelines = [default_pipeline()]

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    # --- filling the store -----------------------------------------------------
    def add(self, kind: str, obj_id: str, **props: Any) -> None:
        self.objects.setdefault(kind, {})[obj_id] = {k: str(v) for k, v in props.items() if v is not None}

    def link(self, from_kind: str, from_id: str, to_kind: str, to_id: str) -> None:
        self.links.setdefault((from_kind, from_id, to_kind), []).append(to_id)
        self.links.setdefault((to_kind, to_id, from_kind), []).append(from_id)

    def calls_to(self, pattern: str) -> int:
        return sum(1 for r in self.requests if re.search(pattern, r))

    # --- the server ------------------------------------------------------------
    def install(self) -> None:
        self.server.expect_request(
            re.compile(r"^/(crm|conversations|communication-preferences)/.+")
        ).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return _error(401, "INVALID_AUTHENTICATION", "Authentication credentials not found.")
        with self._lock:
            limited = self._over_budget(request)
            if limited:
                self.rate_limited += 1
                return limited
            self.requests.append(f"{request.method} {request.path}")
            if request.path in self.fail_next:
                return _error(self.fail_next.pop(request.path), "INTERNAL_ERROR", "try again")
            response = self._route(request)
        if self.hold_creates is not None and request.method == "POST" and response.status_code == 201:
            self.hold_creates.wait(30)
        return response

    def _over_budget(self, request: Request) -> Response | None:
        now = time.monotonic()
        for window, limit, span, search in (
            (self._window, self.per_10s, 10.0, False),
            (self._search_window, self.search_per_s, 1.0, True),
        ):
            if limit is None or (search and not request.path.endswith("/search")):
                continue
            while window and window[0] <= now - span:
                window.popleft()
            if len(window) >= limit:
                retry = max(1, int(window[0] + span - now + 1))
                response = _error(
                    429,
                    "RATE_LIMITS",
                    "You have reached your secondly limit.",
                    policyName="TEN_SECONDLY_ROLLING",
                )
                response.headers["Retry-After"] = str(retry)
                return response
            window.append(now)
        return None

    def _scope(self, needed: str | None) -> Response | None:
        if needed is None or needed in self.scopes:
            return None
        return _error(
            403,
            "MISSING_SCOPES",
            "This app hasn't been granted all required scopes to make this call.",
            errors=[{"message": "missing scope", "context": {"requiredGranularScopes": [needed]}}],
        )

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        body = request.get_json(silent=True) or {}
        if path.startswith(("/crm/v3/", "/crm/v4/")):
            return _error(410, "GONE", f"{path}: this app must use the date-based API versions")
        if path == "/conversations/conversations/2026-09/threads":
            return self._scope("conversations.read") or self._threads(request)
        if m := re.fullmatch(r"/conversations/conversations/2026-09/threads/(\w+)/messages", path):
            return self._scope("conversations.write") or self._reply(m[1], body)
        if (
            m := re.fullmatch(rf"/communication-preferences/{V}/statuses/([^/]+)/unsubscribe-all", path)
        ) and (method == "POST"):
            if request.args.get("channel") != "EMAIL":
                return _error(400, "VALIDATION_ERROR", "channel is required")
            return self._scope("communication_preferences.write") or self._unsubscribe_all(unquote(m[1]))
        if path == f"/crm/owners/{V}":
            return self._scope("crm.objects.owners.read") or self._owners(request)
        if m := re.fullmatch(rf"/crm/pipelines/{V}/(\w+)", path):
            return self._scope("crm.objects.deals.read") or self._json({"results": self.pipelines})
        if m := re.fullmatch(rf"/crm/properties/{V}/(\w+)", path):
            names = {p for props in self.objects.get(m[1], {}).values() for p in props}
            names |= {"quote_expiration_date", "closed_lost_reason", "hs_email_headers", "hs_note_body"}
            names |= self.custom_properties.get(m[1], set())
            return self._json({"results": [{"name": n, "type": "string"} for n in sorted(names)]})
        if m := re.fullmatch(rf"/crm/associations/{V}/(\w+)/(\w+)/batch/read", path):
            return self._scope(READ_SCOPE.get(m[1])) or self._associations(m[1], m[2], body)
        if m := re.fullmatch(rf"/crm/objects/{V}/(\w+)/search", path):
            return self._scope(READ_SCOPE.get(m[1])) or self._search(m[1], body)
        if m := re.fullmatch(rf"/crm/objects/{V}/(\w+)/batch/read", path):
            return self._scope(READ_SCOPE.get(m[1])) or self._batch_read(m[1], body)
        if m := re.fullmatch(rf"/crm/objects/{V}/(\w+)/batch/create", path):
            return self._scope(WRITE_SCOPE.get(m[1])) or self._batch_create(m[1], body)
        if (m := re.fullmatch(rf"/crm/objects/{V}/(\w+)", path)) and method == "POST":
            return self._scope(WRITE_SCOPE.get(m[1])) or self._create(m[1], body)
        if (m := re.fullmatch(rf"/crm/objects/{V}/(\w+)/(\d+)", path)) and method == "PATCH":
            return self._scope(WRITE_SCOPE.get(m[1])) or self._update(m[1], m[2], body)
        if m := re.fullmatch(rf"/crm/objects/{V}/(\w+)/(\d+)", path):
            kind, obj_id = m[1], m[2]
            if obj_id not in self.objects.get(kind, {}):
                return _error(404, "OBJECT_NOT_FOUND", f"{kind} {obj_id} not found")
            props = [p for v in request.args.getlist("properties") for p in v.split(",")] or None
            return self._json(self._object(kind, obj_id, props))
        return _error(404, "NOT_FOUND", f"no route {method} {path}")

    def _update(self, kind: str, obj_id: str, body: dict[str, Any]) -> Response:
        if obj_id not in self.objects.get(kind, {}):
            return _error(404, "OBJECT_NOT_FOUND", f"{kind} {obj_id} not found")
        props = body.get("properties") or {}
        known = {p for o in self.objects[kind].values() for p in o} | self.custom_properties.get(kind, set())
        unknown = sorted(set(props) - known)
        if unknown:
            return _error(
                400,
                "VALIDATION_ERROR",
                "Property values were not valid",
                errors=[
                    {"message": f'Property "{n}" does not exist', "code": "PROPERTY_DOESNT_EXIST"}
                    for n in unknown
                ],
            )
        self.objects[kind][obj_id].update({k: str(v) for k, v in props.items()})
        return self._json(self._object(kind, obj_id, None))

    def _unsubscribe_all(self, email: str) -> Response:
        self.unsubscribed.add(email.lower())
        status = {"channel": "EMAIL", "status": "NOT_SUBSCRIBED", "subscriberIdString": email,
                  "timestamp": STAMP, "wideStatusType": "PORTAL_WIDE"}  # fmt: skip
        return self._json(
            {"status": "COMPLETE", "results": [status], "startedAt": STAMP, "completedAt": STAMP}
        )

    def add_thread(self, thread_id: str, contact_id: str, *, channel: str = "1002") -> None:
        """An open thread the contact wrote in on through an inbox (1002: the email channel)."""
        self.threads.append(
            {
                "id": thread_id,
                "associatedContactId": contact_id,
                "inboxId": "77",
                "originalChannelId": channel,
                "originalChannelAccountId": "555",
                "status": "OPEN",
                "archived": False,
                "spam": False,
                "createdAt": STAMP,
                "latestMessageTimestamp": STAMP,
            }
        )

    def _threads(self, request: Request) -> Response:
        contact, status = request.args.get("associatedContactId"), request.args.get("threadStatus")
        found = [
            t
            for t in self.threads
            if t["associatedContactId"] == contact and (not status or t["status"] == status)
        ]
        return self._json({"results": found[: int(request.args.get("limit", 20))]})

    def _reply(self, thread_id: str, body: dict[str, Any]) -> Response:
        thread = next((t for t in self.threads if t["id"] == thread_id), None)
        if thread is None:
            return _error(404, "OBJECT_NOT_FOUND", f"thread {thread_id} not found")
        required = ("type", "text", "senderActorId", "channelId", "channelAccountId", "recipients")
        missing = [k for k in required if not body.get(k)]
        if missing or body["channelId"] != thread["originalChannelId"]:
            return _error(400, "VALIDATION_ERROR", f"missing or wrong: {missing or ['channelId']}")
        message = {"id": str(next(self._ids)), "threadId": thread_id, **body}
        self.thread_messages.append(message)
        return self._json(message, 201)

    def _owners(self, request: Request) -> Response:
        limit = int(request.args.get("limit", 100))
        if limit > 500:
            return _error(400, "VALIDATION_ERROR", "limit must be at most 500")
        ids = sorted(self.owners, key=int)
        start = int(request.args.get("after") or 0)
        page = ids[start : start + limit]
        out: dict[str, Any] = {
            "results": [
                {
                    "id": i,
                    "type": "PERSON",
                    "createdAt": STAMP,
                    "updatedAt": STAMP,
                    "archived": False,
                    **self.owners[i],
                }
                for i in page
            ]
        }
        if start + limit < len(ids):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return self._json(out)

    def _associations(self, from_kind: str, to_kind: str, body: dict[str, Any]) -> Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 1000:
            return _error(400, "VALIDATION_ERROR", "a batch association read takes at most 1000 inputs")
        type_id = ASSOCIATION_TYPES.get((from_kind, to_kind)) or ASSOCIATION_TYPES.get(
            (to_kind, from_kind), 1
        )
        results = []
        for item in inputs:
            linked = self.links.get((from_kind, item["id"], to_kind), [])
            start = int(item.get("after") or 0)
            page = linked[start : start + 500]
            if not page:
                continue
            row: dict[str, Any] = {
                "from": {"id": item["id"]},
                "to": [
                    {
                        "toObjectId": t,
                        "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": type_id}],
                    }
                    for t in page
                ],
            }
            if start + 500 < len(linked):
                row["paging"] = {"next": {"after": str(start + 500)}}
            results.append(row)
        return self._json(
            {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
        )

    def _search(self, kind: str, body: dict[str, Any]) -> Response:
        limit = int(body.get("limit") or 10)
        start = int(body.get("after") or 0)
        if limit > 200:
            return _error(400, "VALIDATION_ERROR", "limit must be at most 200")
        if start + limit > 10_000:
            return _error(400, "VALIDATION_ERROR", "search results are limited to 10,000 (paging past them)")
        hits = [
            obj_id
            for obj_id, props in self.objects.get(kind, {}).items()
            if not body.get("filterGroups")
            or any(all(_matches(obj_id, props, f) for f in g["filters"]) for g in body["filterGroups"])
        ]
        sorts = body.get("sorts") or [{"propertyName": "hs_object_id", "direction": "ASCENDING"}]
        sort = (
            sorts[0] if isinstance(sorts[0], dict) else {"propertyName": sorts[0], "direction": "ASCENDING"}
        )
        if sort["propertyName"] == "hs_object_id":
            hits.sort(key=int, reverse=sort.get("direction") == "DESCENDING")
        else:
            hits.sort(
                key=lambda i: _ms(self.objects[kind][i].get(sort["propertyName"], "0")),
                reverse=sort.get("direction") == "DESCENDING",
            )
        page = hits[start : start + limit]
        out: dict[str, Any] = {
            "total": len(hits),
            "results": [self._object(kind, i, body.get("properties")) for i in page],
        }
        if start + limit < len(hits):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return self._json(out)

    def _batch_read(self, kind: str, body: dict[str, Any]) -> Response:
        inputs = body.get("inputs") or []
        if len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "a batch read takes at most 100 inputs")
        store = self.objects.get(kind, {})
        results = [self._object(kind, i["id"], body.get("properties")) for i in inputs if i["id"] in store]
        return self._json(
            {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
        )

    def _create(self, kind: str, body: dict[str, Any]) -> Response:
        for assoc in body.get("associations", []):
            to_id = assoc["to"]["id"]
            to_kind = next(
                (k for k in ("contacts", "companies", "deals") if to_id in self.objects.get(k, {})), None
            )
            if to_kind is None:
                return _error(400, "VALIDATION_ERROR", f"no object {to_id} to associate with")
            wanted = ASSOCIATION_TYPES.get((kind, to_kind))
            given = [t.get("associationTypeId") for t in assoc.get("types", [])]
            if wanted not in given:
                return _error(
                    400, "VALIDATION_ERROR", f"association type {given} is not valid for {kind} → {to_kind}"
                )
        new_id = str(next(self._ids))
        self.created.append({"kind": kind, "id": new_id, **body})
        props = dict(body.get("properties", {}))
        for assoc in body.get("associations", []):  # HubSpot keeps the primary company on the contact too
            if kind == "contacts" and any(t.get("associationTypeId") == 1 for t in assoc.get("types", [])):
                props["associatedcompanyid"] = assoc["to"]["id"]
        self.add(kind, new_id, **props)
        for assoc in body.get("associations", []):
            to_id = assoc["to"]["id"]
            to_kind = next(k for k in ("contacts", "companies", "deals") if to_id in self.objects.get(k, {}))
            self.link(kind, new_id, to_kind, to_id)
        if kind in self.lose_next_create:
            self.lose_next_create.discard(kind)
            return _error(502, "BAD_GATEWAY", "upstream timed out")
        return self._json(self._object(kind, new_id, None), 201)

    def _batch_create(self, kind: str, body: dict[str, Any]) -> Response:
        inputs = body.get("inputs")
        if not isinstance(inputs, list) or len(inputs) > 100:
            return _error(400, "VALIDATION_ERROR", "inputs must be a list of at most 100")
        results = []
        for item in inputs:
            answer = self._create(kind, item)
            if answer.status_code != 201:
                return answer
            results.append(json.loads(answer.get_data()))
        return self._json(
            {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}, 201
        )

    def _object(self, kind: str, obj_id: str, props: list[str] | None) -> dict[str, Any]:
        stored = self.objects[kind][obj_id]
        shown = {k: v for k, v in stored.items() if props is None or k in props}
        shown["hs_object_id"] = obj_id
        return {
            "id": obj_id,
            "properties": shown,
            "createdAt": STAMP,
            "updatedAt": datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            "archived": False,
        }

    @staticmethod
    def _json(payload: dict[str, Any], status: int = 200) -> Response:
        return Response(json.dumps(payload), status=status, content_type="application/json")


def _matches(obj_id: str, props: dict[str, str], f: dict[str, Any]) -> bool:
    name, op = f["propertyName"], f["operator"]
    value = obj_id if name == "hs_object_id" else props.get(name)
    if op == "NOT_IN":
        return value not in f["values"]
    if op == "IN":
        return value in f["values"]
    if op == "HAS_PROPERTY":
        return value is not None
    if op == "CONTAINS_TOKEN":
        return value is not None and f["value"].strip("*").lower() in value.lower()
    if value is None:
        return False
    if name == "hs_object_id":
        left, right = int(value), int(f["value"])
    elif name in TIME_PROPS:
        left, right = _ms(value), _ms(f["value"])
    else:
        left, right = value, f["value"]  # type: ignore[assignment]
    if op == "EQ":
        return left == right
    if op == "GT":
        return left > right
    if op == "GTE":
        return left >= right
    if op == "LT":
        return left < right
    if op == "LTE":
        return left <= right
    raise AssertionError(f"fake does not know operator {op}")


def default_pipeline() -> dict[str, Any]:
    """HubSpot's default sales pipeline, with the stage metadata that says which stages are closed."""
    stages = [
        ("appointmentscheduled", "Appointment Scheduled", "0.2", "false"),
        ("qualifiedtobuy", "Qualified To Buy", "0.4", "false"),
        ("presentationscheduled", "Presentation Scheduled", "0.6", "false"),
        ("decisionmakerboughtin", "Decision Maker Bought-In", "0.8", "false"),
        ("contractsent", "Contract Sent", "0.9", "false"),
        ("closedwon", "Closed Won", "1.0", "true"),
        ("closedlost", "Closed Lost", "0.0", "true"),
    ]
    return pipeline("default", "Sales Pipeline", stages)


def pipeline(pipeline_id: str, label: str, stages: list[tuple[str, str, str, str]]) -> dict[str, Any]:
    return {
        "id": pipeline_id,
        "label": label,
        "displayOrder": 0,
        "archived": False,
        "createdAt": STAMP,
        "updatedAt": STAMP,
        "stages": [
            {
                "id": sid,
                "label": slabel,
                "displayOrder": n,
                "archived": False,
                "createdAt": STAMP,
                "updatedAt": STAMP,
                "writePermissions": "CRM_PERMISSIONS_ENFORCEMENT",
                "metadata": {"probability": probability, "isClosed": closed},
            }
            for n, (sid, slabel, probability, closed) in enumerate(stages)
        ],
    }
