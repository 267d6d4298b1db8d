"""The holder's pages: our organisation's tasks (most urgent first), and the task page where a
force or region accepts or declines, hands down, and records leads. Safeguarding actions and
the outcome are fragments of the safeguarding app, loaded into the task page with htmx.

Same rules as the API, from the same rulebook: each view is a ``policy_view`` naming its row,
and the task page offers exactly the forms ``available_actions`` allows now.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any
from uuid import UUID

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Q, QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone

from hub.constants import AuditAction
from hub.models import Membership, Organisation, Task, User
from hub.policies import roles as r
from hub.policies.rules import Act, Actor, allowed, available_actions, holds
from hub.selectors import (
    escalation_list_for,
    most_urgent_first,
    notification_list_for,
    referral_list_for,
    referral_search,
    task_search,
    tasks_for,
)
from hub.services.alerts import task_pause, task_resume
from hub.services.audit import audit_list_read, audit_record
from hub.services.tasks import task_audit_read, task_hand_down
from hub.web.presenters import access_labels, deadline_for, inbox_rows, prioritisation, task_rows
from hub.web.shortcuts import (
    AuthenticatedHttpRequest,
    attempt,
    flash_errors_of_hidden_form,
    list_query,
    page,
    policy_view,
    scoped_get,
    submit,
)
from spokes.models import Child, ConferenceRequest, ExternalRequest, Handoff, Lead
from spokes.selectors import (
    REVIEW_LIMIT,
    child_list_for,
    conference_list_for,
    custody_timelines,
    handoff_list_for,
    handoffs_never_accepted,
    lead_list_for,
    release_checks,
    request_list_for,
    suspect_welfare_statistics,
)
from spokes.services import (
    EXPOSURE_LIMIT_MINUTES,
    child_add,
    child_check,
    conference_answer,
    conference_list_consult,
    conference_request,
    exposure_log,
    exposure_minutes,
    external_request_add,
    external_request_update,
    external_requests_consult,
    handoff_answer,
    handoff_list_consult,
    handoff_offer,
    handoff_revoke,
    lead_create,
    lead_list_consult,
    lead_update,
    media_consult,
    media_review,
    reassessments_consult,
    suspect_event_record,
    task_accept,
    task_decline,
    task_reassess,
    uk_today,
    victim_record_consult,
    welfare_debrief_record,
    welfare_team,
)
from spokes.web.forms import (
    ChildCheckForm,
    ChildForm,
    ConferenceAnswerForm,
    ConferenceForm,
    DebriefForm,
    DeclineForm,
    ExposureForm,
    ExternalRequestForm,
    HandDownForm,
    HandoffAnswerForm,
    HandoffForm,
    HandoffRevokeForm,
    LeadForm,
    LeadUpdateForm,
    MediaReviewForm,
    PauseForm,
    ReassessmentForm,
    SuspectEventForm,
)

PAGE_SIZE = 50

# What the task page can offer, each with the form it shows (None: a button).
TASK_PAGE_ACTS = (
    Act.TASK_CANCEL,
    Act.EXPOSURE_LOG,
    Act.MEDIA_REVIEW,
    Act.TASK_REASSESS,
    Act.CONFERENCE_REQUEST,
    Act.TASK_ACCEPT,
    Act.TASK_DECLINE,
    Act.TASK_HAND_DOWN,
    Act.LEAD_CREATE,
    Act.TASK_PAUSE,
    Act.TASK_RESUME,
    Act.TASK_ACKNOWLEDGE,
    Act.TASK_REASSIGN,
    Act.CHILD_ADD,
    Act.SUSPECT_EVENT_RECORD,
    Act.REQUEST_ADD,
)


def _tasks(membership: Membership) -> QuerySet[Task]:
    return tasks_for(membership)


def _leads(membership: Membership) -> QuerySet[Lead]:
    return lead_list_for(membership)


def _children(membership: Membership) -> QuerySet[Child]:
    return child_list_for(membership)


@policy_view(Act.TASK_QUEUE)
def task_list(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    if actor.role in r.READ_ALL_ROLES:
        return redirect("hub:board")
    show = "all" if request.GET.get("show") == "all" else "open"
    q = request.GET.get("q", "").strip()[:100]
    queryset = _tasks(actor.membership)
    if show == "open":
        queryset = queryset.filter(status__in=Task.OPEN_STATUSES)
    if q:
        queryset = task_search(queryset, q)
    now = timezone.now()
    tasks = Paginator(most_urgent_first(queryset), PAGE_SIZE).get_page(request.GET.get("page"))
    rows = task_rows(tasks, now)
    audit_list_read(
        actor=request.user,
        object_type="task",
        ids=[t.pk for t in tasks],
        query={"page": "tasks", **request.GET.dict()},
    )
    counts = {
        state: sum(1 for row in rows if row.deadline.state == state)
        for state in ("overdue", "escalated", "due_soon")
    }
    unread = notification_list_for(request.user).filter(read_at__isnull=True)
    return page(
        request,
        "spokes/task_list.html",
        {
            "tasks": tasks,
            "rows": rows,
            "show": show,
            "show_param": "all" if show == "all" else "",
            "q": q,
            "counts": counts,
            "query": list_query(show="all" if show == "all" else "", q=q),
            "is_region": actor.org.kind == Organisation.Kind.REGION,
            "offered": sum(1 for row in rows if row.task.status == Task.Status.OFFERED),
            "inbox": inbox_rows(request, actor.membership, unread[:5]),
            "inbox_more": max(unread.count() - 5, 0),
            "handoffs_waiting": Handoff.objects.filter(
                to_org_id=actor.org.pk, status=Handoff.Status.PENDING
            ).count(),
        },
    )


def _task_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    task: Task,
    *,
    decline_form: DeclineForm | None = None,
    hand_down_form: HandDownForm | None = None,
    lead_form: LeadForm | None = None,
    lead_update_form: tuple[UUID, LeadUpdateForm] | None = None,
    pause_form: PauseForm | None = None,
    child_form: ChildForm | None = None,
    check_form: tuple[UUID, ChildCheckForm] | None = None,
    suspect_form: SuspectEventForm | None = None,
    handoff_form: tuple[UUID, HandoffForm] | None = None,
    request_form: ExternalRequestForm | None = None,
    reassess_form: ReassessmentForm | None = None,
    conference_form: ConferenceForm | None = None,
    exposure_form: ExposureForm | None = None,
    status: int = 200,
) -> HttpResponse:
    """The task page; audited as a read each time it is shown (also after a refused POST), with
    the same consultation rows as the API's task and lead reads."""
    task_audit_read(actor=request.user, task=task)
    leads = lead_list_consult(actor=request.user, task=task)
    children, suspect_events = victim_record_consult(actor=request.user, task=task)
    can = available_actions(request.user, task, among=TASK_PAGE_ACTS)
    may_update_leads = Act.LEAD_CREATE in can  # the same row: the holder, on an accepted task
    for refused, act in [
        (pause_form, Act.TASK_PAUSE),
        (decline_form, Act.TASK_DECLINE),
        (hand_down_form, Act.TASK_HAND_DOWN),
        (lead_form, Act.LEAD_CREATE),
        (lead_update_form[1] if lead_update_form else None, Act.LEAD_CREATE),
        (child_form, Act.CHILD_ADD),
        (check_form[1] if check_form else None, Act.CHILD_ADD),
        (suspect_form, Act.SUSPECT_EVENT_RECORD),
        (reassess_form, Act.TASK_REASSESS),
        (conference_form, Act.CONFERENCE_REQUEST),
        (exposure_form, Act.EXPOSURE_LOG),
    ]:
        flash_errors_of_hidden_form(request, refused, shown=act in can)
    forms: dict[str, Any] = {
        "decline_form": (decline_form or DeclineForm()) if Act.TASK_DECLINE in can else None,
        "hand_down_form": (hand_down_form or HandDownForm(region=task.assignee_org))
        if Act.TASK_HAND_DOWN in can
        else None,
        "lead_form": (lead_form or LeadForm()) if Act.LEAD_CREATE in can else None,
        "pause_form": (pause_form or PauseForm()) if Act.TASK_PAUSE in can else None,
        "child_form": (child_form or ChildForm()) if Act.CHILD_ADD in can else None,
        "suspect_form": (suspect_form or SuspectEventForm()) if Act.SUSPECT_EVENT_RECORD in can else None,
        "request_form": (request_form or ExternalRequestForm()) if Act.REQUEST_ADD in can else None,
        "reassess_form": (reassess_form or ReassessmentForm(initial=_reassess_initial(task)))
        if Act.TASK_REASSESS in can
        else None,
        "conference_form": (conference_form or ConferenceForm()) if Act.CONFERENCE_REQUEST in can else None,
        "exposure_form": (exposure_form or ExposureForm(initial={"task": task.pk}))
        if Act.EXPOSURE_LOG in can
        else None,
    }
    may_check = Act.CHILD_ADD in can  # the same row's scope and state: the holder, on an accepted task
    child_rows = []
    for kid in children:
        kid_form: ChildCheckForm | None = None
        if may_check:
            if check_form is not None and check_form[0] == kid.pk:
                kid_form = check_form[1]
            else:
                kid_form = ChildCheckForm(prefix=f"check-{kid.pk}", auto_id=f"check-{kid.pk}-%s")
        checks = list(kid.checks.all())
        handoffs = list(kid.handoffs.select_related("to_org").order_by("created_at"))
        may_hand = may_check and not any(h.status == Handoff.Status.PENDING for h in handoffs)
        hand_form = None
        if may_hand:
            if handoff_form is not None and handoff_form[0] == kid.pk:
                hand_form = handoff_form[1]
            else:
                hand_form = HandoffForm(
                    prefix=f"hand-{kid.pk}", auto_id=f"hand-{kid.pk}-%s", exclude=task.assignee_org.code
                )
        child_rows.append(
            {
                "child": kid,
                "checks": checks,
                "form": kid_form,
                "handoffs": handoffs,
                "handoff_form": hand_form,
                "unchecked": kid.relation == Child.Relation.REACHABLE and not checks,
            }
        )
    lead_rows = []
    for lead in leads:
        form = None
        if may_update_leads:
            if lead_update_form is not None and lead_update_form[0] == lead.pk:
                form = lead_update_form[1]
            else:
                form = LeadUpdateForm(
                    prefix=f"lead-{lead.pk}", initial={"status": lead.status, "notes": lead.notes}
                )
        lead_rows.append({"lead": lead, "form": form})
    holds_it = holds(actor, task)
    referral = task.referral
    is_escalated = bool(getattr(task, "is_escalated", False))
    return page(
        request,
        "spokes/task.html",
        {
            "task": task,
            "referral": referral,
            "deadline": deadline_for(task),
            "access": access_labels(referral.access_to_children),
            "priority": prioritisation(referral, reassessments_consult(actor=request.user, task=task)),
            "media_rows": [
                {
                    **row,
                    "form": MediaReviewForm(
                        initial={"sha256": row["item"].sha256, "category": row["item"].category},
                        prefix=f"media-{row['item'].pk}",
                        auto_id=f"media-{row['item'].pk}-%s",
                    )
                    if Act.MEDIA_REVIEW in can and row["review"] is None
                    else None,
                }
                for row in media_consult(actor=request.user, task=task)
            ],
            "transfers": list(task.transfers.select_related("from_org", "to_org", "by")),
            "lead_rows": lead_rows,
            "child_rows": child_rows,
            "suspect_events": suspect_events,
            "external_requests": [
                {
                    "request": made,
                    "waiting_days": round(
                        ((made.answered_at or timezone.now()) - made.sent_at).total_seconds() / 86400, 1
                    ),
                }
                for made in external_requests_consult(
                    actor=request.user, requests=list(task.external_requests.all())
                )
            ],
            "may_update_requests": Act.REQUEST_ADD in can,
            "unchecked_count": sum(1 for row in child_rows if row["unchecked"]),
            "can": {str(act) for act in can},
            "can_work": holds_it,
            "workable": may_update_leads,
            **forms,
            "is_hub": actor.role in r.HUB_ROLES,
            "is_auditor": actor.role in r.AUDITOR_ROLES,
            "oversight": not holds_it and actor.role in r.TASK_WORKER_ROLES,
            "may_accept": Act.TASK_ACCEPT in can,
            "may_reassign": Act.TASK_REASSIGN in can,
            "may_resume": Act.TASK_RESUME in can,
            "is_escalated": is_escalated,
            "may_acknowledge": is_escalated and Act.TASK_ACKNOWLEDGE in can,
            "escalation_steps": list(
                escalation_list_for(actor.membership).filter(
                    task=task, generation=task.alert_generation, acknowledged_at__isnull=True
                )
            ),
        },
        status=status,
    )


