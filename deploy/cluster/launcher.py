"""Start N nodes of the status system on this machine behind one load balancer.

Each node is `manage.py runall --no-demo --only web,engine,tasks` (web, engine, task
cluster), which restarts a crashed part with backoff; the node is runall's process tree, and
SIGKILL of that whole tree is what losing a machine looks like to the others. All nodes
share one PostgreSQL database and one Redis (the task broker); one provider sandbox stands
in for the providers; Debian's haproxy spreads the public traffic over the nodes that
answer their readiness check.

Nothing here imports Django or our apps: the launcher only runs processes, the way an
operator's service manager would. Tests drive the same `Cluster` to break things.
"""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
TEMPLATE = Path(__file__).with_name("haproxy.cfg.in")
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/statuspage_cluster"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/5"
# A node is ready when it reaches the database and the broker (statuspage.operations).
DEFAULT_HEALTH_PATH = "/readyz"
STOP_GRACE_SECONDS = 25.0
START_TIMEOUT_SECONDS = 90.0
HAPROXY = "haproxy"


def env_int(env: Mapping[str, str], name: str, default: int) -> int:
    value = env.get(name)
    return int(value) if value else default


@dataclass
class ClusterConfig:
    """Where everything listens and what every node is told. Ports: the load balancer on
    `base_port`, node i on `base_port + i`, the sandbox on `base_port + 10`, haproxy's
    statistics page on `base_port + 11`."""

    nodes: int = 3
    base_port: int = 8100
    database_url: str = DEFAULT_DATABASE_URL
    redis_url: str = DEFAULT_REDIS_URL
    var_dir: Path = ROOT / "var" / "cluster"
    health_path: str = DEFAULT_HEALTH_PATH
    # Extra environment for every node (tests shorten intervals and leases here).
    env: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides) -> ClusterConfig:
        """CLUSTER_NODES, CLUSTER_PORT, CLUSTER_DATABASE_URL, CLUSTER_REDIS_URL,
        CLUSTER_VAR_DIR, CLUSTER_HEALTH_PATH; keyword arguments win."""
        env = os.environ if env is None else env
        values: dict = {
            "nodes": env_int(env, "CLUSTER_NODES", 3),
            "base_port": env_int(env, "CLUSTER_PORT", 8100),
            "database_url": env.get("CLUSTER_DATABASE_URL") or DEFAULT_DATABASE_URL,
            "redis_url": env.get("CLUSTER_REDIS_URL") or DEFAULT_REDIS_URL,
            "var_dir": Path(env.get("CLUSTER_VAR_DIR") or ROOT / "var" / "cluster"),
            "health_path": env.get("CLUSTER_HEALTH_PATH") or DEFAULT_HEALTH_PATH,
        }
        values.update(overrides)
        return cls(**values)

    @property
    def lb_port(self) -> int:
        return self.base_port

    @property
    def sandbox_port(self) -> int:
        return self.base_port + 10

    @property
    def stats_port(self) -> int:
        return self.base_port + 11

    def node_port(self, index: int) -> int:
        return self.base_port + index

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.lb_port}"

    @property
    def sandbox_url(self) -> str:
        return f"http://127.0.0.1:{self.sandbox_port}"


def with_query(url: str, **params: str) -> str:
    """The URL with these query parameters set (application_name names a node's sessions
    in pg_stat_activity, so an operator, and the tests, see which node does what)."""
    parts = urllib.parse.urlsplit(url)
    query = dict(urllib.parse.parse_qsl(parts.query))
    query.update(params)
    return urllib.parse.urlunsplit(parts._replace(query=urllib.parse.urlencode(query)))


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    ppid: int
    pgid: int
    title: str


