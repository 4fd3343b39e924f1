"""Alembic migrations build exactly the schema the models describe, on SQLite and PostgreSQL."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

import crm.tables  # noqa: F401  (the embedded CRM's tables)
from bot.db import make_engine, migrate
from bot.models import Base


def test_migrations_match_the_models(database_url):
    engine = make_engine(database_url)
    migrate(engine)
    migrate(engine)  # idempotent: a second run is a no-op
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    engine.dispose()
    assert diff == []


def test_upgrading_leaves_no_send_in_limbo_and_no_card_unposted(database_url):
    from alembic import command
    from alembic.config import Config
    from sqlalchemy import text

    from bot.db import MIGRATIONS

    engine = make_engine(database_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    with engine.begin() as conn:
        cfg.attributes["connection"] = conn
        command.upgrade(cfg, "0002")
        for fid, state in ((1, "sending"), (2, "pending"), (3, "sent")):
            conn.execute(
                text(
                    """
                    INSERT INTO followups (id, dedupe_key, rule, reason, contact_id, contact_email,
                        contact_name, state, version, triggered_at, created_at, updated_at)
                    VALUES (:id, :key, 'stale_deal', 'r', 'c', 'c@example.com', 'C', :state, 1, :at, :at, :at)
                    """
                ),
                {"id": fid, "key": f"k{fid}", "state": state, "at": "2026-11-18 20:00:00+00:00"},
            )
    migrate(engine)
    with engine.connect() as conn:
        states = dict(conn.execute(text("SELECT id, state FROM followups")).all())
        queued = conn.execute(text("SELECT kind, followup_id FROM work_items")).all()
    engine.dispose()
    assert states == {1: "unknown", 2: "pending", 3: "sent"}
    assert [tuple(row) for row in queued] == [("post_card", 2)]
