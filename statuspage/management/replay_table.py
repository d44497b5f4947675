"""The replay's record as the table `manage.py demo replay` prints."""

from __future__ import annotations

COLUMNS = ("channel", "who", "first heard", "after break", "sent", "not sent", "what")
ORIGINAL = (
    "original outage (CONTEXT.md): followers unmonitored from 01:00, no 'no data' alert; "
    "first public word about 8 h later, on one social network only"
)


def cells(row: dict) -> tuple[str, ...]:
    first = row["first_at"][11:19] if row["first_at"] else "never"
    after = f"{row['minutes_after']:g} min" if row["minutes_after"] is not None else "-"
    return (
        row["channel"],
        row["recipients"],
        first,
        after,
        str(row["sent"]),
        str(row["not_sent"]),
        ", ".join(row["kinds"]),
    )


def line(row: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()


def table(record: dict) -> str:
    if not record["heard"]:
        return "nobody heard anything: no incident opened during the replay\n" + ORIGINAL
    rows = [COLUMNS, *(cells(row) for row in record["heard"])]
    widths = [max(len(row[i]) for row in rows) for i in range(len(COLUMNS))]
    lines = [line(row, widths) for row in rows]
    lines.insert(1, "  ".join("-" * width for width in widths))
    counts = ", ".join(f"{name} {count}" for name, count in sorted(record["sandbox"].items()))
    return "\n".join([*lines, "", f"sandbox received: {counts or 'nothing'}", ORIGINAL])
