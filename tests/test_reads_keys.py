"""Keys compare values as the database does: Enum mixins and their content,
Enum columns and their stored names, floats on Numeric columns, and datetimes
on zoned columns share a key whenever the database finds them equal; values
that cannot be made canonical are refused."""

import datetime
import decimal
import enum
from typing import Any

import pytest
from sqlalchemy import DateTime, Enum, Integer, Numeric, String, select

from caching import CacheableMixin
from caching.canonical import ZONED_DIALECTS
from tests.conftest import fresh_session
from tests.models import db

pytestmark = pytest.mark.filterwarnings("ignore:Dialect sqlite\\+pysqlite does \\*not\\* support Decimal")

UTC = datetime.UTC
PLUS_TWO = datetime.timezone(datetime.timedelta(hours=2))


class Status(str, enum.Enum):  # noqa: UP042 - the mixin apps write; str() gives "Status.ACTIVE"
    ACTIVE = "active"
    CLOSED = "closed"


class Level(enum.IntEnum):
    LOW = 1
    HIGH = 2


class Color(enum.Enum):
    RED = "r"
    BLUE = "b"


class RdItem(CacheableMixin, db.Model):
    __tablename__ = "rd_item"

    id = db.Column(Integer, primary_key=True)
    status = db.Column(String(20))
    level = db.Column(Integer)
    color = db.Column(Enum(Color))
    price = db.Column(Numeric(10, 2))
    starts = db.Column(DateTime(timezone=True))
    local = db.Column(DateTime)


TEN_UTC = datetime.datetime(2024, 1, 1, 10, tzinfo=UTC)


@pytest.fixture
def items(app: Any) -> None:
    db.session.add_all(
        [
            RdItem(
                id=1,
                status=Status.ACTIVE,
                level=Level.LOW,
                color=Color.RED,
                price=decimal.Decimal("0.10"),
                starts=TEN_UTC,
                local=datetime.datetime(2024, 1, 1, 10),
            ),
            RdItem(id=2, status="closed", level=2, color=Color.BLUE, price=decimal.Decimal("2.50")),
        ]
    )
    db.session.commit()
    fresh_session()


def keeps_zones() -> bool:
    return db.engine.dialect.name in ZONED_DIALECTS


def listed(region: Any, key: str) -> list[Any]:
    """The primary keys of the rows a cached listing holds."""
    return [row[0] for row in region.get(key)[1]]


def ids(**criteria: Any) -> list[int]:
    """The cached listing, in a fresh session."""
    fresh_session()
    return [item.id for item in RdItem.cache.filter(**criteria)]


def sql_ids(**criteria: Any) -> list[int]:
    """What SQL finds for the same criteria, without the cache."""
    fresh_session()
    return list(db.session.scalars(select(RdItem.id).filter_by(**criteria).order_by(RdItem.id)))


def update(pk: int, **values: Any) -> None:
    """Change a row loaded from the database (not from the cache) and commit."""
    fresh_session()
    item = db.session.get(RdItem, pk)
    for name, value in values.items():
        setattr(item, name, value)
    db.session.commit()


def test_a_str_enum_mixin_and_its_string_share_a_key(items, region):
    assert ids(status=Status.ACTIVE) == sql_ids(status="active") == [1]
    assert listed(region, "rd_item.status=active[all]") == [1]
    assert ids(status="closed") == [2]

    update(1, status=Status.CLOSED)

    assert ids(status="active") == sql_ids(status="active") == []
    assert ids(status=Status.CLOSED) == sql_ids(status="closed") == [1, 2]


def test_an_int_enum_and_its_int_share_a_key(items, region):
    assert ids(level=2) == ids(level=Level.HIGH) == sql_ids(level=2) == [2]
    assert listed(region, "rd_item.level=2[all]") == [2]

    update(1, level=Level.HIGH)

    assert ids(level=2) == sql_ids(level=2) == [1, 2]
    assert ids(level=Level.LOW) == sql_ids(level=1) == []


def test_an_enum_column_takes_members_and_stored_names_and_refuses_other_strings(items, region):
    assert ids(color="RED") == ids(color=Color.RED) == sql_ids(color="RED") == [1]
    assert listed(region, "rd_item.color=RED[all]") == [1]
    with pytest.raises(TypeError, match=r"RdItem\.color: 'r' is not a Color member nor one of its stored"):
        RdItem.cache.filter(color="r")

    update(2, color="RED")

    assert ids(color=Color.RED) == sql_ids(color=Color.RED) == [1, 2]


def test_a_float_finds_the_numeric_row_sql_finds(items, region):
    assert ids(price=0.1) == sql_ids(price=0.1) == [1]
    assert listed(region, "rd_item.price=0.1[all]") == [1]
    assert ids(price=decimal.Decimal("0.10")) == [1]
    assert RdItem.cache.count(price="0.1") == 1


def test_a_float_written_to_a_numeric_column_flushes_the_listing_it_joins(items):
    assert ids(price=decimal.Decimal("0.1")) == [1]

    update(2, price=0.1)

    assert ids(price=decimal.Decimal("0.1")) == sql_ids(price=0.1) == [1, 2]


def test_a_value_with_more_places_than_the_scale_is_refused(items):
    with pytest.raises(ValueError, match=r"RdItem\.price keeps 2 decimal places: 0\.105 is stored as 0\.11"):
        RdItem.cache.filter(price=0.105)
    with pytest.raises(ValueError, match=r"RdItem\.price keeps 2 decimal places"):
        RdItem.cache.count(price=decimal.Decimal("0.30000000000000004"))


def test_zoned_datetimes_are_instants(items, region):
    same_instant = TEN_UTC.astimezone(PLUS_TWO)  # 12:00+02:00
    if keeps_zones():
        assert ids(starts=same_instant) == [1]
    else:  # SQLite compares the wall-clock time 12:00 and finds nothing: refused, not answered wrongly
        with pytest.raises(ValueError, match=r"RdItem\.starts: this database keeps a datetime's wall-clock"):
            ids(starts=same_instant)
    assert ids(starts=TEN_UTC) == [1]
    assert listed(region, "rd_item.starts=2024-01-01T10:00:00+00:00[all]") == [1]

    update(1, starts=TEN_UTC + datetime.timedelta(hours=1))

    assert ids(starts=TEN_UTC) == []
    assert ids(starts=TEN_UTC + datetime.timedelta(hours=1)) == [1]


def test_datetimes_whose_zone_the_database_would_guess_are_refused(items):
    if keeps_zones():
        zoned = r"RdItem\.starts is a DateTime\(timezone=True\) column: a naive"
        with pytest.raises(ValueError, match=zoned):
            RdItem.cache.filter(starts=datetime.datetime(2024, 1, 1, 10))
    else:  # SQLite keeps wall-clock times: a naive value is what it stores
        assert ids(starts=datetime.datetime(2024, 1, 1, 10)) == [1]
    with pytest.raises(ValueError, match=r"RdItem\.local is a DateTime column: an aware"):
        RdItem.cache.filter(local=TEN_UTC)
    assert ids(local=datetime.datetime(2024, 1, 1, 10)) == [1]