def _reassess_initial(task: Task) -> dict[str, Any]:
    """Start from the latest re-assessment, else from the hub's grading."""
    latest = task.reassessments.order_by("-assessed_at", "-id").first()
    source: Any = latest or task.referral
    return {
        "risk": source.risk,
        "access_to_children": source.access_to_children,
        "risk_factors": source.risk_factors,
        "offence_type": latest.offence_type if latest else task.referral.triage_offence_type,
    }


@policy_view(Act.TASK_REASSESS, methods=["POST"], lookup=_tasks)
def task_reassess_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    def done(made: Any) -> HttpResponse:
        beside = (
            "it differs from the hub's grading, and the hub is told"
            if made.differs_from_hub
            else ("it agrees with the hub's grading")
        )
        return _after(request, task, f"Re-assessment recorded: {beside}.", "#priority")

    return submit(
        request,
        ReassessmentForm(request.POST),
        lambda data: task_reassess(task=task, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), reassess_form=form, status=status
        ),
        done=done,
    )


@policy_view(Act.MEDIA_REVIEW, methods=["POST"], lookup=_tasks)
def media_review_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    prefix = request.POST.get("prefix", "")
    form = MediaReviewForm(request.POST, prefix=prefix or None)

    def done(made: Any) -> HttpResponse:
        return _after(request, task, f"Media item {made.media.sha256[:12]}… marked reviewed.", "#media")

    return submit(
        request,
        form,
        lambda data: media_review(task=task, actor=request.user, **data),
        again=lambda form, status: _task_page(request, actor, _fresh(actor, task), status=status),
        done=done,
    )


