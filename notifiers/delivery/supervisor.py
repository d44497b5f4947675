"""`manage.py tasks`: the django-q2 cluster under a supervisor that never lets it wedge unseen.

django-q2's sentinel replaces a dead worker, but a worker SIGKILLed while it waited on the
shared task queue dies holding the queue's lock, and every worker after it blocks on that
lock forever (tests/taskqueue/test_wedge.py). So here:

- the sentinel (`GuardedSentinel`) treats a worker, pusher or monitor that died other than by
  a recycle or a task timeout as fatal: it gives busy workers STOP_GRACE_SECONDS to finish
  their task, kills every process of the cluster and exits EXIT_PROCESS_LOST;
- the supervisor (this process, the sentinel's parent and the subreaper of its orphans)
  exits when the sentinel is gone, and when the queue stalls (`queue_health`: work queued
  for STALL_SECONDS and nothing finished for as long, which catches a wedge of any other
  cause), stopping the cluster first; a non-zero status tells `runall` or systemd to start
  a fresh one;
- on SIGTERM the cluster stops gracefully within STOP_GRACE_SECONDS, then what is left of it
  is killed, so a stop is bounded.

A task lost with a killed process is not lost work: the ORM broker hands an unacknowledged
task out again after Q_CLUSTER["retry"], and the outbox sweep (dispatch.retry_due) queues
again whatever fan-out or send did not finish.
"""

from __future__ import annotations

import ctypes
import logging
import os
import signal
import time
import uuid
from datetime import datetime
from multiprocessing import Event
from pathlib import Path

from django import db
from django.conf import settings
from django_q.cluster import Sentinel, get_mp_context

from notifiers.delivery.queue_health import queue_health
from statuspage import clock

log = logging.getLogger(__name__)

EXIT_PROCESS_LOST = 3
EXIT_STALLED = 4
EXIT_SENTINEL_DIED = 5
RECYCLED = -2
TIMED_OUT = 0
PR_SET_CHILD_SUBREAPER = 36
TICK_SECONDS = 0.5


class GuardedSentinel(Sentinel):
    """django-q2's sentinel, but an abnormal death in its cluster ends the cluster."""

    def reincarnate(self, process) -> None:
        if self.died_abnormally(process):
            log.critical(
                "task cluster process %s died (exit status %s); the task queue's lock may "
                "have died with it: stopping the cluster for a fresh start",
                process.pid,
                process.exitcode,
            )
            self.abandon()
        super().reincarnate(process)

    def died_abnormally(self, process) -> bool:
        if process is self.monitor or process is self.pusher:
            return process.exitcode not in (0, None)
        if process.is_alive():
            return False  # over its timeout: the guard terminates it mid-task, lock-free
        return timer_value(process) not in (RECYCLED, TIMED_OUT)

    def abandon(self) -> None:
        """Let busy workers finish (bounded), then kill every process of the cluster."""
        deadline = time.monotonic() + settings.TASKS["STOP_GRACE_SECONDS"]
        while time.monotonic() < deadline and any(
            p.is_alive() and timer_value(p) > 0 for p in self.pool
        ):
            time.sleep(0.1)
        for process in [*self.pool, self.pusher, self.monitor]:
            if process is not None and process.is_alive():
                process.kill()
        os._exit(EXIT_PROCESS_LOST)


def timer_value(process) -> float:
    """A worker's timer without its lock (a dead worker may hold it): >0 busy, -1 idle,
    0 timed out, -2 recycled."""
    return process.timer.get_obj().value


