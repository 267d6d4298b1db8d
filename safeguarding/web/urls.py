"""The safeguarding app's pages, in the ``safeguarding`` namespace: the task page's fragments,
the accountability reports and outcome feedback."""

from __future__ import annotations

from django.urls import path

from safeguarding.web import views

app_name = "safeguarding"

urlpatterns = [
    path("tasks/<uuid:pk>/safeguarding/", views.task_safeguarding, name="actions"),
    path("tasks/<uuid:pk>/outcome/", views.task_outcome, name="outcome"),
    path("reports/", views.reports, name="reports"),
    path("feedback/", views.feedback, name="feedback"),
    path("feedback/ours/", views.agency_delivery_log, name="our-deliveries"),
    path("feedback/endpoints/<uuid:pk>/", views.endpoint_detail, name="endpoint"),
    path(
        "feedback/endpoints/<uuid:pk>/rotate-secret/",
        views.endpoint_rotate_secret,
        name="endpoint-rotate-secret",
    ),
    path("feedback/deliveries/<uuid:pk>/replay/", views.delivery_replay_view, name="delivery-replay"),
]
