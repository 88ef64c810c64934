"""A test-only model: objects named by a unique non-primary column, and
columns the database fills in (server default) or that hold JSON."""

from sqlalchemy import JSON, DateTime, Integer, String, func
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caching import CacheableMixin
from dashboard.extensions import db


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

    __tablename__ = "club_team"  # apart from the host app's ``member`` in test_host_app.py
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str | None] = mapped_column(String(10), unique=True)
    members = relationship("Member", primaryjoin="Team.code == foreign(Member.team_code)", viewonly=True)


class Member(CacheableMixin, db.Model):
    __tablename__ = "club_member"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    team_code: Mapped[str | None] = mapped_column(String(10))
    name: Mapped[str] = mapped_column(String(40))
