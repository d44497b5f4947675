"""Where a Statuspage export comes from: a page's public API, a JSON file, a directory of
them or a zip. Each yields named JSON documents; what they hold is checked in `shapes`."""

from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import requests

# A large page's incidents.json is a few megabytes; anything far bigger is not an export.
MAX_BYTES = 32 * 1024 * 1024
MAX_MEMBERS = 200
TIMEOUT = (5, 30)  # connect, read (seconds)
ENDPOINTS = ("components", "incidents", "scheduled-maintenances")
# Fetched when a page answers 404 for components or incidents: it holds the components,
# the open incidents and the upcoming maintenance.
FALLBACK = "summary"


class SourceError(Exception):
    """The export could not be read; the message says where and why."""


@dataclass(frozen=True)
class Document:
    name: str
    data: object


def read_source(source: str) -> list[Document]:
    if "://" in source:
        return fetch_page(source)
    path = Path(source)
    if path.is_dir():
        return read_directory(path)
    if not path.is_file():
        raise SourceError(f"{source}: no such file or directory, and not an http(s) URL")
    if zipfile.is_zipfile(path):
        return read_zip(path)
    return [parse(str(path), read_bytes(path))]


def read_bytes(path: Path) -> bytes:
    try:
        if path.stat().st_size > MAX_BYTES:
            raise SourceError(f"{path}: larger than {MAX_BYTES} bytes")
        return path.read_bytes()
    except OSError as error:
        raise SourceError(f"{path}: {error.strerror}") from None


def parse(name: str, raw: bytes) -> Document:
    try:
        return Document(name, json.loads(raw.decode("utf-8-sig")))
    except UnicodeDecodeError:
        raise SourceError(f"{name}: not JSON (not UTF-8 text)") from None
    except json.JSONDecodeError as error:
        raise SourceError(
            f"{name}: not JSON ({error.msg} at line {error.lineno} column {error.colno})"
        ) from None


def read_directory(path: Path) -> list[Document]:
    files = sorted(p for p in path.iterdir() if p.suffix == ".json" and p.is_file())
    if not files:
        raise SourceError(f"{path}: no .json files in this directory")
    return [parse(str(p), read_bytes(p)) for p in files]


def read_zip(path: Path) -> list[Document]:
    with zipfile.ZipFile(path) as archive:
        members = [
            m
            for m in archive.infolist()
            if not m.is_dir() and m.filename.endswith(".json") and "__MACOSX" not in m.filename
        ]
        if not members:
            raise SourceError(f"{path}: no .json files in this zip")
        if len(members) > MAX_MEMBERS:
            raise SourceError(f"{path}: more than {MAX_MEMBERS} .json files")
        return [parse(f"{path}:{m.filename}", read_member(archive, m, path)) for m in members]


def read_member(archive: zipfile.ZipFile, member: zipfile.ZipInfo, path: Path) -> bytes:
    if member.file_size > MAX_BYTES:
        raise SourceError(f"{path}:{member.filename}: larger than {MAX_BYTES} bytes")
    with archive.open(member) as stream:
        raw = stream.read(MAX_BYTES + 1)  # the header's size may lie
    if len(raw) > MAX_BYTES:
        raise SourceError(f"{path}:{member.filename}: larger than {MAX_BYTES} bytes")
    return raw


def api_base(url: str) -> tuple[str, str | None]:
    """The page's /api/v2/ base, and the one document named when the URL ends in .json."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SourceError(f"{url}: only http(s) URLs of a status page are read")
    path = parts.path.rstrip("/")
    single = None
    if path.endswith(".json"):
        path, _, single = path.rpartition("/api/v2/")
        single = single.removesuffix(".json")
    else:
        path = path.removesuffix("/api/v2").removesuffix("/api")
    return urlunsplit((parts.scheme, parts.netloc, f"{path}/api/v2/", "", "")), single


def fetch_page(url: str) -> list[Document]:
    base, single = api_base(url)
    with requests.Session() as session:
        if single:
            return [required(session, f"{base}{single}.json")]
        found = {name: fetch(session, f"{base}{name}.json") for name in ENDPOINTS}
        documents = [doc for doc in found.values() if doc is not None]
        if found["components"] is None or found["incidents"] is None:
            documents.append(required(session, f"{base}{FALLBACK}.json"))
    return documents


def required(session: requests.Session, url: str) -> Document:
    document = fetch(session, url)
    if document is None:
        raise SourceError(f"{url}: the page answered HTTP 404")
    return document


def fetch(session: requests.Session, url: str) -> Document | None:
    """The document at `url`, or None when the page has none (404)."""
    try:
        with session.get(
            url, timeout=TIMEOUT, stream=True, headers={"Accept": "application/json"}
        ) as response:
            if response.status_code == 404:
                return None
            if response.status_code != 200:
                raise SourceError(f"{url}: the page answered HTTP {response.status_code}")
            return parse(url, limited_body(response, url))
    except requests.RequestException as error:
        raise SourceError(
            f"{url}: could not be fetched ({type(error).__name__}: {error})"
        ) from None


def limited_body(response: requests.Response, url: str) -> bytes:
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > MAX_BYTES:
        raise SourceError(f"{url}: larger than {MAX_BYTES} bytes")
    body = bytearray()
    for chunk in response.iter_content(64 * 1024):
        body += chunk
        if len(body) > MAX_BYTES:
            raise SourceError(f"{url}: larger than {MAX_BYTES} bytes")
    return bytes(body)