@policy_view(Act.EXPOSURE_LOG, methods=["POST"])
def exposure_log_view(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """Log media-review minutes on a task (named in the form, as in ``POST /exposure/``)."""
    try:
        task_id = UUID(request.POST.get("task", ""))
    except ValueError:
        raise Http404 from None
    task = scoped_get(_tasks(actor.membership), task_id)

    def done(_: Any) -> HttpResponse:
        minutes = exposure_minutes(request.user, uk_today())
        over = (
            " That is over the four-hour guidance: take a break." if minutes > EXPOSURE_LIMIT_MINUTES else ""
        )
        return _after(
            request,
            task,
            f"Logged. You have reviewed material for {minutes // 60} h {minutes % 60:02d} min today.{over}",
            "#media",
        )

    return submit(
        request,
        ExposureForm(request.POST),
        lambda data: exposure_log(actor=request.user, task=task, minutes=data["minutes"]),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), exposure_form=form, status=status
        ),
        done=done,
    )


def _welfare_page(
    request: AuthenticatedHttpRequest, actor: Actor, *, form: DebriefForm | None = None, status: int = 200
) -> HttpResponse:
    rows = welfare_team(actor=request.user)
    people = [row["person"] for row in rows]
    return page(
        request,
        "spokes/welfare.html",
        {"rows": rows, "form": form or DebriefForm(people=people), "limit": EXPOSURE_LIMIT_MINUTES},
        status=status,
    )


