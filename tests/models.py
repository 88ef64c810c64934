"""The library tests' own app pieces: their ``db``, their ``Caching``, and models
written as an app would write them, apart from the demo app's (the dashboard
tests use those). ``User`` and ``Address`` have the gist's shape; ``Account`` is
named in keys by a unique non-primary column and has columns the database fills
in or that hold JSON; ``Team`` and ``Member`` join on a nullable code."""

from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import JSON, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caching import CacheableMixin, Caching

db = SQLAlchemy()
caching = Caching()


class User(CacheableMixin, db.Model):
    """Declared in the classic ``db.Column`` style (the demo app's use ``Mapped``)."""

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(80))
    email = db.Column(db.String(120))
    views = db.Column(db.Integer, default=0)
    addresses = db.relationship("Address", back_populates="user", cascade="all, delete-orphan")


class Address(CacheableMixin, db.Model):
    cache_filters = [("user_id", "email")]

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.ForeignKey("user.id"))
    email = db.Column(db.String(120))
    user = db.relationship(User, back_populates="addresses")


class Account(CacheableMixin, db.Model):
    cache_pk = "login"
    cache_filters = [("plan", "active")]

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(String(40), unique=True)
    plan: Mapped[str | None] = mapped_column(String(20))
    active: Mapped[bool] = mapped_column(default=True)
    created = mapped_column(DateTime, server_default=func.current_timestamp())
    settings = mapped_column(JSON, default=dict)


class Team(CacheableMixin, db.Model):
    """Joined to its members by a nullable code, not by its primary key."""

    __tablename__ = "club_team"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(10), unique=True)
    members = relationship("Member", primaryjoin="Team.code == foreign(Member.team_code)", viewonly=True)


class Member(CacheableMixin, db.Model):
    __tablename__ = "club_member"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_code: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40))
