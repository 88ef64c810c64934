"""Plain-data serialization of cached values: msgpack, never a bare pickle.

Column values are stored as msgpack with a few extension types for the
Python types databases return (datetimes, decimals, UUIDs...). Mapped
instances inside statement results are stored as their class, schema
fingerprint and column values, and rebuilt into the session by
:mod:`caching.attach`. A value that plain data cannot express is pickled
*and signed* with the app's ``SECRET_KEY``; a bad signature reads as a
miss, so nothing a client can write to a shared backend is unpickled.
"""

from __future__ import annotations

import datetime
import decimal
import enum
import hashlib
import hmac
import pickle
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import Any, NamedTuple

import msgpack
from dogpile.cache.api import NO_VALUE, CachedValue, CantDeserializeException
from dogpile.cache.region import CacheRegion

_DATETIME, _DATE, _TIME, _TIMEDELTA, _DECIMAL, _UUID, _SIGNED_PICKLE, _ENTITY, _ENUM = range(1, 10)
_SIGNATURE_SIZE = hashlib.sha256().digest_size


class EntityRef(NamedTuple):
    """A mapped instance as stored: rebuilt into the session on read. ``values`` are
    all its columns' in the model's column order when it had them all loaded, else
    the loaded ones by name (a deferred column, ``load_only``); ``related``, the
    relationships its query loaded, by key: a list of instances, one, or None
    (:mod:`caching.eager`)."""

    class_path: str
    fingerprint: str
    values: list[Any] | dict[str, Any]
    related: dict[str, Any] | None = None


_enums: dict[str, type[enum.Enum]] = {}


def register_enum(enum_class: type[enum.Enum]) -> None:
    """Let members of ``enum_class`` (an Enum column's) be stored by name and read back as members.

    Only registered classes are rebuilt on read, so a stored value can name
    nothing else; members of other Enums are stored as signed pickles.
    """
    _enums[f"{enum_class.__module__}.{enum_class.__qualname__}"] = enum_class


class Codec:
    """msgpack with extension types, signed pickles as the last resort."""

    def __init__(self, secret_key: str | bytes | None) -> None:
        if isinstance(secret_key, str):
            secret_key = secret_key.encode()
        self._signing_key = (
            hmac.new(secret_key, b"caching.signed-pickle", hashlib.sha256).digest() if secret_key else None
        )

    def dumps(self, value: Any) -> bytes:
        # strict types: a str or int Enum member reaches _default instead of passing as its content
        return msgpack.packb(value, default=self._default, use_bin_type=True, strict_types=True)

    def loads(self, data: bytes) -> Any:
        try:
            return msgpack.unpackb(data, ext_hook=self._ext_hook, raw=False, strict_map_key=False)
        except CantDeserializeException:
            raise
        except Exception as exc:  # any malformed bytes are a miss, never an error
            raise CantDeserializeException() from exc

    def _default(self, value: Any) -> Any:
        if type(value) is EntityRef:  # a mapped instance in a statement's result (caching.eager)
            return msgpack.ExtType(_ENTITY, self.dumps(list(value)))
        if isinstance(value, enum.Enum):
            path = f"{type(value).__module__}.{type(value).__qualname__}"
            if _enums.get(path) is type(value):
                return msgpack.ExtType(_ENUM, self.dumps([path, value.name]))
            return self._signed_pickle(value)
        if type(value) is tuple:
            return list(value)
        if isinstance(value, (str, int, float, bytes, list, dict)) and not isinstance(value, bool):
            return _plain(value)  # another subclass of a plain type: store its plain content
        if isinstance(value, datetime.datetime):
            return msgpack.ExtType(_DATETIME, value.isoformat().encode())
        if isinstance(value, datetime.date):
            return msgpack.ExtType(_DATE, value.isoformat().encode())
        if isinstance(value, datetime.time):
            return msgpack.ExtType(_TIME, value.isoformat().encode())
        if isinstance(value, datetime.timedelta):
            parts = (value.days, value.seconds, value.microseconds)
            return msgpack.ExtType(_TIMEDELTA, msgpack.packb(parts))
        if isinstance(value, decimal.Decimal):
            return msgpack.ExtType(_DECIMAL, str(value).encode())
        if isinstance(value, uuid.UUID):
            return msgpack.ExtType(_UUID, value.bytes)
        return self._signed_pickle(value)

    def _signed_pickle(self, value: Any) -> msgpack.ExtType:
        if self._signing_key is None:
            raise TypeError(
                f"cannot cache a {type(value).__name__} as plain data; set SECRET_KEY "
                "to allow signed pickles for such values"
            )
        payload = pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL)
        signature = hmac.new(self._signing_key, payload, hashlib.sha256).digest()
        return msgpack.ExtType(_SIGNED_PICKLE, signature + payload)

    def _ext_hook(self, code: int, data: bytes) -> Any:
        if code == _DATETIME:
            return datetime.datetime.fromisoformat(data.decode())
        if code == _DATE:
            return datetime.date.fromisoformat(data.decode())
        if code == _TIME:
            return datetime.time.fromisoformat(data.decode())
        if code == _TIMEDELTA:
            days, seconds, microseconds = msgpack.unpackb(data)
            return datetime.timedelta(days=days, seconds=seconds, microseconds=microseconds)
        if code == _DECIMAL:
            return decimal.Decimal(data.decode())
        if code == _UUID:
            return uuid.UUID(bytes=data)
        if code == _ENTITY:
            return EntityRef(*self.loads(data))
        if code == _ENUM:
            path, name = self.loads(data)
            return _enums[path][name]  # an unknown class or name: a miss
        if code == _SIGNED_PICKLE:
            return self._verified_unpickle(data)
        raise CantDeserializeException()

    def _verified_unpickle(self, data: bytes) -> Any:
        signature, payload = data[:_SIGNATURE_SIZE], data[_SIGNATURE_SIZE:]
        if self._signing_key is None:
            raise CantDeserializeException()
        expected = hmac.new(self._signing_key, payload, hashlib.sha256).digest()
        if not hmac.compare_digest(signature, expected):
            raise CantDeserializeException()
        return pickle.loads(payload)  # noqa: S301 - signed by this app's SECRET_KEY


