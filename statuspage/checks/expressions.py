"""The small languages a probe is configured with: status code lists and JSON comparisons."""

from __future__ import annotations

import json
import operator
import re
from dataclasses import dataclass
from typing import Any

from django.utils.translation import gettext as _


class ExpressionError(ValueError):
    """A probe setting that cannot be understood; the message says how to fix it."""


def parse_expected_codes(text: str) -> frozenset[int]:
    """'200' or '200-299, 304' -> the set of codes that pass."""
    codes: set[int] = set()
    for part in filter(None, (p.strip() for p in str(text).split(","))):
        match = re.fullmatch(r"(\d{3})(?:\s*-\s*(\d{3}))?", part)
        if not match:
            raise ExpressionError(f"'{part}' is not a status code or a range like 200-299.")
        low, high = int(match[1]), int(match[2] or match[1])
        if not 100 <= low <= high <= 599:
            raise ExpressionError(f"'{part}' must lie within 100-599, low to high.")
        codes.update(range(low, high + 1))
    if not codes:
        raise ExpressionError("Give at least one status code.")
    return frozenset(codes)


OPERATORS = {
    "<=": operator.le,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
    "<": operator.lt,
    ">": operator.gt,
}
JSON_CHECK = re.compile(r"^\s*(\$(?:\.[A-Za-z_][\w-]*|\[\d+\])*)\s*(<=|>=|==|!=|<|>)\s*(.+?)\s*$")
STEP = re.compile(r"\.([A-Za-z_][\w-]*)|\[(\d+)\]")


@dataclass(frozen=True)
class JsonCheck:
    path: str
    op: str
    expected: Any

    def read(self, document: Any) -> Any:
        value = document
        for key, index in STEP.findall(self.path[1:]):
            try:
                value = value[key] if key else value[int(index)]
            except (KeyError, IndexError, TypeError):
                raise ExpressionError(f"{self.path} is missing from the response.") from None
        return value

    def failure(self, document: Any) -> str:
        """Empty when the document passes; otherwise what was found and what was expected."""
        value = self.read(document)
        try:
            passed = OPERATORS[self.op](value, self.expected)
        except TypeError:
            passed = False
        return (
            ""
            if passed
            else f"{self.path} is {json.dumps(value)}, "
            f"expected {self.op} {json.dumps(self.expected)}"
        )


def parse_json_check(text: str) -> JsonCheck:
    """'$.queue.depth < 1000' -> a path, an operator and a JSON value to compare with."""
    match = JSON_CHECK.match(text)
    if not match:
        raise ExpressionError(
            "Write it as a path, an operator and a value, e.g. '$.queue.depth < 1000'."
        )
    try:
        expected = json.loads(match[3])
    except json.JSONDecodeError:
        raise ExpressionError(f'{match[3]!r} is not a JSON value (quote strings: "ok").') from None
    return JsonCheck(match[1], match[2], expected)


def validate_regex(text: str) -> re.Pattern[str]:
    """A body or banner pattern, compiled as the check will."""
    try:
        return re.compile(text)
    except re.error as error:
        raise ExpressionError(_("Not a valid regular expression: %(e)s") % {"e": error}) from None


PATH = re.compile(r"^\$(?:\.[A-Za-z_][\w-]*|\[\d+\])+$")


def parse_value_path(text: str) -> JsonCheck:
    """'$.data_age_seconds' -> a reader for that number (the comparison comes from thresholds)."""
    if not PATH.match(text.strip()):
        raise ExpressionError("Write a path like '$.data_age_seconds' or '$.queues[0].depth'.")
    return JsonCheck(text.strip(), "<", None)


def judge_number(
    path: str, document: Any, degraded_above: float | None, outage_above: float | None
) -> tuple[str, str]:
    """(error, severity) for a number against its thresholds; ('', '') when within them."""
    value = parse_value_path(path).read(document)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return f"{path} is {json.dumps(value)}, not a number", "outage"
    if outage_above is not None and value > outage_above:
        return f"{path} is {value:g}, above the outage threshold {outage_above:g}", "outage"
    if degraded_above is not None and value > degraded_above:
        return f"{path} is {value:g}, above the degraded threshold {degraded_above:g}", "degraded"
    return "", ""
