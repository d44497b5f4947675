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
from statuspage import viewer
from statuspage.models import Component


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

    check_email = staticmethod(check_email)


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
