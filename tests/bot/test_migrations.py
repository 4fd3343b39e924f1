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
