from django.apps import AppConfig


class NotifiersConfig(AppConfig):
    name = "notifiers"

    def ready(self) -> None:
        # In ready(): the channel modules import the models, loaded once the registry is ready.
        from notifiers import channels, registry

        registry.load_with(channels.load_all)
