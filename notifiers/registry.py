"""What every channel is (render an announcement, send a batch, report results) and where
each is found.

Channels live one module each in `notifiers.channels`; each registers its class here with
`@register`. The package is imported once at startup (`NotifiersConfig.ready`), so code at any
layer asks this registry for a channel by name without importing the channel modules.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from notifiers.models import Announcement, ClaimedDelivery


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
    name: ClassVar[str]
    label: ClassVar[str]
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


_registry: dict[str, type[Channel]] = {}


def register(cls: type[Channel]) -> type[Channel]:
    _registry[cls.name] = cls
    return cls


def registered() -> dict[str, type[Channel]]:
    """Every registered channel class by name."""
    return _registry


def get_channel(name: str) -> Channel:
    return _registry[name]()


def channel_choices() -> list[tuple[str, str]]:
    return [(name, cls.label) for name, cls in sorted(_registry.items())]
