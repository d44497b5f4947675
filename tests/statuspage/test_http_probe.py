"""The HTTP check against real loopback servers."""

import socket

from statuspage.checks.http import HttpCheck
from statuspage.demo.service import DemoServer
from statuspage.probes.engine import run_checks_blocking


def check(url: str, timeout: float = 2, expected: int = 200):
    [outcome] = run_checks_blocking([HttpCheck(1, url, "GET", timeout, expected)])
    return outcome


def test_healthy_endpoint_passes_with_latency():
    server = DemoServer().start()
    try:
        outcome = check(f"{server.url}/health")
    finally:
        server.stop()
    assert outcome.ok and outcome.status_code == 200 and outcome.latency_ms >= 0


def test_unexpected_status_fails_and_says_why():
    server = DemoServer().start()
    server.state.set(False)
    try:
        outcome = check(f"{server.url}/health")
    finally:
        server.stop()
    assert not outcome.ok
    assert outcome.error == "HTTP 503, expected 200"


def test_refused_connection_fails():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    outcome = check(f"http://127.0.0.1:{port}/health")
    assert not outcome.ok and "Connect" in outcome.error


def test_silent_server_times_out():
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        outcome = check(f"http://127.0.0.1:{port}/health", timeout=0.5)
    assert not outcome.ok
    assert outcome.error == "timed out after 0.5 s"


# --- The options of an HTTP probe, against a scripted loopback server --------------------

import pytest  # noqa: E402
from django.core.exceptions import ValidationError  # noqa: E402

from statuspage.models import Probe  # noqa: E402
from tests.statuspage.servers import Answer  # noqa: E402


def run(check: HttpCheck):
    [outcome] = run_checks_blocking([check])
    return outcome


def test_method_headers_and_body_are_sent(web):
    web.routes["/ingest"] = Answer(202, "accepted")
    check = HttpCheck(
        1,
        f"{web.url}/ingest",
        "POST",
        2,
        "202",
        headers=(("X-Probe-Token", "s3cret"),),
        body='{"ping": 1}',
    )
    assert run(check).ok
    [request] = web.received
    assert request["method"] == "POST"
    assert request["headers"]["X-Probe-Token"] == "s3cret"
    assert request["body"] == '{"ping": 1}'


def test_expected_codes_accept_ranges_and_lists(web):
    web.routes["/a"] = Answer(204, "")
    web.routes["/b"] = Answer(304, "")
    web.routes["/c"] = Answer(500, "boom")
    codes = "200-299, 304"
    assert run(HttpCheck(1, f"{web.url}/a", expected_codes=codes)).ok
    assert run(HttpCheck(1, f"{web.url}/b", expected_codes=codes)).ok
    failed = run(HttpCheck(1, f"{web.url}/c", expected_codes=codes))
    assert not failed.ok and failed.error == "HTTP 500, expected 200-299, 304"


def test_body_must_contain_the_expected_text(web):
    web.routes["/health"] = Answer(200, "status: degraded")
    failed = run(HttpCheck(1, f"{web.url}/health", body_contains="status: ok"))
    assert failed.error == "body does not contain 'status: ok'"
    web.routes["/health"] = Answer(200, "status: ok")
    assert run(HttpCheck(1, f"{web.url}/health", body_contains="status: ok")).ok


def test_body_must_match_the_regex(web):
    web.routes["/v"] = Answer(200, "build 2026.11.3 healthy")
    assert run(HttpCheck(1, f"{web.url}/v", body_regex=r"build \d+\.\d+\.\d+ healthy")).ok
    failed = run(HttpCheck(1, f"{web.url}/v", body_regex=r"^OK$"))
    assert failed.error == "body does not match /^OK$/"


def test_json_field_is_compared_with_a_value(web):
    web.routes["/queue"] = Answer(200, {"queue": {"depth": 1500, "workers": [{"up": True}]}})
    failed = run(HttpCheck(1, f"{web.url}/queue", json_check="$.queue.depth < 1000"))
    assert not failed.ok and failed.error == "$.queue.depth is 1500, expected < 1000"
    assert run(HttpCheck(1, f"{web.url}/queue", json_check="$.queue.depth <= 1500")).ok
    assert run(HttpCheck(1, f"{web.url}/queue", json_check="$.queue.workers[0].up == true")).ok


