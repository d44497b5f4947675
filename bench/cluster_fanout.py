"""make bench-cluster: the node-loss fan-out scenario at benchmark size (not a test).

A 3-node cluster (deploy.cluster) on PostgreSQL + Redis; an incident whose policy emails
N subscribers (default 100,000) at T+0; once 20% are told, kill -9 of the whole node that
is sending or fanning out. Counts at the sandbox what each inbox received; the figures go
to var/cluster/figures.json ("node killed mid fan-out, N subscribers"), which
`make cluster-figures` renders into docs/RELIABILITY.md.

    python -m bench.cluster_fanout [--subscribers 100000] [--latency-ms 1500]
"""

from __future__ import annotations

import argparse

from tests.cluster.drills import make_cluster, record_figures, reset, why_not_runnable
from tests.cluster.scenarios import fan_out_with_a_fault


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.cluster_fanout")
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--latency-ms", type=int, default=1500)
    parser.add_argument("--channel", default="email", choices=["email", "sms"])
    args = parser.parse_args()
    reason = why_not_runnable()
    if reason:
        raise SystemExit(reason)
    cluster = make_cluster("bench_cluster_fanout")
    reset(cluster)
    with cluster:
        figures = fan_out_with_a_fault(
            cluster, args.subscribers, channel=args.channel, latency_ms=args.latency_ms
        )
    record_figures(
        f"node killed mid fan-out, {args.subscribers:,} subscribers",
        figures,
        f"make bench-cluster BENCH_ARGS='--subscribers {args.subscribers}'",
    )


if __name__ == "__main__":
    main()
