"""The one set of rules for text and times that come from outside: the management API, the
console's forms, the admin and `load_probes` all refuse the same things, with the same words.

Text may hold tab, newline and carriage return (browsers send a textarea's lines with CRLF)
but no other C0 control character and nothing that is not UTF-8 (a lone surrogate from JSON's
`\\ud800`): PostgreSQL refuses NUL, XML 1.0 (our feeds) refuses the rest, and none of them
means anything in a status message. Times must lie in a window every database, every
timezone conversion and every `timedelta` we add can carry.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.dateparse import parse_datetime
from django.utils.translation import gettext_lazy as _

CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# What XML 1.0 cannot carry at all: the controls above, surrogates and the two non-characters.
NOT_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(2999, 12, 31, 23, 59, 59, tzinfo=UTC)

CONTROL_MESSAGE = _("Control characters other than tab and newline are not allowed.")
ENCODING_MESSAGE = _("The text is not valid UTF-8 (it holds a lone surrogate).")
TIME_MESSAGE = _("An ISO 8601 time with an offset, e.g. 2026-11-28T02:00:00Z.")
RANGE_MESSAGE = _("A time between 1970 and 2999.")


def text_problem(value: str) -> str | None:
    """Why `value` is refused, or None when it is acceptable text."""
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return str(ENCODING_MESSAGE)
    if CONTROL.search(value):
        return str(CONTROL_MESSAGE)
    return None


def validate_text(value: object) -> None:
    """A Django validator: forms and `full_clean` call it."""
    if isinstance(value, str):
        problem = text_problem(value)
        if problem:
            raise ValidationError(problem, code="invalid_text")


def xml_safe(value: str) -> str:
    """What a feed can carry: characters XML 1.0 refuses are dropped, never a 500."""
    return NOT_XML.sub("", value)


def moment_problem(value: datetime) -> str | None:
    if value.tzinfo is None:
        return str(TIME_MESSAGE)
    try:
        in_utc = value.astimezone(UTC)
    except (OverflowError, ValueError):
        return str(RANGE_MESSAGE)
    if not EARLIEST <= in_utc <= LATEST:
        return str(RANGE_MESSAGE)
    return None


def parse_moment(value: object) -> datetime:
    """An aware datetime in range from an ISO 8601 string, or ValueError saying what is wrong."""
    if not isinstance(value, str) or text_problem(value):
        raise ValueError(str(TIME_MESSAGE))
    try:
        parsed = parse_datetime(value)
    except (ValueError, OverflowError):
        parsed = None
    if parsed is None:
        raise ValueError(str(TIME_MESSAGE))
    problem = moment_problem(parsed)
    if problem:
        raise ValueError(problem)
    return parsed


def validate_moment(value: object) -> None:
    if isinstance(value, datetime):
        problem = moment_problem(value)
        if problem:
            raise ValidationError(problem, code="out_of_range")


class CleanInput(models.Model):
    """A model whose text and time fields keep these rules in `full_clean`: the admin's
    forms and `load_probes` validate through it. Adds no column (abstract, no fields)."""

    class Meta:
        abstract = True

    def clean_fields(self, exclude=None) -> None:
        errors: dict[str, list] = {}
        try:
            super().clean_fields(exclude=exclude)
        except ValidationError as error:
            errors = dict(error.error_dict)
        for field in self._meta.concrete_fields:
            if (exclude and field.name in exclude) or field.name in errors:
                continue
            check = field_check(field)
            if check is None:
                continue
            try:
                check(getattr(self, field.attname))
            except ValidationError as error:
                errors[field.name] = error.error_list
        if errors:
            raise ValidationError(errors)


def field_check(field):
    if isinstance(field, models.CharField | models.TextField):
        return validate_text
    if isinstance(field, models.DateTimeField):
        return validate_moment
    return None
