"""A miss on one Redis server in two requests instead of five.

Through dogpile's backend API a miss costs five requests after the read
that found it: take the herd lock, look again (a loader may have stored the
value meanwhile), arm the missing guards, save the value, release the lock.
On a single Redis server (not a cluster, whose keys live on several nodes)
two scripts do the same steps atomically: :attr:`CLAIM` takes the lock and,
only if it got it, arms the guards it was given and reads the values and
their guards again (a page and its count share one lock); :attr:`RELEASE`
saves the values and releases the lock if it is still ours. The lock is
dogpile's (same key, ``SET NX PX``), so a reader that did not get it waits
on it through dogpile as before.

The scripts skip the region's proxies, so a region the app wraps in proxies
of its own (``wrap`` in its configuration, or ``region.wrap()`` later) misses
through dogpile's API instead: its proxies see every read and write.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from typing import Any

from dogpile.cache.backends.redis import RedisBackend, RedisClusterBackend

CLAIM = """
-- KEYS: the herd lock, the keys to read (values, then their guards), the guards to arm
-- ARGV: lock token, lock ms, seconds to keep a guard (0: no expiry), how many keys to read,
--       a stored token per guard to arm
if not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  return false
end
local read = tonumber(ARGV[4])
for i = 2 + read, #KEYS do
  if ARGV[3] == '0' then
    redis.call('SET', KEYS[i], ARGV[i + 3 - read])
  else
    redis.call('SET', KEYS[i], ARGV[i + 3 - read], 'EX', ARGV[3])
  end
end
return redis.call('MGET', unpack(KEYS, 2, 1 + read))
"""

RELEASE = """
-- KEYS: the herd lock, the values to save
-- ARGV: lock token, seconds to keep a value (0: no expiry), the values
for i = 2, #KEYS do
  if ARGV[2] == '0' then
    redis.call('SET', KEYS[i], ARGV[i + 1])
  else
    redis.call('SET', KEYS[i], ARGV[i + 1], 'EX', ARGV[2])
  end
end
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
"""


class RedisClaims:
    """The herd lock, the second look, arming and saving of one Redis server, in two requests.

    Keys given here are stored keys (mangled); values are stored bytes.
    """

    def __init__(self, backend: RedisBackend) -> None:
        self._client = backend.writer_client
        self._lock_template = backend.lock_template
        self._lock_ms = int(backend.lock_timeout * 1000) if backend.lock_timeout else 60_000
        self._keep = int(backend.redis_expiration_time or 0)
        self._claim = self._client.register_script(CLAIM)
        self._release = self._client.register_script(RELEASE)

    def claim(
        self, lock: str, reads: Sequence[str], arming: Mapping[str, bytes]
    ) -> tuple[str, list[Any]] | None:
        """Take the herd lock of the key ``lock`` without waiting; if taken, set ``arming``
        (guard -> stored token) and return the lock's token with the stored value of each
        of ``reads`` (the values, then their guards)."""
        token = uuid.uuid4().hex
        keys = [self._lock_template.format(lock), *reads, *arming]
        args = [token, self._lock_ms, self._keep, len(reads), *arming.values()]
        values = self._claim(keys=keys, args=args)
        return None if values is None else (token, values)

    def release(self, key: str, token: str, entries: Mapping[str, bytes]) -> None:
        """Save ``entries`` (stored key -> bytes) and release ``key``'s herd lock if it is still ours."""
        keys = [self._lock_template.format(key), *entries]
        self._release(keys=keys, args=[token, self._keep, *entries.values()])


def claims_for(backend: Any, proxied: bool) -> RedisClaims | None:
    """Claims for a single Redis server with dogpile's distributed lock; None elsewhere, and when
    the app wraps the region in proxies of its own (they must see every write)."""
    single = isinstance(backend, RedisBackend) and not isinstance(backend, RedisClusterBackend)
    if not single or proxied or not backend.distributed_lock:
        return None
    return RedisClaims(backend)
