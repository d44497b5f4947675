"""Render deploy/nginx's templates and run Debian's nginx on them (tests, benchmarks, a front
of one's own). Like deploy.cluster, nothing here imports Django or our apps.

`render_site` fills statuspage.conf.in (what production includes in its nginx); `Front`
writes a whole configuration around it into a directory of its own (pid, logs, temp files,
the micro-cache) and runs nginx in the foreground from it.
"""

from __future__ import annotations

import getpass
import re
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
NGINX = "/usr/sbin/nginx"
JS_MODULE = "/usr/lib/nginx/modules/ngx_http_js_module.so"
MIME_TYPES = "/etc/nginx/mime.types"
ADDRESS = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):\d{1,5}$")
SAFE_PATH = re.compile(r"^/[A-Za-z0-9._/+-]*$")
DURATION = re.compile(r"^\d+(ms|s|m)?$")


class FrontConfigError(ValueError):
    pass


@dataclass
class FrontConfig:
    """What statuspage.conf.in leaves open. Paths are absolute; addresses are host:port."""

    listen: str
    upstream: str
    snapshot_dir: Path
    cache_dir: Path
    server_name: str = "_"
    app_timeout: str = "5s"

    def problems(self) -> list[str]:
        found = [
            f"{name} must be host:port, not {value!r}"
            for name, value in (("listen", self.listen), ("upstream", self.upstream))
            if not ADDRESS.match(value)
        ]
        found += [
            f"{name} must be an absolute path of plain characters, not {str(value)!r}"
            for name, value in (("snapshot_dir", self.snapshot_dir), ("cache_dir", self.cache_dir))
            if not SAFE_PATH.match(str(value))
        ]
        if not re.match(r"^[A-Za-z0-9._*-]+$", self.server_name):
            found.append(f"server_name must be a host name or _, not {self.server_name!r}")
        if not DURATION.match(self.app_timeout):
            found.append(f"app_timeout must be like 5s, not {self.app_timeout!r}")
        return found


def fill(template: str, values: dict[str, str]) -> str:
    for name, value in values.items():
        template = template.replace(f"@{name}@", value)
    left = sorted(set(re.findall(r"@([A-Z_]+)@", template)))
    if left:
        raise FrontConfigError(f"the template has unfilled settings: {', '.join(left)}")
    return template


def render_site(config: FrontConfig) -> str:
    """statuspage.conf for this front: the server block and its cache and upstream."""
    problems = config.problems()
    if problems:
        raise FrontConfigError("; ".join(problems))
    return fill(
        (HERE / "statuspage.conf.in").read_text(),
        {
            "LISTEN": config.listen,
            "UPSTREAM": config.upstream,
            "SNAPSHOT_DIR": str(config.snapshot_dir),
            "CACHE_DIR": str(config.cache_dir),
            "SERVER_NAME": config.server_name,
            "APP_TIMEOUT": config.app_timeout,
            "NGINX_DIR": str(HERE),
        },
    )


def render_standalone(config: FrontConfig, prefix: Path, workers: str = "auto") -> Path:
    """A whole nginx configuration in `prefix`; returns its nginx.conf."""
    prefix.mkdir(parents=True, exist_ok=True)
    (prefix / "statuspage.conf").write_text(render_site(config))
    main = fill(
        (HERE / "nginx.conf.in").read_text(),
        {
            "JS_MODULE": JS_MODULE,
            "MIME_TYPES": MIME_TYPES,
            "PREFIX": str(prefix),
            "WORKERS": workers,
            "USER": getpass.getuser(),
            "ACCESS_LOG": "off",
        },
    )
    path = prefix / "nginx.conf"
    path.write_text(main)
    return path


def port_answers(address: str) -> bool:
    host, _, port = address.rpartition(":")
    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=0.5):
            return True
    except OSError:
        return False


@dataclass
class Front:
    """Debian's nginx running one standalone configuration in the foreground."""

    config: FrontConfig
    prefix: Path
    workers: str = "auto"
    process: subprocess.Popen | None = field(default=None, init=False)

    def start(self, timeout: float = 15.0) -> None:
        if not Path(NGINX).exists() or not Path(JS_MODULE).exists():
            raise FrontConfigError("nginx or its njs module is missing: run `make nginx`")
        conf = render_standalone(self.config, self.prefix, self.workers)
        self.config.cache_dir.mkdir(parents=True, exist_ok=True)
        argv = [NGINX, "-p", str(self.prefix), "-e", str(self.prefix / "error.log"), "-c"]
        check = subprocess.run([*argv, str(conf), "-t"], capture_output=True, text=True)
        if check.returncode:
            raise FrontConfigError(f"nginx refused the configuration: {check.stderr}")
        log = (self.prefix / "nginx.out").open("ab")
        self.process = subprocess.Popen([*argv, str(conf)], stdout=log, stderr=log)
        deadline = time.monotonic() + timeout
        while not port_answers(self.config.listen):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise FrontConfigError(f"nginx did not start: {self.error_log()}")
            time.sleep(0.05)

    def error_log(self) -> str:
        path = self.prefix / "error.log"
        return path.read_text()[-2000:] if path.exists() else ""

    def stop(self) -> None:
        if self.process is None:
            return
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGQUIT)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def clear_cache(self) -> None:
        shutil.rmtree(self.config.cache_dir, ignore_errors=True)

    def __enter__(self) -> Front:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()
