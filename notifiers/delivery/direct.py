"""Pages sent at once, outside the outbox: for when the outbox itself cannot be trusted.

The outbox needs the task cluster to send; a page that says the task cluster is stuck
cannot wait for it. `page_oncall` renders the message with each channel's own templates
and sends it through the channel's own `send_batch` (its provider SDK), synchronously, in
the calling process (the engine, the watchdog). Nothing is recorded in the outbox and
nothing is retried: the caller logs what failed, and the CRITICAL log line and the
watchdog's exit status are the pagers of last resort.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from notifiers.channels.oncall import oncall_targets
from notifiers.models import ClaimedSubscriber
from notifiers.registry import SendResult, get_channel

log = logging.getLogger(__name__)


@dataclass
class DirectDelivery:
    """What a channel's send_batch reads of a delivery; id 0, as no outbox row exists."""

    target: str
    id: int = 0
    subscriber: ClaimedSubscriber | None = None
    segments: int = 1


def email_one(kind: str, context: dict, address: str) -> bool:
    """Email one address the email channel's `kind` message (templates/messages/email/) now,
    outside the outbox: the one-time links (staff sign-in, members' sign-in, invitations),
    sent by the task the request queued. True when the provider took it; a failure is logged."""
    channel = get_channel("email")
    message = channel.render_direct(kind, context)
    [result] = channel.send_batch(message, [DirectDelivery(address)])  # type: ignore[list-item]
    if result.error is not None:
        log.error("%s email not sent: %s", kind, result.error)
    return result.error is None


def page_oncall(channels: list[str], kind: str, context: dict) -> dict[str, list[SendResult]]:
    """Send `kind` to every on-call contact on each channel that can page directly; a
    channel that fails is logged and the others still send."""
    results = {}
    for name in channels:
        try:
            channel = get_channel(name)
            if not channel.direct_field:
                log.error("channel %s cannot page outside the outbox; skipped", name)
                continue
            targets = [DirectDelivery(t.address) for t in oncall_targets(channel.direct_field)]
            if not targets:
                log.error("%s page %s: no one on call has an address for it", kind, name)
                continue
            message = channel.render_direct(kind, context)
            results[name] = channel.send_batch(message, targets)  # type: ignore[arg-type]
        except Exception:
            log.exception("%s page on %s failed", kind, name)
            continue
        for result in results[name]:
            if result.error is not None:
                log.error("%s page on %s failed: %s", kind, name, result.error)
    return results
