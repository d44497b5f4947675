"""Each rendered message part checked against its channel's limit, at render time.

The limits are declared by the channels (`Channel.parts`, measured by notifiers.lengths) and
read here through notifiers.registry, never from the channel modules: this module sits below
them. `settings.MESSAGE_LIMITS` overrides a limit by its setting name (SMS_MAX_SEGMENTS,
PUSH_TITLE...). Wording that is not a channel's (the page, the banner, staff alerts) has none.
"""

from __future__ import annotations

from notifiers.registry import get_channel_class


class MessageTooLong(ValueError):
    """A rendered message over its channel's limit; the text says by how much."""

    def __init__(self, channel: str, part: str, detail: str) -> None:
        super().__init__(f"{channel} {part}: {detail}")
        self.channel = channel
        self.part = part
        self.detail = detail


def check(channel: str, part: str, text: str) -> None:
    """Raise MessageTooLong if `text` is over the limit of `channel`'s `part`."""
    detail = problem(channel, part, text)
    if detail:
        raise MessageTooLong(channel, part, detail)


def problem(channel: str, part: str, text: str) -> str:
    cls = get_channel_class(channel)
    declared = cls.part(part) if cls is not None else None
    if declared is None or declared.limit is None:
        return ""
    return declared.limit.problem(text)


def folder(channel: str, part: str):
    """The part's declared rewrite for a text over its limit (Part.fold), or None."""
    cls = get_channel_class(channel)
    declared = cls.part(part) if cls is not None else None
    return declared.fold if declared is not None else None
