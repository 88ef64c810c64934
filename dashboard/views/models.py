"""CRUD views for cached models, with what each save will and did invalidate."""

from __future__ import annotations

import datetime
import decimal
from typing import Any

from flask import abort, jsonify, request, url_for
from flask_admin import expose
from flask_admin.actions import action
from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla import ModelView
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.model.template import LinkRowAction
from sqlalchemy import String, Text, inspect
from werkzeug.datastructures import MultiDict
from werkzeug.wrappers import Response

from caching import CacheableMixin, FromCache, info_for

from ..preview import keys_for_insert, keys_for_update
from .base import AdminAccess

PREVIEW_EXCLUDE = ("csrf_token",)
MAX_PAGE = 10**6  # beyond this a page number is noise, and its OFFSET could overflow
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets run as a formula


class CachedChoices(AdminModelConverter):
    """Relationship fields whose choices are read through the cache, as the list is."""

    def _model_select_field(self, prop: Any, multiple: Any, remote_model: type, **kwargs: Any) -> Any:
        if "query_factory" not in kwargs and issubclass(remote_model, CacheableMixin):
            kwargs["query_factory"] = lambda: self.view.cached_query(remote_model)
        return super()._model_select_field(prop, multiple, remote_model, **kwargs)


class CachedModelView(AdminAccess, ModelView):
    """List, search, filter, sort, page, create, edit, delete and export a cached model.

    Every read goes through the cache: the default page and its count read
    the model's listing (``Model.cache``); a search, a sort or a filter, and
    their counts, load ``FromCache`` (guarded by the tables they read); the
    details and edit pages read the object key, and relationship choices and
    values come from the cache too. A warm page runs no SQL. Deletes, one or
    in bulk, go through the ORM so that invalidation fires; the edit form
    previews the keys a save would flush.
    """

    model_form_converter = CachedChoices

    can_export = True
    export_types = ["csv"]
    can_view_details = True
    column_display_pk = True
    page_size = 20
    edit_template = create_template = "dashboard/model_edit.html"

    def __init__(self, model: type, db: Any, **kwargs: Any) -> None:
        info = info_for(model)
        self.column_searchable_list = [
            k for k in info.names if isinstance(info.columns[k].type, (String, Text))
        ]
        self.column_filters = [k for k in info.names if k != info.pk and _filterable(info.columns[k])]
        self.column_default_sort = info.pk
        self.column_export_exclude_list = [info.pk]  # the export's columns stay what they were
        self.form_columns = form_columns(model)
        self.column_list = [info.pk, *(c for c in self.form_columns if not _is_collection(model, c))]
        related = [r.mapper.class_ for r in inspect(model).relationships]
        self.column_type_formatters = {
            **ModelView.column_type_formatters,
            **{cls: lambda view, value, name: object_label(value) for cls in related},
        }
        self.form_args = {r.key: {"get_label": object_label} for r in inspect(model).relationships}
        self.column_extra_row_actions = [
            LinkRowAction(
                "fa fa-history",
                lambda action, row_id, row: url_for(
                    "cache_dashboard_log.history", model=model.__name__, pk=row_id
                ),
                title="Cache history",
            )
        ]
        self._db = db
        super().__init__(model, db, **kwargs)

    def get_query(self) -> Any:
        return super().get_query().options(FromCache(self.model.cache.label))

    def cached_query(self, model: type) -> Any:
        """All objects of a cacheable ``model``, loaded ``FromCache``: a relationship's choices."""
        return self._db.session.query(model).options(FromCache(model.cache.label))

    def get_count_query(self) -> Any:
        return super().get_count_query().options(FromCache(self.model.cache.label))

    def get_one(self, id: Any) -> Any:
        """The object, from the cache, or None for an id that is not one (no 500 on a bad URL)."""
        info = info_for(self.model)
        if len(info.identity_indexes) != 1:
            return super().get_one(id)
        pk = self._pk_value(id)
        if pk is None:
            return None
        return self.model.cache.get(pk) if info.pk_is_identity else self._db.session.get(self.model, pk)

    def get_list(
        self,
        page: int | None,
        sort_column: Any,
        sort_desc: bool,
        search: str | None,
        filters: Any,
        execute: bool = True,
        page_size: int | None = None,
    ) -> Any:
        """The default page (primary key order, no search or filter) is a window of the
        model's listing; anything else is Flask-Admin's query, loaded ``FromCache`` (see
        :meth:`get_query`). A negative page number in the URL
        reads as the first page, a huge one as the last possible; ``page_size`` 0 (the
        CSV export's) means every row."""
        page = min(max(page or 0, 0), MAX_PAGE)
        if execute and sort_column is None and not search and not filters:
            size = self.page_size if page_size is None else page_size
            objects, total = self.model.cache.window(offset=page * size, limit=size or None)
            return total, objects
        return super().get_list(page, sort_column, sort_desc, search, filters, execute, page_size)

    @action(
        "delete", lazy_gettext("Delete"), lazy_gettext("Are you sure you want to delete selected records?")
    )
    def action_delete(self, ids: tuple[str, ...]) -> None:
        """Bulk delete, one ORM delete per object, with ids typed like the primary key
        (PostgreSQL will not compare an integer column with text)."""
        if len(info_for(self.model).identity_indexes) == 1:
            ids = tuple(pk for pk in map(self._pk_value, ids) if pk is not None)
        super().action_delete(ids)

    def get_export_value(self, model: Any, name: str) -> Any:
        """A cell of the CSV export; text a spreadsheet would run as a formula is
        quoted with a leading apostrophe (OWASP's advice against CSV injection)."""
        value = super().get_export_value(model, name)
        return f"'{value}" if isinstance(value, str) and value.startswith(FORMULA_PREFIXES) else value

    def _pk_value(self, id: Any) -> Any:
        """``id`` typed like the primary key, or None if no row can have it."""
        info = info_for(self.model)
        column = info.names[info.identity_indexes[0]]
        try:
            pk = info.coerce(column, id)
        except TypeError:
            return None
        return pk if info.representable(column, pk) else None

    def preview_url(self, model: Any | None) -> str:
        return url_for(".preview", id=None if model is None else self.get_pk_value(model))

    def history_url(self, model: Any) -> str:
        return url_for("cache_dashboard_log.history", model=self.model.__name__, pk=self.get_pk_value(model))

    @expose("/preview/")
    def preview(self) -> Response:
        """Keys that saving the form's current values would flush (read-only); none, and
        the form's errors, while its validation would refuse the save."""
        entity_id = request.args.get("id")
        obj = None if entity_id is None else self.get_one(entity_id)
        if entity_id is not None and obj is None:
            abort(404)
        values = {k: v for k, v in request.args.items() if k not in PREVIEW_EXCLUDE and k != "id"}
        form_class = self._create_form_class if obj is None else self._edit_form_class
        form = form_class(MultiDict(values), obj=obj)
        form.validate()
        # the fields sent (a browser sends them all); one left out keeps its value
        errors = {name: [str(e) for e in errs] for name, errs in form.errors.items() if name in values}
        if errors:
            return jsonify(keys=[], errors=errors)
        keys = keys_for_insert(self.model, values) if obj is None else keys_for_update(obj, values)
        return jsonify(keys=keys)


