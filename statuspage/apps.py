from django.apps import AppConfig

from statuspage import changes


class StatuspageConfig(AppConfig):
    name = "statuspage"
    verbose_name = "Status page"

    def ready(self) -> None:
        # In ready(): django_q's signals module imports models, which must wait for the registry.
        from django_q.signals import post_spawn

        from statuspage.process import freeze_startup_heap

        post_spawn.connect(freeze_startup_heap, dispatch_uid="statuspage.freeze_startup_heap")
        changes.connect()
