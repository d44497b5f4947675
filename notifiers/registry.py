"""What every channel is (render an announcement, send a batch, report results), what it
declares about itself, and where each is found.

Channels live one module each in `notifiers.channels`; each registers its class here with
`@register`. At startup `NotifiersConfig.ready` hands this registry the package's loader, which
runs on the first question asked of the registry (the providers' SDKs take seconds to import,
which a process that never sends should not pay). So code at any layer asks this registry for
a channel by name without importing the channel modules: the
console's preview, the render-time limit check and the default escalation policy read what
each channel declares (its message parts and their limits, whom it reaches, its slot in the
default policy, its sandbox module) from here.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings

from notifiers.recipients import Recipients

if TYPE_CHECKING:
    from notifiers.models import Announcement, ClaimedDelivery

# The kinds of update every channel words (templates/messages/<channel>/<kind>_<part>.txt),
# and the ones only channels that reach on-call staff word as well (incidents.models'
# IncidentUpdate.Kind, which sits above this module).
PUBLIC_KINDS = (
    "opened",
    "update",
    "recovering",
    "relapsed",
    "resolved",
    "holding",
    "maintenance_scheduled",
    "maintenance_started",
    "maintenance_completed",
)
ONCALL_KINDS = ("paging", "reminder", "monitoring_interrupted", "monitoring_restored")
# Kinds only the channels that declare them in `Channel.extra_kinds` word and carry.
CARRIED_KINDS = ("postmortem",)
MINUTE = 60

Measure = Callable[[str, int], str]
"""How a provider counts a text against a limit: (text, limit) -> "" if within it, else what
is over ("4 segments (UCS-2, 202 characters); the limit is 3 segments")."""


@dataclass(frozen=True)
class Limit:
    """A part's length limit: `default`, unless settings.MESSAGE_LIMITS[`setting`] says
    otherwise, counted the provider's way (`measure`, from notifiers.lengths)."""

    setting: str
    default: int
    measure: Measure

    def cap(self) -> int:
        return int(getattr(settings, "MESSAGE_LIMITS", {}).get(self.setting, self.default))

    def problem(self, text: str) -> str:
        return self.measure(text, self.cap())


@dataclass(frozen=True)
class Part:
    """One part of a channel's message, worded in templates/messages/<channel>/<kind>_<part>.txt.

    `preview`: shown in the console's preview (an email's HTML twin of its text is not)."""

    name: str
    limit: Limit | None = None
    preview: bool = True
    # How a text over the limit may be rewritten before anything is cut (SMS: accents
    # dropped so a text stays GSM-7); see incidents.messages.fitted.
    fold: Callable[[str], str] | None = None


@dataclass(frozen=True)
class Slot:
    """Where a channel sits in the shipped default escalation policy: `action` (a value of
    incidents.models.Action: page, publish, remind) `after` seconds, to `recipients` (a
    Recipients value; publish only). Channels sharing a slot share one step."""

    action: str
    after: int
    recipients: str = ""


class DeliveryError(Exception):
    """A send that failed. `permanent` errors are final and never retried."""

    permanent: ClassVar[bool] = False

    def __init__(
        self, message: str, retry_after: float | None = None, suppression: str = ""
    ) -> None:
        super().__init__(message)
        self.retry_after = retry_after
        # Set when the address itself is gone (STOP, invalid number, unregistered token):
        # the subscriber is suppressed so no later announcement tries it again.
        self.suppression = suppression


class TransientError(DeliveryError):
    permanent = False


class PermanentError(DeliveryError):
    permanent = True


@dataclass(frozen=True)
class Target:
    """One address to deliver to, and the subscriber it belongs to (if any)."""

    address: str
    subscriber_id: int | None = None


@dataclass
class SendResult:
    delivery_id: int
    provider_id: str = ""
    error: DeliveryError | None = None

    @property
    def ok(self) -> bool:
        return self.error is None


