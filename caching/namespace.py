"""Where logical keys live in a backend: namespace and model fingerprints.

``user.id[4]`` is stored as ``caching:user@2ed8d827:user.id[4]``: the region's
namespace, then, for keys of a cacheable model, its table and column
fingerprint, so entries of an older shape of the model are never read. Guard
and statement keys carry only the namespace. This module maps keys both
ways and turns a glob over logical keys into the narrowest stored pattern.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import lru_cache

from . import scan
from .keys import GUARD_PREFIX, table_of
from .mapping import info_for

_MODEL_PREFIX = re.compile(r"(?P<table>[^@:]+)@[0-9a-f]{8}:")
_WILDCARD = re.compile(r"[*?]")
MANGLED_KEPT = 8192  # stored keys remembered per namespace: the hot keys of a process


class Namespace:
    """Mangles logical keys into stored keys of one region, and back."""

    def __init__(self, prefix: str, model_for_table: Callable[[str], type | None]) -> None:
        self.prefix = prefix
        self._model_for_table = model_for_table
        # per table, fixed for the life of the process (a model changes shape with a deploy)
        self._table_prefixes: dict[str, str] = {}
        # stats and the log live beside the namespace, not in it: flushing a
        # region (everything under the prefix) leaves them alone
        self.meta_prefix = prefix.rstrip(":") + "#"
        # every read mangles its keys: remember the hot ones rather than parse them again
        self.mangle = lru_cache(maxsize=MANGLED_KEPT)(self._mangle)

    def _mangle(self, key: str) -> str:
        """The stored key of a logical key (dogpile's ``key_mangler``, as ``mangle``)."""
        table = table_of(key)
        if table is None:
            return self.prefix + key
        prefix = self._table_prefixes.get(table)
        if prefix is None:
            model = self._model_for_table(table)
            prefix = f"{self.prefix}{table}@{info_for(model).fingerprint}:" if model else self.prefix
            self._table_prefixes[table] = prefix
        return prefix + key

    def unmangle(self, stored: str) -> str | None:
        """The logical key of a stored key, or None if it is not in this namespace."""
        if not stored.startswith(self.prefix):
            return None
        rest = stored[len(self.prefix) :]
        match = _MODEL_PREFIX.match(rest)
        if match and rest[match.end() :].startswith(match["table"] + "."):
            return rest[match.end() :]
        return rest

    def stored_pattern(self, pattern: str) -> str:
        """A stored-key glob matching (at least) the keys that ``pattern`` matches.

        Logical patterns have two wildcards, ``*`` and ``?``; everything else,
        brackets included, is literal. The literal head narrows the scan:
        ``user.views=*`` scans ``caching:user@*:user.views=*`` and ``gen:*``
        scans ``caching:gen:*``; anything else scans the whole namespace.
        """
        head = pattern[: m.start()] if (m := _WILDCARD.search(pattern)) else pattern
        namespace = scan.escape(self.prefix)
        table = table_of(head)
        if table is not None and self._model_for_table(table) is not None:
            return f"{namespace}{scan.escape(table)}@*:{scan.logical_glob(pattern)}"
        if head.startswith(GUARD_PREFIX):
            return namespace + scan.logical_glob(pattern)
        return namespace + "*"