def test_json_check_says_when_the_field_is_missing_or_the_body_is_not_json(web):
    web.routes["/queue"] = Answer(200, {"queue": {}})
    web.routes["/html"] = Answer(200, "<html>")
    missing = run(HttpCheck(1, f"{web.url}/queue", json_check="$.queue.depth < 1000"))
    assert missing.error == "$.queue.depth is missing from the response."
    assert run(HttpCheck(1, f"{web.url}/html", json_check="$.a == 1")).error == "body is not JSON"


def test_latency_past_the_degraded_threshold_means_degraded_performance(web):
    web.routes["/slow"] = Answer(200, "OK", delay=0.15)
    outcome = run(HttpCheck(1, f"{web.url}/slow", degraded_latency_ms=50, down_latency_ms=5000))
    assert not outcome.ok and outcome.status == "degraded_performance"
    assert outcome.error.startswith("slow: ") and "(degraded above 50 ms)" in outcome.error


def test_latency_past_the_down_threshold_fails(web):
    web.routes["/slow"] = Answer(200, "OK", delay=0.15)
    outcome = run(HttpCheck(1, f"{web.url}/slow", down_latency_ms=50))
    assert not outcome.ok and outcome.error.startswith("too slow: ") and outcome.status == ""
    assert outcome.error.endswith("ms, limit 50 ms")


def test_redirects_are_not_followed_unless_asked(web):
    web.routes["/old"] = Answer(301, "", headers={"Location": "/new"})
    web.routes["/new"] = Answer(200, "OK")
    refused = run(HttpCheck(1, f"{web.url}/old"))
    assert refused.error == "HTTP 301, expected 200 (redirect to /new not followed)"
    assert run(HttpCheck(1, f"{web.url}/old", follow_redirects=True)).ok


def test_certificate_close_to_expiry_passes_with_a_warning(https_server):
    server = https_server(days_valid=5)
    server.routes["/"] = Answer(200, "OK")
    outcome = run(HttpCheck(1, f"{server.url}/", tls_expiry_warning_days=14))
    assert outcome.ok
    assert outcome.warning.startswith("TLS certificate expires in 5 days (")


def test_certificate_far_from_expiry_gives_no_warning(https_server):
    server = https_server(days_valid=90)
    server.routes["/"] = Answer(200, "OK")
    outcome = run(HttpCheck(1, f"{server.url}/", tls_expiry_warning_days=14))
    assert outcome.ok and outcome.warning == ""


def test_untrusted_certificate_fails(https_server, settings):
    server = https_server(days_valid=90)
    settings.ENGINE = {**settings.ENGINE, "CA_FILE": ""}
    outcome = run(HttpCheck(1, f"{server.url}/"))
    assert not outcome.ok and "certificate" in outcome.error.lower()


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("expected_codes", "200-2x", "'200-2x' is not a status code or a range like 200-299."),
        ("expected_codes", "299-200", "'299-200' must lie within 100-599, low to high."),
        ("json_check", "queue.depth < 10", "Write it as a path, an operator and a value"),
        ("json_check", "$.status == ok", "'ok' is not a JSON value"),
        ("body_regex", "([", "Not a valid regular expression"),
    ],
)
@pytest.mark.django_db
def test_invalid_http_options_are_refused_naming_the_field(field, value, message):
    from tests.factories import make_component

    probe = Probe(
        component=make_component(), name="api", url="http://127.0.0.1:1/", **{field: value}
    )
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert error.value.message_dict[field][0].startswith(message)


@pytest.mark.django_db
def test_a_probe_of_each_kind_needs_its_target():
    from tests.factories import make_component

    probe = Probe(component=make_component(), name="smtp", kind=Probe.Kind.TCP, host="mail")
    with pytest.raises(ValidationError) as error:
        probe.full_clean()
    assert error.value.message_dict == {"port": ["Required for a tcp probe."]}
