"""The metrics behind /followup stats read a period through the time indexes, not by scanning every
follow-up, decision or card: each statement a report runs is EXPLAINed on PostgreSQL with a year of data
(the benchmark's own loader), where a week is about 2% of it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import event

from app import build_deps
from bot.services import metrics
from bot.services.metrics import Scope
from bot.settings import Settings
from tests.bench_data import engine_module

# the tables that grow with every follow-up; replies and outcomes (a fraction of what is sent) may be read
# once into a hash by the planner, which is cheaper than a probe per follow-up
BIG = ("followups", "audit_events", "card_messages", "drafts")


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
@pytest.mark.parametrize("narrow", [{}, {"rep": "U0007"}], ids=["everyone", "one rep"])
def test_a_weeks_report_reads_through_the_indexes(database_url, narrow):
    deps = build_deps(Settings(_env_file=None, database_url=database_url))  # type: ignore[call-arg]
    engine_module().fill_history(deps.db.engine, 60_000)
    seen: list[tuple[str, object]] = []

    def keep(conn, cursor, statement, parameters, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT"):
            seen.append((statement, parameters))

    event.listen(deps.db.engine, "before_cursor_execute", keep)
    report = metrics.compute(deps, Scope.last("week", datetime.now(UTC), **narrow))
    event.remove(deps.db.engine, "before_cursor_execute", keep)
    assert report.sent > 0 and report.decisions["approve"].total > 0  # the week holds data
    assert len(seen) >= 10
    with deps.db.engine.connect() as conn:
        for statement, parameters in seen:
            plan = "\n".join(row[0] for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters))
            for table in BIG:
                assert f"Seq Scan on {table}" not in plan, f"{statement}\n{plan}"
    deps.db.engine.dispose()
