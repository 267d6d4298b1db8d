from __future__ import annotations

from rest_framework.routers import SimpleRouter

from safeguarding.api.reports import ReportViewSet
from safeguarding.api.views import ReferralOutcomeViewSet, TaskSafeguardingViewSet
from safeguarding.api.webhooks import (
    DeliveryViewSet,
    FeedbackStatsViewSet,
    WebhookChangeViewSet,
    WebhookViewSet,
)

router = SimpleRouter()
router.register("tasks", TaskSafeguardingViewSet, basename="task-safeguarding")
router.register("referrals", ReferralOutcomeViewSet, basename="referral-outcome")
router.register("webhooks", WebhookViewSet, basename="webhook")
router.register("webhook-changes", WebhookChangeViewSet, basename="webhook-change")
router.register("deliveries", DeliveryViewSet, basename="delivery")
router.register("feedback", FeedbackStatsViewSet, basename="feedback")
router.register("reports", ReportViewSet, basename="report")
urlpatterns = router.urls
