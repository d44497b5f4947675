"""A PostgreSQL server and a Redis server of our own, on ports of our choosing, that a
fault scenario may stop and restart without touching the machine's shared ones.

PostgreSQL comes from Debian's binaries (/usr/lib/postgresql/<version>/bin); its data
directory is a temporary one, with fsync off (a scenario's data is thrown away). As root,
initdb and the server run as the `postgres` user, which PostgreSQL requires.
"""

from __future__ import annotations

import glob
import ipaddress
import os
import pwd
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

PG_BIN_GLOB = "/usr/lib/postgresql/*/bin"


def pg_bin(name: str) -> str:
    """The newest installed version's binary (pg_ctl, initdb), else one on PATH."""
    for directory in sorted(glob.glob(PG_BIN_GLOB), reverse=True):
        candidate = Path(directory) / name
        if candidate.exists():
            return str(candidate)
    found = shutil.which(name)
    if found is None:
        raise FileNotFoundError(f"{name} not found: install Debian's postgresql package")
    return found


class OwnPostgres:
    """`with OwnPostgres(port) as pg:` a fresh server; pg.url(name) for a database on it."""

    def __init__(self, port: int, listen: tuple[str, ...] = ("127.0.0.1",)) -> None:
        self.port = port
        self.listen = listen
        self.directory = Path(tempfile.mkdtemp(prefix="statuspage-pg-"))
        self.data = self.directory / "data"
        self.log = self.directory / "server.log"
        self.as_root = os.geteuid() == 0

    def run(self, *argv: str) -> subprocess.CompletedProcess:
        command = list(argv)
        if self.as_root:
            command = ["runuser", "-u", "postgres", "--", *command]
        return subprocess.run(command, check=True, capture_output=True, text=True, timeout=120)

    def init(self) -> None:
        if self.as_root:
            user = pwd.getpwnam("postgres")
            os.chown(self.directory, user.pw_uid, user.pw_gid)
        self.run(pg_bin("initdb"), "-D", str(self.data), "-A", "trust", "-U", "postgres")
        # Clients on the network of each address we listen on (a namespace's veth peer).
        networks = "\n".join(
            f"host all all {ipaddress.ip_network(f'{address}/24', strict=False)} trust"
            for address in self.listen
            if address != "127.0.0.1"
        )
        with (self.data / "pg_hba.conf").open("a") as hba:
            hba.write(f"\n{networks}\n")

    def start(self) -> None:
        options = (
            f"-p {self.port} -c listen_addresses={','.join(self.listen)}"
            f" -k {self.directory} -c fsync=off -c synchronous_commit=off"
            " -c full_page_writes=off -c max_connections=200"
        )
        self.run(
            pg_bin("pg_ctl"), "-D", str(self.data), "-o", options, "-l", str(self.log),
            "-w", "-t", "60", "start",
        )  # fmt: skip
        self.wait_accepting()

    def wait_accepting(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ready = subprocess.run(
                [pg_bin("pg_isready"), "-h", "127.0.0.1", "-p", str(self.port)],
                capture_output=True,
            )
            if ready.returncode == 0:
                return
            time.sleep(0.2)
        raise TimeoutError(f"PostgreSQL on {self.port} did not start; see {self.log}")

    def stop(self, mode: str = "fast") -> None:
        if self.data.exists():
            subprocess.run(
                (["runuser", "-u", "postgres", "--"] if self.as_root else [])
                + [pg_bin("pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop"],
                capture_output=True,
                timeout=120,
            )

    def url(self, database: str, host: str = "127.0.0.1") -> str:
        return f"postgres://postgres@{host}:{self.port}/{database}"

    def __enter__(self) -> OwnPostgres:
        try:
            self.init()
            self.start()
        except BaseException:
            self.cleanup()
            raise
        return self

    def __exit__(self, *exc: object) -> None:
        self.cleanup()

    def cleanup(self) -> None:
        self.stop("immediate")
        shutil.rmtree(self.directory, ignore_errors=True)


class OwnRedis:
    """`redis-server` on its own port with nothing saved: a restart loses every queued task,
    as a crashed broker without persistence would."""

    def __init__(self, port: int, listen: tuple[str, ...] = ("127.0.0.1",)) -> None:
        self.port = port
        self.listen = listen
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        self.process = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", *self.listen, "--save", ""]
            + ["--appendonly", "no", "--protected-mode", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        deadline = time.monotonic() + 20
        import redis

        while time.monotonic() < deadline:
            try:
                if redis.Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return
            except redis.RedisError:
                time.sleep(0.1)
        raise TimeoutError(f"redis-server on {self.port} did not start")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.process.send_signal(sig)
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()

    def url(self, db: int = 0, host: str = "127.0.0.1") -> str:
        return f"redis://{host}:{self.port}/{db}"

    def __enter__(self) -> OwnRedis:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop(signal.SIGKILL)
