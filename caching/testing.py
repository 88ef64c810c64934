"""Helpers for tests and benchmarks of code that uses the cache."""

from __future__ import annotations

from collections import Counter
from typing import Any

from dogpile.cache.proxy import ProxyBackend

BACKEND_METHODS = (
    "get",
    "get_multi",
    "get_serialized",
    "get_serialized_multi",
    "set",
    "set_multi",
    "set_serialized",
    "set_serialized_multi",
    "delete",
    "delete_multi",
)


class CountingProxy(ProxyBackend):
    """Counts the calls into the backend it wraps (``wrap=[CountingProxy()]`` in a
    region's settings): one call is one backend round trip for the network backends."""

    def __init__(self) -> None:
        super().__init__()
        self.calls: Counter[str] = Counter()
        self.writes: list[list[str]] = []  # the keys of each set call

    def total(self) -> int:
        return sum(self.calls.values())

    def reset(self) -> None:
        self.calls.clear()
        self.writes.clear()

    def _counted(name: str):  # noqa: N805 - builds the methods at class creation
        def method(self: CountingProxy, *args: Any) -> Any:
            self.calls[name] += 1
            if name.startswith("set"):
                self.writes.append(list(args[0]) if isinstance(args[0], dict) else [args[0]])
            return getattr(self.proxied, name)(*args)

        method.__name__ = name
        return method

    for _name in BACKEND_METHODS:
        locals()[_name] = _counted(_name)
    del _name, _counted
