"""The public subscribe and preferences forms: every address validated and normalised."""

from __future__ import annotations

from typing import Any

from django import forms
from django.conf import settings
from django.utils import translation
from django.utils.translation import gettext_lazy as _

from notifiers.addresses import check_email, check_webhook_url, normalise_phone
from notifiers.languages import supported_language
from notifiers.subscribers import SubscriberChannel, WebhookFormat
from statuspage.models import Component


class ComponentsField(forms.ModelMultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs) -> None:
        super().__init__(queryset=Component.objects.order_by("name"), required=False, **kwargs)


class SubscribeForm(forms.Form):
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
            data["address"] = self.clean_address("email", check_email)
        elif channel == SubscriberChannel.SMS:
            data["address"] = self.clean_address("phone", normalise_phone)
        elif channel == SubscriberChannel.WEBHOOK:
            data["address"] = self.clean_address("url", check_webhook_url)
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


class CodeForm(forms.Form):
    code = forms.CharField(max_length=6, min_length=6, label=_("Confirmation code"))


class PreferencesForm(forms.Form):
    components = ComponentsField(
        label=_("Components"), help_text=_("Leave all unticked to hear about everything.")
    )
    language = forms.ChoiceField(choices=settings.LANGUAGES, label=_("Language of the messages"))


class DeviceForm(forms.Form):
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
