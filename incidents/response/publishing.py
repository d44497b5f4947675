"""From an incident update to announcements: who to tell, on which channels, once.

Only registered channels are announced on; an unregistered one is reported back (the
clock records it as a visible note), never dropped in silence.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING

from incidents.models import PAGE_CHANNEL, Action, FiredStep, Incident, IncidentUpdate
from notifiers.delivery.dispatch import announce, reopen_fan_out
from notifiers.models import Announcement, Recipients
from notifiers.registry import channel_choices, registered
from statuspage.models import Audience

if TYPE_CHECKING:
    from collections.abc import Sequence

PUBLIC_RECIPIENTS = (
    Recipients.APP_USERS,
    Recipients.COMPONENT_TOPICS,
    Recipients.SUBSCRIBERS,
    Recipients.PUBLIC,
)
PUSH = "push"


@dataclass
class Outcome:
    announced: list[Announcement] = field(default_factory=list)
    unavailable: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)

    def note(self) -> str:
        notes = list(self.warnings)
        if self.unavailable:
            notes.insert(0, "channel not available: " + ", ".join(sorted(set(self.unavailable))))
        return "; ".join(notes)


def registered_channels() -> set[str]:
    return {name for name, _ in channel_choices()}


def incident_audiences(incident: Incident) -> list[Audience]:
    return list(Audience.objects.filter(components__incidents=incident).distinct())


# Never told of an incident private to some audiences: they reach people outside them.
NOT_FOR_PRIVATE = (Recipients.COMPONENT_TOPICS, Recipients.PUBLIC)


def recipient_audiences(incident: Incident, recipients: str) -> Sequence[Audience | None]:
    """The audiences to announce to: for app users, those of the affected components, or
    of a private incident only its own audiences (their apps); one announcement otherwise."""
    if recipients != Recipients.APP_USERS:
        return [None]
    private_to = list(incident.private_to.all())
    return private_to or incident_audiences(incident)


def publish(update: IncidentUpdate, recipients: str, channels: list[str], now: datetime) -> Outcome:
    """Announce one update to one kind of recipients on each named channel; a private
    incident never to the public (social networks, public webhooks, component topics),
    and to subscribers only of its audiences' pages (SubscriberQuerySet.hearing_about)."""
    outcome = Outcome()
    private = update.incident.is_private
    if private and recipients in NOT_FOR_PRIVATE:
        outcome.warnings.append(f"private incident: not announced to {recipients}")
        return outcome
    available = registered_channels()
    audiences = recipient_audiences(update.incident, recipients)
    for channel in channels:
        if channel == PAGE_CHANNEL:
            continue
        if channel not in available:
            outcome.unavailable.append(channel)
            continue
        for audience in audiences:
            outcome.announced.append(announce(update, channel, recipients, audience, now))
        if recipients == Recipients.APP_USERS and channel == PUSH and not private:
            # Pushes to the apps also reach installs that follow the affected components.
            outcome.announced.append(announce(update, PUSH, Recipients.COMPONENT_TOPICS, None, now))
    return outcome


def tells_oncall(update: IncidentUpdate) -> bool:
    """The resolution also goes to the on-call staff who were paged."""
    return update.kind == IncidentUpdate.Kind.RESOLVED


def told(incident: Incident, oncall: bool = False) -> list[tuple[str, str, int | None]]:
    """Every (channel, recipients, audience id) the public (and, if asked, on-call staff)
    was told about this incident on."""
    recipients = [*PUBLIC_RECIPIENTS, Recipients.ONCALL] if oncall else PUBLIC_RECIPIENTS
    return list(
        Announcement.objects.filter(update__incident=incident, recipients__in=recipients)
        .values_list("channel", "recipients", "audience_id")
        .distinct()
        .order_by("channel", "recipients", "audience_id")
    )


def publish_to_told(update: IncidentUpdate, now: datetime) -> list[Announcement]:
    """A new update goes to everyone already told, on the channels they were told on that
    carry its kind (a postmortem goes by email only); the resolution also goes to the
    on-call staff who were paged."""
    if not update.deliver_notifications:
        return []
    # Looked up by an announcement's audience id, which is None for other recipients.
    audiences: dict[int | None, Audience] = {a.id: a for a in Audience.objects.all()}
    classes = registered()
    return [
        announce(update, channel, recipients, audiences.get(audience_id), now)
        for channel, recipients, audience_id in still_told(update.incident, tells_oncall(update))
        if channel in classes and classes[channel].carries_kind(update.kind)
    ]


def still_told(incident: Incident, oncall: bool) -> list[tuple[str, str, int | None]]:
    """Those told so far, less the public side once the incident was made private to some
    audiences (and other audiences' apps): its later updates stay within them."""
    everyone = told(incident, oncall)
    private_to = set(incident.private_to.values_list("id", flat=True))
    if not private_to:
        return everyone
    return [
        (channel, recipients, audience_id)
        for channel, recipients, audience_id in everyone
        if recipients not in NOT_FOR_PRIVATE
        and (recipients != Recipients.APP_USERS or audience_id in private_to)
    ]


def tell_the_newly_allowed(incident: Incident, now: datetime) -> list[Announcement]:
    """An open incident made public, or private to more audiences: its latest update goes
    to those its publishing steps could not reach while they were not allowed to hear of
    it, so they are not left in silence until its next update. Each fired publish step is
    published again (announcements are once per update, channel, recipients and audience:
    those already told are not told twice), and the update's subscriber announcements fan
    out again over the subscribers now allowed (a delivery is once per subscriber)."""
    if not incident.is_open or incident.published_at is None:
        return []
    update = incident.latest_public_update()
    if update is None or not update.deliver_notifications:
        return []
    fired = FiredStep.objects.filter(
        incident=incident, outcome=FiredStep.Outcome.FIRED, step__action=Action.PUBLISH
    ).select_related("step")
    steps = {(r.step.recipients, tuple(r.step.channels)) for r in fired if r.step is not None}
    fanned_out = list(update.announcements.filter(recipients=Recipients.SUBSCRIBERS))
    announced = [
        announcement
        for recipients, channels in sorted(steps)
        for announcement in publish(update, recipients, list(channels), now).announced
    ]
    for announcement in fanned_out:
        reopen_fan_out(announcement, now)
    return announced
