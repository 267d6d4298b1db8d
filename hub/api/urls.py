"""Hub routes under /api/v1/."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from hub.api.organisations import OrganisationViewSet

router = SimpleRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")

urlpatterns = router.urls
