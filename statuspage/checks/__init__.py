"""One module per probe kind; `build_check` turns a probe row into a runnable check."""

from __future__ import annotations

from statuspage.checks.dns import DnsCheck
from statuspage.checks.freshness import FreshnessCheck
from statuspage.checks.heartbeat import HeartbeatCheck
from statuspage.checks.http import HttpCheck
from statuspage.checks.tcp import TcpCheck
from statuspage.checks.upstream import UpstreamCheck
from statuspage.models import Probe

CHECKS = {
    Probe.Kind.HTTP: HttpCheck,
    Probe.Kind.TCP: TcpCheck,
    Probe.Kind.DNS: DnsCheck,
    Probe.Kind.HEARTBEAT: HeartbeatCheck,
    Probe.Kind.FRESHNESS: FreshnessCheck,
    Probe.Kind.UPSTREAM: UpstreamCheck,
}

Check = HttpCheck | TcpCheck | DnsCheck | HeartbeatCheck | FreshnessCheck | UpstreamCheck


def build_check(probe: Probe) -> Check:
    return CHECKS[probe.kind].from_probe(probe)
