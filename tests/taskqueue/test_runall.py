"""`runall` restarts a crashed part with backoff, and SIGTERM stops every part within a bound,
leaving no process behind in any part's process group."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

from statuspage.management.commands.runall import (
    MAX_BACKOFF_SECONDS,
    STABLE_SECONDS,
    STOP_GRACE_SECONDS,
)
from statuspage.management.commands.runall import (
    Child as Part,
)
from tests.taskqueue.processes import Child, group_members, poll

BOUND_SECONDS = 60


def children_of(pid: int) -> dict[int, str]:
    """Direct children of `pid`: their pid and command line."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text()
                argv = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
                found[int(entry.name)] = argv
    return found


def part_pid(runall: int, command: str) -> int | None:
    return next((pid for pid, argv in children_of(runall).items() if command in argv), None)


def test_restart_backoff_doubles_to_a_cap_and_resets_after_a_stable_run():
    part = Part("tasks", ["true"])
    delays = []
    for _ in range(8):
        part.started = 0.0
        delays.append(part.schedule_restart(now=1.0))
    assert delays == [1, 2, 4, 8, 16, MAX_BACKOFF_SECONDS, MAX_BACKOFF_SECONDS, 30]
    part.started = 0.0
    assert part.schedule_restart(now=STABLE_SECONDS + 1) == 1


def test_a_killed_part_comes_back_and_sigterm_stops_every_part_within_the_bound(env, tmp_path):
    runall = Child.manage("runall", "--only", "tasks,engine", env=env, log=tmp_path / "run.log")
    try:
        runall.wait_for(r"task cluster running", timeout=BOUND_SECONDS)
        tasks = poll(lambda: part_pid(runall.pid, "manage.py tasks"), timeout=10)
        engine = part_pid(runall.pid, "manage.py engine")
        assert tasks and engine
        os.kill(tasks, signal.SIGKILL)
        runall.wait_for(r"tasks exited with status -9 after \d+ s; restarting it in 1 s")
        runall.wait_for(r"task cluster running", count=2, timeout=BOUND_SECONDS)
        again = part_pid(runall.pid, "manage.py tasks")
        assert again and again != tasks
        assert part_pid(runall.pid, "manage.py engine") == engine, "the engine ran on"
        groups = list(children_of(runall.pid))
        asked = time.monotonic()
        runall.process.send_signal(signal.SIGTERM)
        assert runall.process.wait(STOP_GRACE_SECONDS + 10) == 0
        assert time.monotonic() - asked < STOP_GRACE_SECONDS + 10
        assert "everything stopped" in runall.output()
        assert all(group_members(pgid) == [] for pgid in [*groups, runall.pid])
    finally:
        runall.stop()


def test_a_stop_that_signals_every_process_at_once_restarts_nothing(env, tmp_path):
    """systemd's default stop (KillMode=control-group) sends SIGTERM to runall and every
    part at the same moment: the parts' clean exits are the stop, not crashes."""
    runall = Child.manage("runall", "--only", "tasks,engine", env=env, log=tmp_path / "run.log")
    try:
        runall.wait_for(r"task cluster running", timeout=BOUND_SECONDS)
        parts = [
            poll(lambda: part_pid(runall.pid, "manage.py tasks"), timeout=10),
            poll(lambda: part_pid(runall.pid, "manage.py engine"), timeout=10),
        ]
        groups = list(children_of(runall.pid))
        for pid in [*parts, runall.pid]:
            os.kill(pid, signal.SIGTERM)
        assert runall.process.wait(STOP_GRACE_SECONDS + 10) == 0
        output = runall.output()
        assert "everything stopped" in output
        assert "restarting" not in output and "restarted" not in output
        assert all(group_members(pgid) == [] for pgid in [*groups, runall.pid])
    finally:
        runall.stop()
