"""The demo's CLI commands (``python manage.py ...``): ``init-db``, ``seed``, ``create-admin``, ``run``.

``create-admin`` is the dashboard's own (also ``cache create-admin``, with ``cache flush`` and
``cache stats``, which ``init_dashboard`` registers on every app it mounts on).
"""

from __future__ import annotations

import random

import click
from flask import Flask, current_app
from flask.cli import with_appcontext
from werkzeug.serving import run_simple

from .auth import ensure_admin
from .cli import create_admin_command
from .extensions import db
from .models import Address, User

FIRST_NAMES = ["ada", "alan", "barbara", "dennis", "edsger", "frances", "grace", "john", "ken", "linus"]
LAST_NAMES = ["hopper", "lovelace", "turing", "liskov", "ritchie", "dijkstra", "allen", "backus"]
DOMAINS = ["example.org", "example.com", "example.net"]


def random_user() -> User:
    first, last = random.choice(FIRST_NAMES), random.choice(LAST_NAMES)
    user = User(username=f"{first}_{last}", email=f"{first}.{last}@{random.choice(DOMAINS)}", views=0)
    user.addresses.append(Address(email=f"{first}@{random.choice(DOMAINS)}"))
    return user


def seed_users(count: int) -> None:
    """Add ``count`` random users, one address each, in one commit."""
    db.session.add_all(random_user() for _ in range(count))
    db.session.commit()


@click.command("init-db")
@click.option("--drop", is_flag=True, help="Drop every table first.")
@with_appcontext
def init_db(drop: bool) -> None:
    """Create the tables."""
    if drop:
        db.drop_all()
    db.create_all()
    click.echo(f"Database ready: {db.engine.url.render_as_string(hide_password=True)}")


@click.command("seed")
@click.option("--users", "count", default=50, show_default=True, type=click.IntRange(1, 100_000))
@with_appcontext
def seed(count: int) -> None:
    """Add random demo users."""
    seed_users(count)
    click.echo(f"Added {count} users.")


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True, type=int)
@click.option("--debug/--no-debug", default=False)
def run(host: str, port: int, debug: bool) -> None:
    """Create the tables, demo data and a first admin if missing, then serve the dashboard."""
    app = current_app._get_current_object()
    with app.app_context():
        db.create_all()
        if db.session.query(User.id).first() is None:
            seed_users(50)
            click.echo("Added 50 demo users.")
        password = ensure_admin(db)
    if password is not None:
        click.echo(f"Created the admin account: user 'admin', password {password}  (shown once)")
    click.echo(f"Dashboard: http://{host}:{port}/admin/  (demo pages: http://{host}:{port}/demo/)")
    # app.run() refuses to run inside the flask CLI; this is the server it would start
    run_simple(host, port, app, use_reloader=debug, use_debugger=debug, threaded=True)


def register(app: Flask) -> None:
    for command in (init_db, seed, create_admin_command, run):
        app.cli.add_command(command)
