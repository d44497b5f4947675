"""How each provider counts a message's length: the measures channels declare on their parts.

SMS is counted in segments (GSM-7: 160 characters alone, 153 each when concatenated, the
extension characters taking two; anything outside GSM-7 switches the whole message to
UCS-2: 70 alone, 67 each, counted in UTF-16 units). X weighs most scripts' characters 2
and every link 23; Bluesky counts graphemes; Mastodon counts characters with links as 23.

Each measure takes (text, limit) and returns "" when the text fits, else what is over, in
the words the console's preview shows (see notifiers.registry.Limit).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass

import regex

GSM7_BASIC = set(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM7_EXTENSION = set("^{}\\[~]|€\f")
URL = regex.compile(r"https?://\S+")
X_LIGHT_RANGES = [(0, 4351), (8192, 8205), (8208, 8223), (8242, 8247)]
URL_WEIGHT = 23


@dataclass(frozen=True)
class SmsCount:
    encoding: str
    units: int
    segments: int


def sms_count(text: str) -> SmsCount:
    if all(c in GSM7_BASIC or c in GSM7_EXTENSION for c in text):
        units = sum(2 if c in GSM7_EXTENSION else 1 for c in text)
        single, multi, encoding = 160, 153, "GSM-7"
    else:
        units = len(text.encode("utf-16-le")) // 2
        single, multi, encoding = 70, 67, "UCS-2"
    segments = 1 if units <= single else math.ceil(units / multi)
    return SmsCount(encoding, units, segments)


# Typographic punctuation written in its GSM-7 look-alike, as Twilio's smart encoding does.
GSM7_LOOKALIKES = {
    "‘": "'",
    "’": "'",
    "‚": "'",
    "“": '"',
    "”": '"',
    "„": '"',
    "«": '"',
    "»": '"',
    "–": "-",
    "—": "-",
    "…": "...",
    "\u00a0": " ",
    "\u202f": " ",
}


def gsm7_fold(text: str) -> str:
    """The text with each letter outside GSM-7 that is a GSM-7 letter plus accents written
    without them ("actualización" -> "actualizacion") and typographic punctuation in its
    plain form: one accent or curly quote no longer switches a whole Spanish text to UCS-2,
    which holds 67 characters a segment instead of 153. Other characters (emoji, other
    scripts) are kept, and the text stays UCS-2."""
    folded = []
    for char in text:
        if char in GSM7_BASIC or char in GSM7_EXTENSION:
            folded.append(char)
            continue
        if char in GSM7_LOOKALIKES:
            folded.append(GSM7_LOOKALIKES[char])
            continue
        base = unicodedata.normalize("NFD", char)[0]
        folded.append(base if base in GSM7_BASIC else char)
    return "".join(folded)


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


def over(used: int, limit: int, unit: str) -> str:
    return f"{used} {unit}; the limit is {limit}" if used > limit else ""


def sms_segments(text: str, limit: int) -> str:
    count = sms_count(text)
    if count.segments <= limit:
        return ""
    return (
        f"{count.segments} segments ({count.encoding}, {count.units} characters); "
        f"the limit is {limit} segments"
    )


def characters(text: str, limit: int) -> str:
    return over(len(text), limit, "characters")


def x_weighted(text: str, limit: int) -> str:
    return over(x_weight(text), limit, "weighted characters")


def bluesky_graphemes(text: str, limit: int) -> str:
    return over(graphemes(text), limit, "graphemes")


def mastodon_characters(text: str, limit: int) -> str:
    return over(mastodon_length(text), limit, "characters")
