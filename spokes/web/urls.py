"""The holder's pages, in the ``spokes`` namespace."""

from __future__ import annotations

from django.urls import path

from spokes.web import views

app_name = "spokes"

urlpatterns = [
    path("tasks/", views.task_list, name="tasks"),
    path("tasks/<uuid:pk>/", views.task_detail, name="task"),
    path("tasks/<uuid:pk>/accept/", views.task_accept_view, name="task-accept"),
    path("tasks/<uuid:pk>/decline/", views.task_decline_view, name="task-decline"),
    path("tasks/<uuid:pk>/hand-down/", views.task_hand_down_view, name="task-hand-down"),
    path("tasks/<uuid:pk>/leads/", views.lead_create_view, name="lead-create"),
    path("tasks/<uuid:pk>/pause/", views.task_pause_view, name="task-pause"),
    path("tasks/<uuid:pk>/reassessment/", views.task_reassess_view, name="task-reassess"),
    path("tasks/<uuid:pk>/resume/", views.task_resume_view, name="task-resume"),
    path("leads/<uuid:pk>/", views.lead_update_view, name="lead-update"),
    path("tasks/<uuid:pk>/children/", views.child_add_view, name="child-add"),
    path("children/<uuid:pk>/checks/", views.child_check_view, name="child-check"),
    path("tasks/<uuid:pk>/suspect-events/", views.suspect_event_view, name="suspect-event"),
    path("children/<uuid:pk>/handoffs/", views.handoff_offer_view, name="handoff-offer"),
    path("handoffs/", views.handoff_list, name="handoffs"),
    path("review/", views.safeguarding_review_view, name="review"),
    path("tasks/<uuid:pk>/requests/", views.external_request_add_view, name="request-add"),
    path("requests/<uuid:pk>/", views.external_request_update_view, name="request-update"),
    path("handoffs/<uuid:pk>/answer/", views.handoff_answer_view, name="handoff-answer"),
    path("handoffs/<uuid:pk>/revoke/", views.handoff_revoke_view, name="handoff-revoke"),
    path("tasks/<uuid:pk>/conference/", views.conference_request_view, name="conference-request"),
    path("conferences/", views.conference_list, name="conferences"),
    path("tasks/<uuid:pk>/media/", views.media_review_view, name="media-review"),
    path("exposure/", views.exposure_log_view, name="exposure-log"),
    path("welfare/", views.welfare_view, name="welfare"),
    path("welfare/debriefs/", views.welfare_debrief_view, name="welfare-debrief"),
    path("conferences/<uuid:pk>/answer/", views.conference_answer_view, name="conference-answer"),
]
