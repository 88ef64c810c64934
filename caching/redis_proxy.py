"""Redis specifics, wrapped around a region's Redis backend as a ``ProxyBackend``.

Deletes use ``UNLINK``, which frees memory off Redis's main thread. On a
Redis Cluster, multi-key reads and writes are split by hash slot (redis-py's
``mget_nonatomic`` / ``mset_nonatomic``, one pipeline per node) rather than
sent as one ``MGET``, which a cluster refuses across slots; ``UNLINK`` is
split the same way by redis-py. Keys are not hash-tagged, so a model's keys
spread over every node.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from dogpile.cache.api import NO_VALUE
from dogpile.cache.backends.redis import RedisBackend, RedisClusterBackend
from dogpile.cache.proxy import ProxyBackend


def get_many(client: Any, keys: Sequence[str]) -> list[Any]:
    """Values of ``keys`` (None when missing), split by slot on a cluster."""
    if hasattr(client, "mget_nonatomic"):
        return client.mget_nonatomic(keys)
    return client.mget(keys)


class RedisProxy(ProxyBackend):
    def wrap(self, backend: Any) -> RedisProxy:
        if not isinstance(backend, RedisBackend):
            raise TypeError("RedisProxy wraps the redis backends only")
        super().wrap(backend)
        self._client = backend.writer_client
        self._cluster = isinstance(backend, RedisClusterBackend)
        return self

    def get_serialized_multi(self, keys: Sequence[str]) -> Any:
        if not self._cluster:
            return self.proxied.get_serialized_multi(keys)
        return [NO_VALUE if v is None else v for v in get_many(self._client, keys)]

    def set_serialized_multi(self, mapping: Mapping[str, bytes]) -> None:
        if self._cluster and not self.proxied.redis_expiration_time:
            self._client.mset_nonatomic(mapping)  # dogpile would send one MSET
        else:
            self.proxied.set_serialized_multi(mapping)

    def delete_multi(self, keys: Sequence[str]) -> None:
        if keys:
            self._client.unlink(*keys)

    def delete(self, key: str) -> None:
        self._client.unlink(key)
