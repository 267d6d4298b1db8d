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
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import get_related_populators

M = TypeVar("M", bound=Model)

_KINDS: dict[type, Callable[[], Any]] = {
    str: lambda: f"\x1fprepared-{secrets.token_hex(16)}\x1f",
    uuid.UUID: uuid.uuid4,
}


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
    )

    def __init__(self, queryset: QuerySet[Any], placeholders: dict[str, Any], using: str) -> None:
        compiler = queryset[:2].query.get_compiler(using=using)
        self.sql, params = compiler.as_sql()
        self.params = list(params)
        self.slots: list[tuple[int, str]] = []
        for name, placeholder in placeholders.items():
            where = [i for i, value in enumerate(self.params) if value == placeholder]
            if len(where) != 1:
                raise ValueError(f"parameter {name!r} appears {len(where)} times in the compiled lookup")
            self.slots.append((where[0], name))
        select, klass_info = compiler.select, compiler.klass_info
        if klass_info is None:
            raise TypeError("Prepared takes a queryset of model rows (not values() or an aggregate)")
        self.model: type[Model] = klass_info["model"]
        fields = klass_info["select_fields"]
        self.start, self.end = fields[0], fields[-1] + 1
        self.init_list = [column[0].target.attname for column in select[self.start : self.end]]
        if compiler.annotation_col_map:
            raise TypeError("Prepared builds model rows only: no annotations")
        # django-stubs describe Django 6, which adds a fetch_mode argument; this is Django 5.2.
        self.populators = get_related_populators(klass_info, select, using)  # type: ignore[call-arg]
        self.converters = compiler.get_converters([column[0] for column in select])
        self.apply = compiler.apply_converters


class Prepared(Generic[M]):
    """``Prepared(lambda token_hash: ApiToken.objects.filter(token_hash=token_hash),
    token_hash=str).one(token_hash=...)``: the row, or None (more than one row is an error:
    the lookup must be on a unique key)."""

    def __init__(self, build: Callable[..., QuerySet[M]], **kinds: type) -> None:
        unknown = {name: kind for name, kind in kinds.items() if kind not in _KINDS}
        if unknown:
            raise TypeError(f"Prepared takes str and uuid.UUID parameters, not {unknown}")
        self._build = build
        self._kinds = kinds
        self._compiled: dict[tuple[str, str], _Compiled] = {}
        self._model: type[Model] | None = None

    def _placeholders(self) -> dict[str, Any]:
        return {name: _KINDS[kind]() for name, kind in self._kinds.items()}

    def _for(self, using: str) -> _Compiled:
        key = (using, connections[using].vendor)
        compiled = self._compiled.get(key)
        if compiled is None:
            placeholders = self._placeholders()
            compiled = self._compiled[key] = _Compiled(self._build(**placeholders), placeholders, using)
        return compiled

    def one(self, **values: Any) -> M | None:
        if values.keys() != self._kinds.keys():
            raise TypeError(f"Prepared lookup takes {sorted(self._kinds)}, not {sorted(values)}")
        for name, value in values.items():
            if not isinstance(value, self._kinds[name]):
                raise TypeError(f"{name} must be {self._kinds[name].__name__}, not {type(value).__name__}")
        if self._model is None:
            self._model = self._build(**self._placeholders()).model
        using = router.db_for_read(self._model)
        compiled = self._for(using)
        params = list(compiled.params)
        for index, name in compiled.slots:
            params[index] = values[name]
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
        return found  # type: ignore[return-value]
