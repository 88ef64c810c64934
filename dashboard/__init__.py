"""The demo app: the gist's users and addresses, read through ``caching``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from flask import Flask, redirect, url_for

from .config import default_config, instance_secret_key
from .extensions import caching, db


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults from the environment, then ``config`` overrides."""
    app = Flask(__name__, instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(default_config(app.instance_path))
    if config:
        app.config.update(config)
    app.config["SECRET_KEY"] = app.config.get("SECRET_KEY") or instance_secret_key(Path(app.instance_path))
    db.init_app(app)
    caching.init_app(app, db)

    from . import commands, models  # noqa: F401 - models register with db
    from .admin import init_dashboard
    from .views import demo

    init_dashboard(app, db)
    app.register_blueprint(demo.bp)
    app.add_url_rule("/", "home", lambda: redirect(url_for("cache_dashboard.index")))
    app.add_url_rule("/favicon.ico", "favicon", lambda: redirect(url_for("dashboard_assets.favicon")))
    commands.register(app)
    return app
