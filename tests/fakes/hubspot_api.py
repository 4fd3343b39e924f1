"""A fake HubSpot CRM API on 127.0.0.1 answering the calls hubspot-api-client makes, from memory."""

from __future__ import annotations

import itertools
import json
import re
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from pytest_httpserver import HTTPServer
from werkzeug import Request, Response

TIME_PROPS = {
    "hs_timestamp",
    "recent_conversion_date",
    "createdate",
    "closedate",
    "hs_lastmodifieddate",
    "hs_v2_date_entered_current_stage",
}
STAMP = "2026-01-01T00:00:00Z"


def _ms(value: str) -> int:
    if value.isdigit():
        return int(value)
    return int(datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp() * 1000)


@dataclass
class FakeHubSpot:
    server: HTTPServer
    token: str = "pat-test-token"
    objects: dict[str, dict[str, dict[str, str]]] = field(default_factory=dict)  # type -> id -> properties
    links: dict[tuple[str, str, str], list[str]] = field(
        default_factory=dict
    )  # (from type, id, to type) -> ids
    owners: dict[str, dict[str, str]] = field(default_factory=dict)
    created: list[dict[str, Any]] = field(default_factory=list)  # bodies of every create call
    requests: list[str] = field(default_factory=list)
    _ids: itertools.count = field(default_factory=lambda: itertools.count(9000))
    _lock: threading.Lock = field(default_factory=threading.Lock)
    # when set: a create is stored, then its answer waits for this event (HubSpot wrote it; the reply is lost)
    hold_creates: threading.Event | None = None

    @property
    def base_url(self) -> str:
        return self.server.url_for("/").rstrip("/")

    # --- filling the store -----------------------------------------------------
    def add(self, kind: str, obj_id: str, **props: Any) -> None:
        self.objects.setdefault(kind, {})[obj_id] = {k: str(v) for k, v in props.items() if v is not None}

    def link(self, from_kind: str, from_id: str, to_kind: str, to_id: str) -> None:
        self.links.setdefault((from_kind, from_id, to_kind), []).append(to_id)
        self.links.setdefault((to_kind, to_id, from_kind), []).append(from_id)

    # --- the server ------------------------------------------------------------
    def install(self) -> None:
        self.server.expect_request(re.compile(r"^/crm/.+")).respond_with_handler(self._handle)

    def _handle(self, request: Request) -> Response:
        if request.headers.get("Authorization") != f"Bearer {self.token}":
            return self._json(
                {
                    "status": "error",
                    "message": "Authentication credentials not found.",
                    "category": "INVALID_AUTHENTICATION",
                },
                401,
            )
        with self._lock:
            self.requests.append(f"{request.method} {request.path}")
            response = self._route(request)
        if self.hold_creates is not None and request.method == "POST" and response.status_code == 201:
            self.hold_creates.wait(30)
        return response

    def _route(self, request: Request) -> Response:
        path, method = request.path, request.method
        body = request.get_json(silent=True) or {}
        if m := re.fullmatch(r"/crm/v3/owners/(\w+)", path):
            owner = self.owners.get(m[1])
            if owner is None:
                return self._json(
                    {"status": "error", "message": "not found", "category": "OBJECT_NOT_FOUND"}, 404
                )
            return self._json(
                {"id": m[1], "createdAt": STAMP, "updatedAt": STAMP, "archived": False, **owner}
            )
        if m := re.fullmatch(r"/crm/v4/associations/(\w+)/(\w+)/batch/read", path):
            results = [
                {
                    "from": {"id": i["id"]},
                    "to": [
                        {
                            "toObjectId": int(t),
                            "associationTypes": [{"category": "HUBSPOT_DEFINED", "typeId": 1, "label": None}],
                        }
                        for t in self.links.get((m[1], i["id"], m[2]), [])
                    ],
                }
                for i in body["inputs"]
                if self.links.get((m[1], i["id"], m[2]))
            ]
            return self._json(
                {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
            )
        if m := re.fullmatch(r"/crm/v3/objects/(\w+)/search", path):
            return self._search(m[1], body)
        if m := re.fullmatch(r"/crm/v3/objects/(\w+)/batch/read", path):
            store = self.objects.get(m[1], {})
            results = [
                self._object(m[1], i["id"], body.get("properties"))
                for i in body["inputs"]
                if i["id"] in store
            ]
            return self._json(
                {"status": "COMPLETE", "results": results, "startedAt": STAMP, "completedAt": STAMP}
            )
        if (m := re.fullmatch(r"/crm/v3/objects/(\w+)", path)) and method == "POST":
            new_id = str(next(self._ids))
            self.created.append({"kind": m[1], "id": new_id, **body})
            self.add(m[1], new_id, **body.get("properties", {}))
            for assoc in body.get("associations", []):
                to_id = assoc["to"]["id"]
                to_kind = "contacts" if to_id in self.objects.get("contacts", {}) else "deals"
                self.link(m[1], new_id, to_kind, to_id)
            return self._json(self._object(m[1], new_id, None), 201)
        if m := re.fullmatch(r"/crm/v3/objects/(\w+)/(\w+)", path):
            kind, obj_id = m[1], m[2]
            if obj_id not in self.objects.get(kind, {}):
                return self._json(
                    {
                        "status": "error",
                        "message": f"{kind} {obj_id} not found",
                        "category": "OBJECT_NOT_FOUND",
                    },
                    404,
                )
            props = [p for v in request.args.getlist("properties") for p in v.split(",")] or None
            wanted = [a for v in request.args.getlist("associations") for a in v.split(",")]
            obj = self._object(kind, obj_id, props)
            assoc = {
                a: {"results": [{"id": t, "type": f"{kind}_to_{a}"} for t in self.links[(kind, obj_id, a)]]}
                for a in wanted
                if self.links.get((kind, obj_id, a))
            }
            if assoc:
                obj["associations"] = assoc
            return self._json(obj)
        return self._json({"status": "error", "message": f"no route {method} {path}"}, 404)

    def _search(self, kind: str, body: dict[str, Any]) -> Response:
        def matches(props: dict[str, str], f: dict[str, Any]) -> bool:
            value = props.get(f["propertyName"])
            op = f["operator"]
            if op == "NOT_IN":
                return value not in f["values"]
            if op == "IN":
                return value in f["values"]
            if value is None:
                return False
            if op == "GTE":
                return (
                    _ms(value) >= _ms(f["value"]) if f["propertyName"] in TIME_PROPS else value >= f["value"]
                )
            if op == "EQ":
                return value == f["value"]
            raise AssertionError(f"fake does not know operator {op}")

        hits = [
            obj_id
            for obj_id, props in sorted(self.objects.get(kind, {}).items(), key=lambda kv: int(kv[0]))
            if any(all(matches(props, f) for f in g["filters"]) for g in body.get("filterGroups", []))
        ]
        start = int(body.get("after") or 0)
        limit = int(body.get("limit") or 10)
        page = hits[start : start + limit]
        out: dict[str, Any] = {
            "total": len(hits),
            "results": [self._object(kind, i, body.get("properties")) for i in page],
        }
        if start + limit < len(hits):
            out["paging"] = {"next": {"after": str(start + limit)}}
        return self._json(out)

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
