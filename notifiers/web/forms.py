"""The public subscribe and preferences forms: every address validated and normalised."""

from __future__ import annotations

import socket
from typing import Any
from urllib.parse import urlsplit

import phonenumbers
from django import forms
from django.conf import settings
from django.core.validators import URLValidator, validate_email
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifiers.destinations import BlockedDestination, checked_address
from notifiers.languages import supported_language
from notifiers.subscribers import SubscriberChannel, WebhookFormat
from statuspage import viewer
from statuspage.models import Component

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


class ComponentsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs) -> None:
        super().__init__(queryset=Component.objects.order_by("name"), required=False, **kwargs)


class ShownComponents(forms.Form):
    """The components a reader may choose: the public ones, or on an audience's page (or
    for its subscriber) also those private to it (statuspage.models.visible_to)."""

    def __init__(self, *args, audience=None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        shown = Component.objects.visible_to(audience or viewer.audience())
        field = self.fields["components"]
        field.queryset = shown.order_by("name")  # type: ignore[attr-defined]


class AddressForm(forms.Form):
    """Validates and normalises an address field with the channel's own check."""

    def clean_address(self, field: str, check) -> str:
        raw = (self.cleaned_data.get(field) or "").strip()
        if not raw:
            self.add_error(field, _("This field is required."))
            return ""
        try:
            return check(raw)
        except forms.ValidationError as error:
            self.add_error(field, error)
            return ""

    def clean_backup(self, field: str, check) -> str:
        """An optional backup contact, checked as a subscription's address when given."""
        return self.clean_address(field, check) if self.cleaned_data.get(field) else ""

    @staticmethod
    def check_email(raw: str) -> str:
        validate_email(raw)
        return raw.lower()


class SubscribeForm(ShownComponents, AddressForm):
    channel = forms.ChoiceField(
        choices=[
            (SubscriberChannel.EMAIL, _("Email")),
            (SubscriberChannel.SMS, _("Text message")),
            (SubscriberChannel.WEBHOOK, _("Webhook")),
        ],
        widget=forms.RadioSelect,
        initial=SubscriberChannel.EMAIL,
    )
    email = forms.CharField(required=False, max_length=254, label=_("Email address"))
    phone = forms.CharField(required=False, max_length=32, label=_("Mobile number"))
    url = forms.CharField(required=False, max_length=500, label=_("Webhook URL"))
    webhook_format = forms.ChoiceField(
        choices=WebhookFormat.choices,
        initial=WebhookFormat.STATUSPAGE,
        required=False,
        label=_("Payload format"),
    )
    backup_phone = forms.CharField(
        required=False,
        max_length=32,
        label=_("Backup mobile, optional"),
        help_text=_("With email: we text it when we cannot reach your inbox."),
    )
    backup_email = forms.CharField(
        required=False,
        max_length=254,
        label=_("Backup email, optional"),
        help_text=_("With a text message: we write to it when we cannot reach your phone."),
    )
    components = ComponentsField(
        label=_("Only these components"),
        help_text=_("Leave all unticked to hear about everything."),
    )
    language = forms.ChoiceField(
        choices=settings.LANGUAGES,
        required=False,
        label=_("Language of the messages"),
        help_text=_("Left out: the language of this page."),
    )

    def clean_language(self) -> str:
        return self.cleaned_data["language"] or translation.get_language() or settings.LANGUAGE_CODE

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data; the stubs allow None
        channel = data.get("channel")
        if channel == SubscriberChannel.EMAIL:
            data["address"] = self.clean_address("email", self.check_email)
            data["backup"] = self.clean_backup("backup_phone", normalise_phone)
        elif channel == SubscriberChannel.SMS:
            data["address"] = self.clean_address("phone", normalise_phone)
            data["backup"] = self.clean_backup("backup_email", self.check_email)
        elif channel == SubscriberChannel.WEBHOOK:
            data["address"] = self.clean_address("url", check_webhook_url)
        return data


class BackupForm(AddressForm):
    """A subscriber's backup contact: a mobile number for an email subscriber, an email
    address for an SMS one, checked as a subscription's (SMS countries, mobiles only)."""

    def __init__(self, channel: str, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel == SubscriberChannel.SMS:
            self.fields["phone"] = forms.CharField(
                max_length=32,
                required=False,
                label=_("Backup mobile number"),
                widget=forms.TextInput(attrs={"type": "tel", "autocomplete": "tel"}),
            )
        else:
            self.fields["email"] = forms.CharField(
                max_length=254,
                required=False,
                label=_("Backup email address"),
                widget=forms.EmailInput(attrs={"autocomplete": "email"}),
            )

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        assert data is not None  # Form.clean returns cleaned_data; the stubs allow None
        if self.channel == SubscriberChannel.SMS:
            data["address"] = self.clean_address("phone", normalise_phone)
        else:
            data["address"] = self.clean_address("email", self.check_email)
        return data


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label=_("Confirmation code"))


class PreferencesForm(ShownComponents):
    components = ComponentsField(
        label=_("Components"), help_text=_("Leave all unticked to hear about everything.")
    )
    language = forms.ChoiceField(choices=settings.LANGUAGES, label=_("Language of the messages"))


class DeviceForm(ShownComponents):
    """Push device registration from an app: its Firebase installation id (or token)."""

    fid = forms.CharField(max_length=500)
    # The device's language tag (BCP 47, e.g. "es-MX"); stored as the closest language we
    # write in, the default one when we have none closer.
    locale = forms.RegexField(
        regex=r"^[A-Za-z]{2,8}([-_][A-Za-z0-9]{1,8})*$",
        max_length=35,
        required=False,
        error_messages={"invalid": _("Give a language tag such as en, es or es-MX.")},
    )

    def clean_locale(self) -> str:
        return (
            supported_language(self.cleaned_data["locale"]) if self.cleaned_data["locale"] else ""
        )

    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.all(), required=False, to_field_name="public_id"
    )
