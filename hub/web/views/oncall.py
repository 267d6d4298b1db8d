"""The hub's on-call rota: who is paged for an urgent referral, and when."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import QuerySet
from django.http import HttpResponse
from django.shortcuts import redirect

from hub.clock import db_now
from hub.models import Membership, OnCallShift
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed
from hub.services.urgent import on_call_at, on_call_shift_add, on_call_shift_remove
from hub.web.forms import OnCallShiftForm
from hub.web.shortcuts import AuthenticatedHttpRequest, attempt, page, policy_view, submit


def _shifts(membership: Membership) -> QuerySet[OnCallShift]:
    if membership.role not in r.READ_ALL_ROLES:
        return OnCallShift.objects.none()
    return OnCallShift.objects.select_related("coordinator")


def _rota_page(
    request: AuthenticatedHttpRequest, actor: Actor, form: OnCallShiftForm | None = None, status: int = 200
) -> HttpResponse:
    now = db_now()
    may_change = allowed(request.user, Act.ONCALL_SET)
    return page(
        request,
        "hub/on_call.html",
        {
            "now_on_call": on_call_at(now),
            "shifts": list(_shifts(actor.membership).filter(ends_at__gt=now)),
            "form": (form or OnCallShiftForm()) if may_change else None,
            "may_change": may_change,
            "now": now,
        },
        status=status,
    )


@policy_view({"GET": Act.ONCALL_LIST, "POST": Act.ONCALL_SET})
def on_call(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    if request.method == "GET":
        return _rota_page(request, actor)

    def added(shift: OnCallShift) -> HttpResponse:
        name = shift.coordinator.get_full_name() or shift.coordinator.username
        messages.success(
            request, f"{name} is on call from {shift.starts_at:%d %b %H:%M} to {shift.ends_at:%d %b %H:%M}."
        )
        return redirect("hub:on-call")

    def add(data: dict[str, Any]) -> OnCallShift:
        return on_call_shift_add(
            actor=request.user,
            coordinator=data["coordinator"],
            starts_at=data["starts_at"],
            ends_at=data["ends_at"],
        )

    return submit(
        request,
        OnCallShiftForm(request.POST),
        add,
        again=lambda form, status: _rota_page(request, actor, form, status),
        done=added,
    )


@policy_view(Act.ONCALL_REMOVE, methods=["POST"], lookup=_shifts)
def on_call_remove(request: AuthenticatedHttpRequest, actor: Actor, shift: OnCallShift) -> HttpResponse:
    attempt(request, None, lambda: on_call_shift_remove(actor=request.user, shift=shift))
    messages.success(request, "Shift removed from the rota.")
    return redirect("hub:on-call")
