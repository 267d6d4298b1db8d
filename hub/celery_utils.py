"""The house decorator for Celery jobs: a queue, time limits, acks_late and bounded retries
on every job, so no job can be declared without them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from celery import shared_task  # noqa: TID251  (this module is the one sanctioned wrapper)

MAX_COUNTDOWN_SECONDS = 300  # far below the Redis visibility timeout (3600 s)


def vihub_job(
    *,
    queue: str = "default",
    soft_time_limit: int = 60,
    time_limit: int = 90,
    autoretry_for: tuple[type[BaseException], ...] = (),
    max_retries: int = 5,
    **options: Any,
) -> Callable[[Callable[..., Any]], Any]:
    def decorator(func: Callable[..., Any]) -> Any:
        return shared_task(
            queue=queue,
            soft_time_limit=soft_time_limit,
            time_limit=time_limit,
            acks_late=True,
            reject_on_worker_lost=True,
            autoretry_for=autoretry_for,
            retry_backoff=True,
            retry_jitter=True,
            max_retries=max_retries,
            **options,
        )(func)

    return decorator