def process_table() -> list[ProcessInfo]:
    """Every live process, read from /proc (zombies left out)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        if fields[0] == "Z":
            continue
        title = cmdline.replace(b"\0", b" ").decode(errors="replace").strip()
        found.append(ProcessInfo(int(entry.name), int(fields[1]), int(fields[2]), title))
    return found


def descendants(root: int) -> list[ProcessInfo]:
    """`root` and every process below it, parents before children. A node's parts may
    each run in a process group of their own (runall's restartable children), so a node is
    its process tree, not one group."""
    table = process_table()
    children: dict[int, list[ProcessInfo]] = {}
    for info in table:
        children.setdefault(info.ppid, []).append(info)
    tree = [info for info in table if info.pid == root]
    for info in tree:  # grows while it is walked: breadth first
        tree.extend(sorted(children.get(info.pid, []), key=lambda p: p.pid))
    return tree


def still_running(pids: set[int]) -> set[int]:
    return {p.pid for p in process_table()} & pids


def kill_all(processes: Sequence[ProcessInfo], sig: int = signal.SIGKILL) -> None:
    """Signal each process and each process group among them (the root first, so a
    supervisor cannot restart what is being killed)."""
    for info in processes:
        with suppress(ProcessLookupError):
            os.kill(info.pid, sig)
    for pgid in {info.pgid for info in processes}:
        with suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, sig)


# django-q2 names its processes through setproctitle: the pusher "qcluster <name> pusher",
# the monitor "qcluster <name> monitor", a worker "qcluster <name> idle" or "qcluster <name>
# processing <task> '<function>'" (until its first title, a fresh one has its parent's).
HELPER_TITLE = re.compile(r"^qcluster \S+ (pusher|monitor)$")


def task_workers(processes: Sequence[ProcessInfo]) -> list[ProcessInfo]:
    """The worker processes: the pusher's siblings, the monitor aside (the pusher's parent is
    django-q2's sentinel, which starts the workers, the monitor and the pusher)."""
    sentinels = {p.ppid for p in processes if p.title.endswith(" pusher")}
    return [p for p in processes if p.ppid in sentinels and not HELPER_TITLE.match(p.title)]


def http_ok(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return 200 <= response.status < 300
    except (OSError, urllib.error.URLError):
        return False


class Node:
    """One node: `manage.py runall` and its children, in a process group of their own."""

    def __init__(self, cluster: Cluster, index: int) -> None:
        self.cluster = cluster
        self.index = index
        self.name = f"node{index}"
        self.port = cluster.config.node_port(index)
        self.process: subprocess.Popen | None = None
        # A command the node is started through (e.g. `ip netns exec NAME`), if any.
        self.wrapper: list[str] = []
        self.host = "127.0.0.1"
        self.env_overrides: dict[str, str] = {}

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def log_path(self) -> Path:
        return self.cluster.config.var_dir / f"{self.name}.log"

    def argv(self) -> list[str]:
        return [
            *self.wrapper,
            sys.executable,
            str(ROOT / "manage.py"),
            "runall",
            "--port",
            str(self.port),
            "--host",
            self.host,
            "--no-demo",
            "--only",
            "web,engine,tasks",
        ]

    def env(self) -> dict[str, str]:
        env = self.cluster.node_env()
        env.update(
            DATABASE_URL=with_query(
                self.cluster.config.database_url, application_name=f"cluster-{self.name}"
            ),
            STATUSPAGE_VAR_DIR=str(self.cluster.config.var_dir / self.name),
            PROMETHEUS_MULTIPROC_DIR=str(self.metrics_dir),
            PORT=str(self.port),
            CLUSTER_NODE=self.name,
        )
        env.update(self.env_overrides)
        return env

    @property
    def metrics_dir(self) -> Path:
        """prometheus_client's multiprocess files of this node's processes."""
        return self.cluster.config.var_dir / self.name / "metrics"

    def start(self) -> None:
        if self.alive:
            raise RuntimeError(f"{self.name} is already running")
        # A restarted node starts its counters afresh, as `manage.py metrics_reset` would.
        shutil.rmtree(self.metrics_dir, ignore_errors=True)
        self.metrics_dir.mkdir(parents=True)
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv(),
                env=self.env(),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        """The node's root process (runall)."""
        if self.process is None:
            raise RuntimeError(f"{self.name} was never started")
        return self.process.pid

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def processes(self) -> list[ProcessInfo]:
        return descendants(self.pid) if self.alive else []

    def task_workers(self) -> list[int]:
        """The pids of this node's django-q2 worker processes (the ones that run tasks)."""
        return [p.pid for p in task_workers(self.processes())]

    def kill(self) -> None:
        """SIGKILL the whole node, as losing its machine would: nothing gets to clean up."""
        processes = self.processes()
        kill_all(processes)
        self.reap({p.pid for p in processes}, 5)

    def terminate(self) -> set[int]:
        """SIGTERM the node's root (runall stops its parts within its own bounded time);
        returns the pids to wait for."""
        processes = self.processes()
        if processes:
            with suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGTERM)
        return {p.pid for p in processes}

    def stop(self, grace: float = STOP_GRACE_SECONDS) -> None:
        self.reap(self.terminate(), grace)

    def reap(self, pids: set[int], grace: float) -> None:
        """Wait for these processes to end, SIGKILLing what is left after `grace` seconds."""
        deadline = time.monotonic() + grace
        while still_running(pids) and time.monotonic() < deadline:
            if self.process is not None:
                self.process.poll()
            time.sleep(0.1)
        left = still_running(pids)
        if left:
            kill_all([p for p in process_table() if p.pid in left])
        if self.process is not None:
            with suppress(subprocess.TimeoutExpired):
                self.process.wait(timeout=5)

    def ready(self) -> bool:
        """Its web answers the readiness check: asked directly on loopback, else (a node in
        a network namespace) as the load balancer sees it."""
        if not self.alive:
            return False
        if self.host.startswith("127."):
            return http_ok(self.url + self.cluster.config.health_path)
        return self.cluster.balancer_view().get(self.name) == "UP"


class Service:
    """A helper process of the cluster (sandbox, load balancer) in a session of its own."""

    def __init__(self, name: str, argv: Sequence[str], log_path: Path) -> None:
        self.name = name
        self.argv = list(argv)
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self, env: Mapping[str, str]) -> None:
        if self.alive:
            return
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(
                self.argv,
                env=dict(env),
                cwd=ROOT,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, grace: float = 10.0) -> None:
        if self.process is None:
            return
        for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
            try:
                os.killpg(self.process.pid, sig)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=wait)
                return
            except subprocess.TimeoutExpired:
                continue


