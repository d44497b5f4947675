from django.apps import AppConfig
from django.db.models.signals import post_save


def component_changed(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """A component's status changed: its webhook subscribers get a `component_update`."""
    from notifiers.delivery import component_updates
    from statuspage import clock

    if created and not raw:
        component_updates.record(instance, clock.now())


class NotifiersConfig(AppConfig):
    name = "notifiers"

    def ready(self) -> None:
        # In ready(): the channel modules and django_q's signals import models, which load
        # once the registry is ready.
        from django_q.signals import post_execute_in_worker

        from notifiers import channels, registry
        from notifiers.delivery.queue_health import note_task_finished

        registry.load_with(channels.load_all)
        post_save.connect(
            component_changed,
            sender="statuspage.ComponentStatusChange",
            dispatch_uid="notifiers.component_update_events",
        )
        post_execute_in_worker.connect(
            note_task_finished, dispatch_uid="notifiers.note_task_finished"
        )