class Channel:
    """A channel: what it declares about itself and the three things it does (targets,
    render, send_batch). The declarations without a default are required: a test checks
    every registered channel has them, their templates and its sandbox module."""

    name: ClassVar[str]
    label: ClassVar[str]
    # Its message parts, each with its length limit, in the order a reader sees them.
    parts: ClassVar[tuple[Part, ...]]
    # Whom it reaches (Recipients values): its role; targets() lists no one for the others.
    recipients: ClassVar[frozenset[str]]
    # Its slots in the shipped default escalation policy (may be empty: then only a policy
    # that names it uses it).
    escalation: ClassVar[tuple[Slot, ...]]
    # The module of notifiers/sandbox/ that stands in for its provider.
    sandbox: ClassVar[str]
    batch_size: ClassVar[int] = 100
    # The provider whose circuit breaker and pacing this channel shares.
    provider: ClassVar[str] = ""
    # Sends per second the provider allows us (None: as fast as it answers).
    per_second: ClassVar[float | None] = None
    # Lower is sent first: a backlog of a slow channel never holds up a faster one.
    priority: ClassVar[int] = 5
    # Provider requests kept in flight at once by one send task. Above 1, send_batch runs
    # in a thread and must not touch the database.
    concurrent_batches: ClassVar[int] = 1
    # Kinds of update only some channels word and carry (a postmortem: the page and email);
    # everyone told hears them on these channels only.
    extra_kinds: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def kinds(cls) -> tuple[str, ...]:
        """The update kinds it words: the public ones, those it carries, and the on-call
        ones if it pages."""
        oncall = ONCALL_KINDS if Recipients.ONCALL in cls.recipients else ()
        return PUBLIC_KINDS + cls.extra_kinds + oncall

    @classmethod
    def carries_kind(cls, kind: str) -> bool:
        return kind in PUBLIC_KINDS or kind in cls.kinds()

    @classmethod
    def part(cls, name: str) -> Part | None:
        return next((part for part in cls.parts if part.name == name), None)

    def targets(self, announcement: Announcement) -> Iterable[str | Target]:
        """The addresses (topics, tokens, numbers...) this announcement goes to.

        May be a generator: fan-out streams it in chunks, so memory stays flat.
        """
        raise NotImplementedError

    def rate(self) -> float | None:
        return self.per_second

    def render(self, announcement: Announcement) -> Any:
        """The message, rendered from templates/messages/<channel>/ once per announcement."""
        raise NotImplementedError

    def send_batch(self, message: Any, deliveries: list[ClaimedDelivery]) -> list[SendResult]:
        """Send one rendered message to each delivery's target; one result per delivery."""
        raise NotImplementedError

    # The on-call contact's field this channel pages (phone, email); "" if it cannot page
    # outside the outbox (notifiers.delivery.direct).
    direct_field: ClassVar[str] = ""

    def render_direct(self, kind: str, context: dict[str, Any]) -> Any:
        """A message worded from templates/messages/<channel>/<kind>_* with `context` alone,
        no announcement: a page sent while the outbox's task cluster may be down."""
        raise NotImplementedError


_registry: dict[str, type[Channel]] = {}
_loader: Callable[[], None] | None = None
_loading = threading.RLock()
_loaded = False


def load_with(loader: Callable[[], None]) -> None:
    """What imports every channel module; called once on the registry's first use."""
    global _loader, _loaded
    _loader, _loaded = loader, False


def register(cls: type[Channel]) -> type[Channel]:
    _registry[cls.name] = cls
    return cls


def registered() -> dict[str, type[Channel]]:
    """Every registered channel class by name."""
    global _loaded
    if not _loaded and _loader is not None:
        with _loading:
            if not _loaded:
                _loader()
                _loaded = True
    return _registry


def by_priority() -> list[type[Channel]]:
    """Every registered channel class, the most urgent first, then by name: the order the
    console shows them in and a default policy step lists them in."""
    return sorted(registered().values(), key=lambda cls: (cls.priority, cls.name))


def get_channel(name: str) -> Channel:
    return registered()[name]()


def get_channel_class(name: str) -> type[Channel] | None:
    """The class registered under `name`, or None (the page, banner and staff wording are
    rendered like messages but are not channels)."""
    return registered().get(name)


def channel_choices() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in sorted(registered().items())]
