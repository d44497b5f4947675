"""The way in that guessing cannot block: a one-time sign-in link by email.

The link is a Django signature of the user's id and a digest of their password hash,
last login and email, so it expires (LOGIN_THROTTLE["LINK_MAX_AGE_SECONDS"]), works once
(logging in moves last_login on, which changes the digest) and dies with a password or email
change. It is made and sent by a task through the email channel, so no request waits on the
provider and the token is never stored anywhere but in the email.
"""

from __future__ import annotations

import hashlib
import hmac

from django.conf import settings
from django.contrib.auth.models import User
from django.core import signing
from django.urls import reverse

from notifiers.channels.context import absolute
from notifiers.delivery.direct import email_one

LINK_SALT = "incidents.console.signin"
TASK = "incidents.console.signin.send_link"


def user_state(user: User) -> str:
    last_login = user.last_login.isoformat() if user.last_login else ""
    email = getattr(user, "email", "")
    state = f"{user.pk}|{user.password}|{last_login}|{email}".encode()
    return hmac.new(settings.SECRET_KEY.encode(), state, hashlib.sha256).hexdigest()[:32]


def make_token(user: User) -> str:
    return signing.dumps({"u": user.pk, "s": user_state(user)}, salt=LINK_SALT)


def user_for_token(token: str) -> User | None:
    """The staff user the link is for, or None: bad signature, expired, used, or stale."""
    try:
        data = signing.loads(
            token, salt=LINK_SALT, max_age=settings.LOGIN_THROTTLE["LINK_MAX_AGE_SECONDS"]
        )
    except signing.BadSignature:
        return None
    user = User.objects.filter(pk=data.get("u"), is_active=True, is_staff=True).first()
    if user is None or not hmac.compare_digest(user_state(user), str(data.get("s"))):
        return None
    return user


def staff_with_login(login: str) -> User | None:
    """The active staff user with this username or email who has an email to send to."""
    users = User.objects.filter(is_active=True, is_staff=True).exclude(email="")
    login = login.strip()
    return users.filter(username__iexact=login).first() or (
        users.filter(email__iexact=login).first() if "@" in login else None
    )


def send_link(user_id: int) -> bool:
    """The task: make a fresh link and email it; True when the provider took it."""
    user = User.objects.filter(pk=user_id, is_active=True, is_staff=True).first()
    if user is None or not getattr(user, "email", ""):
        return False
    context = {
        "page_name": settings.STATUSPAGE["NAME"],
        "link": absolute(reverse("console-login-link", args=[make_token(user)])),
        "minutes": settings.LOGIN_THROTTLE["LINK_MAX_AGE_SECONDS"] // 60,
    }
    return email_one("login_link", context, user.email)
