"""Each channel's length limit, measured the way the provider counts, checked at render time.

SMS is counted in segments (GSM-7: 160 characters alone, 153 each when concatenated, the
extension characters taking two; anything outside GSM-7 switches the whole message to
UCS-2: 70 alone, 67 each, counted in UTF-16 units). X weighs most scripts' characters 2
and every link 23; Bluesky counts graphemes; Mastodon counts characters with links as 23.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import regex
from django.conf import settings

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
URL = regex.compile(r"https?://\S+")
X_LIGHT_RANGES = [(0, 4351), (8192, 8205), (8208, 8223), (8242, 8247)]
URL_WEIGHT = 23

DEFAULT_LIMITS = {
    "SMS_MAX_SEGMENTS": 3,
    "PUSH_TITLE": 65,
    "PUSH_BODY": 240,
    "X": 280,
    "BLUESKY_GRAPHEMES": 300,
    "MASTODON": 500,
    "FACEBOOK": 63206,
}


class MessageTooLong(ValueError):
    """A rendered message over its channel's limit; the text says by how much."""

    def __init__(self, channel: str, part: str, detail: str) -> None:
        super().__init__(f"{channel} {part}: {detail}")
        self.channel = channel
        self.part = part
        self.detail = detail


@dataclass(frozen=True)
class SmsCount:
    encoding: str
    units: int
    segments: int


def limits() -> dict[str, int]:
    return {**DEFAULT_LIMITS, **getattr(settings, "MESSAGE_LIMITS", {})}


def sms_count(text: str) -> SmsCount:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsCount(encoding, units, segments)


def graphemes(text: str) -> int:
    return len(regex.findall(r"\X", text))


def x_weight(text: str) -> int:
    links = URL.findall(text)
    rest = URL.sub("", text)
    weight = URL_WEIGHT * len(links)
    for cluster in regex.findall(r"\X", rest):
        point = ord(cluster[0])
        light = any(low <= point <= high for low, high in X_LIGHT_RANGES)
        weight += 1 if light and len(cluster) == 1 else 2
    return weight


def mastodon_length(text: str) -> int:
    return len(URL.sub("x" * URL_WEIGHT, text))


def check(channel: str, part: str, text: str) -> None:
    """Raise MessageTooLong if `text` is over the limit of `channel`'s `part`."""
    detail = problem(channel, part, text)
    if detail:
        raise MessageTooLong(channel, part, detail)


def problem(channel: str, part: str, text: str) -> str:
    cap = limits()
    if channel == "sms":
        count = sms_count(text)
        if count.segments > cap["SMS_MAX_SEGMENTS"]:
            return (
                f"{count.segments} segments ({count.encoding}, {count.units} characters); "
                f"the limit is {cap['SMS_MAX_SEGMENTS']} segments"
            )
        return ""
    measures = {
        ("push", "title"): (len(text), cap["PUSH_TITLE"], "characters"),
        ("push", "body"): (len(text), cap["PUSH_BODY"], "characters"),
        ("x", "body"): (x_weight(text), cap["X"], "weighted characters"),
        ("bluesky", "body"): (graphemes(text), cap["BLUESKY_GRAPHEMES"], "graphemes"),
        ("mastodon", "body"): (mastodon_length(text), cap["MASTODON"], "characters"),
        ("facebook", "body"): (len(text), cap["FACEBOOK"], "characters"),
    }
    used, limit, unit = measures.get((channel, part), (0, 0, ""))
    if limit and used > limit:
        return f"{used} {unit}; the limit is {limit}"
    return ""
