"""Browsing a region's keys: page by page, with age, TTL, size and a preview.

Keys are listed by a logical pattern (``*`` and ``?`` wildcards) with
:meth:`caching.Region.walk` (``SCAN`` on Redis, never ``KEYS``) and read with
:meth:`caching.Region.peek` (around the stats, never unpickled), then turned
into a short text preview.
"""

from __future__ import annotations

import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from caching import CachingState, EntityRef, current_state, info_for
from caching.keys import GUARD_PREFIX, STATEMENT_PREFIX, guard_key, table_of

PREVIEW_CHARS = 160
NOT_OURS = "(not a value this cache wrote)"
MAX_PATTERN = 200
MAX_EXAMINED = 5000  # stored keys one page may look at: a rare pattern ends the page early
MAX_CURSOR = 2**64 - 1  # Redis refuses anything larger
_DIGITS = re.compile(r"(\d+)", re.ASCII)  # a fixed pattern: no user input reaches a regex


class BadPattern(ValueError):  # noqa: N818 - reads as what the user gave
    """A key pattern or cursor the browser cannot use."""


@dataclass(frozen=True)
class Guard:
    """A token an entry was stored with, and what its guard key holds now."""

    key: str | None  # the guard key, when the entry's key names it (not for statements)
    stored: Any
    current: Any = None  # None: the guard is gone (or not known), so the entry is stale

    @property
    def holds(self) -> bool:
        return self.current is not None and self.current == self.stored


@dataclass(frozen=True)
class KeyEntry:
    key: str
    kind: str  # object, listing, statement, guard or other
    size: int | None
    age: float | None  # seconds since stored
    expires_in: float | None  # seconds until dogpile treats it as expired
    ttl: float | None  # seconds until Redis drops it
    preview: str
    guards: tuple[Guard, ...] = ()


def check_pattern(pattern: str) -> str:
    if not pattern or len(pattern) > MAX_PATTERN or any(ord(c) < 32 for c in pattern):
        raise BadPattern(f"a key pattern is 1 to {MAX_PATTERN} printable characters; * and ? are wildcards")
    return pattern


def check_cursor(cursor: str) -> int:
    """A page cursor as given back by a previous page: a number Redis would accept."""
    if not (cursor.isascii() and cursor.isdigit() and len(cursor) <= 20 and int(cursor) <= MAX_CURSOR):
        raise BadPattern("the page cursor must be a number from a previous page")
    return int(cursor)


def kind_of(key: str) -> str:
    if key.startswith(GUARD_PREFIX):
        return "guard"
    if key.startswith(STATEMENT_PREFIX):
        return "statement"
    table = table_of(key)
    if table is not None and current_state().model_for_table(table) is not None and key.endswith("]"):
        return "listing" if "[all]" in key else "object"  # a listing, one of its pages, its count
    return "other"


def natural_key(key: str) -> tuple[str | int, ...]:
    """Sort key putting ``user.id[2]`` before ``user.id[10]``: runs of digits compare as numbers."""
    return tuple(int(part) if i % 2 else part for i, part in enumerate(_DIGITS.split(key)))


def guard_of(key: str) -> str | None:
    """The guard key of an object or listing key (a page and a count share their listing's)."""
    kind = kind_of(key)
    if kind == "object":
        return guard_key(key)
    if kind == "listing":
        return guard_key(key[: key.index("[all]") + len("[all]")])
    return None


def browse(
    state: CachingState,
    label: str,
    pattern: str = "*",
    cursor: str = "0",
    count: int = 50,
    guards: bool = False,
) -> tuple[list[KeyEntry], str | None]:
    """One page of keys matching ``pattern``, in natural order within the page, and the
    cursor of the next page (None at the end). A page examines at most ``MAX_EXAMINED``
    stored keys, so its cost does not grow with the region; the order cannot be global
    without reading every key."""
    check_pattern(pattern)
    keys, next_cursor = _page(state, label, pattern, check_cursor(cursor), count, guards)
    return _describe(state, label, keys), next_cursor


