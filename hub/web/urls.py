"""Web UI routes (server-rendered pages). Sign-in, sign-out and the landing page keep their
global names (settings.LOGIN_URL and LOGIN_REDIRECT_URL use them); the hub's pages are in
the ``hub`` namespace."""

from __future__ import annotations

from django.contrib.auth import views as auth_views
from django.urls import URLPattern, URLResolver, include, path

from hub.web import views

hub_patterns: list[URLPattern | URLResolver] = [
    path("triage/", views.triage, name="triage"),
    path("referrals/<uuid:pk>/", views.referral_detail, name="referral"),
    path("referrals/<uuid:pk>/grade/", views.referral_grade, name="referral-grade"),
    path(
        "referrals/<uuid:pk>/non-actionable/", views.referral_non_actionable, name="referral-non-actionable"
    ),
    path("referrals/<uuid:pk>/close/", views.referral_close_view, name="referral-close"),
    path("board/", views.board, name="board"),
    path("board/<uuid:pk>/reassign/", views.task_reassign_view, name="task-reassign"),
    path("agency/", views.agency_referrals, name="agency"),
    path("inbox/", views.inbox, name="inbox"),
    path("inbox/<uuid:pk>/read/", views.notification_read, name="notification-read"),
    path("tasks/<uuid:pk>/acknowledge/", views.task_acknowledge_view, name="task-acknowledge"),
    path("audit/", views.audit_trail, name="audit"),
    path("audit/export/", views.audit_export, name="audit-export"),
    path("audit/verification/", views.audit_verification, name="audit-verification"),
    path("audit/tasks/<uuid:pk>/", views.audit_task_timeline, name="audit-task"),
    path("audit/referrals/<uuid:pk>/", views.audit_referral_timeline, name="audit-referral"),
]

urlpatterns = [
    path("", views.home, name="home"),
    path("login/", auth_views.LoginView.as_view(redirect_authenticated_user=True), name="login"),
    path("logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("", include((hub_patterns, "hub"))),
]
