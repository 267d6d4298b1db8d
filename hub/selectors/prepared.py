"""``Prepared``: a unique-key lookup whose SQL is compiled once per process, not per request.

Every API request looks its bearer token up with a four-table ``select_related``, and intake
looks up an organisation by code and an agency's reference. Django builds the queryset and
compiles it to SQL on each call, and for those lookups that compiling was most of the lookup's
CPU (profiled in bench/load.py's intake run: the token lookup alone about a fifth of an intake
request, the database's part of it a small share). The SQL does not change between calls, only
the values do: ``Prepared`` compiles the queryset once, with a placeholder value in each
parameter's place, and then runs that SQL with the caller's values and builds the row's objects
the way Django's own ``ModelIterable`` does (``from_db`` for the model, the related populators
for the ``select_related`` rows, the backend's converters), so what comes back is the same as
``one_or_none(queryset)`` would give. It runs through Django's cursor: the query is logged,
counted by ``assertNumQueries``, and inside the caller's transaction.

Only for lookups whose values are plain strings or UUIDs that the database compares as sent
(a hash, a code, a primary key): a value Django would transform first (a case-folded or
JSON lookup) cannot be put into the compiled SQL as is.

A lookup whose query depends on who asks (the tasks a member may see) takes that as context:
``Prepared(build, shape=key_of, pk=uuid.UUID).one(membership, pk=...)`` calls
``build(membership, pk=placeholder)`` once per ``shape(membership)`` and bakes everything else
the context put into the SQL. So the shape must name everything that decides the query (the
organisation, its group and kind, the role): two contexts with one shape share one query.
Compiled queries are forgotten after a migrate or flush (ids baked into them may change).
"""

from __future__ import annotations

import secrets
import uuid
import weakref
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

from django.core.exceptions import EmptyResultSet
from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators
from django.db.models.signals import post_migrate
from django.dispatch import receiver

M = TypeVar("M", bound=Model)

_KINDS: dict[type, Callable[[], Any]] = {
    str: lambda: f"\x1fprepared-{secrets.token_hex(16)}\x1f",
    uuid.UUID: uuid.uuid4,
}


def _same(value: Any) -> Any:
    return value


def _hex(value: uuid.UUID) -> str:
    return value.hex


# A bound on compiled shapes per lookup (organisations x roles is a few hundred).
_MOST_SHAPES = 2048
_everyone: weakref.WeakSet[Prepared[Any]] = weakref.WeakSet()


@receiver(post_migrate)
def _forget_compiled(**kwargs: Any) -> None:
    for prepared in list(_everyone):
        prepared.forget()


class _Compiled:
    __slots__ = (
        "sql",
        "params",
        "slots",
        "model",
        "init_list",
        "start",
        "end",
        "populators",
        "converters",
        "apply",
        "annotations",
    )

    sql: str | None

    def __init__(self, queryset: QuerySet[Any], placeholders: dict[str, Any], using: str) -> None:
        if getattr(queryset, "_prefetch_related_lookups", ()):  # Django private API, unstubbed
            raise TypeError("Prepared runs one query: no prefetch_related")
        compiler = queryset[:2].query.get_compiler(using=using)
        try:
            self.sql, params = compiler.as_sql()
        except EmptyResultSet:  # .none(), or a filter no row can match: no query to run
            self.sql = None
            return
        self.params = list(params)
        # Where each value goes, and in which form the backend sent it: a UUID is a uuid.UUID
        # on PostgreSQL and its 32 hex digits on SQLite.
        self.slots: list[tuple[int, str, Callable[[Any], Any]]] = []
        for name, placeholder in placeholders.items():
            forms: list[tuple[Any, Callable[[Any], Any]]] = [(placeholder, _same)]
            if isinstance(placeholder, uuid.UUID):
                forms += [(placeholder.hex, _hex), (str(placeholder), str)]
            where = [
                (i, form) for i, value in enumerate(self.params) for sent, form in forms if value == sent
            ]
            if len(where) != 1:
                raise ValueError(f"parameter {name!r} appears {len(where)} times in the compiled lookup")
            self.slots.append((where[0][0], name, where[0][1]))
        select, klass_info = compiler.select, compiler.klass_info
        if klass_info is None:
            raise TypeError("Prepared takes a queryset of model rows (not values() or an aggregate)")
        self.model: type[Model] = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        self.annotations = list(compiler.annotation_col_map.items())
        # django-stubs describe Django 6, which adds a fetch_mode argument; this is Django 5.2.
        self.populators = get_related_populators(klass_info, select, using)  # type: ignore[call-arg]
        self.converters = compiler.get_converters([column[0] for column in select])
        self.apply = compiler.apply_converters


