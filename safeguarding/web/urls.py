"""Safeguarding fragments of the task page, in the ``safeguarding`` namespace."""

from __future__ import annotations

from django.urls import path

from safeguarding.web import views

app_name = "safeguarding"

urlpatterns = [
    path("tasks/<uuid:pk>/safeguarding/", views.task_safeguarding, name="actions"),
    path("tasks/<uuid:pk>/outcome/", views.task_outcome, name="outcome"),
]
