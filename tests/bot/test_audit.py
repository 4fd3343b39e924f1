"""The audit export on both databases (four streams read in batches at once): every kept record once, merged
in time order, each tied to its follow-up."""

from __future__ import annotations

import io
import json
from collections import Counter

from sqlalchemy import func, select

from bot.models import AiOutput, AuditEvent, Draft
from bot.services import audit
from tests.bot.test_metrics import history  # noqa: F401 - a week of follow-ups, decisions and AI calls
from tests.conftest import NOW


def test_the_export_holds_every_record_once_in_time_order(history, monkeypatch):  # noqa: F811
    monkeypatch.setattr(audit, "BATCH", 3)  # many small batches from each table, interleaved
    out = io.StringIO()
    count = audit.write(history.deps, NOW.replace(year=2000), "jsonl", out)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    with history.deps.db.session() as s:
        expected = {
            "decision": s.scalar(select(func.count()).select_from(AuditEvent)),
            "draft": s.scalar(select(func.count()).select_from(Draft).where(Draft.origin == "ai")),
            "edit": s.scalar(select(func.count()).select_from(Draft).where(Draft.origin == "edit")),
            "ai_output": s.scalar(select(func.count()).select_from(AiOutput)),
        }
    assert count == len(records) and Counter(r["record"] for r in records) == expected
    assert [r["at"] for r in records] == sorted(r["at"] for r in records)
    dismissed = next(r for r in records if r["action"] == "dismiss")
    assert dismissed["detail"]["classification"] == {"model": "sales_opportunity", "human": "spam"}
    assert dismissed["contact_email"].startswith("Lead") and dismissed["rule"] == "proposal_no_reply"
