"""Invitations to an audience's private page: an emailed, signed, expiring link that makes
its holder a member once.

The invitation is a row (`statuspage.models.AudienceInvitation`), recorded before the email
is sent by a task through the email channel (as the sign-in link is, `signin.py`). The link
signs the invitation's id; its expiry and its single use are the row's (`accept`: a
conditional UPDATE), so they hold across processes and whatever the signature's age.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth.forms import UserCreationForm
from django.contrib.auth.models import User
from django.core import signing
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from notifiers.channels.context import absolute
from notifiers.delivery.direct import email_one
from notifiers.delivery.dispatch import enqueue
from statuspage import clock
from statuspage.models import Audience, AudienceInvitation

SALT = "incidents.console.invitations"
TASK = "incidents.console.invitations.send_invitation"
VALID_FOR = timedelta(days=7)


def invite(audience: Audience, email: str, invited_by: User | None) -> AudienceInvitation:
    """Record the invitation, then queue its email once the transaction commits."""
    now = clock.now()
    invitation = AudienceInvitation(
        audience=audience,
        email=email.strip().lower(),
        invited_by=invited_by,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    invitation.full_clean()
    invitation.save()
    enqueue(TASK, invitation.id)
    return invitation


def make_token(invitation: AudienceInvitation) -> str:
    return signing.dumps({"i": invitation.id}, salt=SALT)


def invitation_for(token: str) -> AudienceInvitation | None:
    """The invitation the link is for, if it is ours and still usable."""
    try:
        data = signing.loads(token, salt=SALT)
    except signing.BadSignature:
        return None
    found = AudienceInvitation.objects.select_related("audience").filter(id=data.get("i")).first()
    if found is None or not found.is_usable(clock.now()):
        return None
    return found


def send_invitation(invitation_id: int) -> bool:
    """The task: email the link; True when the provider took it."""
    invitation = AudienceInvitation.objects.select_related("audience").filter(id=invitation_id)
    found = invitation.first()
    if found is None or not found.is_usable(clock.now()):
        return False
    context = {
        "page_name": settings.STATUSPAGE["NAME"],
        "audience": found.audience.name,
        "link": absolute(reverse("audience-join", args=[make_token(found)])),
        "days": VALID_FOR.days,
    }
    return email_one("audience_invitation", context, found.email)


class JoinForm(UserCreationForm):
    """A new account for the invited address (members sign in with it afterwards)."""

    class Meta(UserCreationForm.Meta):
        model = User
        fields = ("username",)


@require_http_methods(["GET", "POST"])
def join(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows the invitation and POST accepts it (a mail scanner opening the link uses
    nothing): signed in, as that user; otherwise with a new account for the invited email."""
    invitation = invitation_for(token)
    if invitation is None:
        return render(request, "statuspage/join.html", {"invalid": True}, status=400)
    signed_in = request.user.is_authenticated
    form = None if signed_in else JoinForm(request.POST or None)
    if request.method == "POST" and (form is None or form.is_valid()):
        with transaction.atomic():
            user: Any = request.user if form is None else form.save()
            if form is not None:
                User.objects.filter(pk=user.pk).update(email=invitation.email)
            accepted = invitation.accept(user, clock.now())
            if not accepted:
                transaction.set_rollback(True)
        if not accepted:
            return render(request, "statuspage/join.html", {"invalid": True}, status=400)
        if form is not None:
            login(request, user, backend="django.contrib.auth.backends.ModelBackend")
        return redirect(f"{invitation.audience.page_path}/")
    status = 400 if request.method == "POST" else 200
    context = {"invitation": invitation, "form": form}
    return render(request, "statuspage/join.html", context, status=status)