@policy_view(Act.WELFARE_TEAM)
def welfare_view(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    return _welfare_page(request, actor)


@policy_view(Act.WELFARE_DEBRIEF, methods=["POST"])
def welfare_debrief_view(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    person = User.objects.filter(username=request.POST.get("person", ""), is_active=True).first()
    if person is None:
        raise Http404
    people = [person, *User.objects.filter(membership__organisation_id=actor.org.pk).exclude(pk=person.pk)]

    def done(made: Any) -> HttpResponse:
        messages.success(request, f"{made.get_kind_display()} with {person.display_name} recorded.")
        return redirect("spokes:welfare")

    return submit(
        request,
        DebriefForm(request.POST, people=people),
        lambda data: welfare_debrief_record(
            actor=request.user, person=person, kind=data["kind"], held_on=data["held_on"], note=data["note"]
        ),
        again=lambda form, status: _welfare_page(request, actor, form=form, status=status),
        done=done,
    )


@policy_view(Act.CONFERENCE_REQUEST, methods=["POST"], lookup=_tasks)
def conference_request_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        ConferenceForm(request.POST),
        lambda data: conference_request(task=task, actor=request.user, note=data["note"]),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), conference_form=form, status=status
        ),
        done=lambda _: _after(request, task, "Conference requested: the hub will answer.", "#case"),
    )


