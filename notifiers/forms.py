"""The public subscribe and preferences forms: every address validated and normalised."""

from __future__ import annotations

import phonenumbers
from django import forms
from django.conf import settings
from django.core.validators import validate_email
from django.utils.translation import gettext_lazy as _

from notifiers.subscribers import SubscriberChannel
from statuspage.models import Component


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
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


class ComponentsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs) -> None:
        super().__init__(queryset=Component.objects.order_by("name"), required=False, **kwargs)


class SubscribeForm(forms.Form):
    channel = forms.ChoiceField(
        choices=[(SubscriberChannel.EMAIL, _("Email")), (SubscriberChannel.SMS, _("Text message"))],
        widget=forms.RadioSelect,
        initial=SubscriberChannel.EMAIL,
    )
    email = forms.CharField(required=False, max_length=254, label=_("Email address"))
    phone = forms.CharField(required=False, max_length=32, label=_("Mobile number"))
    components = ComponentsField(
        label=_("Only these components"), help_text=_("Leave all unticked to hear about everything.")
    )

    def clean(self) -> dict:
        data = super().clean()
        channel = data.get("channel")
        if channel == SubscriberChannel.EMAIL:
            data["address"] = self.clean_address("email", self.check_email)
        elif channel == SubscriberChannel.SMS:
            data["address"] = self.clean_address("phone", normalise_phone)
        return data

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

    @staticmethod
    def check_email(raw: str) -> str:
        validate_email(raw)
        return raw.lower()


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label=_("Confirmation code"))


class PreferencesForm(forms.Form):
    components = ComponentsField(
        label=_("Components"), help_text=_("Leave all unticked to hear about everything.")
    )


class DeviceForm(forms.Form):
    """Push device registration from an app: its Firebase installation id (or token)."""

    fid = forms.CharField(max_length=500)
    locale = forms.CharField(max_length=16, required=False)
    components = forms.ModelMultipleChoiceField(
        queryset=Component.objects.all(), required=False, to_field_name="public_id"
    )
