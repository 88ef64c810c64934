"""Extension instances shared by the app factory and the models."""

from flask_sqlalchemy import SQLAlchemy

from caching import Caching

db = SQLAlchemy()
caching = Caching()