def _conferences(membership: Membership) -> QuerySet[ConferenceRequest]:
    return conference_list_for(membership)


def _conferences_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    *,
    answer: tuple[UUID, ConferenceAnswerForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    scoped = _conferences(actor.membership)
    if q:
        scoped = scoped.filter(task__in=task_search(Task.objects.all(), q))
    requests = conference_list_consult(actor=request.user, requests=list(scoped[:200]))
    rows = []
    for item in requests:
        form = None
        if allowed(request.user, Act.CONFERENCE_ANSWER, item):
            form = (
                answer[1]
                if answer and answer[0] == item.pk
                else ConferenceAnswerForm(prefix=f"conf-{item.pk}", auto_id=f"conf-{item.pk}-%s")
            )
        rows.append({"request": item, "form": form})
    return page(request, "spokes/conferences.html", {"rows": rows, "q": q}, status=status)


@policy_view(Act.CONFERENCE_LIST)
def conference_list(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    return _conferences_page(request, actor)


@policy_view(Act.CONFERENCE_ANSWER, methods=["POST"], lookup=_conferences)
def conference_answer_view(
    request: AuthenticatedHttpRequest, actor: Actor, item: ConferenceRequest
) -> HttpResponse:
    def answered(done: ConferenceRequest) -> HttpResponse:
        messages.success(request, f"Conference on {done.task.referral.external_id}: {done.status}.")
        return redirect("spokes:conferences")

    return submit(
        request,
        ConferenceAnswerForm(request.POST, prefix=f"conf-{item.pk}", auto_id=f"conf-{item.pk}-%s"),
        lambda data: conference_answer(
            request=item, actor=request.user, grant=data["decision"] == "grant", reason=data["reason"]
        ),
        again=lambda form, status: _conferences_page(request, actor, answer=(item.pk, form), status=status),
        done=answered,
    )


@policy_view(Act.TASK_VIEW, lookup=_tasks)
def task_detail(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return _task_page(request, actor, task)


def _after(request: AuthenticatedHttpRequest, task: Task, message: str, anchor: str = "") -> HttpResponse:
    messages.success(request, message)
    return redirect(reverse("spokes:task", kwargs={"pk": task.pk}) + anchor)


@policy_view(Act.TASK_ACCEPT, methods=["POST"], lookup=_tasks)
def task_accept_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    done, status = attempt(request, None, lambda: task_accept(task=task, actor=request.user))
    if done is None:
        return _task_page(request, actor, _fresh(actor, task), status=status)
    return _after(
        request, task, "Task accepted. The accept-by clock has stopped; the act-by deadline still runs."
    )


@policy_view(Act.TASK_DECLINE, methods=["POST"], lookup=_tasks)
def task_decline_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        DeclineForm(request.POST),
        lambda data: task_decline(task=task, actor=request.user, reason=data["reason"], note=data["note"]),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), decline_form=form, status=status
        ),
        done=lambda _: _declined(request),
    )