def count_matching(state: CachingState, label: str, pattern: str = "*", guards: bool = True) -> int:
    """How many keys a flush of ``pattern`` would delete (guards included by default)."""
    check_pattern(pattern)
    return sum(
        1
        for batch in state.region(label).keys_matching(pattern)
        for key in batch
        if guards or not key.startswith(GUARD_PREFIX)
    )


def _page(
    state: CachingState, label: str, pattern: str, cursor: int, count: int, guards: bool
) -> tuple[list[str], str | None]:
    found: list[str] = []
    examined = 0
    for after, batch in state.region(label).walk(pattern, cursor, count):
        found.extend(k for k in batch if guards or not k.startswith(GUARD_PREFIX))
        examined += count
        if after != 0 and (len(found) >= count or examined >= MAX_EXAMINED):
            return sorted(found, key=natural_key), str(after)
    return sorted(found, key=natural_key), None


def _describe(state: CachingState, label: str, keys: Sequence[str]) -> list[KeyEntry]:
    """The keys' values, their guards' tokens and (on Redis) TTLs, in one read of each."""
    if not keys:
        return []
    region = state.region(label)
    guards = sorted({g for g in map(guard_of, keys) if g is not None})
    stored = region.peek([*keys, *guards], ttl=True)
    tokens = {g: None if found is None else found.value for g, found in zip(guards, stored[len(keys) :])}
    expiration_time = region.dogpile.expiration_time
    now = time.time()
    entries = []
    for key, found in zip(keys, stored):
        if found is None:
            continue  # expired or deleted since the scan
        age = None if found.created is None else now - found.created
        preview, stored_tokens = _decode(key, found.value) if age is not None else (NOT_OURS, [])
        expires_in = None if age is None or not expiration_time else expiration_time - age
        guard = guard_of(key)
        key_guards = tuple(
            Guard(guard, token, tokens.get(guard)) if guard else Guard(None, token) for token in stored_tokens
        )
        entry = KeyEntry(key, kind_of(key), found.size, age, expires_in, found.ttl, preview, key_guards)
        entries.append(entry)
    return entries


def _decode(key: str, value: Any) -> tuple[str, list[Any]]:
    """Preview and the guard tokens the value was stored with."""
    tokens = value[0] if _tagged(value) and isinstance(value[0], list) else []
    try:
        return _shorten(_preview(key, value)), tokens
    except (TypeError, ValueError, KeyError, AttributeError):  # written by hand, not by this cache
        return _shorten(f"(not the shape of a {kind_of(key)} value) {value!r}"), []


def _tagged(value: Any) -> bool:
    """Is ``value`` an entry as the store saves it: ``[tokens, data]``?"""
    return isinstance(value, list) and len(value) == 2


def _preview(key: str, value: Any) -> str:
    kind = kind_of(key)
    if kind == "guard":
        return f"generation token {value}"
    data = value[1] if _tagged(value) else value
    if kind == "object":
        if data is None:
            return "no such row (a cached miss)"
        return _row(key, data)
    if kind == "listing":
        if key.endswith("[count]"):
            return f"{data} rows (the listing's count)"
        return f"{len(data)} rows: " + "; ".join(_row(key, row) for row in data)
    if isinstance(data, dict) and "rows" in data:
        return f"{len(data['rows'])} rows of {', '.join(data['keys'])}: " + "; ".join(
            ", ".join(_cell(c) for c in row) for row in data["rows"]
        )
    return repr(data)


def _row(key: str, values: Any) -> str:
    info = info_for(current_state().model_for_table(table_of(key)))
    return ", ".join(f"{k}={v!r}" for k, v in zip(info.names, values))


def _cell(cell: Any) -> str:
    if isinstance(cell, EntityRef):
        values = cell.values
        if type(values) is list:  # a whole row, in its model's column order
            model = current_state().model_by_path(cell.class_path)
            info = None if model is None else info_for(model)
            values = dict(zip(range(len(values)) if info is None else info.names, values))
        return f"{cell.class_path.rpartition('.')[2]}({', '.join(f'{k}={v!r}' for k, v in values.items())})"
    return repr(cell)


def _shorten(text: str) -> str:
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
