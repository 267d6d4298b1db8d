from __future__ import annotations

from rest_framework.routers import SimpleRouter

from spokes.api.views import LeadViewSet, TaskWorkViewSet

router = SimpleRouter()
router.register("tasks", TaskWorkViewSet, basename="task-work")
router.register("leads", LeadViewSet, basename="lead")
urlpatterns = router.urls
