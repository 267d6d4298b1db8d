"""Serializer fields and shared output shapes."""

from __future__ import annotations

import copy
from collections.abc import Collection, MutableMapping
from datetime import UTC, date, datetime
from typing import Any

from django.db.models import QuerySet
from rest_framework import serializers

from hub.constants import JUSTICE_OUTCOMES, SAFEGUARDING_OUTCOMES
from hub.models import Organisation
from hub.selectors.prepared import Prepared


class OrgCodeField(serializers.SlugRelatedField[Organisation]):
    """An organisation by its code (case-insensitive on input), optionally of given kinds.

    DRF re-creates a serializer's fields for every request (deep copies that call ``__init__``
    again), so the queryset and the compiled lookup are made once per set of kinds and shared:
    building the queryset and compiling the lookup each time was a visible share of intake."""

    def __init__(self, kinds: Collection[str] | None = None, **kwargs: Any) -> None:
        self.kinds = kinds
        kwargs.setdefault("slug_field", "code")
        if not kwargs.get("read_only"):
            kwargs.setdefault("queryset", _active_organisations(kinds)[0])
        super().__init__(**kwargs)

    def to_internal_value(self, data: Any) -> Any:
        found = None
        if isinstance(data, str):
            data = data.strip().upper()
            found = _active_organisations(self.kinds)[1].one(code=data)
        if found is None:
            kinds = f" ({' or '.join(sorted(self.kinds))})" if self.kinds else ""
            raise serializers.ValidationError(f"No organisation{kinds} with code {data!r}.")
        return found


_ORGANISATIONS: dict[frozenset[str], tuple[QuerySet[Organisation], Prepared[Organisation]]] = {}


def _active_organisations(
    kinds: Collection[str] | None,
) -> tuple[QuerySet[Organisation], Prepared[Organisation]]:
    """The active organisations of ``kinds`` (all kinds when None or empty), and the lookup of
    one of them by code."""
    key = frozenset(kinds or ())
    found = _ORGANISATIONS.get(key)
    if found is None:
        queryset = Organisation.objects.filter(is_active=True)
        if key:
            queryset = queryset.filter(kind__in=sorted(key))
        found = _ORGANISATIONS[key] = (queryset, Prepared(lambda code: queryset.filter(code=code), code=str))
    return found


class QuickFields:
    """A ``Serializer`` (or ``ModelSerializer``) mixin: its fields built once per class, and
    copied shallowly for each serializer instance.

    DRF deep-copies every declared field for each serializer it makes (``Field.__deepcopy__``
    calls ``__init__`` again with deep copies of its arguments), and a ``ModelSerializer``
    builds its model fields from ``Meta`` again each time; on the intake and task-read paths,
    made on every request, that was a tenth of a request's CPU. DRF's ``get_fields`` runs once
    per class here (so what it builds does not depend on the instance: no per-request field
    changes in a subclass). Binding a field to its serializer sets attributes on the field only,
    so a shallow copy of a simple field is enough; a field holding other bound fields (a nested
    serializer, a list or dict of a child field) is still deep-copied, since its children point
    at their parent."""

    def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
        cls = type(self)
        built: dict[str, serializers.Field[Any, Any, Any, Any]] | None = cls.__dict__.get("_quick_fields")
        if built is None:
            built = super().get_fields()  # type: ignore[misc]  # DRF's: the class's fields, unbound
            cls._quick_fields = built  # type: ignore[attr-defined]  # per class, not inherited
        return {name: _copied(field) for name, field in built.items()}


def _copied(field: serializers.Field[Any, Any, Any, Any]) -> serializers.Field[Any, Any, Any, Any]:
    if isinstance(field, serializers.BaseSerializer):
        return copy.deepcopy(field)
    # What ``copy.copy`` does for a plain object (a new instance, the same attributes), without
    # its generic reduce protocol: a fifth of the cost.
    new = field.__class__.__new__(field.__class__)
    new.__dict__.update(field.__dict__)
    if isinstance(field, serializers.ListField | serializers.DictField):
        # Its own child, bound to it as DRF's __init__ binds it: a serializer child is a fresh
        # deep copy to bind; a simple one is a copy of the bound child with its parent moved.
        child = _copied(field.child)
        if isinstance(child, serializers.BaseSerializer):
            child.bind(field_name="", parent=new)  # type: ignore[arg-type]  # DRF binds list children so
        else:
            child.parent = new  # type: ignore[assignment]
        new.child = child  # type: ignore[attr-defined]  # new is the same class as field
    return new


class OutcomeSummarySerializer(serializers.Serializer[Any]):
    """The outcome as the referring agency sees it: codes and counts only."""

    justice_outcome = serializers.ChoiceField(choices=JUSTICE_OUTCOMES)
    safeguarding_outcome = serializers.ChoiceField(choices=SAFEGUARDING_OUTCOMES)
    arrests = serializers.IntegerField()
    children_safeguarded = serializers.IntegerField()
    victims_identified = serializers.IntegerField()
    recorded_at = serializers.DateTimeField()


class OutcomeInternalSerializer(OutcomeSummarySerializer):
    """The outcome as the hub, spokes and auditors see it."""

    summary = serializers.CharField()
    recorded_by = serializers.CharField()
    recorded_org = serializers.CharField()
    task = serializers.UUIDField(allow_null=True)
    suspect_has_access_to_children = serializers.BooleanField(allow_null=True)
    safeguarding_needed = serializers.BooleanField(allow_null=True)


class KeepsBlankChoices:
    """A ModelSerializer mixin: a read-only choice field whose model field may be blank keeps
    ``allow_blank``, so the OpenAPI document says "" is an answer (DRF drops it for read-only
    fields, and the document then promised only the choices; Schemathesis found "" answered)."""

    def include_extra_kwargs(
        self, kwargs: MutableMapping[str, Any], extra_kwargs: MutableMapping[str, Any]
    ) -> MutableMapping[str, Any]:
        blank = bool(kwargs.get("allow_blank")) and "choices" in kwargs
        kept: MutableMapping[str, Any] = super().include_extra_kwargs(kwargs, extra_kwargs)  # type: ignore[misc]
        if blank:
            kept["allow_blank"] = True
        return kept


EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
LATEST = datetime(2100, 1, 1, tzinfo=UTC)
OUT_OF_RANGE = "Give a date between the years 2000 and 2099."


class MomentField(serializers.DateTimeField):
    """A date and time VIHub records about a case (sent, checked, occurred, until): this
    century. A year like 311 is a typo, and stored it would come back with London's pre-1847
    local-mean-time offset, which no client parses (Schemathesis found both)."""

    def to_internal_value(self, value: Any) -> datetime:
        moment: datetime = super().to_internal_value(value)
        if not EARLIEST <= moment < LATEST:
            raise serializers.ValidationError(OUT_OF_RANGE, code="out_of_range")
        return moment


class DayField(serializers.DateField):
    """A calendar day VIHub records (a debrief held on): this century, as ``MomentField``."""

    def to_internal_value(self, value: Any) -> date:
        day: date = super().to_internal_value(value)
        if not EARLIEST.date() <= day < LATEST.date():
            raise serializers.ValidationError(OUT_OF_RANGE, code="out_of_range")
        return day
