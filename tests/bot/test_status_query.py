"""/followup status reads a rep's queue through the indexes, not by scanning every follow-up."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.db import make_engine, migrate
from bot.services.status import statements
from tests.bench_data import engine_module


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
def test_status_queries_use_the_owner_and_escalatee_indexes(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    engine_module().fill_followups(engine, 60_000)
    now = datetime.now(UTC)
    counting, shown = statements()
    params = {"user": "U0042", "overdue_before": now - timedelta(days=1), "today": now}
    with engine.connect() as conn:
        for stmt in (counting, shown):
            expanded = stmt.compile(dialect=engine.dialect).construct_expanded_state(params)
            plan = "\n".join(
                row[0] for row in conn.exec_driver_sql("EXPLAIN " + expanded.statement, expanded.parameters)
            )
            assert "Seq Scan on followups" not in plan, plan
            for index in ("ix_followups_owner_state", "ix_followups_escalated_state"):
                assert index in plan, plan
            # "sent today": by the sender's index, or by the send time's (today is a sliver of the table)
            assert "ix_followups_sent_by_at" in plan or "ix_followups_sent_at" in plan, plan
    engine.dispose()
