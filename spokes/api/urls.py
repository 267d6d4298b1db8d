from __future__ import annotations

from rest_framework.routers import SimpleRouter

from spokes.api.views import (
    ChildViewSet,
    ConferenceRequestViewSet,
    ExposureViewSet,
    ExternalRequestViewSet,
    HandoffViewSet,
    LeadViewSet,
    TaskVictimRecordViewSet,
    TaskWorkViewSet,
)

router = SimpleRouter()
router.register("tasks", TaskWorkViewSet, basename="task-work")
router.register("tasks", TaskVictimRecordViewSet, basename="task-victim-record")
router.register("leads", LeadViewSet, basename="lead")
router.register("children", ChildViewSet, basename="child")
router.register("handoffs", HandoffViewSet, basename="handoff")
router.register("requests", ExternalRequestViewSet, basename="external-request")
router.register("conference-requests", ConferenceRequestViewSet, basename="conference-request")
router.register("exposure", ExposureViewSet, basename="exposure")
urlpatterns = router.urls
