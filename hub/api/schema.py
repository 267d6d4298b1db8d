"""Post-processing of the OpenAPI document (``SPECTACULAR_SETTINGS["POSTPROCESSING_HOOKS"]``)."""

from __future__ import annotations

from typing import Any


def referral_for_caller_any_of(result: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
    """A referral as the caller sees it is the whole record or the agency's thin one. The whole
    record has every field of the thin one too, so "exactly one of" (what drf-spectacular writes)
    would refuse it: the document says "any of"."""
    component = result.get("components", {}).get("schemas", {}).get("ReferralForCaller")
    if component is not None and "oneOf" in component:
        component["anyOf"] = component.pop("oneOf")
    return result
