"""`followup audit export`: everything the app kept about its follow-ups since a date, as one time-ordered
stream for a compliance review — every AI output (step, engine, model, prompt version, tokens, cost), every
draft and edit, every decision and state change, every CRM write — written as CSV or JSON Lines.

Each table is read in time order in batches and the four streams are merged, so an export of millions of
rows runs in constant memory."""

from __future__ import annotations

import csv
import heapq
import json
from collections.abc import Iterator
from datetime import datetime
from typing import IO, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot.models import AiOutput, AuditEvent, CrmWrite, Draft, FollowUp
from bot.services.deps import Deps

COLUMNS = [
    "at",
    "followup_id",
    "rule",
    "contact_email",
    "owner",
    "record",
    "actor",
    "action",
    "from_state",
    "to_state",
    "detail",
]
BATCH = 2000


def rows(deps: Deps, since: datetime, followup_id: int | None = None) -> Iterator[dict[str, Any]]:
    """Every record since `since` (of one follow-up, when given), in time order."""
    with deps.db.session() as s:
        streams = [
            _events(s, since, followup_id),
            _drafts(s, since, followup_id),
            _ai_outputs(s, since, followup_id),
            _crm_writes(s, since, followup_id),
        ]
        yield from heapq.merge(*streams, key=lambda row: (row["at"], ORDER[row["record"]]))


# records of the same instant: what the model said, the draft it made, the decision, then the CRM
ORDER = {"ai_output": 0, "draft": 1, "edit": 2, "decision": 3, "crm_write": 4}


WHO = (FollowUp.rule, FollowUp.contact_email, FollowUp.owner_email)


def _about(fid: int | None, rule: str | None, email: str | None, owner: str | None) -> dict[str, Any]:
    return {"followup_id": fid, "rule": rule, "contact_email": email, "owner": owner}


def _ordered(s: Session, model: Any, at: Any, since: datetime, followup_id: int | None) -> Any:
    """A table's rows since `since` (of one follow-up, when given) in time order, read in batches, each with
    its follow-up's rule, contact and owner."""
    query = (
        select(model, *WHO)
        .outerjoin(FollowUp, FollowUp.id == model.followup_id)
        .where(at >= since)
        .order_by(at, model.id)
    )
    if followup_id is not None:
        query = query.where(model.followup_id == followup_id)
    return s.execute(query.execution_options(yield_per=BATCH))


def _events(s: Session, since: datetime, followup_id: int | None) -> Iterator[dict[str, Any]]:
    for e, *who in _ordered(s, AuditEvent, AuditEvent.at, since, followup_id):
        yield {
            "at": e.at,
            **_about(e.followup_id, *who),
            "record": "decision",
            "actor": e.actor,
            "action": e.action,
            "from_state": e.from_state,
            "to_state": e.to_state,
            "detail": e.detail,
        }


def _drafts(s: Session, since: datetime, followup_id: int | None) -> Iterator[dict[str, Any]]:
    for d, *who in _ordered(s, Draft, Draft.created_at, since, followup_id):
        yield {
            "at": d.created_at,
            **_about(d.followup_id, *who),
            "record": "draft" if d.origin == "ai" else "edit",
            "actor": d.author,
            "action": d.origin,
            "from_state": None,
            "to_state": None,
            "detail": {
                "draft_id": d.id,
                "model": d.model,
                "prompt_version": d.prompt_version,
                "run_id": d.run_id,
                "classification": d.classification,
                "review_flags": d.review_flags,
                "subject": d.subject,
                "body": d.body,
            },
        }


def _ai_outputs(s: Session, since: datetime, followup_id: int | None) -> Iterator[dict[str, Any]]:
    # the follow-up a pipeline run drafted (a run whose draft was never stored has none)
    drafted = select(Draft.followup_id).where(Draft.run_id == AiOutput.run_id).limit(1).scalar_subquery()
    query = (
        select(AiOutput, FollowUp.id, *WHO)
        .outerjoin(FollowUp, FollowUp.id == drafted)
        .where(AiOutput.created_at >= since)
        .order_by(AiOutput.created_at, AiOutput.id)
        .execution_options(yield_per=BATCH)
    )
    if followup_id is not None:  # one follow-up's runs: through its drafts (ai_outputs.run_id is indexed)
        runs = select(Draft.run_id).where(Draft.followup_id == followup_id, Draft.run_id.is_not(None))
        query = query.where(AiOutput.run_id.in_(runs))
    for out, fid, *who in s.execute(query):
        yield {
            "at": out.created_at,
            **_about(fid, *who),
            "record": "ai_output",
            "actor": out.engine,
            "action": out.step,
            "from_state": None,
            "to_state": out.status,
            "detail": {
                "run_id": out.run_id,
                "model": out.model,
                "prompt": f"{out.prompt_name}/v{out.prompt_version}" if out.prompt_name else None,
                "prompt_sha": out.prompt_sha,
                "arm": out.arm,
                "tokens": {
                    "input": out.input_tokens,
                    "output": out.output_tokens,
                    "cache_read": out.cache_read_tokens,
                    "cache_write": out.cache_write_tokens,
                },
                "cost_usd": out.cost_usd,
                "latency_ms": out.latency_ms,
                "error": out.error,
                "output": out.output,
            },
        }


def _crm_writes(s: Session, since: datetime, followup_id: int | None) -> Iterator[dict[str, Any]]:
    for w, *who in _ordered(s, CrmWrite, CrmWrite.created_at, since, followup_id):
        yield {
            "at": w.created_at,
            **_about(w.followup_id, *who),
            "record": "crm_write",
            "actor": "crm",
            "action": w.kind,
            "from_state": None,
            "to_state": None,
            "detail": {"crm_id": w.crm_id},
        }


def _cell(value: Any) -> Any:
    """A CSV cell a spreadsheet will not run: text starting like a formula (=, +, -, @, tab, CR) gets a
    leading apostrophe (OWASP's advice for CSV injection; the JSON Lines export is left as stored)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def write(deps: Deps, since: datetime, fmt: str, out: IO[str]) -> int:
    """Write the export to `out` as "csv" or "jsonl"; returns how many rows."""
    count = 0
    if fmt == "csv":
        writer = csv.DictWriter(out, fieldnames=COLUMNS, extrasaction="raise")
        writer.writeheader()
        for row in rows(deps, since):
            flat = {
                **row,
                "at": row["at"].isoformat(),
                "detail": json.dumps(row["detail"], ensure_ascii=False),
            }
            writer.writerow({k: _cell(v) for k, v in flat.items()})
            count += 1
    else:
        for row in rows(deps, since):
            out.write(
                json.dumps({**row, "at": row["at"].isoformat()}, ensure_ascii=False, default=str) + "\n"
            )
            count += 1
    return count
