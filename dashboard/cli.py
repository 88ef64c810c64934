"""``flask cache ...``: the dashboard's commands, which ``init_dashboard`` adds to the host app.

``create-admin NAME`` (only where the dashboard brings its own login),
``flush REGION`` and ``stats``. They run in the host's app context, like
``flask --app myapp cache stats``.
"""

from __future__ import annotations

from typing import Any

import click
from flask import current_app
from flask.cli import AppGroup, with_appcontext

from caching import current_state

from .auth import admin_models, create_admin
from .views.stats import region_row

MIN_PASSWORD_LENGTH = 8
STATS_COLUMNS = ("keys", "hits", "misses", "ratio", "sets", "deletes", "errors", "invalidated")


@click.command("create-admin")
@click.argument("name")
@click.password_option(prompt="Password", confirmation_prompt=True)
@with_appcontext
def create_admin_command(name: str, password: str) -> None:
    """Add a dashboard admin (or set the password of an existing one)."""
    if len(password) < MIN_PASSWORD_LENGTH:
        raise click.BadParameter(f"use at least {MIN_PASSWORD_LENGTH} characters", param_hint="password")
    db = current_app.extensions["dashboard_db"]
    tables = [model.__table__ for model in admin_models(db)]
    db.metadata.create_all(db.engine, tables=tables)  # only its own tables: admins and their sessions
    create_admin(db, name, password)
    click.echo(f"Admin {name!r} can log in.")


@click.command("flush")
@click.argument("region")
@with_appcontext
def flush_command(region: str) -> None:
    """Delete every key of REGION, through the same path as the dashboard's flush (counted, logged)."""
    state = current_state()
    if region not in state.regions:
        known = ", ".join(state.regions)
        raise click.BadParameter(f"no region {region!r} (regions: {known})", param_hint="REGION")
    flushed = state.flush(region, patterns=["*"])
    click.echo(f"Flushed {len(flushed)} keys of region {region!r}.")


@click.command("stats")
@with_appcontext
def stats_command() -> None:
    """Keys, hits, misses, hit ratio, sets, deletes, errors and invalidations of every region."""
    rows = [("region", "backend", *STATS_COLUMNS)]
    rows += [stats_cells(region_row(label)) for label in current_state().regions]
    widths = [max(map(len, column)) for column in zip(*rows)]
    for row in rows:
        names, figures = zip(row[:2], widths[:2]), zip(row[2:], widths[2:])
        click.echo("  ".join([*(c.ljust(w) for c, w in names), *(c.rjust(w) for c, w in figures)]))


def stats_cells(row: dict[str, Any]) -> tuple[str, ...]:
    """One region's line: the stats page's figures as text."""
    shown = {
        **row,
        "ratio": "-" if row["ratio"] is None else f"{row['ratio']:.1%}",
        "invalidated": f"{row['invalidated_auto']}/{row['invalidated_manual']}",
    }
    return (row["label"], row["backend"], *(str(shown[name]) for name in STATS_COLUMNS))


def command_group(name: str, own_login: bool) -> AppGroup:
    """The ``name`` group for one app; ``create-admin`` only where the dashboard has its own login."""
    group = AppGroup(name, help="The model cache: region stats and flushes, dashboard admins.")
    group.add_command(flush_command)
    group.add_command(stats_command)
    if own_login:
        group.add_command(create_admin_command)
    return group
