import pytest
from django.core.management import CommandError, call_command

from statuspage.demo.service import DemoServer
from statuspage.demo.setup import load_demo
from statuspage.models import Audience, Component, Probe


@pytest.fixture
def demo_service(settings):
    server = DemoServer(port=0).start()
    settings.DEMO_SERVICE_PORT = server.server_address[1]
    yield server
    server.stop()


def test_demo_break_and_fix_flip_the_demo_services_health(demo_service, capsys):
    call_command("demo", "break")
    assert demo_service.state.healthy is False
    call_command("demo", "fix")
    assert demo_service.state.healthy is True
    assert "demo service fixed" in capsys.readouterr().out


def test_demo_break_says_clearly_when_nothing_is_running(settings):
    settings.DEMO_SERVICE_PORT = 9  # discard: nothing of ours listens there
    with pytest.raises(CommandError, match="is `make run` running"):
        call_command("demo", "break")


@pytest.mark.django_db
def test_demo_setup_is_idempotent_and_probes_the_demo_service(settings):
    load_demo()
    load_demo()
    assert Component.objects.count() == 3
    assert Audience.objects.count() == 2
    probes = {probe.kind: probe for probe in Probe.objects.all()}
    assert Probe.objects.count() == 3
    assert probes["http"].url == f"http://127.0.0.1:{settings.DEMO_SERVICE_PORT}/health"
    assert probes["http"].interval_seconds <= 15
    assert probes["freshness"].url == f"http://127.0.0.1:{settings.DEMO_SERVICE_PORT}/metrics"
    assert probes["freshness"].value_path == "$.data_age_seconds"
    assert probes["heartbeat"].component.name == "Share upload"
    for probe in probes.values():
        probe.full_clean()  # every kind's own rules accept the demo's settings
    follow = Component.objects.get(name="Follow app alerts")
    assert list(follow.audiences.values_list("slug", flat=True)) == ["follow-app"]
