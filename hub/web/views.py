"""Web UI views."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from hub.selectors import membership_for


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "hub/home.html", {"membership": membership_for(request.user)})
