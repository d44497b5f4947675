"""Render the figures the cluster scenarios wrote (var/cluster/figures.json) into
docs/RELIABILITY.md, between the markers of its "Cluster fault scenarios" section.

    python -m deploy.cluster.figures [--write]     (make cluster-figures)
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from deploy.cluster.launcher import ROOT

FIGURES = ROOT / "var" / "cluster" / "figures.json"
DOC = ROOT / "docs" / "RELIABILITY.md"
START = "<!-- cluster-figures:start -->"
END = "<!-- cluster-figures:end -->"
COLUMNS = [
    "scenario",
    "checks per expected check",
    "steps fired twice",
    "deliveries lost",
    "deliveries duplicated (in flight at the fault)",
    "seconds to takeover",
    "seconds to resume",
    "seconds from the fault to all sent",
]
DASH = "–"
ORDER = [
    "node killed mid fan-out",
    "node killed mid probing",
    "node cut off the database",
    "task workers killed mid send",
    "PostgreSQL restarted under load",
    "Redis restarted under load",
]


def in_order(figures: dict[str, dict]) -> list[tuple[str, dict]]:
    """The scenarios in the order of the section's table, benchmark runs last."""
    rank = {name: i for i, name in enumerate(ORDER)}
    return sorted(figures.items(), key=lambda item: (rank.get(item[0], len(ORDER)), item[0]))


def cell(value: object) -> str:
    return DASH if value is None else str(value)


def row(scenario: str, f: dict) -> list[str]:
    lost = None
    if "subscribers" in f:
        lost = max(f.get("subscribers_never_told", 0), f.get("deliveries_not_sent", 0))
    duplicated = None
    if "duplicates" in f:
        duplicated = f"{f['duplicates']} ({f.get('in_flight_at_fault', DASH)})"
    takeover = f.get("seconds_to_lease_takeover")
    if "longest_probe_silence_seconds" in f:
        takeover = (
            f"lease {cell(takeover)}; longest probe silence "
            f"{f['longest_probe_silence_seconds']} (interval {f['interval_seconds']})"
        )
    if "checks_by_the_cut_node_after_the_cut" in f:
        takeover = (
            f"lease {cell(takeover)}; checks by the cut node after the cut "
            f"{f['checks_by_the_cut_node_after_the_cut']}"
        )
    return [
        scenario,
        cell(f.get("checks_per_expected_check")),
        cell(f.get("steps_fired_twice")),
        cell(lost),
        cell(duplicated),
        cell(takeover),
        cell(f.get("seconds_to_resume")),
        cell(f.get("seconds_from_fault_to_all_sent")),
    ]


def details(scenario: str, f: dict) -> str:
    shown = {k: v for k, v in sorted(f.items()) if k not in {"command", "measured_at"}}
    return f"- **{scenario}** ({f.get('measured_at', '?')}): " + ", ".join(
        f"{k.replace('_', ' ')} {v}" for k, v in shown.items()
    )


def render(figures: dict[str, dict]) -> str:
    lines = [
        "| " + " | ".join(COLUMNS) + " |",
        "|" + "---|" * len(COLUMNS),
    ]
    lines += ["| " + " | ".join(row(name, f)) + " |" for name, f in in_order(figures)]
    lines += ["", "Everything each scenario measured:", ""]
    lines += [details(name, f) for name, f in in_order(figures)]
    return "\n".join(lines)


def replace_between_markers(text: str, table: str) -> str:
    if START not in text or END not in text:
        raise SystemExit(f"{DOC} has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}\n{END}{tail}"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m deploy.cluster.figures")
    parser.add_argument("--figures", type=Path, default=FIGURES)
    parser.add_argument("--write", action="store_true", help=f"update {DOC.name}")
    args = parser.parse_args(argv)
    figures = json.loads(args.figures.read_text())
    table = render(figures)
    if args.write:
        DOC.write_text(replace_between_markers(DOC.read_text(), table))
        print(f"wrote {len(figures)} scenarios' figures to {DOC}")
    else:
        print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main())
