"""The demo models of the gist's app: users and their addresses."""

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from caching import CacheableMixin

from .extensions import db


class User(CacheableMixin, db.Model):
    cache_label = "default"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(80))
    email: Mapped[str] = mapped_column(String(120))
    views: Mapped[int] = mapped_column(Integer, default=0)

    addresses: Mapped[list["Address"]] = relationship(back_populates="user", cascade="all, delete-orphan")

    def __repr__(self) -> str:
        return f"<User {self.username!r}>"

    def __str__(self) -> str:  # how the dashboard names a user in lists and selects
        return self.username


class Address(CacheableMixin, db.Model):
    cache_label = "default"
    cache_filters = [("user_id", "email")]

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("user.id"))
    email: Mapped[str] = mapped_column(String(120))

    user: Mapped[User] = relationship(back_populates="addresses")

    def __repr__(self) -> str:
        return f"<Address {self.email!r}>"

    def __str__(self) -> str:
        return self.email
