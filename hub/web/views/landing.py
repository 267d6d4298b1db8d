"""Where each role lands after signing in."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET

from hub.models import Membership
from hub.selectors import membership_for
from hub.web.shortcuts import page

R = Membership.Role

LANDING: dict[str, str] = {
    R.COORDINATOR: "hub:triage",
    R.AUDITOR: "hub:audit",
    R.OFFICER: "spokes:tasks",
    R.SUPERVISOR: "spokes:tasks",
    R.REGIONAL_COORDINATOR: "spokes:tasks",
    R.AGENCY: "hub:agency",
}


@login_required
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the page for the person's role (or a note that they have none yet). Shows no
    record, so it needs no row of the rulebook."""
    membership = membership_for(request.user)
    if membership is None:
        return page(request, "hub/home.html")
    return redirect(LANDING[membership.role])
