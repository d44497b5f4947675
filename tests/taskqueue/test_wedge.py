"""django-q2's own cluster wedges when its workers are SIGKILLed: the reproduction.

Each idle worker waits in the shared multiprocessing queue's get(), one of them holding the
queue's read lock while it blocks on the pipe. SIGKILL both (as the OOM killer would) and
the lock dies held: the sentinel starts new workers, which block on that lock forever. The
cluster looks alive and never runs another task. `manage.py tasks` exists because of this.
"""

from __future__ import annotations

import os
import signal

from django_q.models import Task
from django_q.tasks import async_task

from tests.taskqueue.processes import Child, poll

NEVER_SECONDS = 10


def ran(task_id: str) -> bool:
    return Task.objects.filter(id=task_id, success=True).exists()


def test_plain_qcluster_runs_nothing_after_its_workers_are_killed(env, tmp_path):
    cluster = Child.manage("qcluster", env=env, log=tmp_path / "qcluster.log")
    try:
        workers = cluster.worker_pids(2)
        first = async_task("math.floor", 1.5)
        assert poll(lambda: ran(first), timeout=30), "the cluster never ran a task"
        for pid in workers:
            os.kill(pid, signal.SIGKILL)
        cluster.worker_pids(4)  # the sentinel started two new workers
        stuck = async_task("math.floor", 2.5)
        assert not poll(lambda: ran(stuck), timeout=NEVER_SECONDS)
        assert cluster.process.poll() is None, "and the cluster process still looks alive"
    finally:
        cluster.stop(timeout=2)  # a wedged cluster does not stop on SIGTERM either
