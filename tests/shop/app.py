"""The shop app: Flask, its own db and cache, schemas ``a`` and ``b`` on any database."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask
from sqlalchemy import Engine, event, text

from tests.shop.models import SCHEMAS, caching, db


def make_shop_app(
    database_url: str, region: dict[str, Any], scratch: Path, secret_key: str | None = "shop-secret"
) -> Flask:
    """The shop on ``database_url`` with one ``default`` cache region.

    SQLite has no schemas: each is a database file in ``scratch``, attached
    to every new connection under the schema's name. Without ``secret_key``
    the cache cannot sign pickles, as in an app that never set one.
    """
    app = Flask("shop")
    app.config.update(
        SQLALCHEMY_DATABASE_URI=database_url,
        SECRET_KEY=secret_key,
        CACHE_REGIONS={"default": region},
    )
    db.init_app(app)
    caching.init_app(app, db)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _attach_schemas(db.engine, scratch)
    return app


def _attach_schemas(engine: Engine, scratch: Path) -> None:
    @event.listens_for(engine, "connect")
    def attach(dbapi_connection: Any, connection_record: Any) -> None:
        for schema in SCHEMAS:
            dbapi_connection.execute(f"ATTACH DATABASE '{scratch / schema}.db' AS {schema}")


def create_schema() -> None:
    """Create the shop's tables (and on PostgreSQL its schemas), dropping old ones."""
    if db.engine.dialect.name == "postgresql":
        with db.engine.begin() as conn:
            for schema in SCHEMAS:
                conn.execute(text(f"CREATE SCHEMA IF NOT EXISTS {schema}"))
    db.drop_all()
    db.create_all()


def drop_schema() -> None:
    db.session.remove()
    db.drop_all()
    db.engine.dispose()
