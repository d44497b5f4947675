from django.apps import AppConfig


class NotifiersConfig(AppConfig):
    name = "notifiers"

    def ready(self) -> None:
        from notifiers import channels

        channels.load_all()