class Prepared(Generic[M]):
    """``Prepared(lambda token_hash: ApiToken.objects.filter(token_hash=token_hash),
    token_hash=str).one(token_hash=...)``: the row, or None (more than one row is an error:
    the lookup must be on a unique key)."""

    def __init__(
        self,
        build: Callable[..., QuerySet[M]],
        *,
        shape: Callable[..., Hashable] | None = None,
        **kinds: type,
    ) -> None:
        unknown = {name: kind for name, kind in kinds.items() if kind not in _KINDS}
        if unknown:
            raise TypeError(f"Prepared takes str and uuid.UUID parameters, not {unknown}")
        self._build = build
        self._shape = shape
        self._kinds = kinds
        self._compiled: dict[tuple[str, str, Hashable], _Compiled] = {}
        self._model: type[Model] | None = None
        _everyone.add(self)

    def _placeholders(self) -> dict[str, Any]:
        return {name: _KINDS[kind]() for name, kind in self._kinds.items()}

    def _for(self, using: str, context: tuple[Any, ...]) -> _Compiled:
        key = (using, connections[using].vendor, self._shape(*context) if self._shape else None)
        compiled = self._compiled.get(key)
        if compiled is None:
            if len(self._compiled) >= _MOST_SHAPES:
                self._compiled.clear()
            placeholders = self._placeholders()
            queryset = self._build(*context, **placeholders)
            compiled = self._compiled[key] = _Compiled(queryset, placeholders, using)
        return compiled

    def forget(self) -> None:
        self._compiled.clear()

    def one(self, *context: Any, **values: Any) -> M | None:
        if values.keys() != self._kinds.keys():
            raise TypeError(f"Prepared lookup takes {sorted(self._kinds)}, not {sorted(values)}")
        for name, value in values.items():
            if not isinstance(value, self._kinds[name]):
                raise TypeError(f"{name} must be {self._kinds[name].__name__}, not {type(value).__name__}")
        if (context and not self._shape) or (self._shape and not context):
            raise TypeError("a context goes with a shape, and a shape with a context")
        if self._model is None:
            self._model = self._build(*context, **self._placeholders()).model
        using = router.db_for_read(self._model)
        compiled = self._for(using, context)
        if compiled.sql is None:
            return None
        params = list(compiled.params)
        for index, name, form in compiled.slots:
            params[index] = form(values[name])
        with connections[using].cursor() as cursor:
            cursor.execute(compiled.sql, params)
            rows: list[Any] = cursor.fetchall()
        if not rows:
            return None
        if len(rows) > 1:
            model: Any = compiled.model
            raise model.MultipleObjectsReturned(f"{len(rows)} rows for a unique lookup: {values}")
        if compiled.converters:
            rows = list(compiled.apply(rows, compiled.converters))
        row = rows[0]
        found = compiled.model.from_db(using, compiled.init_list, row[compiled.start : compiled.end])
        for populator in compiled.populators:
            populator.populate(row, found)
        for name, column in compiled.annotations:
            setattr(found, name, row[column])
        return found  # type: ignore[return-value]
