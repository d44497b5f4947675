"""Where `import_statuspage` reads an export from (a live page over HTTP, a file, a directory,
a zip) and how it refuses what is not one: with the place and the reason, changing nothing."""

from __future__ import annotations

import json
import zipfile
from io import StringIO
from pathlib import Path

import pytest
import time_machine
from django.core.management import CommandError, call_command

from incidents.models import Incident, IncidentUpdate
from incidents.response.importing import sources
from statuspage.models import Component, ComponentGroup
from tests.clock import NOW
from tests.statuspage.servers import Answer, ScriptedServer

pytestmark = pytest.mark.django_db

EXPORT = Path(__file__).parent / "fixtures" / "statuspage"
DOCUMENTS = ("components", "incidents", "scheduled-maintenances", "summary")


def run(source, *args: str) -> str:
    out = StringIO()
    with time_machine.travel(NOW, tick=False):
        call_command("import_statuspage", str(source), *args, stdout=out)
    return out.getvalue()


def refused(source) -> str:
    with pytest.raises(CommandError) as error:
        run(source)
    assert not Component.objects.exists() and not Incident.objects.exists()
    return str(error.value)


def counts() -> tuple[int, int, int, int]:
    return (
        ComponentGroup.objects.count(),
        Component.objects.count(),
        Incident.objects.count(),
        IncidentUpdate.everything.count(),
    )


@pytest.fixture
def statuspage():
    """A loopback stand-in for a Statuspage-hosted page answering its v2 API."""
    server = ScriptedServer()
    for name in DOCUMENTS:
        server.routes[f"/api/v2/{name}.json"] = Answer(
            body=(EXPORT / f"{name}.json").read_text(),
            headers={"Content-Type": "application/json"},
        )
    yield server
    server.shutdown()
    server.server_close()


def test_a_page_url_reads_its_components_incidents_and_maintenance(statuspage):
    out = run(statuspage.url + "/")

    assert [r["path"] for r in statuspage.received] == [
        "/api/v2/components.json",
        "/api/v2/incidents.json",
        "/api/v2/scheduled-maintenances.json",
    ]
    assert "incidents: created 22" in out
    assert counts() == (4, 11, 22, 84)


def test_a_page_without_components_json_falls_back_to_its_summary(statuspage):
    del statuspage.routes["/api/v2/components.json"]

    run(f"{statuspage.url}/api/v2")

    assert statuspage.received[-1]["path"] == "/api/v2/summary.json"
    assert counts() == (4, 11, 22, 84)


def test_a_url_naming_one_document_reads_only_that_one(statuspage):
    run(f"{statuspage.url}/api/v2/components.json")

    assert [r["path"] for r in statuspage.received] == ["/api/v2/components.json"]
    assert counts() == (4, 11, 0, 0)


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        (Answer(500, "oops"), "components.json: the page answered HTTP 500"),
        (
            Answer(200, "<html>Log in</html>"),
            "components.json: not JSON (Expecting value at line 1 column 1)",
        ),
        (
            Answer(200, json.dumps({"page": {}, "status": {}})),
            "components.json: not a Statuspage v2 document",
        ),
    ],
)
def test_a_page_answering_badly_is_refused_clearly(statuspage, answer, message):
    statuspage.routes["/api/v2/components.json"] = answer

    assert message in refused(statuspage.url)


def test_a_page_answering_too_much_is_cut_off(statuspage, monkeypatch):
    monkeypatch.setattr(sources, "MAX_BYTES", 1000)

    assert "components.json: larger than 1000 bytes" in refused(statuspage.url)


def test_a_page_too_slow_to_answer_times_out(statuspage, monkeypatch):
    monkeypatch.setattr(sources, "TIMEOUT", (1, 0.2))
    statuspage.routes["/api/v2/incidents.json"] = Answer(body="{}", delay=1.0)

    assert "incidents.json: could not be fetched (ReadTimeout" in refused(statuspage.url)


