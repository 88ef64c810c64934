"""``Model.cache.paginate``: Flask-SQLAlchemy's pager over a cached listing.

``db.paginate(select(User))`` runs two statements per page, the page and its
count. Here both come from the cache in one backend call
(:meth:`caching.model.Cache.window`), and the templates and macros written
for Flask-SQLAlchemy's :class:`Pagination` (``iter_pages``, ``has_next``,
``next()``, ...) work unchanged.
"""

from __future__ import annotations

from typing import Any

from flask_sqlalchemy.pagination import Pagination


class CachePagination(Pagination):
    """A page of ``Model.cache.filter(**criteria)`` and, unless ``count=False``, its total."""

    def __init__(
        self,
        page: int | None = None,
        per_page: int | None = None,
        max_per_page: int | None = 100,
        error_out: bool = True,
        count: bool = True,
        **kwargs: Any,
    ) -> None:
        self._counted = count  # Pagination reads the items before it is told whether to count
        self._total: int | None = None
        super().__init__(page, per_page, max_per_page, error_out, count, **kwargs)

    def _query_items(self) -> list[Any]:
        args = self._query_args
        cache, order_by, criteria = args["cache"], args["order_by"], args["criteria"]
        if not self._counted:
            return cache.filter(order_by, self._query_offset, self.per_page, **criteria)
        items, self._total = cache.window(self._query_offset, self.per_page, order_by, **criteria)
        return items

    def _query_count(self) -> int | None:
        return self._total
