"""Subscriber addresses checked and normalised: the public forms and the management API
refuse the same numbers and URLs with the same words."""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

import phonenumbers
from django import forms
from django.conf import settings
from django.core.validators import URLValidator, validate_email
from django.utils.translation import gettext_lazy as _

from notifiers.destinations import BlockedDestination, checked_address

DEFAULT_PORTS = {"http": 80, "https": 443}

# Texts go to mobiles only: premium-rate, toll-free, shared-cost and fixed lines are where
# SMS pumping fraud sends codes. Where a country's plan cannot tell a mobile from a fixed
# line (the US, Canada), phonenumbers says FIXED_LINE_OR_MOBILE, and that is accepted.
TEXTABLE_NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
NOT_MOBILE = _("We send texts to mobile numbers only. Give a mobile number or subscribe by email.")
REFUSED_NUMBER_TYPES = {
    phonenumbers.PhoneNumberType.PREMIUM_RATE: _(
        "Premium-rate numbers cannot subscribe. Give a mobile number or subscribe by email."
    ),
    phonenumbers.PhoneNumberType.TOLL_FREE: _(
        "Toll-free numbers cannot receive texts. Give a mobile number or subscribe by email."
    ),
    phonenumbers.PhoneNumberType.FIXED_LINE: _(
        "This is a landline number. Give a mobile number or subscribe by email."
    ),
}
TWILIO_TEST_PREFIX = "+1500555"


def normalise_phone(raw: str) -> str:
    """E.164, or a ValidationError saying what is wrong (format, country not served)."""
    try:
        number = phonenumbers.parse(raw, settings.TWILIO["DEFAULT_REGION"])
    except phonenumbers.NumberParseException:
        raise forms.ValidationError(_("Enter a phone number, e.g. +1 415 555 0100.")) from None
    if not phonenumbers.is_valid_number(number):
        raise forms.ValidationError(_("This is not a valid phone number."))
    region = phonenumbers.region_code_for_number(number)
    if region not in settings.TWILIO["SMS_COUNTRIES"]:
        raise forms.ValidationError(
            _("We cannot send texts to numbers in %(region)s. Subscribe by email instead.")
            % {"region": region}
        )
    e164 = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    kind = phonenumbers.number_type(number)
    if kind not in TEXTABLE_NUMBER_TYPES and not sandbox_test_number(e164):
        raise forms.ValidationError(REFUSED_NUMBER_TYPES.get(kind, NOT_MOBILE))
    return e164


def sandbox_test_number(e164: str) -> bool:
    """Twilio's test numbers (+1 500 555 ...), which the sandbox answers as Twilio does."""
    return bool(settings.SANDBOX_URL) and e164.startswith(TWILIO_TEST_PREFIX)


def check_webhook_url(raw: str) -> str:
    """An https URL (plain http only in sandbox mode: tests, demo) whose host resolves only
    to public addresses (or to ones NOTIFIERS["WEBHOOK_ALLOWED_NETWORKS"] allows), so the
    sender cannot be turned against the internal network. Send time checks again."""
    URLValidator(schemes=["http", "https"])(raw)
    parts = urlsplit(raw)
    if parts.scheme != "https" and not settings.SANDBOX_URL:
        raise forms.ValidationError(_("Use an https:// URL."))
    try:
        checked_address(parts.hostname or "", parts.port or DEFAULT_PORTS[parts.scheme])
    except (socket.gaierror, UnicodeError):
        raise forms.ValidationError(
            _("We could not find the host %(host)s.") % {"host": parts.hostname}
        ) from None
    except BlockedDestination:
        raise forms.ValidationError(_("The URL must point to a public host.")) from None
    return raw


def check_email(raw: str) -> str:
    validate_email(raw)
    return raw.lower()