def test_an_unreachable_page_says_so(statuspage):
    url = statuspage.url
    statuspage.shutdown()
    statuspage.server_close()

    assert "could not be fetched (ConnectionError" in refused(url)


def test_a_zip_of_the_export_reads_like_the_directory(tmp_path):
    archive = tmp_path / "statuspage-export.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in EXPORT.iterdir():
            zipped.write(path, f"export/{path.name}")

    run(archive)

    assert counts() == (4, 11, 22, 84)


def test_one_combined_json_file_is_read_whole(tmp_path):
    combined = {
        "page": json.loads((EXPORT / "components.json").read_text())["page"],
        **{
            key: json.loads((EXPORT / f"{name}.json").read_text())[key]
            for name, key in [
                ("components", "components"),
                ("incidents", "incidents"),
                ("scheduled-maintenances", "scheduled_maintenances"),
            ]
        },
    }
    (tmp_path / "export.json").write_text(json.dumps(combined))

    run(tmp_path / "export.json")

    assert counts() == (4, 11, 22, 84)


def test_incidents_json_alone_brings_the_components_it_names():
    run(EXPORT / "incidents.json")

    # Groups are not in an incident's copy of its components; they come with components.json.
    assert counts()[0] == 0 and counts()[2:] == (20, 79)
    assert Component.objects.filter(name="Follow app alerts").exists()


def bad_export(tmp_path, change) -> Path:
    data = json.loads((EXPORT / "incidents.json").read_text())
    change(data)
    path = tmp_path / "incidents.json"
    path.write_text(json.dumps(data))
    return path


def set_status(value):
    def change(data):
        data["incidents"][2]["status"] = value

    return change


def test_an_unknown_incident_status_is_named_with_its_place(tmp_path):
    message = refused(bad_export(tmp_path, set_status("fixing")))

    assert (
        "incidents[2] (id kvt9uu7vqswo).status: 'fixing' is not one of investigating, identified, monitoring, resolved, postmortem"
        in message
    )


def test_every_problem_is_listed_at_once(tmp_path):
    def change(data):
        data["incidents"][0]["incident_updates"][1]["status"] = "sorted"
        data["incidents"][0]["components"][0]["status"] = "on_fire"
        data["incidents"][3]["created_at"] = "last tuesday"
        data["incidents"][4]["incident_updates"][0]["body"] = "bell \x07"

    message = refused(bad_export(tmp_path, change))

    assert message.startswith("nothing was imported:\n")
    assert ".components[0] (id kmn1i064gmq8).status: 'on_fire' is not one of operational" in message
    assert "incident_updates (id iubio2rb716k).status: 'sorted' is not one of" in message
    assert (
        "(id 7foe61vq1wu8).created_at: 'last tuesday': An ISO 8601 time with an offset" in message
    )
    assert ".incident_updates[0] (id " in message and "Control characters other than tab" in message


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (
            "{not json",
            "not JSON (Expecting property name enclosed in double quotes at line 1 column 2)",
        ),
        ("[1, 2, 3]", "not a Statuspage v2 document: expected a JSON object with components"),
        ('{"incidents": {"id": "x"}}', "incidents: a list of objects is required"),
        (
            '{"components": [{"id": "x", "name": "API", "status": "broken"}]}',
            "status: 'broken' is not one of",
        ),
    ],
)
def test_a_file_that_is_not_an_export_is_refused(tmp_path, content, message):
    path = tmp_path / "export.json"
    path.write_text(content)

    assert message in refused(path)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            "/no/such/export.json",
            "/no/such/export.json: no such file or directory, and not an http(s) URL",
        ),
        ("ftp://status.example.com", "only http(s) URLs of a status page are read"),
    ],
)
def test_anything_else_is_refused(source, message):
    assert message in refused(source)


def test_an_empty_directory_is_refused(tmp_path):
    assert "no .json files in this directory" in refused(tmp_path)