def _plain(value: Any) -> Any:
    for plain in (str, int, float, bytes, list, dict):
        if isinstance(value, plain):
            return plain(value)
    raise TypeError(type(value).__name__)


class PlainRegion(CacheRegion):
    """A dogpile region that stores each value as one msgpack document,
    ``[created, version, payload]``, instead of dogpile's JSON header plus
    serialized payload: one decode per value read rather than two (the JSON
    header cost more than the payload)."""

    def _serialize_cached_value_elements(self, payload: Any, metadata: dict[str, Any]) -> bytes:
        return self.serializer([metadata["ct"], metadata["v"], payload])

    def _parse_serialized_from_backend(self, value: Any) -> Any:
        if value is None or value is NO_VALUE:
            return NO_VALUE
        stored = parse_stored(self.deserializer, value)
        return NO_VALUE if stored is None else CachedValue(stored[2], {"ct": stored[0], "v": stored[1]})

    def get_payloads(self, keys: Sequence[str]) -> list[Any]:
        """What ``get_multi(keys)`` returns, without its per-value machinery.

        One ``get_serialized_multi`` through the proxies (stats, Redis), each
        value decoded once, straight from ``[created, version, payload]``:
        no ``CachedValue`` envelope nor metadata dict per value. Values past
        the region's ``expiration_time`` or older than an ``invalidate()``
        read as ``NO_VALUE``, as in ``get_multi``.
        """
        mangle = self.key_mangler
        return self.payloads(self.backend.get_serialized_multi([mangle(k) for k in keys] if mangle else keys))

    def payloads(self, raw: Sequence[Any]) -> list[Any]:
        """The payload of each stored value (None or ``NO_VALUE`` when missing), as :meth:`get_payloads`."""
        expiration_time = self.expiration_time
        oldest = float("-inf") if expiration_time is None else time.time() - expiration_time
        invalidated, loads = self.region_invalidator.is_invalidated, self.deserializer
        payloads = []
        for value in raw:
            stored = None if value is None or value is NO_VALUE else parse_stored(loads, value)
            fresh = stored is not None and stored[0] >= oldest and not invalidated(stored[0])
            payloads.append(stored[2] if fresh else NO_VALUE)
        return payloads

    def stored(self, mapping: Mapping[str, Any]) -> dict[str, bytes]:
        """What ``set_multi(mapping)`` would store: each stored key and its bytes."""
        metadata = self._gen_metadata()
        mangle = self.key_mangler or (lambda key: key)
        return {mangle(k): self._serialized_payload(v, metadata) for k, v in mapping.items()}


def parse_stored(loads: Callable[[bytes], Any], raw: bytes) -> tuple[float, int, Any] | None:
    """``(created, version, payload)`` of a stored value, or None if this cache did not write it."""
    try:
        created, version, payload = loads(raw)
        return float(created), int(version), payload
    except (CantDeserializeException, ValueError, TypeError):
        return None
