"""gunicorn's configuration for the web process, in `make run`, `make serve` and production.

Sync workers: an answer is CPU work (templates, JSON) plus short database reads, so one
process per answer in flight and as many processes as the cores can keep busy. The count
comes from `WEB_WORKERS`, else `2 x cores + 1` (docs/OPERATIONS.md, "Serving production").
"""

from __future__ import annotations

import os

from prometheus_client import multiprocess


def default_workers() -> int:
    return 2 * (os.cpu_count() or 1) + 1


workers = int(os.environ.get("WEB_WORKERS") or default_workers())
bind = os.environ.get("WEB_BIND") or f"127.0.0.1:{os.environ.get('PORT', '8000')}"
# A worker stuck this long on one request is killed and replaced.
timeout = int(os.environ.get("WEB_TIMEOUT_SECONDS", "30"))
# On stop, requests in flight get this long; runall kills what is left after its own grace.
graceful_timeout = int(os.environ.get("WEB_GRACEFUL_TIMEOUT_SECONDS", "5"))
keepalive = int(os.environ.get("WEB_KEEPALIVE_SECONDS", "5"))
# Recycling a worker now and then bounds what a slow leak can grow to.
max_requests = int(os.environ.get("WEB_MAX_REQUESTS", "20000"))
max_requests_jitter = max_requests // 10
accesslog = os.environ.get("WEB_ACCESS_LOG") or None
errorlog = "-"
proc_name = "statuspage-web"
# Several servers run on one machine (nodes, tests, benchmarks): no shared control socket.
control_socket_disable = True
wsgi_app = "config.wsgi:application"


def child_exit(server, worker) -> None:
    """A worker's Prometheus files stay readable after it exits; its gauges must not."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        multiprocess.mark_process_dead(worker.pid)
