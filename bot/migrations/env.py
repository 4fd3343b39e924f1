"""Alembic environment: runs on the connection `bot.db.migrate` hands over."""

from alembic import context
from sqlalchemy import create_engine

import crm.tables  # noqa: F401  (registers the embedded CRM tables on Base.metadata)
from bot.models import Base

config = context.config
target_metadata = Base.metadata


def run() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        engine = create_engine(config.get_main_option("sqlalchemy.url") or "sqlite:///followup.db")
        with engine.begin() as conn:
            context.configure(connection=conn, target_metadata=target_metadata, render_as_batch=True)
            context.run_migrations()
        return
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    context.run_migrations()


run()
