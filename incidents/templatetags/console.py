from django import template

from notifiers.models import DeliveryState
from notifiers.recipients import Recipients

register = template.Library()


@register.filter
def delivery_state(value: str) -> str:
    """A delivery state in the reader's words ("sent" is "enviado" in Spanish)."""
    try:
        return str(DeliveryState(value).label).lower()
    except ValueError:
        return value


@register.filter
def recipients_label(value: str) -> str:
    """Whom a clock step tells, in the reader's words; the stored name if unknown."""
    try:
        return str(Recipients(value).label)
    except ValueError:
        return value


@register.filter
def get_item(mapping, key):
    return mapping.get(key) if mapping else None


@register.filter
def changes(event) -> str:
    """'status: investigating → identified; held_until: – → 01:30' from an audit event."""
    before, after = event.before or {}, event.after or {}
    parts = []
    for key in sorted(set(before) | set(after)):
        old, new = before.get(key), after.get(key)
        if old != new:
            parts.append(f"{key}: {shown(old)} → {shown(new)}")
    return "; ".join(parts)


def shown(value: object) -> object:
    return "–" if value in (None, "") else value
