"""What every channel is: render an announcement, send a batch of deliveries, report results."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from notifiers.models import Announcement, Delivery


class DeliveryError(Exception):
    """A send that failed. `permanent` errors are final and never retried."""

    permanent: ClassVar[bool] = False

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class TransientError(DeliveryError):
    permanent = False


class PermanentError(DeliveryError):
    permanent = True


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

    def targets(self, announcement: Announcement) -> list[str]:
        """The addresses (topics, tokens, numbers...) this announcement goes to."""
        raise NotImplementedError

    def render(self, announcement: Announcement) -> Any:
        """The message, rendered from templates/messages/<channel>/ once per announcement."""
        raise NotImplementedError

    def send_batch(self, message: Any, deliveries: list[Delivery]) -> list[SendResult]:
        """Send one rendered message to each delivery's target; one result per delivery."""
        raise NotImplementedError