class Supervisor:
    def __init__(self) -> None:
        self.stopping = False
        self.stop_event = Event()
        self.start_event = Event()
        self.started_at: datetime | None = None
        self.sentinel = get_mp_context().Process(
            target=GuardedSentinel,
            name=f"Sentinel-{uuid.uuid4().hex[:8]}",
            args=(self.stop_event, self.start_event, uuid.uuid4(), None, None),
        )

    def run(self) -> int:
        """Run the cluster until it is stopped (0) or must be started afresh (non-zero)."""
        become_subreaper()
        for sig in (signal.SIGTERM, signal.SIGINT):
            signal.signal(sig, self.request_stop)
        self.start()
        next_check = time.monotonic() + settings.TASKS["CHECK_SECONDS"]
        while not self.stopping:
            if not self.sentinel.is_alive():
                return self.sentinel_gone()
            if time.monotonic() >= next_check:
                next_check = time.monotonic() + settings.TASKS["CHECK_SECONDS"]
                if self.stalled():
                    self.stop()
                    return EXIT_STALLED
            reap(keep=self.sentinel.pid)
            time.sleep(TICK_SECONDS)
        self.stop()
        log.info("task cluster stopped")
        return 0

    def request_stop(self, *_) -> None:
        self.stopping = True

    def start(self) -> None:
        db.connections.close_all()  # never share a connection with the forked cluster
        self.sentinel.start()
        while not self.start_event.is_set() and self.sentinel.is_alive() and not self.stopping:
            time.sleep(0.1)
        self.started_at = clock.now()
        log.info("task cluster running (sentinel %s)", self.sentinel.pid)

    def stalled(self) -> bool:
        try:
            health = queue_health(running_since=self.started_at)
        except Exception:
            log.exception("reading the task queue's health failed")
            return False
        finally:
            db.connections.close_all()
        if health.stalled:
            log.critical(
                "task queue %s stalled: %d tasks queued, the oldest for %.0f s, none finished "
                "for %s s: restarting the cluster",
                health.queue,
                health.depth,
                health.oldest_age_seconds or 0,
                health.since_finished_seconds,
            )
        return health.stalled

    def sentinel_gone(self) -> int:
        code = self.sentinel.exitcode
        log.critical("the task cluster's sentinel exited (status %s); exiting for a restart", code)
        kill_descendants(keep=self.sentinel.pid)
        return code if code and code > 0 else EXIT_SENTINEL_DIED

    def stop(self) -> None:
        """Stop gracefully within STOP_GRACE_SECONDS, then kill whatever is left."""
        self.stop_event.set()
        self.sentinel.join(settings.TASKS["STOP_GRACE_SECONDS"])
        if self.sentinel.is_alive() or descendants():
            log.warning(
                "the task cluster did not stop within %s s: killing it",
                settings.TASKS["STOP_GRACE_SECONDS"],
            )
        kill_descendants(keep=self.sentinel.pid)
        self.sentinel.join(1)


def become_subreaper() -> None:
    """Orphans of the cluster (a killed sentinel's workers) become our children, so we can
    find and stop them. Linux only; elsewhere a no-op."""
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
    except (OSError, AttributeError):
        pass


def process_table() -> dict[int, tuple[int, str]]:
    """pid -> (parent pid, state) of every process, from /proc."""
    table = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        table[int(entry.name)] = (int(fields[1]), fields[0])
    return table


def descendants(pid: int | None = None) -> list[int]:
    """Live (not zombie) descendants of `pid` (default: this process)."""
    table = process_table()
    tree: dict[int, list[int]] = {}
    for child, (parent, state) in table.items():
        if state != "Z":
            tree.setdefault(parent, []).append(child)
    found, todo = [], [pid or os.getpid()]
    while todo:
        for child in tree.get(todo.pop(), []):
            found.append(child)
            todo.append(child)
    return found


def kill_descendants(keep: int | None = None) -> None:
    """SIGKILL every process below this one; `keep` is killed but left for its joiner."""
    for pid in descendants():
        try:
            os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + 2
    while descendants() and time.monotonic() < deadline:
        time.sleep(0.05)
    reap(keep)


def reap(keep: int | None = None) -> None:
    """Collect the exited orphans handed to us as subreaper; never `keep` (the sentinel,
    which multiprocessing joins itself)."""
    me = os.getpid()
    for pid, (parent, state) in process_table().items():
        if parent == me and state == "Z" and pid != keep:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass
