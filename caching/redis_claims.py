"""A miss on one Redis server in two requests instead of six.

Through dogpile's backend API a miss costs five requests after the read
that found it: take the herd lock, look again (a loader may have stored the
value meanwhile), arm the missing guards, save the value, release the lock.
On a single Redis server (not a cluster, whose keys live on several nodes)
two scripts do the same steps atomically. :attr:`LOOK` is the read itself:
it reads the values and their guards and, only when one is missing, takes
the herd lock and arms the missing guards in the same request, so a hit
costs what an ``MGET`` costs and a miss needs no second look. :attr:`CLAIM`
takes the lock and arms the guards it is given, then looks again (a miss
that ``LOOK`` could not tell, such as a value stored under older tokens, or
one whose lock was held). :attr:`RELEASE` saves the values and releases the
lock if it is still ours. The lock is dogpile's (same key, ``SET NX PX``),
so a reader that did not get it waits on it through dogpile as before.

The scripts skip the region's proxies, so a region the app wraps in proxies
of its own (``wrap`` in its configuration, or ``region.wrap()`` later) reads
and misses through dogpile's API instead: its proxies see every read and write.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping, Sequence
from typing import Any

from dogpile.cache.backends.redis import RedisBackend, RedisClusterBackend

LOOK = """
-- KEYS: the herd lock, the keys to read (values, then their guards)
-- ARGV: lock token, lock ms, seconds to keep a guard (0: no expiry), how many values,
--       the stored token to arm a missing guard with
-- returns 1 if it took the lock (and armed), else 0, then what it read (an armed guard's token)
local read = redis.call('MGET', unpack(KEYS, 2))
local whole = true
for i = 1, #read do
  if not read[i] then
    whole = false
    break
  end
end
if whole or not redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  table.insert(read, 1, 0)
  return read
end
for i = tonumber(ARGV[4]) + 1, #read do
  if not read[i] then
    if ARGV[3] == '0' then
      redis.call('SET', KEYS[i + 1], ARGV[5])
    else
      redis.call('SET', KEYS[i + 1], ARGV[5], 'EX', ARGV[3])
    end
    read[i] = ARGV[5]
  end
end
table.insert(read, 1, 1)
return read
"""

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
        self._look = self._client.register_script(LOOK)
        self._claim = self._client.register_script(CLAIM)
        self._release = self._client.register_script(RELEASE)

    def look(
        self, lock: str, reads: Sequence[str], values: int, armed: bytes
    ) -> tuple[str | None, list[Any]]:
        """Read ``reads`` (``values`` keys, then their guards); if one is missing, take the herd
        lock of the key ``lock`` without waiting and, if taken, arm the missing guards with
        ``armed``. The lock's token if taken (else None), and each stored value read."""
        token = secrets.token_hex(16)
        keys = [self._lock_template.format(lock), *reads]
        claimed, *found = self._look(keys=keys, args=[token, self._lock_ms, self._keep, values, armed])
        return (token if claimed else None), found

    def claim(
        self, lock: str, reads: Sequence[str], arming: Mapping[str, bytes]
    ) -> tuple[str, list[Any]] | None:
        """Take the herd lock of the key ``lock`` without waiting; if taken, set ``arming``
        (guard -> stored token) and return the lock's token with the stored value of each
        of ``reads`` (the values, then their guards)."""
        token = secrets.token_hex(16)
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
