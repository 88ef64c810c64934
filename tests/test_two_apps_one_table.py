"""Two apps in one process, each with its own model on a table of the same name:
each app's writes flush its own model's keys, and its reads are its own rows."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from flask_sqlalchemy import SQLAlchemy
from sqlalchemy import Integer, String, update
from sqlalchemy.orm import Mapped, mapped_column

from caching import CacheableMixin, Caching

first_db = SQLAlchemy()
second_db = SQLAlchemy()


class FirstProfile(CacheableMixin, first_db.Model):
    __tablename__ = "profile"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(40))


class SecondProfile(CacheableMixin, second_db.Model):
    __tablename__ = "profile"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    nickname: Mapped[str] = mapped_column(String(40))
    score: Mapped[int] = mapped_column(Integer)


def make(db: SQLAlchemy, path: Any) -> Flask:
    app = Flask(__name__)
    app.config.update(
        SQLALCHEMY_DATABASE_URI=f"sqlite:///{path}",
        SECRET_KEY="two-apps",
        CACHE_REGIONS={"default": {"backend": "dogpile.cache.memory"}},
    )
    db.init_app(app)
    Caching().init_app(app, db)
    with app.app_context():
        db.create_all()
    return app


@pytest.fixture
def apps(tmp_path):
    return make(first_db, tmp_path / "first.db"), make(second_db, tmp_path / "second.db")


def test_each_app_reads_and_flushes_its_own_model(apps):
    first, second = apps
    with first.app_context():
        first_db.session.add(FirstProfile(id=1, name="ada"))
        first_db.session.commit()
        assert FirstProfile.cache.get(1).name == "ada"
    with second.app_context():
        second_db.session.add(SecondProfile(id=1, nickname="bob", score=3))
        second_db.session.commit()
        assert [p.nickname for p in SecondProfile.cache.filter(score=3)] == ["bob"]
        assert SecondProfile.cache.get(1).nickname == "bob"
        second_db.session.execute(update(SecondProfile).where(SecondProfile.id == 1).values(score=4))
        second_db.session.commit()
        second_db.session.remove()
        assert SecondProfile.cache.filter(score=3) == []
        assert [(p.nickname, p.score) for p in SecondProfile.cache.filter(score=4)] == [("bob", 4)]
        assert SecondProfile.cache.get(1).score == 4
    with first.app_context():
        first_db.session.get(FirstProfile, 1).name = "ada lovelace"
        first_db.session.commit()
        first_db.session.remove()
        assert FirstProfile.cache.get(1).name == "ada lovelace"
        assert [p.name for p in FirstProfile.cache.filter(name="ada lovelace")] == ["ada lovelace"]


def test_each_app_resolves_the_table_to_its_own_model(apps):
    first, second = apps
    assert first.extensions["caching"].model_for_table("profile") is FirstProfile
    assert second.extensions["caching"].model_for_table("profile") is SecondProfile
