from __future__ import annotations

from rest_framework.routers import SimpleRouter

from safeguarding.api.views import ReferralOutcomeViewSet, TaskSafeguardingViewSet

router = SimpleRouter()
router.register("tasks", TaskSafeguardingViewSet, basename="task-safeguarding")
router.register("referrals", ReferralOutcomeViewSet, basename="referral-outcome")
urlpatterns = router.urls
