"""/metrics: Prometheus text format, for the operators' scraper only.

Not public: without ``VIHUB_METRICS_TOKEN`` the address does not exist (404); with it, a
request must carry ``Authorization: Bearer <token>`` (compared in constant time), else 401.
A plain Django view like /healthz: outside the API, its OpenAPI document and the policy
registry's pages, and never touching the session or the audit trail.

What it returns: the request metrics (django-prometheus middleware: latency histograms and
counts by view, method and status) and the gauges ``hub.metrics`` computes from the database and
Redis at each scrape. The request metrics live in each process's memory, so with several gunicorn
workers a scrape sees one worker's; set ``PROMETHEUS_MULTIPROC_DIR`` (prometheus_client's
multiprocess mode, docs/deploy.md) and every worker's are added up.
"""

from __future__ import annotations

import hmac
import os

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.http import require_GET
from prometheus_client import REGISTRY, CollectorRegistry, generate_latest, multiprocess
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from hub import metrics


def _bearer(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    expected: str = settings.VIHUB_METRICS_TOKEN
    if not expected:
        raise Http404
    if not hmac.compare_digest(_bearer(request).encode(), expected.encode()):
        response = HttpResponse("A valid metrics token is required.\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        requests = CollectorRegistry()
        multiprocess.MultiProcessCollector(requests)  # type: ignore[no-untyped-call]
    else:
        requests = REGISTRY
    body = generate_latest(requests) + generate_latest(metrics.registry)
    return HttpResponse(body, content_type=CONTENT_TYPE_PLAIN_0_0_4)  # every Prometheus reads it
