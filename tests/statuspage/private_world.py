"""A page with one audience's private component and private incident beside public ones:
what the private-page tests build on."""

from __future__ import annotations

from dataclasses import dataclass

from django.contrib.auth.models import User

from incidents.models import Incident
from statuspage.models import Audience, AudienceMember, Component
from tests.clock import NOW
from tests.factories import add_update, make_component, make_incident

PRIVATE_NAME = "Clinic portal"
PRIVATE_INCIDENT = "Clinic portal sign-in failing"


@dataclass
class World:
    audience: Audience
    public_component: Component
    private_component: Component
    private_incident: Incident

    def secrets(self) -> list[str]:
        """What no public answer may contain."""
        return [
            PRIVATE_NAME,
            self.private_component.public_id,
            PRIVATE_INCIDENT,
            self.private_incident.public_id,
        ]


def private_world() -> World:
    """An operational public component; a private one in major outage, with a published
    critical incident private to the clinic network."""
    public = make_component("Follow app alerts")
    clinic = Audience.objects.create(
        slug="clinic-network", name="Clinic network", push_topic="clinic-status", private_page=True
    )
    private = make_component(PRIVATE_NAME, audience_slug="clinic-network")
    private.private_to.add(clinic)
    private.set_status("major_outage")
    incident = make_incident(private)
    incident.name = PRIVATE_INCIDENT
    incident.published_at = NOW
    incident.save()
    incident.private_to.add(clinic)
    add_update(incident, "opened", body="Clinic staff cannot sign in.")
    return World(clinic, public, private, incident)


def member(world: World, username: str, **fields) -> User:
    """A user who joined the world's audience page (`password=` or `email=` as the test needs)."""
    user = User.objects.create_user(username, **fields)
    AudienceMember.objects.create(audience=world.audience, user=user, joined_at=NOW)
    return user
