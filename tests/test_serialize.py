"""Cached values are plain data; nothing a client can write is unpickled."""

import datetime
import decimal
import enum
import pickle
import time
import uuid

import msgpack
import pytest
from dogpile.cache.api import CantDeserializeException
from sqlalchemy import event
from sqlalchemy.ext.mutable import MutableDict

from caching.mapping import info_for
from caching.serialize import Codec, register_enum
from tests.conftest import fresh_session, make_app
from tests.models import User, db

unpickled = []


def _record(what):
    unpickled.append(what)


class Exploit:
    def __reduce__(self):
        return (_record, ("pwned",))


@pytest.mark.parametrize(
    "value",
    [
        datetime.datetime(2024, 5, 1, 12, 30, 15, 120),
        datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC),
        datetime.date(2024, 5, 1),
        datetime.time(23, 59, 1),
        datetime.timedelta(days=2, seconds=5, microseconds=7),
        decimal.Decimal("3.50"),
        uuid.UUID("12345678-1234-5678-1234-567812345678"),
        {"nested": [1, 2.5, None, True, "text", b"bytes"]},
    ],
)
def test_database_types_round_trip_as_plain_data(value):
    codec = Codec(None)
    assert codec.loads(codec.dumps([value])) == [value]


def test_other_objects_need_a_secret_and_are_signed():
    with pytest.raises(TypeError, match="set SECRET_KEY"):
        Codec(None).dumps(frozenset({1}))
    codec = Codec("secret")
    data = codec.dumps(frozenset({1}))
    assert codec.loads(data) == frozenset({1})
    tampered = data[:-1] + bytes([data[-1] ^ 1])
    with pytest.raises(CantDeserializeException):
        codec.loads(tampered)
    with pytest.raises(CantDeserializeException):
        Codec("another secret").loads(data)


def test_garbage_is_a_miss_not_an_error():
    with pytest.raises(CantDeserializeException):
        Codec("secret").loads(b"\xc1 not msgpack")


def stored_key(key):
    return f"caching:user@{info_for(User).fingerprint}:{key}"


@pytest.mark.backends  # what the backend holds
def test_backend_holds_msgpack_under_a_fingerprinted_namespace(users, region):
    User.cache.get(4)
    raw = region.backend.get_serialized(stored_key("user.id[4]"))
    created, version, (_tokens, values) = msgpack.unpackb(raw)
    assert abs(created - time.time()) < 60 and version == 2
    assert values == [4, "user4", "user4@example.org", 3]
    assert not raw.startswith(b"\x80")  # no pickle protocol header


@pytest.mark.backends  # what the backend holds
def test_a_pickle_written_to_the_backend_is_never_unpickled(users, region, sql):
    User.cache.get(4)
    fresh_session()
    region.backend.set_serialized(stored_key("user.id[4]"), pickle.dumps(Exploit()))
    sql.reset()

    assert User.cache.get(4).username == "user4"

    assert unpickled == []
    assert len(sql) == 1  # read as a miss


@pytest.mark.backends  # a shared backend outlives a deploy
def test_a_deploy_that_changes_a_model_reads_none_of_the_old_entries(
    backend, users, database_url, monkeypatch
):
    """The same shared backend, read by the next deploy: a process whose User has another shape."""
    if backend["backend"] == "dogpile.cache.memory":
        pytest.skip(
            "a new process starts with an empty memory backend; the fingerprint matters to shared ones"
        )
    User.cache.get(4)
    fresh_session()
    monkeypatch.setattr(info_for(User), "fingerprint", "0ld5hape")
    redeployed = make_app(database_url, {"default": backend})
    statements = []
    with redeployed.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
        assert User.cache.get(4).id == 4
        db.session.remove()
    assert len(statements) == 1


class Colour(enum.StrEnum):
    RED = "red"


class Size(enum.IntEnum):
    SMALL = 1


def test_members_of_registered_enums_come_back_as_members_by_name():
    register_enum(Colour)
    register_enum(Size)
    codec = Codec(None)
    assert codec.loads(codec.dumps([Colour.RED, Size.SMALL])) == [Colour.RED, Size.SMALL]
    assert [type(v) for v in codec.loads(codec.dumps([Colour.RED, Size.SMALL]))] == [Colour, Size]


def test_an_enum_name_nobody_registered_reads_as_a_miss():
    codec = Codec(None)
    forged = msgpack.packb(msgpack.ExtType(9, msgpack.packb(["os.system", "echo"])), use_bin_type=True)
    with pytest.raises(CantDeserializeException):
        codec.loads(forged)


def test_subclasses_of_plain_types_are_stored_as_their_plain_content():
    codec = Codec(None)
    stored = codec.loads(codec.dumps({"doc": MutableDict({"a": [1]}), "t": (1, 2), "flag": True}))
    assert stored == {"doc": {"a": [1]}, "t": [1, 2], "flag": True}
    assert type(stored["doc"]) is dict
