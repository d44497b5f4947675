"""`manage.py tasks`: a cluster that lost a process, or stopped making progress, is ended
within a bound and exits non-zero, so that its restarter starts a fresh one."""

from __future__ import annotations

import os
import signal
import time

from django_q.tasks import async_task

from notifiers.delivery.supervisor import EXIT_PROCESS_LOST, EXIT_STALLED
from tests.taskqueue.processes import Child, alive, group_members, poll
from tests.taskqueue.test_wedge import ran

BOUND_SECONDS = 20


def test_killed_workers_end_the_cluster_with_a_failure_status_and_a_fresh_one_runs_tasks(
    env, tmp_path
):
    tasks = Child.manage("tasks", env=env, log=tmp_path / "tasks.log")
    try:
        workers = tasks.worker_pids(2)
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        killed = time.monotonic()
        assert tasks.process.wait(BOUND_SECONDS) == EXIT_PROCESS_LOST
        assert time.monotonic() - killed < BOUND_SECONDS
        assert "stopping the cluster for a fresh start" in tasks.output()
        assert group_members(tasks.pid) == [], "no process of the old cluster is left"
    finally:
        tasks.stop()
    fresh = Child.manage("tasks", env=env, log=tmp_path / "fresh.log")
    try:
        fresh.worker_pids(2)
        task = async_task("math.floor", 2.5)
        assert poll(lambda: ran(task), timeout=30)
    finally:
        fresh.stop()


def test_a_killed_sentinel_ends_the_cluster_and_its_orphaned_workers(env, tmp_path):
    tasks = Child.manage("tasks", env=env, log=tmp_path / "tasks.log")
    try:
        workers = tasks.worker_pids(2)
        sentinel = int(tasks.wait_for(r"running \(sentinel (\d+)\)")[0].group(1))
        os.kill(sentinel, signal.SIGKILL)
        assert tasks.process.wait(BOUND_SECONDS) != 0
        assert not any(alive(pid) for pid in workers)
    finally:
        tasks.stop()


def test_a_stalled_queue_ends_the_cluster_even_with_every_process_alive(env, tmp_path):
    """A cluster that runs nothing for any other reason: here its workers are paused
    (SIGSTOP), alive to the sentinel, while work waits on the broker."""
    env = {**env, "TASKS_STALL_SECONDS": "3", "TASKS_CHECK_SECONDS": "0.5"}
    tasks = Child.manage("tasks", env=env, log=tmp_path / "tasks.log")
    try:
        for pid in tasks.worker_pids(2):
            os.kill(pid, signal.SIGSTOP)
        for _ in range(6):
            async_task("math.floor", 1.5)
        assert tasks.process.wait(BOUND_SECONDS) == EXIT_STALLED
        assert "stalled" in tasks.output()
        assert group_members(tasks.pid) == []
    finally:
        tasks.stop()


def test_sigterm_stops_the_cluster_within_the_grace_even_when_it_is_wedged(env, tmp_path):
    env = {**env, "TASKS_STOP_GRACE_SECONDS": "3"}
    tasks = Child.manage("tasks", env=env, log=tmp_path / "tasks.log")
    try:
        workers = tasks.worker_pids(2)
        for pid in workers:
            os.kill(pid, signal.SIGSTOP)  # stuck: they will never read a stop request
        asked = time.monotonic()
        tasks.process.send_signal(signal.SIGTERM)
        assert tasks.process.wait(BOUND_SECONDS) == 0
        assert time.monotonic() - asked < 3 + 5
        assert poll(lambda: not group_members(tasks.pid), timeout=2)
    finally:
        tasks.stop()
