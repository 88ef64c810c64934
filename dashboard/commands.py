"""CLI commands (Flask's click integration): ``init-db``, ``seed``, ``run``."""

from __future__ import annotations

import random

import click
from flask import Flask, current_app
from flask.cli import with_appcontext

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
    """Create the tables and demo data if missing, then serve the dashboard."""
    app = current_app._get_current_object()
    with app.app_context():
        db.create_all()
        if db.session.query(User.id).first() is None:
            seed_users(50)
            click.echo("Added 50 demo users.")
    click.echo(f"Dashboard: http://{host}:{port}/")
    app.run(host=host, port=port, debug=debug, use_reloader=debug)


def register(app: Flask) -> None:
    for command in (init_db, seed, run):
        app.cli.add_command(command)
