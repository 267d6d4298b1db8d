"""Web UI routes (server-rendered pages). Sign-in, sign-out and the landing page keep their
global names (settings.LOGIN_URL and LOGIN_REDIRECT_URL use them); the hub's pages are in
the ``hub`` namespace."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from hub.web import factors, passkeys
from hub.web.kept import SignInView
from hub.web.views import account, admin, agency, audit, board, inbox, landing, oncall, people, referrals

hub_patterns: list[URLPattern | URLResolver] = [
    path("triage/", referrals.triage, name="triage"),
    path("referrals/<uuid:pk>/", referrals.referral_detail, name="referral"),
    path("referrals/<uuid:pk>/grade/", referrals.referral_grade, name="referral-grade"),
    path(
        "referrals/<uuid:pk>/non-actionable/",
        referrals.referral_non_actionable,
        name="referral-non-actionable",
    ),
    path("referrals/<uuid:pk>/close/", referrals.referral_close_view, name="referral-close"),
    path("referrals/<uuid:pk>/matches/", referrals.referral_rematch, name="referral-rematch"),
    path("on-call/", oncall.on_call, name="on-call"),
    path("on-call/<uuid:pk>/remove/", oncall.on_call_remove, name="on-call-remove"),
    path("board/", board.board, name="board"),
    path("board/<uuid:pk>/reassign/", board.task_reassign_view, name="task-reassign"),
    path("board/<uuid:pk>/cancel/", board.task_cancel_view, name="task-cancel"),
    path("agency/", agency.agency_referrals, name="agency"),
    path("inbox/", inbox.inbox, name="inbox"),
    path("inbox/<uuid:pk>/read/", inbox.notification_read, name="notification-read"),
    path("tasks/<uuid:pk>/acknowledge/", inbox.task_acknowledge_view, name="task-acknowledge"),
    path("people/", people.people, name="people"),
    path("people/<uuid:pk>/reset-factors/", people.factors_reset_view, name="factors-reset"),
    path("people/add/", admin.person_add_view, name="person-add"),
    path("people/<uuid:pk>/", admin.person_detail, name="person"),
    path("people/<uuid:pk>/edit/", admin.person_edit_view, name="person-edit"),
    path("people/<uuid:pk>/move/", admin.person_move_view, name="person-move"),
    path("people/<uuid:pk>/active/", admin.person_active_view, name="person-active"),
    path("people/<uuid:pk>/invite/", admin.person_invite_view, name="person-invite"),
    path("people/<uuid:pk>/tokens/", admin.token_issue_view, name="person-token"),
    path("tokens/", admin.tokens, name="tokens"),
    path("tokens/<uuid:pk>/revoke/", admin.token_revoke_view, name="token-revoke"),
    path("contacts/", admin.contacts, name="contacts"),
    path("contacts/<uuid:pk>/", admin.contact_edit, name="contact-edit"),
    path("deadline-policy/", admin.deadline_policy, name="deadline-policy"),
    path("deadline-policy/<int:pk>/", admin.deadline_policy_edit, name="deadline-policy-edit"),
    path("audit/", audit.audit_trail, name="audit"),
    path("audit/export/", audit.audit_export, name="audit-export"),
    path("audit/verification/", audit.audit_verification, name="audit-verification"),
    path("audit/tasks/<uuid:pk>/", audit.audit_task_timeline, name="audit-task"),
    path("audit/referrals/<uuid:pk>/", audit.audit_referral_timeline, name="audit-referral"),
]

urlpatterns = [
    path("", landing.home, name="home"),
    path("login/", SignInView.as_view(), name="login"),
    path("two-factor/", factors.second_factor, name="two-factor"),
    path("two-factor/enrol/", factors.enrol, name="two-factor-enrol"),
    path("two-factor/confirm/", factors.step_up, name="step-up"),
    path("two-factor/manage/", account.manage, name="two-factor-manage"),
    path("two-factor/passkeys/", include((passkeys.urlpatterns, "otp_webauthn"))),
    path("resume/", landing.resume, name="resume"),
    path("welcome/<str:uidb64>/<str:token>/", admin.welcome, name="welcome"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include((hub_patterns, "hub"))),
]
