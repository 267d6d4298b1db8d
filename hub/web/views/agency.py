"""The referring agency's view: its referrals' status and outcome codes, never internal text."""

from __future__ import annotations

from django.core.paginator import Paginator
from django.http import HttpResponse

from hub.hooks import outcome_view
from hub.policies.rules import Act, Actor
from hub.selectors import referral_list_for, referral_search
from hub.services.audit import audit_list_read
from hub.web.presenters import outcome_display
from hub.web.shortcuts import AuthenticatedHttpRequest, list_query, page, policy_view
from hub.web.views.referrals import AGENCY_STATUS_TEXT, PAGE_SIZE


@policy_view(Act.AGENCY_REFERRALS)
def agency_referrals(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    queryset = referral_list_for(actor.membership).select_related("outcome").order_by("-received_at", "id")
    q = request.GET.get("q", "").strip()[:100]
    if q:
        queryset = referral_search(queryset, q)
    referrals = Paginator(queryset, PAGE_SIZE).get_page(request.GET.get("page"))
    rows = [
        {
            "referral": referral,
            "status_text": AGENCY_STATUS_TEXT.get(referral.status, ""),
            "outcome": outcome_display(outcome_view(referral, internal=False)),
        }
        for referral in referrals
    ]
    audit_list_read(
        actor=request.user,
        object_type="referral",
        ids=[referral.pk for referral in referrals],
        query={"page": "agency", **request.GET.dict()},
    )
    context = {"referrals": referrals, "rows": rows, "q": q, "query": list_query(q=q)}
    return page(request, "hub/agency_referrals.html", context)
