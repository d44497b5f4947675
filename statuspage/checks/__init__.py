"""One module per probe kind; `build_check` turns a probe row into a runnable check."""

from __future__ import annotations

from typing import TYPE_CHECKING

from statuspage.checks.dns import DnsCheck
from statuspage.checks.freshness import FreshnessCheck
from statuspage.checks.heartbeat import HeartbeatCheck
from statuspage.checks.http import HttpCheck
from statuspage.checks.tcp import TcpCheck
from statuspage.checks.upstream import UpstreamCheck

if TYPE_CHECKING:
    from statuspage.models import Probe

CHECKS = {
    "http": HttpCheck,
    "tcp": TcpCheck,
    "dns": DnsCheck,
    "heartbeat": HeartbeatCheck,
    "freshness": FreshnessCheck,
    "upstream": UpstreamCheck,
}

Check = HttpCheck | TcpCheck | DnsCheck | HeartbeatCheck | FreshnessCheck | UpstreamCheck


def build_check(probe: Probe) -> Check:
    return CHECKS[probe.kind].from_probe(probe)
