"""Run what is queued on the real django-q2 broker (ORM or Redis), in this process.

Each task goes through django-q2's own worker and monitor, as in the cluster, but with
`sync` set so an exception in a task fails the test instead of being logged.
"""

from __future__ import annotations

from multiprocessing import Queue, Value

from django_q.brokers import get_broker
from django_q.monitor import monitor
from django_q.signing import SignedPackage
from django_q.worker import worker


def purge_queued_tasks() -> None:
    """Forget tasks an earlier test left on the broker (Redis outlives the test database)."""
    get_broker().purge_queue()


def run_queued_tasks(max_tasks: int = 1000) -> int:
    broker = get_broker()
    ran = 0
    while ran < max_tasks and broker.queue_size():
        packages = broker.dequeue()
        if not packages:
            break
        for ack_id, payload in packages:
            task = SignedPackage.loads(payload)
            task["ack_id"] = ack_id
            task["sync"] = True
            run_one(task, broker)
            ran += 1
    return ran


def run_one(task: dict, broker) -> None:
    tasks, results = Queue(), Queue()
    tasks.put(task)
    tasks.put("STOP")
    worker(tasks, results, Value("f", -1))
    results.put("STOP")
    monitor(results, broker)
    for queue in (tasks, results):
        queue.close()
        queue.join_thread()
