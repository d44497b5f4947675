"""What staff need on an incident: when the failure began, what failed, how slow it was."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from statuspage.checks.outcome import CheckOutcome

EVIDENCE_SAMPLES = 5


class Evidence:
    """Probe's `evidence`: the first failure time, the last few error samples, latencies."""

    if TYPE_CHECKING:
        evidence: dict[str, Any]
        consecutive_failures: int

    @property
    def last_error(self) -> str:
        samples = (self.evidence or {}).get("samples") or []
        return samples[-1]["error"] if samples else ""

    def collect_evidence(self, outcome: CheckOutcome, now: datetime) -> None:
        """Start afresh with a new run of failures, then keep the newest samples."""
        if self.consecutive_failures == 1 or not self.evidence:
            self.evidence = {"first_failure_at": now.isoformat(), "samples": [], "failures": 0}
        samples = self.evidence["samples"][-(EVIDENCE_SAMPLES - 1) :]
        samples.append(
            {
                "at": now.isoformat(),
                "error": outcome.error,
                "latency_ms": outcome.latency_ms,
                "status_code": outcome.status_code,
            }
        )
        latencies = [s["latency_ms"] for s in samples]
        self.evidence.update(
            samples=samples,
            failures=self.evidence["failures"] + 1,
            latency_ms={
                "last": outcome.latency_ms,
                "max": max(latencies),
                "mean": round(sum(latencies) / len(latencies), 1),
            },
        )
