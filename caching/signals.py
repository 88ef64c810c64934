"""Blinker signals sent by the cache.

``cache_invalidated`` is sent once per changed object after each commit that
flushed keys, and once per manual flush, with the Flask app as sender and
these keyword arguments: ``model`` (the mapped class, or None for a manual
flush of raw keys), ``pk``, ``operation`` (``insert``, ``update``,
``delete``, ``bulk`` or ``manual``), ``columns`` (changed column keys),
``keys`` (the logical keys flushed), ``region`` (the region label) and
``patterns`` (the key patterns a manual or whole-table flush deleted, else empty).
"""

from blinker import Namespace

_signals = Namespace()

cache_invalidated = _signals.signal("cache-invalidated")
