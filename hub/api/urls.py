"""Hub routes under /api/v1/."""

from __future__ import annotations

from rest_framework.routers import SimpleRouter

from hub.api.alerts import EscalationViewSet, NotificationViewSet
from hub.api.audit import AuditEventViewSet, AuditStatusViewSet
from hub.api.oncall import OnCallViewSet
from hub.api.organisations import OrganisationViewSet
from hub.api.people import ContactViewSet, DeadlinePolicyViewSet, PeopleViewSet, TokenViewSet
from hub.api.referrals import ReferralViewSet
from hub.api.tasks import TaskViewSet

router = SimpleRouter()
router.register("organisations", OrganisationViewSet, basename="organisation")
router.register("referrals", ReferralViewSet, basename="referral")
router.register("tasks", TaskViewSet, basename="task")
router.register("notifications", NotificationViewSet, basename="notification")
router.register("escalations", EscalationViewSet, basename="escalation")
router.register("on-call", OnCallViewSet, basename="on-call")
router.register("people", PeopleViewSet, basename="person")
router.register("tokens", TokenViewSet, basename="token")
router.register("contacts", ContactViewSet, basename="contact")
router.register("deadline-policy", DeadlinePolicyViewSet, basename="deadline-policy")
router.register("audit/events", AuditEventViewSet, basename="audit-event")
router.register("audit", AuditStatusViewSet, basename="audit-status")

urlpatterns = router.urls
