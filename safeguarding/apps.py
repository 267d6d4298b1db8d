from __future__ import annotations

from django.apps import AppConfig


class SafeguardingConfig(AppConfig):
    """What happened to the children and the case: actions, outcomes, feedback upstream."""

    name = "safeguarding"

    def ready(self) -> None:
        from hub.hooks import register_demo_seeder, register_outcome_view, register_referral_listener
        from hub.metrics import register_metrics
        from safeguarding import policies  # noqa: F401  (the app's rows of the policy registry)
        from safeguarding.api.views import outcome_as_dict
        from safeguarding.demo import seed_feedback
        from safeguarding.demo_history import seed_history
        from safeguarding.feedback import outbox_emit
        from safeguarding.metrics import webhook_metrics

        register_outcome_view(outcome_as_dict)
        register_demo_seeder(seed_feedback)
        register_demo_seeder(seed_history)
        register_referral_listener(outbox_emit)  # returns the event; the hook ignores it
        register_metrics(webhook_metrics)  # the webhook backlog on /metrics
