"""Administration in the product (issue 16): people, memberships, API tokens, contacts and the
deadline policy, through the API and the pages, each change with its audit row (before and
after) and each refusal writing nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import SESSION_KEY
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from hub.models import ApiToken, AuditEvent, DeadlinePolicy, Membership, Organisation, Task, User
from tests.conftest import PASSWORD, Persona
from tests.factories import make_task
from tests.web import Client

pytestmark = pytest.mark.django_db

NEW_PASSWORD = "a-long-new-passphrase-for-vihub"


def _last(action: str) -> AuditEvent:
    event = AuditEvent.objects.filter(action=action).order_by("-seq").first()
    assert event is not None, f"no {action} audit event"
    return event


def _web(user: User) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _bearer(raw: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    return client


# --- Adding a person ---------------------------------------------------------------------------


def test_the_administrator_adds_a_person_who_sets_a_password_from_the_link_once(
    cast: dict[str, Persona], django_capture_on_commit_callbacks: Any
) -> None:
    admin = cast["administrator"].client
    with django_capture_on_commit_callbacks(execute=True):
        response = admin.post(
            "/api/v1/people/",
            {
                "username": "j.smith",
                "organisation": "essex",
                "role": "officer",
                "first_name": "Jo",
                "last_name": "Smith",
                "email": "jo.smith@essex.example",
            },
            format="json",
        )
    assert response.status_code == 201, response.content
    body = response.json()
    assert (body["organisation"], body["role"], body["state"]) == ("ESSEX", "officer", "invited")
    link = body["invitation_url"]
    path = link[link.index("/welcome/") :]
    # Emailed too, with the same link; and audited with the after (no before: a new person).
    assert len(mail.outbox) == 1 and path in mail.outbox[0].body
    assert mail.outbox[0].to == ["jo.smith@essex.example"]
    added = _last("person.added")
    assert added.changes["before"] is None
    assert added.changes["after"]["org"] == "ESSEX" and added.actor_display == "administrator"

    person = User.objects.get(username="j.smith")
    assert not person.has_usable_password() and person.groups.filter(name__icontains="essex").exists()
    browser = Client()
    assert browser.get(path).status_code == 200
    weak = browser.post(path, {"new_password1": "password", "new_password2": "password"})
    assert weak.status_code == 400  # Django's validators: nothing saved
    person.refresh_from_db()
    assert not person.has_usable_password()
    done = browser.post(path, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    assert done.status_code == 302 and done["Location"] == reverse("login")
    person.refresh_from_db()
    assert person.check_password(NEW_PASSWORD)
    assert _last("person.welcomed").actor_id == person.pk
    # The link is spent: it works once.
    assert browser.get(path).status_code == 404
    # Signing in with the new password leads to the second factor, as for everyone.
    signed = Client().post(reverse("login"), {"username": "j.smith", "password": NEW_PASSWORD})
    assert signed.status_code == 302 and "two-factor" in signed["Location"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "kent_officer", "organisation": "KENT", "role": "officer"}, "username"),  # taken
        (
            {"username": "KENT_OFFICER", "organisation": "KENT", "role": "officer"},
            "username",
        ),  # taken, any case
        ({"username": "has space", "organisation": "KENT", "role": "officer"}, "username"),
        ({"username": "new1", "organisation": "NOWHERE", "role": "officer"}, "org"),
        (
            {"username": "new2", "organisation": "NCMEC", "role": "officer"},
            "role",
        ),  # an agency has no officers
        ({"username": "new3", "organisation": "KENT", "role": "coordinator"}, "role"),  # the hub's role
        ({"username": "new4", "organisation": "KENT", "role": "officer", "email": "not-an-address"}, "email"),
        ({"username": "new5", "organisation": "KENT", "role": "wizard"}, "role"),
    ],
)
def test_bad_input_adding_a_person_is_a_400_on_its_field_and_writes_nothing(
    cast: dict[str, Persona], body: dict[str, str], field: str
) -> None:
    people, events = User.objects.count(), AuditEvent.objects.filter(action="person.added").count()
    response = cast["administrator"].client.post("/api/v1/people/", body, format="json")
    assert response.status_code == 400, response.content
    assert field in str(response.json()), response.json()
    assert User.objects.count() == people
    assert AuditEvent.objects.filter(action="person.added").count() == events


def test_a_supervisor_adds_officers_and_supervisors_to_their_own_force_only(cast: dict[str, Persona]) -> None:
    supervisor = cast["kent_supervisor"].client
    ok = supervisor.post(
        "/api/v1/people/", {"username": "kent-new", "organisation": "KENT", "role": "officer"}, format="json"
    )
    assert ok.status_code == 201
    elsewhere = supervisor.post(
        "/api/v1/people/",
        {"username": "essex-new", "organisation": "ESSEX", "role": "officer"},
        format="json",
    )
    hub_role = supervisor.post(
        "/api/v1/people/", {"username": "aud-new", "organisation": "NCA", "role": "auditor"}, format="json"
    )
    assert (elsewhere.status_code, hub_role.status_code) == (403, 403)
    assert not User.objects.filter(username__in=["essex-new", "aud-new"]).exists()
    # Their people list is Kent's people only.
    listed = {row["username"] for row in supervisor.get("/api/v1/people/").json()["results"]}
    assert "kent-new" in listed and "essex_officer" not in listed and "coordinator" not in listed


# --- Editing, moving, switching off -----------------------------------------------------------


def test_editing_a_person_audits_before_and_after_and_refuses_a_bad_email(cast: dict[str, Persona]) -> None:
    officer = cast["kent_officer"].user
    admin = cast["administrator"].client
    response = admin.patch(
        f"/api/v1/people/{officer.pk}/", {"first_name": "Sam", "email": "sam@kent.example"}, format="json"
    )
    assert response.status_code == 200 and response.json()["first_name"] == "Sam"
    event = _last("person.edited")
    assert event.changes["before"] == {"first_name": "", "email": ""}
    assert event.changes["after"] == {"first_name": "Sam", "email": "sam@kent.example"}
    bad = admin.patch(f"/api/v1/people/{officer.pk}/", {"email": "nope"}, format="json")
    assert bad.status_code == 400
    officer.refresh_from_db()
    assert officer.email == "sam@kent.example"


def test_moving_a_person_ends_their_access_to_the_old_forces_tasks(cast: dict[str, Persona]) -> None:
    task = make_task(accepted=True)
    officer = cast["kent_officer"]
    assert officer.client.get(f"/api/v1/tasks/{task.pk}/").status_code == 200
    moved = cast["administrator"].client.post(
        f"/api/v1/people/{officer.user.pk}/move/",
        {"organisation": "ESSEX", "role": "officer", "reason": "Joined Essex's VID team"},
        format="json",
    )
    assert moved.status_code == 200 and moved.json()["organisation"] == "ESSEX"
    assert officer.client.get(f"/api/v1/tasks/{task.pk}/").status_code == 404
    event = _last("person.moved")
    assert (event.changes["before"]["org"], event.changes["after"]["org"]) == ("KENT", "ESSEX")
    assert event.justification == "Joined Essex's VID team"


def test_nobody_moves_or_switches_off_themselves_and_a_supervisor_cannot_move_people_out(
    cast: dict[str, Persona],
) -> None:
    supervisor = cast["kent_supervisor"]
    me = supervisor.client.post(
        f"/api/v1/people/{supervisor.user.pk}/active/", {"active": False, "reason": "test"}, format="json"
    )
    admin = cast["administrator"]
    admin_self = admin.client.post(
        f"/api/v1/people/{admin.user.pk}/move/",
        {"organisation": "NCA", "role": "coordinator", "reason": "x"},
        format="json",
    )
    out = supervisor.client.post(
        f"/api/v1/people/{cast['kent_officer'].user.pk}/move/",
        {"organisation": "ESSEX", "role": "officer", "reason": "x"},
        format="json",
    )
    assert (me.status_code, admin_self.status_code, out.status_code) == (403, 403, 403)
    assert Membership.objects.get(user=cast["kent_officer"].user).organisation.code == "KENT"
    # Within Kent, a supervisor may make an officer a supervisor.
    promoted = supervisor.client.post(
        f"/api/v1/people/{cast['kent_officer'].user.pk}/move/",
        {"organisation": "KENT", "role": "supervisor", "reason": "Promoted"},
        format="json",
    )
    assert promoted.status_code == 200 and promoted.json()["role"] == "supervisor"


def test_switching_a_person_off_ends_their_sessions_and_revokes_their_tokens(
    cast: dict[str, Persona],
) -> None:
    officer = cast["kent_officer"]
    browser = _web(officer.user)
    assert browser.get(reverse("spokes:tasks")).status_code == 200
    assert officer.client.get("/api/v1/tasks/").status_code == 200
    admin = cast["administrator"].client
    off = admin.post(
        f"/api/v1/people/{officer.user.pk}/active/",
        {"active": False, "reason": "Left the force"},
        format="json",
    )
    assert off.status_code == 200 and off.json()["state"] == "switched off"
    assert officer.client.get("/api/v1/tasks/").status_code == 401
    assert SESSION_KEY not in browser.session
    assert browser.get(reverse("spokes:tasks")).status_code == 302  # back to sign-in
    event = _last("person.deactivated")
    assert event.changes["tokens_revoked"] == 1 and event.changes["sessions_ended"] == 1
    twice = admin.post(
        f"/api/v1/people/{officer.user.pk}/active/", {"active": False, "reason": "again"}, format="json"
    )
    assert twice.status_code == 409
    # Switched back on: they sign in again with their password; revoked tokens stay revoked.
    on = admin.post(
        f"/api/v1/people/{officer.user.pk}/active/",
        {"active": True, "reason": "Back from leave"},
        format="json",
    )
    assert on.status_code == 200 and on.json()["state"] == "active"
    assert officer.client.get("/api/v1/tasks/").status_code == 401
    assert (
        Client().post(reverse("login"), {"username": "kent_officer", "password": PASSWORD}).status_code == 302
    )


# --- API tokens ----------------------------------------------------------------------------------


def test_a_token_is_shown_once_works_and_stops_working_when_revoked(cast: dict[str, Persona]) -> None:
    admin = cast["administrator"].client
    agency_user = cast["iwf"].user
    issued = admin.post(
        f"/api/v1/people/{agency_user.pk}/tokens/", {"name": "IWF feed", "expires_days": 90}, format="json"
    )
    assert issued.status_code == 201
    raw = issued.json()["token"]
    token = ApiToken.objects.get(pk=issued.json()["id"])
    assert raw not in {token.token_hash, token.prefix} and raw.startswith(token.prefix)
    assert _bearer(raw).get("/api/v1/referrals/").status_code == 200
    listed = admin.get("/api/v1/tokens/").json()["results"]
    assert any(row["id"] == str(token.pk) and "token" not in row for row in listed)
    assert raw not in str(listed)
    assert admin.post(f"/api/v1/tokens/{token.pk}/revoke/").status_code == 200
    assert _bearer(raw).get("/api/v1/referrals/").status_code == 401
    again = admin.post(f"/api/v1/tokens/{token.pk}/revoke/")
    assert again.status_code == 409
    revoked = AuditEvent.objects.get(action="token.revoked", object_id=str(token.pk))
    assert revoked.changes["before"] == {"revoked": False} and revoked.changes["after"] == {"revoked": True}
    created = AuditEvent.objects.get(action="token.created", object_id=str(token.pk))
    assert created.changes["after"]["name"] == "IWF feed" and raw not in str(created.changes)


@pytest.mark.parametrize("days", [0, 366, "soon"])
def test_a_token_lives_between_one_day_and_a_year(cast: dict[str, Persona], days: Any) -> None:
    before = ApiToken.objects.count()
    response = cast["administrator"].client.post(
        f"/api/v1/people/{cast['iwf'].user.pk}/tokens/", {"expires_days": days}, format="json"
    )
    assert response.status_code == 400 and "expires_days" in response.json()
    assert ApiToken.objects.count() == before


def test_no_token_for_someone_switched_off(cast: dict[str, Persona]) -> None:
    User.objects.filter(pk=cast["iwf"].user.pk).update(is_active=False)
    response = cast["administrator"].client.post(
        f"/api/v1/people/{cast['iwf'].user.pk}/tokens/", {}, format="json"
    )
    assert response.status_code == 409


# --- Contacts ---------------------------------------------------------------------------------------


def test_contacts_are_kept_by_the_administrator_and_read_inside_the_service(cast: dict[str, Persona]) -> None:
    admin = cast["administrator"].client
    response = admin.patch(
        "/api/v1/contacts/kent/",
        {"contact_name": "DS Priya Shah", "out_of_hours_phone": "+44 1622 690690"},
        format="json",
    )
    assert response.status_code == 200, response.content
    event = _last("organisation.contacts_set")
    assert event.changes["before"] == {"contact_name": "", "out_of_hours_phone": ""}
    assert event.changes["after"]["contact_name"] == "DS Priya Shah"
    bad = admin.patch("/api/v1/contacts/KENT/", {"contact_phone": "call me maybe"}, format="json")
    assert bad.status_code == 400
    assert Organisation.objects.get(code="KENT").contact_phone == ""
    rows = {row["code"]: row for row in cast["essex_officer"].client.get("/api/v1/contacts/").json()}
    assert rows["KENT"]["contact_name"] == "DS Priya Shah"
    assert cast["ncmec"].client.get("/api/v1/contacts/").status_code == 403
    assert (
        cast["coordinator"]
        .client.patch("/api/v1/contacts/KENT/", {"contact_name": "x"}, format="json")
        .status_code
        == 403
    )


# --- The deadline policy -----------------------------------------------------------------------------


def _policy(grade: int = 3, risk: str = "low") -> DeadlinePolicy:
    return DeadlinePolicy.objects.get(grade=grade, risk=risk)


def test_the_preview_counts_the_running_tasks_a_change_would_tighten(cast: dict[str, Persona]) -> None:
    tasks = [make_task(grade=3, risk="low", accepted=True) for _ in range(3)]
    make_task(grade=3, risk="high")  # another row's task: not counted
    admin = cast["administrator"].client
    policy = _policy()
    tighter = admin.post(
        f"/api/v1/deadline-policy/{policy.pk}/preview/", {"act_within": "10 00:00:00"}, format="json"
    ).json()
    assert (tighter["running"], tighter["would_tighten"], tighter["keep_longer"]) == (3, 3, 0)
    looser = admin.post(
        f"/api/v1/deadline-policy/{policy.pk}/preview/", {"act_within": "40 00:00:00"}, format="json"
    ).json()
    assert (looser["running"], looser["would_tighten"], looser["keep_longer"]) == (3, 0, 3)
    assert _policy().act_within == timedelta(days=30)  # a preview writes nothing
    assert {t.due_at for t in Task.objects.filter(pk__in=[t.pk for t in tasks])} == {t.due_at for t in tasks}


def test_saving_a_tighter_row_can_tighten_running_tasks_but_a_looser_one_never_loosens_them(
    cast: dict[str, Persona],
) -> None:
    task = make_task(grade=3, risk="low", accepted=True)
    admin = cast["administrator"].client
    policy = _policy()
    saved = admin.patch(
        f"/api/v1/deadline-policy/{policy.pk}/",
        {"act_within": "10 00:00:00", "reason": "HMICFRS", "tighten_running": True},
        format="json",
    )
    assert saved.status_code == 200 and saved.json()["act_within"] == "10 00:00:00"
    task.refresh_from_db()
    assert task.due_at == task.created_at + task.paused_total + timedelta(days=10)
    event = _last("deadline_policy.set")
    assert event.changes["before"] == {"act_within": "30 days, 0:00:00"}
    assert event.changes["tasks_tightened"] == 1 and event.justification == "HMICFRS"
    assert AuditEvent.objects.filter(action="task.deadline_tightened", task_id=task.pk).exists()
    tightened = task.due_at
    looser = admin.patch(
        f"/api/v1/deadline-policy/{policy.pk}/",
        {"act_within": "40 00:00:00", "reason": "Undo", "tighten_running": True},
        format="json",
    )
    assert looser.status_code == 200
    task.refresh_from_db()
    assert task.due_at == tightened  # deadlines only tighten
    # A new allocation takes the row as it is now.
    fresh = make_task(grade=3, risk="low")
    assert fresh.due_at - fresh.created_at == pytest.approx(timedelta(days=40), abs=timedelta(seconds=5))


@pytest.mark.parametrize(
    "body",
    [
        {"accept_within": "20 00:00:00", "act_within": "10 00:00:00", "reason": "x"},  # accept after act
        {"act_within": "30 00:00:00", "reason": "x"},  # no change
        {"act_within": "00:01:00", "reason": "x"},  # too short
        {"act_within": "400 00:00:00", "reason": "x"},  # too long
        {"act_within": "soon", "reason": "x"},
        {"act_within": "10 00:00:00"},  # no reason
    ],
)
def test_a_bad_policy_change_is_a_400_and_changes_nothing(
    cast: dict[str, Persona], body: dict[str, str]
) -> None:
    policy = _policy()
    response = cast["administrator"].client.patch(
        f"/api/v1/deadline-policy/{policy.pk}/", body, format="json"
    )
    assert response.status_code == 400, response.content
    fresh = _policy()
    assert (fresh.accept_within, fresh.act_within) == (policy.accept_within, policy.act_within)
    assert not AuditEvent.objects.filter(action="deadline_policy.set").exists()


# --- The pages ---------------------------------------------------------------------------------------


def test_the_add_page_shows_the_invitation_link_once(cast: dict[str, Persona]) -> None:
    browser = _web(cast["administrator"].user)
    page = browser.post(
        reverse("hub:person-add"),
        {
            "username": "web-new",
            "organisation": "KENT",
            "role": "officer",
            "first_name": "Web",
            "last_name": "New",
            "email": "",
        },
    )
    assert page.status_code == 200
    assert b"/welcome/" in page.content and b"data-invitation" in page.content
    person = User.objects.get(username="web-new")
    again = browser.get(reverse("hub:person", args=[person.pk]))
    assert b"/welcome/" not in again.content  # not shown again: a new link is made on request
    relinked = browser.post(reverse("hub:person-invite", args=[person.pk]))
    assert b"/welcome/" in relinked.content and _last("person.invited").object_id == str(person.pk)


def test_a_supervisors_person_page_offers_only_what_they_may_do(cast: dict[str, Persona]) -> None:
    officer = cast["kent_officer"].user
    page = _web(cast["kent_supervisor"].user).get(reverse("hub:person", args=[officer.pk])).content.decode()
    assert reverse("hub:person-active", args=[officer.pk]) in page
    assert reverse("hub:person-move", args=[officer.pk]) in page
    assert reverse("hub:person-token", args=[officer.pk]) not in page  # tokens are the administrator's
    admin_page = (
        _web(cast["administrator"].user).get(reverse("hub:person", args=[officer.pk])).content.decode()
    )
    assert reverse("hub:person-token", args=[officer.pk]) in admin_page


def test_the_policy_page_previews_before_it_saves(cast: dict[str, Persona]) -> None:
    make_task(grade=3, risk="low", accepted=True)
    browser = _web(cast["administrator"].user)
    policy = _policy()
    form = {
        "accept_within": "3 00:00:00",
        "act_within": "10 00:00:00",
        "escalation_step_wait": "1 00:00:00",
        "acknowledgement_grace": "1 00:00:00",
        "max_pause": "30 00:00:00",
        "reason": "",
    }
    preview = browser.post(reverse("hub:deadline-policy-edit", args=[policy.pk]), {**form, "preview": "1"})
    assert preview.status_code == 200 and b"data-preview" in preview.content
    assert b"data-would-tighten>1<" in preview.content
    assert _policy().act_within == timedelta(days=30)
    no_reason = browser.post(reverse("hub:deadline-policy-edit", args=[policy.pk]), {**form, "save": "1"})
    assert no_reason.status_code == 400 and _policy().act_within == timedelta(days=30)
    saved = browser.post(
        reverse("hub:deadline-policy-edit", args=[policy.pk]), {**form, "reason": "HMICFRS", "save": "1"}
    )
    assert saved.status_code == 302 and _policy().act_within == timedelta(days=10)


@pytest.mark.parametrize(
    ("value", "said"),
    [
        (timedelta(days=30), "30 days"),
        (timedelta(hours=4), "4 h"),
        (timedelta(days=1, hours=2, minutes=30), "1 day 2 h 30 min"),
        ("30 days, 0:00:00", "30 days"),
        ("0:15:00", "15 min"),
        (None, "—"),
    ],
)
def test_durations_read_as_a_person_says_them(value: Any, said: str) -> None:
    from hub.templatetags.people import span

    assert span(value) == said
