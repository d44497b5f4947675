from django.apps import AppConfig


class NotifiersConfig(AppConfig):
    name = "notifiers"

    def ready(self) -> None:
        # In ready(): the channel modules and django_q's signals import models, which load
        # once the registry is ready.
        from django_q.signals import post_execute_in_worker

        from notifiers import channels, registry
        from notifiers.delivery.queue_health import note_task_finished

        registry.load_with(channels.load_all)
        post_execute_in_worker.connect(
            note_task_finished, dispatch_uid="notifiers.note_task_finished"
        )
