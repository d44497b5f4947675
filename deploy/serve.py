"""`make serve` (`python -m deploy.serve`): the production stack of one node, from the environment.

Checks that every variable production needs is set (and refuses the sandbox), then migrates,
collects the static files whitenoise serves, wipes this node's Prometheus files, and runs
`manage.py runall --no-demo --no-sandbox` (gunicorn web workers, the engine, the task cluster),
replacing this process, so SIGTERM to it stops the node. Like deploy.cluster it imports none
of our apps: it checks the environment before Django would fail on it with a traceback.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

# Each required variable and why production cannot guess it.
REQUIRED = {
    "SECRET_KEY": "signs sessions, unsubscribe links and confirmation codes",
    "ALLOWED_HOSTS": "the host names the site answers for (comma separated)",
    "DATABASE_URL": "the database every process of every node shares (postgres://...)",
    "REDIS_URL": "the task broker every node's workers share (redis://...)",
    "STATUSPAGE_URL": "the public address used in links, emails and pushes (https://...)",
}
REFUSED = {
    "SANDBOX_URL": "points every provider at the test sandbox: unset it in production",
}


def problems(env: Mapping[str, str]) -> list[str]:
    """One line per variable that is missing or must not be set; empty when all is well."""
    lines = [f"  {name} is not set: {why}" for name, why in REQUIRED.items() if not env.get(name)]
    lines += [f"  {name} is set: {why}" for name, why in REFUSED.items() if env.get(name)]
    return lines


def production_env(env: Mapping[str, str]) -> dict[str, str]:
    return {**env, "DEBUG": "0", "PYTHONUNBUFFERED": "1"}


def manage(env: Mapping[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True)


def runall_argv(host: str, port: int, workers: int) -> list[str]:
    argv = [sys.executable, "manage.py", "runall", "--no-demo", "--no-sandbox"]
    argv += ["--only", "web,engine,tasks", "--host", host, "--port", str(port)]
    return argv + (["--workers", str(workers)] if workers else [])


def parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="make serve", description=__doc__)
    parser.add_argument("--host", default=os.environ.get("WEB_HOST", "127.0.0.1"))
    parser.add_argument("--port", type=int, default=int(os.environ.get("PORT", "8000")))
    parser.add_argument("--workers", type=int, default=0, help="default: WEB_WORKERS or 2n+1")
    parser.add_argument(
        "--no-migrate", action="store_true", help="another node runs the migrations"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    missing = problems(os.environ)
    if missing:
        print("make serve: the production environment is incomplete:", file=sys.stderr)
        print("\n".join(missing), file=sys.stderr)
        print("See docs/OPERATIONS.md, 'Serving production'.", file=sys.stderr)
        return 2
    env = production_env(os.environ)
    try:
        if not options.no_migrate:
            manage(env, "migrate", "--noinput")
        manage(env, "collectstatic", "--noinput", "--verbosity", "0")
        if env.get("PROMETHEUS_MULTIPROC_DIR"):
            manage(env, "metrics_reset")
    except subprocess.CalledProcessError as error:
        print(f"make serve: {' '.join(error.cmd[1:])} failed; not starting.", file=sys.stderr)
        return 1
    os.chdir(ROOT)
    os.execve(sys.executable, runall_argv(options.host, options.port, options.workers), env)


if __name__ == "__main__":
    sys.exit(main())
