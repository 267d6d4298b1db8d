"""``QuickFields`` (hub.api.fields): each serializer gets its own bound fields, and nested ones
reach their own serializer's context, as with DRF's deep copies; validation is unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework import serializers

from hub.api.fields import QuickFields
from hub.api.referrals import ReferralCreateSerializer

pytestmark = pytest.mark.django_db

BODY = {
    "external_id": "QF-1",
    "suspect_force": " kent ",
    "media": [{"sha256": "AB" * 32, "category": "A"}],
    "urgent": True,
}


# ReferralCreateSerializer's fields and checks under DRF's own copying, to compare with.
_Plain: Any = type(
    "_Plain",
    (serializers.Serializer,),
    {
        **ReferralCreateSerializer._declared_fields,
        "validate": ReferralCreateSerializer.validate,
        "validate_incident_at": ReferralCreateSerializer.validate_incident_at,
    },
)


def _walk(field: Any) -> list[Any]:
    found = [field]
    for child in getattr(field, "fields", {}).values():
        found += _walk(child)
    if getattr(field, "child", None) is not None:
        found += _walk(field.child)
    return found


def test_each_serializer_has_its_own_fields_bound_to_it_and_its_context() -> None:
    first = ReferralCreateSerializer(data=BODY, context={"who": "first"})
    second = ReferralCreateSerializer(data=BODY, context={"who": "second"})
    assert first.is_valid() and second.is_valid()
    one, two = _walk(first), _walk(second)
    assert len(one) == len(two) > len(first.fields), "nested media fields included"
    assert not {id(f) for f in one[1:]} & {id(f) for f in two[1:]}, "no field object shared"
    for serializer, fields in ((first, one), (second, two)):
        for field in fields[1:]:
            assert field.root is serializer and field.context["who"] == serializer.context["who"]
    prototypes = ReferralCreateSerializer._declared_fields.values()
    assert all(getattr(p, "parent", None) is None for p in prototypes), "the class's fields stay unbound"


@pytest.mark.parametrize(
    "body",
    [
        BODY,
        {"external_id": "QF-2", "suspect_force": "NOWHERE"},
        {"external_id": "bad\nline", "media": [{"sha256": "xyz"}], "urgent": "perhaps"},
        {"external_id": "QF-3", "reporter_type": "online_activist"},
        {},
    ],
    ids=["valid", "unknown-force", "bad-fields", "activist-without-continuity", "empty"],
)
def test_validation_answers_as_with_drf_deep_copies(body: dict[str, Any]) -> None:
    quick, plain = ReferralCreateSerializer(data=body), _Plain(data=body)
    assert issubclass(ReferralCreateSerializer, QuickFields) and not isinstance(plain, QuickFields)
    assert quick.is_valid() == plain.is_valid()
    assert quick.errors == plain.errors
    assert dict(quick.validated_data) == dict(plain.validated_data)


class _Tagged(QuickFields, serializers.Serializer[Any]):
    tags = serializers.ListField(child=serializers.CharField(max_length=3), max_length=2)
    scores = serializers.DictField(child=serializers.IntegerField(min_value=0))


def test_a_list_or_dict_of_simple_fields_gets_its_own_child_bound_to_it() -> None:
    first, second = (
        _Tagged(data={"tags": ["abc"], "scores": {}}),
        _Tagged(data={"tags": ["abcd"], "scores": {"a": -1}}),
    )
    assert first.is_valid() and not second.is_valid()
    assert second.errors == {
        "tags": {0: ["Ensure this field has no more than 3 characters."]},
        "scores": {"a": ["Ensure this value is greater than or equal to 0."]},
    }
    for name in ("tags", "scores"):
        mine, theirs = first.fields[name], second.fields[name]
        assert mine.child is not theirs.child and mine.child.parent is mine and theirs.child.parent is theirs
        assert mine.child.root is first and theirs.child.root is second
    assert _Tagged._declared_fields["tags"].child.parent is _Tagged._declared_fields["tags"], (
        "the class's own"
    )
