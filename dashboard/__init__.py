"""The demo app: the gist's users and addresses, read through ``caching``."""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from flask import Flask

from .config import default_config
from .extensions import caching, db

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def create_app(config: Mapping[str, Any] | None = None) -> Flask:
    """Build the app: defaults from the environment, then ``config`` overrides."""
    app = Flask(__name__, template_folder=os.path.join(ROOT, "templates"), instance_relative_config=True)
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(default_config(app.instance_path))
    if config:
        app.config.update(config)
    db.init_app(app)
    caching.init_app(app, db)

    from . import commands, models  # noqa: F401 - models register with db
    from .views import demo

    app.register_blueprint(demo.bp)
    commands.register(app)
    return app
