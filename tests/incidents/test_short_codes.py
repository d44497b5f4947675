"""Every incident gets a short, human-typable code, texted back to acknowledge its page:
unique among unresolved incidents (a database constraint), free again once resolved."""

from __future__ import annotations

import re

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor

from incidents.models import Incident
from tests.clock import NOW
from tests.factories import make_component, make_incident, resolve_at

pytestmark = pytest.mark.django_db


def test_a_new_incident_gets_two_letters_and_two_digits_never_a_word():
    codes = {make_incident(make_component(f"c{i}")).short_code for i in range(30)}
    assert len(codes) == 30
    assert all(re.fullmatch(r"[A-HJ-NP-Z]{2}[2-9]{2}", code) for code in codes)


def test_two_unresolved_incidents_cannot_share_a_code_but_a_resolved_one_frees_it():
    first = make_incident(make_component("a"))
    second = make_incident(make_component("b"))
    with pytest.raises(IntegrityError), transaction.atomic():
        Incident.objects.filter(id=second.id).update(short_code=first.short_code)
    resolve_at(first, NOW)
    Incident.objects.filter(id=second.id).update(short_code=first.short_code)


def test_a_code_taken_concurrently_is_replaced_by_another(monkeypatch):
    taken = make_incident(make_component("a")).short_code
    picks = iter([taken, "KQ47" if taken != "KQ47" else "KQ48"])
    monkeypatch.setattr(Incident, "free_short_code", classmethod(lambda cls: next(picks)))
    raced = make_incident(make_component("b"))
    assert raced.short_code != taken and raced.short_code in ("KQ47", "KQ48")


BEFORE = [("incidents", "0008_imported_from_statuspage")]
AFTER = [("incidents", "0009_acknowledge_from_the_page")]


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_each_unresolved_incident_its_own_code_and_resolved_ones_none():
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE)
    old = executor.loader.project_state(BEFORE).apps.get_model("incidents", "Incident")
    times = {"started_at": NOW, "detected_at": NOW, "created_at": NOW, "updated_at": NOW}
    for name in ("one", "two", "three"):
        old.objects.create(name=name, **times)
    old.objects.create(name="past", status="resolved", resolved_at=NOW, **times)
    executor = MigrationExecutor(connection)
    executor.migrate(AFTER)
    new = executor.loader.project_state(AFTER).apps.get_model("incidents", "Incident")
    codes = dict(new.objects.values_list("name", "short_code"))
    assert codes["past"] == "" and len({codes["one"], codes["two"], codes["three"]}) == 3
    assert all(re.fullmatch(r"[A-Z]{2}[0-9]{2}", codes[name]) for name in ("one", "two", "three"))
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())
