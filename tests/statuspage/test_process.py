import gc

from django_q.signals import post_spawn


def test_a_spawned_task_worker_freezes_its_startup_heap():
    gc.unfreeze()
    try:
        post_spawn.send(sender="django_q", proc_name="Worker-1")
        assert gc.get_freeze_count() > 0
    finally:
        gc.unfreeze()
