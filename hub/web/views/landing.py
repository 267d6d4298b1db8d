"""Where each role lands after signing in."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_GET, require_http_methods

from hub.models import Membership
from hub.selectors import membership_for
from hub.web.kept import SESSION_KEY, kept_post, signed_in
from hub.web.shortcuts import page

R = Membership.Role

LANDING: dict[str, str] = {
    R.COORDINATOR: "hub:triage",
    R.AUDITOR: "hub:audit",
    R.OFFICER: "spokes:tasks",
    R.SUPERVISOR: "spokes:tasks",
    R.REGIONAL_COORDINATOR: "spokes:tasks",
    R.AGENCY: "hub:agency",
    R.ADMINISTRATOR: "hub:people",
}


@signed_in
@require_GET
def home(request: HttpRequest) -> HttpResponse:
    """Signed in: the page for the person's role (or a note that they have none yet). Shows no
    record, so it needs no row of the rulebook."""
    membership = membership_for(request.user)
    if membership is None:
        return page(request, "hub/home.html")
    return redirect(LANDING[membership.role])


def _label(name: str) -> str:
    return name.replace("_", " ").replace("-", " ").strip().capitalize() or name


@signed_in
@require_http_methods(["GET", "POST"])
def resume(request: HttpRequest) -> HttpResponse:
    """What the person typed before their session ended, with one button that sends it, as typed,
    to the form it was meant for (GET); a POST discards it. Shows nothing but what this person
    typed themselves, so it needs no row of the rulebook (the form it goes to has its own)."""
    kept = kept_post(request)
    if request.method == "POST":
        request.session.pop(SESSION_KEY, None)
        messages.info(request, "What you typed was discarded.")
        return redirect(kept["back"] if kept else "home")
    if kept is None:
        messages.info(request, "Nothing you typed is waiting to be sent.")
        return redirect("home")
    shown = [(_label(name), value) for name, value in kept["fields"] if value.strip()]
    return page(request, "kept_work.html", {"kept": kept, "shown": shown})
