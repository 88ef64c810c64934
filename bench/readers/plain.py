"""No cache: what every read costs without one, the baseline of the speed-ups."""

from __future__ import annotations

from typing import Any

from dashboard.extensions import db
from dashboard.models import User

from . import listing_statement


class PlainReader:
    """``db.session.get`` and a plain select; the harness empties the identity map first."""

    name = "no cache"
    kind = "rival"
    caches = False
    regions = ()

    def get(self, pk: int) -> Any:
        return db.session.get(User, pk)

    def forget(self, pk: int) -> None:
        return None

    def listing(self, views: int) -> list[Any]:
        return list(db.session.scalars(listing_statement(views)))

    def forget_listing(self, views: int) -> None:
        return None

    def close(self) -> None:
        return None
