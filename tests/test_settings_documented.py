"""docs/SETTINGS.md is the one true list of the environment variables the project reads.

The source is parsed, not imported: every read of the environment with a name the code
spells out (os.environ.get / os.getenv / os.environ[...] / os.environ.setdefault, a mapping
named `env` or `environ`, an alias such as `env = os.environ.get`, and any helper whose
name argument it forwards, like config/settings.py's env_int/env_bool/env_list or
deploy.cluster's env_int) across config/, statuspage/, incidents/, notifiers/, deploy/ and
manage.py, plus the Makefile's variables. A read whose name is computed must be one of the
few listed in DYNAMIC_READS, where the names it reads are worked out.

Not scanned: tests/ and bench/, whose variables tune those harnesses, not a running system.
notifiers/sandbox/ is scanned with the rest (it reads no variable of its own).
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SETTINGS_DOC = ROOT / "docs" / "SETTINGS.md"
SCANNED = ["config", "statuspage", "incidents", "notifiers", "deploy", "manage.py"]
# Names a mapping of the environment goes by in our code (`env = dict(os.environ)`, a
# `Mapping[str, str]` parameter named env).
ENV_MAPPINGS = {"env", "environ"}
READ_METHODS = {"get", "setdefault"}
# The social channels read `<PREFIX>_<PART>` (notifiers.social.SocialAccount.secret).
SOCIAL_SECRET = ("notifiers/social.py", "secret")


@dataclass
class Reads:
    names: dict[str, list[str]] = field(default_factory=dict)  # name -> where
    dynamic: list[tuple[str, str, int]] = field(default_factory=list)  # (path, function, line)

    def add(self, name: str, where: str) -> None:
        self.names.setdefault(name, []).append(where)


def is_os(node: ast.AST, attribute: str) -> bool:
    """`os.<attribute>`."""
    return (
        isinstance(node, ast.Attribute)
        and node.attr == attribute
        and isinstance(node.value, ast.Name)
        and node.value.id == "os"
    )


def is_environment(node: ast.AST) -> bool:
    return is_os(node, "environ") or (isinstance(node, ast.Name) and node.id in ENV_MAPPINGS)


def is_reader(node: ast.AST, environment=is_environment) -> bool:
    """`os.getenv`, or `.get` / `.setdefault` of what `environment` takes for one."""
    return is_os(node, "getenv") or (
        isinstance(node, ast.Attribute) and node.attr in READ_METHODS and environment(node.value)
    )


class Scanner(ast.NodeVisitor):
    """One module's reads. `helpers` maps a function name to the index of the argument it
    reads the environment by; `constants` maps module-level names to string values."""

    def __init__(self, path: str, helpers: dict[str, int], constants: dict[str, str]) -> None:
        self.path = path
        self.helpers = helpers
        self.constants = constants
        self.aliases: set[str] = set()  # names bound to os.environ.get / os.getenv
        self.functions: list[ast.FunctionDef | ast.AsyncFunctionDef] = []
        self.reads = Reads()
        self.found_helpers: dict[str, int] = {}

    def visit_Assign(self, node: ast.Assign) -> None:
        if is_reader(node.value, lambda value: is_os(value, "environ")):
            self.aliases.update(t.id for t in node.targets if isinstance(t, ast.Name))
        self.generic_visit(node)

    def visit_FunctionDef(self, node: ast.FunctionDef | ast.AsyncFunctionDef) -> None:
        self.functions.append(node)
        self.generic_visit(node)
        self.functions.pop()

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Call(self, node: ast.Call) -> None:
        func = node.func
        if is_reader(func) or (isinstance(func, ast.Name) and func.id in self.aliases):
            self.key(node.args[0] if node.args else None, node)
        elif isinstance(func, ast.Name) and func.id in self.helpers:
            index = self.helpers[func.id]
            self.key(node.args[index] if len(node.args) > index else None, node)
        self.generic_visit(node)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load) and is_environment(node.value):
            self.key(node.slice, node)
        self.generic_visit(node)

    def key(self, node: ast.AST | None, at: ast.AST) -> None:
        where = f"{self.path}:{at.lineno}"
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            self.reads.add(node.value, where)
            return
        if isinstance(node, ast.Name) and node.id in self.constants:
            self.reads.add(self.constants[node.id], where)
            return
        function = self.functions[-1] if self.functions else None
        if function is not None and isinstance(node, ast.Name):
            params = [a.arg for a in function.args.args]
            if node.id in params:
                # A helper: the name is its caller's argument, read where it is called.
                self.found_helpers[function.name] = params.index(node.id)
                return
        self.reads.dynamic.append((self.path, function.name if function else "", at.lineno))


def python_files() -> list[Path]:
    files: list[Path] = []
    for entry in SCANNED:
        path = ROOT / entry
        files += [path] if path.is_file() else sorted(path.rglob("*.py"))
    return [f for f in files if "migrations" not in f.parts]


def module_constants(trees: dict[str, ast.Module]) -> dict[str, str]:
    """UPPER_CASE = "string" at module level, in any scanned module (they are imported by
    name, as metrics_reset imports MULTIPROC_ENV)."""
    constants: dict[str, str] = {}
    for tree in trees.values():
        for node in tree.body:
            if (
                isinstance(node, ast.Assign)
                and isinstance(node.value, ast.Constant)
                and isinstance(node.value.value, str)
            ):
                for target in node.targets:
                    if isinstance(target, ast.Name) and target.id.isupper():
                        constants[target.id] = node.value.value
    return constants


def scan(sources: dict[str, str]) -> Reads:
    """Every read in these modules (path -> source); helpers are found in a first pass."""
    trees = {path: ast.parse(source, path) for path, source in sources.items()}
    constants = module_constants(trees)
    # A helper is called in the module that defines it (settings.env_int(name, default)
    # and deploy.cluster's env_int(env, name, default) are two), or imported by name.
    own: dict[str, dict[str, int]] = {}
    for path, tree in trees.items():
        first = Scanner(path, {}, constants)
        first.visit(tree)
        own[path] = first.found_helpers
    imported = {name: index for helpers in own.values() for name, index in helpers.items()}
    reads = Reads()
    for path, tree in trees.items():
        scanner = Scanner(path, {**imported, **own[path]}, constants)
        scanner.visit(tree)
        for name, where in scanner.reads.names.items():
            reads.names.setdefault(name, []).extend(where)
        reads.dynamic += scanner.reads.dynamic
    return reads


def social_secret_names(sources: dict[str, str]) -> set[str]:
    """`<PREFIX>_<PART>` for each `account.secret("PART")` a channel calls."""
    parts = set()
    for source in sources.values():
        for node in ast.walk(ast.parse(source)):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and node.func.attr == "secret"
                and node.args
                and isinstance(node.args[0], ast.Constant)
            ):
                parts.add(f"<PREFIX>_{node.args[0].value}")
    return parts


def serve_names() -> set[str]:
    from deploy.serve import REFUSED, REQUIRED

    return set(REQUIRED) | set(REFUSED)


# Reads whose name is computed, by (file, function): the names they can read.
DYNAMIC_READS = {
    SOCIAL_SECRET: social_secret_names,
    # deploy.serve.problems checks each of REQUIRED and REFUSED by name.
    ("deploy/serve.py", "problems"): lambda sources: serve_names(),
}


def makefile_variables() -> set[str]:
    """Variables the Makefile takes from the command line or the environment: every
    $(NAME) it uses that it does not set itself with := (make's own MAKE aside)."""
    text = (ROOT / "Makefile").read_text()
    used = set(re.findall(r"\$\(([A-Z][A-Z0-9_]*)\)", text))
    internal = set(re.findall(r"^([A-Z][A-Z0-9_]*)\s*:=", text, re.MULTILINE))
    return used - internal - {"MAKE"}


def code_reads() -> tuple[Reads, set[str]]:
    sources = {str(f.relative_to(ROOT)): f.read_text() for f in python_files()}
    reads = scan(sources)
    computed = set()
    for path, function, _line in reads.dynamic:
        if (path, function) in DYNAMIC_READS:
            computed |= DYNAMIC_READS[(path, function)](sources)
    return reads, computed


def documented() -> set[str]:
    """Every `NAME` in the first cell of a table row of docs/SETTINGS.md."""
    names = set()
    for line in SETTINGS_DOC.read_text().splitlines():
        if line.startswith("| `"):
            first = line.split("|")[1]
            names |= set(re.findall(r"`((?:<PREFIX>_)?[A-Z][A-Z0-9_]*)`", first))
    return names


def test_the_scanner_sees_every_way_our_code_reads_the_environment():
    source = """
import os
from x import env_helper
SETTING_NAME = "FROM_A_CONSTANT"
def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default
def env_from(env, name):
    return env.get(name)
A = os.environ.get("PLAIN_GET", "x")
B = os.getenv("GETENV")
C = os.environ["SUBSCRIPT"]
os.environ.setdefault("SET_DEFAULT", "1")
D = env_int("THROUGH_A_HELPER", 3)
E = env_from({}, "THROUGH_A_MAPPING_HELPER")
F = os.environ.get(SETTING_NAME)
def parse():
    env = os.environ.get
    return env("THROUGH_AN_ALIAS", "")
def computed(prefix):
    return os.environ.get(f"{prefix}_PART")
os.environ["WRITTEN"] = "not a read"
"""
    reads = scan({"example.py": source})
    assert set(reads.names) == {
        "PLAIN_GET",
        "GETENV",
        "SUBSCRIPT",
        "SET_DEFAULT",
        "THROUGH_A_HELPER",
        "THROUGH_A_MAPPING_HELPER",
        "FROM_A_CONSTANT",
        "THROUGH_AN_ALIAS",
    }
    assert [(path, function) for path, function, _ in reads.dynamic] == [("example.py", "computed")]


def test_every_environment_variable_our_code_reads_is_documented_in_settings_md():
    reads, computed = code_reads()
    doc = documented()
    missing = {name: where for name, where in reads.names.items() if name not in doc}
    missing.update({name: ["computed"] for name in computed - doc})
    missing.update({name: ["Makefile"] for name in makefile_variables() - doc})
    assert not missing, f"read but not in docs/SETTINGS.md (add a table row): {missing}"


def test_every_read_with_a_computed_name_is_one_whose_names_are_worked_out():
    reads, _ = code_reads()
    unknown = [read for read in reads.dynamic if read[:2] not in DYNAMIC_READS]
    assert not unknown, (
        f"environment reads with a computed name: {unknown}; read a literal name, or add "
        "the read to DYNAMIC_READS with the names it can read"
    )


def test_settings_md_documents_no_variable_the_code_no_longer_reads():
    reads, computed = code_reads()
    read = set(reads.names) | computed | makefile_variables()
    stale = documented() - read
    assert not stale, f"documented in docs/SETTINGS.md but read nowhere: {sorted(stale)}"


def test_the_settings_the_brief_found_undocumented_are_now_documented():
    # A production deploy cannot run without these; they were in no document before.
    assert {
        "TWILIO_ACCOUNT_SID",
        "TWILIO_AUTH_TOKEN",
        "TWILIO_MESSAGING_SERVICE_SID",
        "TWILIO_VOICE_FROM",
        "SENDGRID_API_KEY",
        "EMAIL_FROM",
        "EMAIL_FROM_NAME",
        "SECURE_SSL_REDIRECT",
        "SECURE_HSTS_SECONDS",
        "LOG_LEVEL",
        "STATIC_ROOT",
        "SUBSCRIBE_PER_IP_PER_HOUR",
        "PROBE_AGENT_TOKEN",
        "WEB_WORKERS",
    } <= documented()
