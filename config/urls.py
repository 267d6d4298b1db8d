"""URL configuration: the API under /api/v1/, the OpenAPI document, health, metrics, and the web UI."""

from __future__ import annotations

from django.urls import URLPattern, URLResolver, include, path
from drf_spectacular.views import SpectacularAPIView
from rest_framework.permissions import AllowAny

from hub.views_health import healthz
from hub.views_metrics import metrics_view

api_v1: list[URLPattern | URLResolver] = [
    path("", include("hub.api.urls")),
    path("", include("spokes.api.urls")),
    path("", include("safeguarding.api.urls")),
    path(
        "schema/",
        SpectacularAPIView.as_view(permission_classes=[AllowAny], authentication_classes=[]),
        name="schema",
    ),
]

urlpatterns = [
    path("api/v1/", include(api_v1)),
    path("healthz", healthz, name="healthz"),
    path("metrics", metrics_view, name="metrics"),  # Prometheus; 404 unless VIHUB_METRICS_TOKEN is set
    path("", include("hub.web.urls")),
    path("", include("spokes.web.urls")),
    path("", include("safeguarding.web.urls")),
]

# The database unreachable (a restart, a failover) answers 503 with Retry-After, not a 500.
handler500 = "hub.middleware.server_error"
