"""Plumbing shared by every server-rendered view (hub, spokes, safeguarding).

The web UI answers exactly as the API does: an object outside the caller's scoped queryset is a
404, an object the caller can see but may not act on is a 403, and a domain rule a service
refuses is shown on the form that asked for it (with the user's input kept).

Every view is a ``policy_view``: it names its row of the policy registry and how to find its
object in the caller's scope, and the decorator does the rest of the skeleton (sign-in, methods,
the scoped lookup, ``authorize``, refusals audited). A view that runs a service through
``attempt`` gets the service's refusal on its form, except a 404 (the task moved away while the
form was open), which is the plain 404 page: nothing of the task is shown any more.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlencode, urlsplit
from uuid import UUID

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.http.response import HttpResponseBase
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods
from django_htmx.middleware import HtmxDetails

from hub.constants import AuditAction
from hub.exceptions import DomainError, NotFound, NotPermitted
from hub.hooks import page_context
from hub.models import AuditEvent, Membership, User
from hub.policies.rules import Act, authorize, rule_for
from hub.selectors import membership_for, notification_list_for
from hub.services.audit import audit_record
from hub.web.factors import factor_recent, step_up_redirect
from hub.web.kept import keep_post, signed_in

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
                    action=AuditAction.ACCESS_DENIED if denied else "access.not_found",
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


def scoped_get(queryset: QuerySet[M], pk: UUID | str) -> M:
    """Look ``pk`` up inside a scoped queryset: outside it, the object does not exist (404)."""
    obj = queryset.filter(pk=pk).first()
    if obj is None:
        raise Http404("No such record, or it is not yours to see.")
    return obj


T = TypeVar("T")
Lookup = Callable[[Membership], QuerySet[Any]]


def refuse(exc: DomainError) -> None:
    """A registry refusal as Django's own: 404 page or 403 page (both audited)."""
    if isinstance(exc, NotFound):
        raise Http404(exc.message) from exc
    if isinstance(exc, NotPermitted):
        raise PermissionDenied(exc.message) from exc


def policy_view(
    act: Act | Mapping[str, Act],
    *,
    methods: Sequence[str] = ("GET",),
    lookup: Lookup | None = None,
    target: Callable[[Any], Any] | None = None,
) -> Callable[[Callable[..., Resp]], Callable[..., Resp]]:
    """The skeleton every page shares, from the policy registry's row ``act`` (or one row per
    HTTP method: ``{"GET": Act.X, "POST": Act.Y}``).

    Signed in → allowed method → the caller's membership (403 without one) → with ``lookup``,
    the object ``pk`` found in the caller's scoped queryset (404 outside it) → ``authorize``
    on role and object (403; ``target`` maps the page's object to the row's, e.g. a task to
    its referral) → the view, called as ``view(request, actor, obj)`` (or ``view(request,
    actor)`` without a lookup). The state is the service's to check, so a refused move is shown
    on the form that asked for it. Every 403/404 is audited.
    """
    acts = dict(act) if isinstance(act, Mapping) else {method: act for method in methods}

    def decorator(view: Callable[..., Resp]) -> Callable[..., Resp]:
        @wraps(view)
        def wrapper(request: HttpRequest, pk: UUID | None = None, **kwargs: Any) -> Resp:
            membership = member(request)
            obj = scoped_get(lookup(membership), str(pk)) if lookup is not None else None
            act_now = acts[request.method or "GET"]
            on = obj
            kind = rule_for(act_now).on
            if target is not None and obj is not None and kind is not None and not isinstance(obj, kind):
                on = target(obj)  # the row is about another object than the page's (a task's referral)
            try:
                actor = authorize(request.user, act_now, on, seen=True, state=False)  # type: ignore[arg-type]
            except DomainError as exc:
                refuse(exc)
                raise
            if rule_for(act_now).step_up and not factor_recent(request):
                # A code again first; a form's POST is kept and offered back after it.
                to = reverse("resume") if keep_post(request) else _current_page(request)
                return step_up_redirect(request, to)  # type: ignore[return-value]
            if lookup is None:
                return view(request, actor, **kwargs)
            return view(request, actor, obj, **kwargs)

        wrapper.__dict__["policy_acts"] = acts  # read by the web permission matrix
        return signed_in(refusals_audited(require_http_methods(list(acts))(wrapper)))

    return decorator


def _current_page(request: HttpRequest) -> str:
    """The page to come back to after a step-up: this one for a GET, the page the form was on
    (an htmx panel's page, or the referring page) for a POST that was not kept."""
    if request.method == "GET":
        return request.get_full_path()
    source = urlsplit(request.headers.get("HX-Current-URL") or request.headers.get("Referer") or "")
    return source.path if source.netloc == request.get_host() and source.path else reverse("home")


def attempt(request: HttpRequest, form: forms.Form | None, call: Callable[[], T]) -> tuple[T | None, int]:
    """Run one service call for a form: ``(result, 200)``, or ``(None, status)`` with the
    refusal put on the form (400/409, input kept; a form-less button gets it as a message). A
    404 or 403 from the service (the object moved out of the caller's scope meanwhile) is the
    plain 404/403 page, never the object's page again."""
    try:
        return call(), 200
    except DomainError as exc:
        refuse(exc)
        if form is None:
            messages.error(request, exc.message)
            return None, exc.status_code
        return None, show_domain_error(form, exc)


F = TypeVar("F", bound=forms.Form)


def submit(
    request: HttpRequest,
    form: F,
    call: Callable[[dict[str, Any]], T],
    *,
    again: Callable[[F, int], HttpResponse],
    done: Callable[[T], HttpResponse],
) -> HttpResponse:
    """The rest of every form view's skeleton: a form that does not validate is shown again
    (400, input kept); otherwise one service call with the cleaned data, through ``attempt``
    (its refusal shown on the form with the service's status; a 404/403 as the plain page);
    then ``done`` with the service's result (a redirect after a POST, usually)."""
    if not form.is_valid():
        return again(form, 400)
    try:
        result = call(form.cleaned_data)
    except DomainError as exc:
        refuse(exc)
        return again(form, show_domain_error(form, exc))
    return done(result)


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


def list_query(**params: str) -> str:
    """The query string a list's pager links carry on (its filters and search), without the
    empty ones: ``list_query(show="all", q="CT-1")`` is ``show=all&q=CT-1``."""
    return urlencode({name: value for name, value in params.items() if value})


def page(
    request: HttpRequest, template: str, context: dict[str, Any] | None = None, *, status: int = 200
) -> HttpResponse:
    """Render a template with the caller's membership and unread-inbox count in the context."""
    # The nav badge; a fragment swapped into a page has no nav.
    inbox = notification_list_for(request.user).filter(read_at__isnull=True)
    unread = 0 if getattr(request, "htmx", False) else inbox.count()
    extra = {} if getattr(request, "htmx", False) else page_context(request.user)
    context = {"membership": membership_for(request.user), "inbox_unread": unread, **extra, **(context or {})}
    return render(request, template, context, status=status)
