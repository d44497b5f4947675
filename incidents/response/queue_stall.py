"""When the task queue stops moving, page on-call staff without it, once; say when it moves.

`check_queue` is an ENGINE["HOUSEKEEPING"] job and is run by `manage.py watchdog` too. It
reads `queue_health`; on a stall the one process whose conditional UPDATE raises the
TaskQueueBeat alarm pages (several engines and a watchdog never page twice), and the first
to see tasks finish after it clears the alarm and says so. The page goes out through
`notifiers.delivery.direct`, synchronously from this process: the outbox would need the
very cluster that is stuck. Worded in templates/messages/<channel>/queue_*.txt.
"""

from __future__ import annotations

import logging
from datetime import datetime

from django.conf import settings

from notifiers.delivery.direct import page_oncall
from notifiers.delivery.queue_health import QueueHealth, queue_health
from notifiers.models import TaskQueueBeat

log = logging.getLogger(__name__)

STALLED = "queue_stalled"
MOVING = "queue_moving"


def check_queue(now: datetime) -> QueueHealth:
    health = queue_health(now)
    if health.stalled:
        if TaskQueueBeat.raise_alarm(health.queue, now):
            log.critical(
                "task queue %s stalled: %d tasks queued, the oldest for %.0f s, none finished "
                "since; paging on-call",
                health.queue,
                health.depth,
                health.oldest_age_seconds or 0,
            )
            page(STALLED, health, now)
    elif moving_again(health) and TaskQueueBeat.clear_alarm(health.queue):
        log.warning("task queue %s moving again", health.queue)
        page(MOVING, health, now)
    return health


def moving_again(health: QueueHealth) -> bool:
    """A task finished after the alarm was raised, or nothing is left waiting."""
    raised = health.alarm_raised_at
    if raised is None:
        return False
    finished = health.last_finished_at is not None and health.last_finished_at > raised
    return finished or health.depth == 0


def page(kind: str, health: QueueHealth, now: datetime) -> None:
    context = {
        "health": health,
        "alarm_raised_at": health.alarm_raised_at,
        "now": now,
        "page_name": settings.STATUSPAGE["NAME"],
        "console_url": f"{settings.STATUSPAGE['URL']}/manage/",
        "incident_url": f"{settings.STATUSPAGE['URL']}/manage/",
    }
    page_oncall(settings.ENGINE["INTERRUPTION_CHANNELS"], kind, context)
