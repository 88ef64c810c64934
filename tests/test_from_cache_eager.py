"""``FromCache`` with loader options: a hit gives the relationships the query loaded, as it loaded them.

Each case reads a statement three times (uncached, cold, warm) and compares
what a page would show; the warm read runs no SQL. The models are written
the way strict apps write them: ``lazy="raise"`` relationships loaded by
options, criteria on the loads, ``contains_eager`` over a filtered join.
"""

from typing import Any

import pytest
from sqlalchemy import Column, ForeignKey, Integer, String, Table, and_, insert, select, update
from sqlalchemy.orm import (
    Mapped,
    contains_eager,
    foreign,
    joinedload,
    mapped_column,
    relationship,
    selectinload,
    with_loader_criteria,
)

from caching import CacheableMixin, FromCache
from caching.serialize import EntityRef
from tests.conftest import fresh_session
from tests.models import db

pytestmark = pytest.mark.backends  # entries with nested instances, guarded by several tables

eg_pet_toy = Table(
    "eg_pet_toy",
    db.metadata,
    Column("pet_id", ForeignKey("eg_pet.id"), primary_key=True),
    Column("toy_id", ForeignKey("eg_toy.id"), primary_key=True),
)


class EgOwner(CacheableMixin, db.Model):
    __tablename__ = "eg_owner"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(20))
    pets: Mapped[list["EgPet"]] = relationship(lazy="raise", order_by="EgPet.id", back_populates="owner")
    playful_pets: Mapped[list["EgPet"]] = relationship(
        primaryjoin=lambda: _pets_with_toys(), order_by="EgPet.id", viewonly=True
    )


def _pets_with_toys() -> Any:
    """A join condition that reads a third table: the owner's pets that have a toy."""
    return and_(EgOwner.id == foreign(EgPet.owner_id), EgPet.id.in_(select(eg_pet_toy.c.pet_id)))


class EgPet(CacheableMixin, db.Model):
    __tablename__ = "eg_pet"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("eg_owner.id"))
    name: Mapped[str] = mapped_column(String(20))
    owner: Mapped[EgOwner] = relationship(back_populates="pets")
    toys: Mapped[list["EgToy"]] = relationship(secondary=eg_pet_toy, order_by="EgToy.id")


class EgToy(CacheableMixin, db.Model):
    __tablename__ = "eg_toy"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    label: Mapped[str] = mapped_column(String(20))


class EgKennel(CacheableMixin, db.Model):
    """Eager by declaration: ``lazy="selectin"``, and ``lazy=False`` (the old spelling of joined)."""

    __tablename__ = "eg_kennel"
    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner_id: Mapped[int] = mapped_column(ForeignKey("eg_owner.id"))
    owner: Mapped[EgOwner] = relationship(lazy=False)
    residents: Mapped[list[EgPet]] = relationship(
        lazy="selectin",
        primaryjoin="EgKennel.owner_id == foreign(EgPet.owner_id)",
        order_by="EgPet.id",
        viewonly=True,
    )


@pytest.fixture
def pets(app: Any) -> None:
    """Two owners; ann has rex (a ball and a bone) and tom (the ball), bob has fido (nothing)."""
    ball, bone = EgToy(id=1, label="ball"), EgToy(id=2, label="bone")
    db.session.add_all(
        [
            EgOwner(
                id=1,
                name="ann",
                pets=[EgPet(id=1, name="rex", toys=[ball, bone]), EgPet(id=2, name="tom", toys=[ball])],
            ),
            EgOwner(id=2, name="bob", pets=[EgPet(id=3, name="fido")]),
        ]
    )
    db.session.commit()
    fresh_session()


def owners_page(owners: Any) -> list[tuple[str, list[str]]]:
    return [(o.name, [p.name for p in o.pets]) for o in owners]


def read_three_times(statement: Any, page: Any, sql: Any) -> list[Any]:
    """The page of ``statement`` without the cache, then cold and warm through it; asserts the
    warm read runs no SQL."""
    seen = [page(db.session.scalars(statement).unique().all())]
    cached = statement.options(FromCache("default"))
    for _ in range(2):
        fresh_session()
        sql.reset()
        seen.append(page(db.session.scalars(cached).unique().all()))
    assert len(sql) == 0, sql.statements
    return seen