@policy_view(Act.TASK_HAND_DOWN, methods=["POST"], lookup=_tasks)
def task_hand_down_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        HandDownForm(request.POST, region=task.assignee_org),
        lambda data: task_hand_down(
            task=task, to_org=data["assignee_org"], actor=request.user, reason=data["reason"]
        ),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), hand_down_form=form, status=status
        ),
        done=lambda moved: _after(
            request,
            task,
            f"Task handed down to {moved.assignee_org.name}. Your region keeps read-only oversight.",
        ),
    )


@policy_view(Act.LEAD_CREATE, methods=["POST"], lookup=_tasks)
def lead_create_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        LeadForm(request.POST),
        lambda data: lead_create(task=task, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), lead_form=form, status=status
        ),
        done=lambda _: _after(request, task, "Lead added.", "#leads"),
    )


@policy_view(Act.LEAD_UPDATE, methods=["POST"], lookup=_leads)
def lead_update_view(request: AuthenticatedHttpRequest, actor: Actor, lead: Lead) -> HttpResponse:
    task = lead.task
    return submit(
        request,
        LeadUpdateForm(request.POST, prefix=f"lead-{lead.pk}"),
        lambda data: lead_update(lead=lead, actor=request.user, status=data["status"], notes=data["notes"]),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), lead_update_form=(lead.pk, form), status=status
        ),
        done=lambda _: _after(request, task, "Lead updated.", f"#lead-{lead.pk}"),
    )


@policy_view(Act.TASK_PAUSE, methods=["POST"], lookup=_tasks)
def task_pause_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        PauseForm(request.POST),
        lambda data: task_pause(task=task, actor=request.user, reason=data["reason"], until=data["until"]),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), pause_form=form, status=status
        ),
        done=lambda _: _after(
            request, task, "Clocks stopped. Reminders and escalations wait until the task is resumed."
        ),
    )


@policy_view(Act.TASK_RESUME, methods=["POST"], lookup=_tasks)
def task_resume_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    done, status = attempt(request, None, lambda: task_resume(task=task, actor=request.user))
    if done is None:
        return _task_page(request, actor, _fresh(actor, task), status=status)
    return _after(request, task, "Clocks restarted. Every deadline moved on by the time paused.")


@policy_view(Act.CHILD_ADD, methods=["POST"], lookup=_tasks)
def child_add_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        ChildForm(request.POST),
        lambda data: child_add(task=task, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), child_form=form, status=status
        ),
        done=lambda kid: _after(request, task, f"Child {kid.reference} recorded.", "#children"),
    )


@policy_view(Act.CHILD_CHECK, methods=["POST"], lookup=_children)
def child_check_view(request: AuthenticatedHttpRequest, actor: Actor, kid: Child) -> HttpResponse:
    task = kid.task
    return submit(
        request,
        ChildCheckForm(request.POST, prefix=f"check-{kid.pk}", auto_id=f"check-{kid.pk}-%s"),
        lambda data: child_check(child=kid, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), check_form=(kid.pk, form), status=status
        ),
        done=lambda _: _after(request, task, f"Check recorded for {kid.reference}.", "#children"),
    )


@policy_view(Act.SUSPECT_EVENT_RECORD, methods=["POST"], lookup=_tasks)
def suspect_event_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        SuspectEventForm(request.POST),
        lambda data: suspect_event_record(task=task, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), suspect_form=form, status=status
        ),
        done=lambda event: _after(request, task, f"Recorded: {event.get_kind_display()}.", "#suspect"),
    )


