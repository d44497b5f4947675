"""What one run of a check found: the only thing a check hands back to the engine."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CheckOutcome:
    ok: bool
    latency_ms: float
    status_code: int | None = None
    error: str = ""
    # A passing check close to a limit (TLS expiry): shown to staff, not an outage.
    warning: str = ""
    # What a failure means for the component; empty: the probe's own outage_status.
    status: str = ""