def test_an_eager_load_of_a_raise_relationship_is_served_by_the_hit(pets, sql):
    statement = select(EgOwner).order_by(EgOwner.id).options(selectinload(EgOwner.pets))
    plain, cold, warm = read_three_times(statement, owners_page, sql)
    assert plain == cold == warm == [("ann", ["rex", "tom"]), ("bob", ["fido"])]


def test_a_criterion_on_the_load_filters_the_hit_as_the_query(pets, sql):
    statement = (
        select(EgOwner).order_by(EgOwner.id).options(selectinload(EgOwner.pets.and_(EgPet.name != "tom")))
    )
    plain, cold, warm = read_three_times(statement, owners_page, sql)
    assert plain == cold == warm == [("ann", ["rex"]), ("bob", ["fido"])]


def test_loader_criteria_filter_the_hit_as_the_query(pets, sql):
    statement = (
        select(EgOwner)
        .order_by(EgOwner.id)
        .options(selectinload(EgOwner.pets), with_loader_criteria(EgPet, EgPet.name.startswith("f")))
    )
    plain, cold, warm = read_three_times(statement, owners_page, sql)
    assert plain == cold == warm == [("ann", []), ("bob", ["fido"])]


def test_contains_eager_over_a_filtered_join_keeps_the_filtered_collection(pets, sql):
    statement = (
        select(EgOwner)
        .join(EgOwner.pets)
        .where(EgPet.name == "tom")
        .order_by(EgOwner.id)
        .options(contains_eager(EgOwner.pets))
    )
    plain, cold, warm = read_three_times(statement, owners_page, sql)
    assert plain == cold == warm == [("ann", ["tom"])]


def pets_page(pets: Any) -> list[tuple[str, str, list[str]]]:
    return [(p.name, p.owner.name, [t.label for t in p.toys]) for p in pets]


def test_chained_loads_through_a_secondary_table_and_a_many_to_one(pets, sql):
    statement = select(EgPet).order_by(EgPet.id).options(joinedload(EgPet.owner), selectinload(EgPet.toys))
    plain, cold, warm = read_three_times(statement, pets_page, sql)
    assert (
        plain
        == cold
        == warm
        == [("rex", "ann", ["ball", "bone"]), ("tom", "ann", ["ball"]), ("fido", "bob", [])]
    )


def test_nested_loads_two_levels_deep(pets, sql):
    statement = (
        select(EgOwner).order_by(EgOwner.id).options(selectinload(EgOwner.pets).selectinload(EgPet.toys))
    )

    def page(owners: Any) -> list[Any]:
        return [(o.name, [(p.name, [t.label for t in p.toys]) for p in o.pets]) for o in owners]

    plain, cold, warm = read_three_times(statement, page, sql)
    assert (
        plain
        == cold
        == warm
        == [("ann", [("rex", ["ball", "bone"]), ("tom", ["ball"])]), ("bob", [("fido", [])])]
    )


OWNERS_WITH_TOYS = (
    select(EgOwner).order_by(EgOwner.id).options(selectinload(EgOwner.pets).selectinload(EgPet.toys))
)


def toys_by_owner() -> list[tuple[str, list[list[str]]]]:
    fresh_session()
    owners = db.session.scalars(OWNERS_WITH_TOYS.options(FromCache("default"))).all()
    return [(o.name, [[t.label for t in p.toys] for p in o.pets]) for o in owners]