class Cluster:
    """The whole cluster: `with Cluster(config) as cluster:` starts it and stops it all."""

    def __init__(self, config: ClusterConfig | None = None) -> None:
        self.config = config or ClusterConfig.from_env()
        self.nodes = [Node(self, i) for i in range(1, self.config.nodes + 1)]
        self.prepared = False
        self.started = False
        var = self.config.var_dir
        self.sandbox = Service(
            "sandbox",
            [sys.executable, str(ROOT / "manage.py"), "sandbox", "--port"]
            + [str(self.config.sandbox_port)],
            var / "sandbox.log",
        )
        self.balancer = Service(
            "haproxy", [haproxy_binary(), "-db", "-f", str(var / "haproxy.cfg")], var / "lb.log"
        )

    # --- configuration --------------------------------------------------------------

    def secret_key(self) -> str:
        """One key for every node, so a session or signed link made by one works on all."""
        path = self.config.var_dir / "secret_key"
        if not path.exists():
            path.write_text(secrets.token_urlsafe(50))
            path.chmod(0o600)
        return path.read_text().strip()

    def node_env(self) -> dict[str, str]:
        """What every node and the one-off commands are told."""
        env = dict(os.environ)
        for name in ("DATABASE_URL", "REDIS_URL"):
            env.pop(name, None)
        env.update(
            DJANGO_SETTINGS_MODULE="config.settings",
            DATABASE_URL=with_query(self.config.database_url, application_name="cluster-admin"),
            REDIS_URL=self.config.redis_url,
            SANDBOX_URL=self.config.sandbox_url,
            SANDBOX_PORT=str(self.config.sandbox_port),
            SECRET_KEY=self.secret_key(),
            STATUSPAGE_URL=self.config.url,
            STATUSPAGE_VAR_DIR=str(self.config.var_dir / "admin"),
            Q_CLUSTER_NAME="statuspage",
            PYTHONUNBUFFERED="1",
            # haproxy appends the client's address (option forwardfor): one trusted hop.
            TRUSTED_PROXIES="1",
        )
        # N nodes share this machine's cores: two web workers each, unless told otherwise.
        env.setdefault("WEB_WORKERS", "2")
        env.update(self.config.env)
        return env

    def haproxy_config(self) -> str:
        servers = "\n".join(
            f"    server {node.name} {node.host}:{node.port} check" for node in self.nodes
        )
        return TEMPLATE.read_text().format(
            lb_port=self.config.lb_port,
            stats_port=self.config.stats_port,
            health_path=self.config.health_path,
            servers=servers,
        )

    def write_configs(self) -> None:
        (self.config.var_dir / "admin").mkdir(parents=True, exist_ok=True)
        (self.config.var_dir / "haproxy.cfg").write_text(self.haproxy_config())

    # --- life cycle -----------------------------------------------------------------

    def manage(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        """Run a one-off `manage.py` command against the cluster's database."""
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            env=self.node_env(),
            cwd=ROOT,
            check=check,
            capture_output=True,
            text=True,
        )

    def prepare(self) -> None:
        """Create the database if missing, write the configs, migrate once (not per node)."""
        if self.prepared:
            return
        self.config.var_dir.mkdir(parents=True, exist_ok=True)
        create_database(self.config.database_url)
        self.write_configs()
        result = self.manage("migrate", "--noinput", check=False)
        if result.returncode:
            raise RuntimeError(f"migrate failed:\n{result.stdout}\n{result.stderr}")
        self.prepared = True

    def start(self, wait: bool = True, nodes: Sequence[Node] | None = None) -> Cluster:
        """Start the sandbox, the nodes (all, or those given) and the load balancer."""
        self.prepare()
        try:
            self.sandbox.start(self.node_env())
            for node in self.nodes if nodes is None else nodes:
                if not node.alive:
                    node.start()
            self.balancer.start(self.node_env())
            self.started = True
            if wait:
                self.wait_ready()
        except BaseException:
            self.stop()
            raise
        return self

    def wait_ready(self, timeout: float = START_TIMEOUT_SECONDS) -> None:
        """Until every running node is ready (web answers, task workers started) and the
        load balancer answers through them."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not self.balancer.alive:
                raise RuntimeError(f"haproxy exited; see {self.balancer.log_path}")
            dead = [n.name for n in self.nodes if n.process is not None and not n.alive]
            if dead:
                raise RuntimeError(f"{', '.join(dead)} exited; see {self.config.var_dir}")
            running = [n for n in self.nodes if n.alive]
            if all(n.ready() and n.task_workers() for n in running) and http_ok(
                self.config.url + self.config.health_path
            ):
                return
            time.sleep(0.5)
        raise TimeoutError(f"the cluster was not ready within {timeout:g} s")

    def balancer_view(self) -> dict[str, str]:
        """Each node's state as haproxy's checks see it ("UP", "DOWN", ...)."""
        url = f"http://127.0.0.1:{self.config.stats_port}/;csv"
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                lines = response.read().decode().splitlines()
        except OSError:
            return {}
        header = lines[0].lstrip("# ").split(",")
        status = header.index("status")
        rows = [line.split(",") for line in lines[1:] if line]
        return {row[1]: row[status] for row in rows if row[0] == "nodes" and len(row) > status}

    def stop(self) -> None:
        """SIGTERM every node at once (each stops within its own bounded time), then the
        load balancer and the sandbox."""
        waiting = {node.name: node.terminate() for node in self.nodes}
        for node in self.nodes:
            node.reap(waiting[node.name], STOP_GRACE_SECONDS)
        self.balancer.stop()
        self.sandbox.stop()
        self.started = False

    def __enter__(self) -> Cluster:
        """Starts the cluster, unless `start()` already did (e.g. with some nodes only)."""
        return self if self.started else self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def node(self, name: str) -> Node:
        return next(n for n in self.nodes if n.name == name)

    def running(self) -> Iterator[Node]:
        return (n for n in self.nodes if n.alive)

    def addresses(self) -> list[tuple[str, str]]:
        rows = [
            ("Status page (load balancer)", self.config.url + "/"),
            ("Summary API", self.config.url + "/api/v2/summary.json"),
            ("Load balancer statistics", f"http://127.0.0.1:{self.config.stats_port}/"),
            ("Provider sandbox", self.config.sandbox_url + "/"),
        ]
        rows += [
            (f"{n.name} (direct)", f"{n.url}/  pid {n.pid if n.process else '-'}")
            for n in self.nodes
        ]
        rows += [("Logs", str(self.config.var_dir))]
        return rows


def haproxy_binary() -> str:
    return shutil.which(HAPROXY) or shutil.which(HAPROXY, path="/usr/sbin:/sbin") or HAPROXY


def create_database(url: str) -> None:
    """CREATE DATABASE when it does not exist yet (the role needs CREATEDB)."""
    import psycopg
    from psycopg import sql

    parts = urllib.parse.urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urllib.parse.urlunsplit(parts._replace(path="/postgres", query=""))
    with psycopg.connect(admin, autocommit=True, connect_timeout=5) as connection:
        exists = connection.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name])
        if exists.fetchone() is None:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
