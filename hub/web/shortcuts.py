"""Plumbing shared by every server-rendered view (hub, spokes, safeguarding).

The web UI answers exactly as the API does: an object outside the caller's scoped queryset is a
404, an object the caller can see but may not act on is a 403, and a domain rule a service
refuses is shown on the form that asked for it (with the user's input kept).
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from functools import wraps
from typing import Any, TypeVar
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django_htmx.middleware import HtmxDetails

from hub.exceptions import DomainError
from hub.models import AuditEvent, Membership, User
from hub.selectors import membership_for, notification_list_for
from hub.services.audit import audit_record

M = TypeVar("M", bound=Model)
Resp = TypeVar("Resp", bound=HttpResponseBase)  # a page, or a streamed download


class AuthenticatedHttpRequest(HttpRequest):
    """``request.user`` narrowed to our user model (views are all behind ``login_required``)."""

    user: User
    htmx: HtmxDetails


def refusals_audited(view: Callable[..., Resp]) -> Callable[..., Resp]:
    """Write every refusal of a signed-in user to the audit trail, as the API does: a 403 is an
    ``access.denied``, a 404 an ``access.not_found`` (an authorization decision is an
    auditable event). The refusal itself is re-raised for Django's 403/404 pages."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> Resp:
        try:
            return view(request, *args, **kwargs)
        except (PermissionDenied, Http404) as exc:
            if request.user.is_authenticated:
                denied = isinstance(exc, PermissionDenied)
                match = request.resolver_match
                audit_record(
                    actor=request.user,
                    action="access.denied" if denied else "access.not_found",
                    object_type=match.view_name if match else "",
                    object_id=str(kwargs.get("pk") or "")[:64],
                    outcome=AuditEvent.Outcome.DENIED if denied else AuditEvent.Outcome.NOT_FOUND,
                    changes={"method": request.method, "path": request.path[:300]},
                )
            raise

    return wrapper


def member(request: HttpRequest) -> Membership:
    """The caller's membership, or 403: an account without an organisation and role sees nothing."""
    membership = membership_for(request.user)
    if membership is None:
        raise PermissionDenied("Your account has no organisation or role yet.")
    return membership


def require_role(membership: Membership, roles: Collection[str], message: str) -> None:
    if membership.role not in roles:
        raise PermissionDenied(message)


def scoped_get(queryset: QuerySet[M], pk: UUID | str) -> M:
    """Look ``pk`` up inside a scoped queryset: outside it, the object does not exist (404)."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404("No such record, or it is not yours to see.")
    return obj


def show_domain_error(form: forms.Form, exc: DomainError) -> int:
    """Put a service's refusal on the form (on its field when the form has one) and return the
    HTTP status to answer with (400, 403, 404 or 409, as the API would)."""
    field = exc.field if exc.field and exc.field in form.fields else None
    form.add_error(field, exc.message)
    return exc.status_code


def flash_errors_of_hidden_form(request: HttpRequest, form: forms.Form | None, *, shown: bool) -> None:
    """A refused form that the page will no longer show (the state moved on) must not swallow
    its error: say it as a message on the page instead."""
    if form is None or shown or not form.errors:
        return
    for error in form.non_field_errors():
        messages.error(request, str(error))
    for field in form:
        for error in field.errors:
            messages.error(request, f"{field.label}: {error}")


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a template with the caller's membership and unread-inbox count in the context."""
    # The nav badge; a fragment swapped into a page has no nav.
    inbox = notification_list_for(request.user).filter(read_at__isnull=True)
    unread = 0 if getattr(request, "htmx", False) else inbox.count()
    context = {"membership": membership_for(request.user), "inbox_unread": unread, **(context or {})}
    return render(request, template, context, status=status)