@pytest.mark.parametrize(
    "write, expected",
    [
        (
            lambda: db.session.add(EgPet(id=4, owner_id=2, name="rover")),
            [("ann", [["ball", "bone"], ["ball"]]), ("bob", [[], []])],
        ),
        (
            lambda: db.session.execute(update(EgToy).where(EgToy.id == 2).values(label="stick")),
            [("ann", [["ball", "stick"], ["ball"]]), ("bob", [[]])],
        ),
        (
            lambda: db.session.execute(insert(eg_pet_toy).values(pet_id=3, toy_id=2)),
            [("ann", [["ball", "bone"], ["ball"]]), ("bob", [["bone"]])],
        ),
    ],
    ids=["a pet added", "a toy renamed", "a toy given through the secondary table"],
)
def test_a_commit_to_any_table_the_loads_read_voids_the_entry(pets, write, expected):
    assert toys_by_owner() == [("ann", [["ball", "bone"], ["ball"]]), ("bob", [[]])]
    write()
    db.session.commit()
    assert toys_by_owner() == expected


def test_relationships_declared_eager_are_stored_with_the_instance(pets, sql):
    db.session.add(EgKennel(id=1, owner_id=1))
    db.session.commit()
    statement = select(EgKennel).order_by(EgKennel.id)

    def page(kennels: Any) -> list[Any]:
        return [(k.owner.name, [p.name for p in k.residents]) for k in kennels]

    plain, cold, warm = read_three_times(statement, page, sql)
    assert plain == cold == warm == [("ann", ["rex", "tom"])]
    db.session.add(EgPet(id=4, owner_id=1, name="rover"))
    db.session.commit()
    fresh_session()
    assert page(db.session.scalars(statement.options(FromCache("default")))) == [
        ("ann", ["rex", "tom", "rover"])
    ]


def test_a_table_only_a_join_condition_reads_guards_the_entry(pets):
    statement = (
        select(EgOwner).order_by(EgOwner.id).options(selectinload(EgOwner.playful_pets), FromCache("default"))
    )

    def playful() -> list[Any]:
        fresh_session()
        return [(o.name, [p.name for p in o.playful_pets]) for o in db.session.scalars(statement)]

    assert playful() == [("ann", ["rex", "tom"]), ("bob", [])]
    db.session.execute(insert(eg_pet_toy).values(pet_id=3, toy_id=1))
    db.session.commit()
    assert playful() == [("ann", ["rex", "tom"]), ("bob", ["fido"])]


def test_relationships_the_query_did_not_load_stay_unloaded_on_a_hit(pets, sql):
    statement = select(EgPet).order_by(EgPet.id).options(FromCache("default"))
    db.session.scalars(statement).all()
    fresh_session()
    sql.reset()
    rex = db.session.scalars(statement).first()
    assert "owner" not in rex.__dict__ and "toys" not in rex.__dict__
    assert len(sql) == 0
    assert [t.label for t in rex.toys] == ["ball", "bone"]  # a lazy load, as after the query


@pytest.mark.parametrize(
    "damage",
    [
        lambda ref: ref._replace(related=["pets"]),
        lambda ref: ref._replace(related={"nothing": []}),
        lambda ref: ref._replace(related={"pets": ref.related["pets"][0]}),
        lambda ref: ref._replace(related={"pets": [ref]}),
        lambda ref: ref._replace(related={"pets": ["rex"]}),
    ],
    ids=[
        "not a dict",
        "not a relationship",
        "one object for a collection",
        "another class",
        "not an instance",
    ],
)
def test_a_malformed_relationship_in_an_entry_is_a_miss(pets, sql, region, damage):
    statement = (
        select(EgOwner)
        .order_by(EgOwner.id)
        .options(selectinload(EgOwner.pets), FromCache("default", "owners"))
    )
    db.session.scalars(statement).all()
    tokens, payload = region.get("owners")
    payload["rows"][0][0] = damage(payload["rows"][0][0])
    assert isinstance(payload["rows"][1][0], EntityRef)
    region.set("owners", [tokens, payload])
    fresh_session()
    sql.reset()

    assert owners_page(db.session.scalars(statement)) == [("ann", ["rex", "tom"]), ("bob", ["fido"])]
    assert len(sql) == 2  # read again, and stored well formed
    fresh_session()
    sql.reset()
    assert owners_page(db.session.scalars(statement)) == [("ann", ["rex", "tom"]), ("bob", ["fido"])]
    assert len(sql) == 0