def form_columns(model: type) -> list[str]:
    """The model's columns in table order, a foreign key as its many-to-one relationship
    (the select of related objects), without the primary key; collections last."""
    mapper = inspect(model)
    by_column = {}
    for rel in mapper.relationships:
        if rel.direction.name == "MANYTOONE" and len(rel.local_columns) == 1:
            by_column[next(iter(rel.local_columns))] = rel.key
    names = []
    for prop in mapper.column_attrs:
        column = prop.columns[0]  # a column_property's expression has no table: not a form field
        if len(prop.columns) == 1 and getattr(column, "table", None) is not None and not column.primary_key:
            name = by_column.get(column, None if column.foreign_keys else prop.key)
            names.extend([name] if name else [])
    return names + [r.key for r in mapper.relationships if r.uselist]


def object_label(obj: Any) -> str:
    """How a related object reads in lists and selects: its ``__str__`` if its class
    defines one, else its class and primary key (``Address 3``), never its repr."""
    if type(obj).__str__ is not object.__str__:
        return str(obj)
    return f"{type(obj).__name__} {inspect(obj).identity[0] if inspect(obj).identity else '(new)'}"


def _is_collection(model: type, name: str) -> bool:
    relationship = inspect(model).relationships.get(name)
    return relationship is not None and bool(relationship.uselist)


def _filterable(column: Any) -> bool:
    """Flask-Admin has filters for plain scalar columns, not for JSON or pickles."""
    try:
        return column.type.python_type in (
            int,
            float,
            str,
            bool,
            decimal.Decimal,
            datetime.date,
            datetime.datetime,
        )
    except NotImplementedError:
        return False