@policy_view(Act.HANDOFF_OFFER, methods=["POST"], lookup=_children)
def handoff_offer_view(request: AuthenticatedHttpRequest, actor: Actor, kid: Child) -> HttpResponse:
    task = kid.task
    return submit(
        request,
        HandoffForm(
            request.POST, prefix=f"hand-{kid.pk}", auto_id=f"hand-{kid.pk}-%s", exclude=task.assignee_org.code
        ),
        lambda data: handoff_offer(child=kid, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), handoff_form=(kid.pk, form), status=status
        ),
        done=lambda handoff: _after(
            request,
            task,
            f"Child {kid.reference} offered to {handoff.to_org.name}: waiting for their answer.",
            f"#child-{kid.pk}",
        ),
    )


def _handoffs(membership: Membership) -> QuerySet[Handoff]:
    return handoff_list_for(membership)


def _handoffs_page(
    request: AuthenticatedHttpRequest,
    actor: Actor,
    *,
    answer: tuple[UUID, HandoffAnswerForm] | None = None,
    revoke: tuple[UUID, HandoffRevokeForm] | None = None,
    status: int = 200,
) -> HttpResponse:
    q = request.GET.get("q", "").strip()[:100]
    scoped = _handoffs(actor.membership)
    if q:  # by the child's reference, or an id: never by the case (a receiver sees only the child)
        try:
            wanted = UUID(q)
        except ValueError:
            scoped = scoped.filter(child__reference__startswith=q)
        else:
            scoped = scoped.filter(Q(pk=wanted) | Q(child_id=wanted))
    handoffs = handoff_list_consult(
        actor=request.user, handoffs=list(scoped.prefetch_related("child__checks")[:200])
    )
    rows = []
    for handoff in handoffs:
        form = None
        if allowed(request.user, Act.HANDOFF_ANSWER, handoff):
            form = (
                answer[1]
                if answer and answer[0] == handoff.pk
                else HandoffAnswerForm(prefix=f"answer-{handoff.pk}", auto_id=f"answer-{handoff.pk}-%s")
            )
        withdraw = None
        if allowed(request.user, Act.HANDOFF_REVOKE, handoff):
            withdraw = (
                revoke[1]
                if revoke and revoke[0] == handoff.pk
                else HandoffRevokeForm(prefix=f"revoke-{handoff.pk}", auto_id=f"revoke-{handoff.pk}-%s")
            )
        rows.append(
            {
                "handoff": handoff,
                "form": form,
                "revoke_form": withdraw,
                "received": handoff.to_org_id == actor.org.pk,
            }
        )
    return page(request, "spokes/handoffs.html", {"rows": rows, "q": q}, status=status)


