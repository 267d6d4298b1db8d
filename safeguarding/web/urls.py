"""The safeguarding app's pages, in the ``safeguarding`` namespace: the task page's fragments,
the accountability reports and outcome feedback."""

from __future__ import annotations

from django.urls import path

from safeguarding.web.views import feedback, fragments, monthly, reports, trends

app_name = "safeguarding"

urlpatterns = [
    path("tasks/<uuid:pk>/safeguarding/", fragments.task_safeguarding, name="actions"),
    path("tasks/<uuid:pk>/outcome/", fragments.task_outcome, name="outcome"),
    path("tasks/<uuid:pk>/outcome/amend/", fragments.task_outcome_amend, name="outcome-amend"),
    path("reports/", reports.reports, name="reports"),
    path("reports/trends/", trends.trends, name="trends"),
    path("reports/monthly/", monthly.monthly_list, name="monthly"),
    path("reports/monthly/<uuid:pk>/", monthly.monthly_download, name="monthly-download"),
    path("feedback/", feedback.feedback, name="feedback"),
    path("feedback/ours/", feedback.agency_delivery_log, name="our-deliveries"),
    path("feedback/endpoints/<uuid:pk>/", feedback.endpoint_detail, name="endpoint"),
    path(
        "feedback/endpoints/<uuid:pk>/rotate-secret/",
        feedback.endpoint_rotate_secret,
        name="endpoint-rotate-secret",
    ),
    path(
        "feedback/endpoints/<uuid:pk>/send-outstanding/",
        feedback.endpoint_send_outstanding,
        name="endpoint-send-outstanding",
    ),
    path(
        "feedback/changes/<uuid:pk>/decide/",
        feedback.webhook_change_decide_view,
        name="webhook-change-decide",
    ),
    path("feedback/deliveries/<uuid:pk>/replay/", feedback.delivery_replay_view, name="delivery-replay"),
]