@policy_view(Act.HANDOFF_LIST)
def handoff_list(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    return _handoffs_page(request, actor)


@policy_view(Act.HANDOFF_ANSWER, methods=["POST"], lookup=_handoffs)
def handoff_answer_view(request: AuthenticatedHttpRequest, actor: Actor, handoff: Handoff) -> HttpResponse:
    def answered(done: Handoff) -> HttpResponse:
        messages.success(request, f"Hand-off of child {done.child.reference} {done.status}.")
        return redirect("spokes:handoffs")

    return submit(
        request,
        HandoffAnswerForm(request.POST, prefix=f"answer-{handoff.pk}", auto_id=f"answer-{handoff.pk}-%s"),
        lambda data: handoff_answer(
            handoff=handoff, actor=request.user, accept=data["decision"] == "accept", reason=data["reason"]
        ),
        again=lambda form, status: _handoffs_page(request, actor, answer=(handoff.pk, form), status=status),
        done=answered,
    )


@policy_view(Act.HANDOFF_REVOKE, methods=["POST"], lookup=_handoffs)
def handoff_revoke_view(request: AuthenticatedHttpRequest, actor: Actor, handoff: Handoff) -> HttpResponse:
    def withdrawn(done: Handoff) -> HttpResponse:
        messages.success(
            request, f"Hand-off of child {done.child.reference} to {done.to_org.name} withdrawn."
        )
        return redirect("spokes:handoffs")

    return submit(
        request,
        HandoffRevokeForm(request.POST, prefix=f"revoke-{handoff.pk}", auto_id=f"revoke-{handoff.pk}-%s"),
        lambda data: handoff_revoke(handoff=handoff, actor=request.user, reason=data["reason"]),
        again=lambda form, status: _handoffs_page(request, actor, revoke=(handoff.pk, form), status=status),
        done=withdrawn,
    )


@policy_view(Act.REQUEST_ADD, methods=["POST"], lookup=_tasks)
def external_request_add_view(request: AuthenticatedHttpRequest, actor: Actor, task: Task) -> HttpResponse:
    return submit(
        request,
        ExternalRequestForm(request.POST),
        lambda data: external_request_add(task=task, actor=request.user, **data),
        again=lambda form, status: _task_page(
            request, actor, _fresh(actor, task), request_form=form, status=status
        ),
        done=lambda made: _after(request, task, f"Request to {made.counterpart} recorded.", "#requests"),
    )


def _requests(membership: Membership) -> QuerySet[ExternalRequest]:
    return request_list_for(membership)


@policy_view(Act.REQUEST_UPDATE, methods=["POST"], lookup=_requests)
def external_request_update_view(
    request: AuthenticatedHttpRequest, actor: Actor, made: ExternalRequest
) -> HttpResponse:
    event = "answered" if request.POST.get("event") == "answered" else "chased"
    done, status = attempt(
        request, None, lambda: external_request_update(request=made, actor=request.user, event=event)
    )
    if done is None:
        return _task_page(request, actor, _fresh(actor, made.task), status=status)
    return _after(request, made.task, f"Request to {made.counterpart} marked {event}.", "#requests")


def _declined(request: AuthenticatedHttpRequest) -> HttpResponse:
    messages.success(
        request, "Task declined. The hub has been told why and will reassign it; it has left your list."
    )
    return redirect("spokes:tasks")


def _fresh(actor: Actor, task: Task) -> Task:
    """The task as it is now, from the caller's scope: a 404 if it has left it meanwhile (never
    the task's page again, and never a server error)."""
    return scoped_get(_tasks(actor.membership), task.pk)


@policy_view(Act.SAFEGUARDING_REVIEW)
def safeguarding_review_view(request: AuthenticatedHttpRequest, actor: Actor) -> HttpResponse:
    """For the hub and auditors, from the UI alone: which reachable children were checked before
    each bail or release, who held each handed-off child and from when, and which hand-offs were
    never accepted. ``q`` narrows it to the referrals with that agency reference (exact or
    prefix) or VIHub id. Opening it is audited with the records shown and the search."""
    q = request.GET.get("q", "").strip()[:100]
    referrals = referral_search(referral_list_for(actor.membership), q) if q else None
    releases = release_checks(referrals=referrals)
    custody = custody_timelines(referrals=referrals)
    unanswered = list(handoffs_never_accepted(referrals=referrals))
    welfare = suspect_welfare_statistics(since=timezone.now() - timedelta(days=365), referrals=referrals)
    audit_record(
        actor=request.user,
        action=AuditAction.SAFEGUARDING_REVIEWED,
        object_type="safeguarding_review",
        changes={
            "q": q,
            "suspect_events": [str(row["event"].pk) for row in releases],
            "children": [str(row["child"].pk) for row in custody],
            "handoffs": [str(h.pk) for h in unanswered],
        },
    )
    return page(
        request,
        "spokes/review.html",
        {
            "releases": releases,
            "custody": custody,
            "unanswered": unanswered,
            "limit": REVIEW_LIMIT,
            "q": q,
            "welfare": welfare,
        },  # fmt: skip
    )
