"""The seam that points the real firebase-admin SDK at a provider sandbox.

firebase-admin reaches two Google hosts for messaging:

- the OAuth2 token endpoint, taken from the service-account JSON's ``token_uri``: a
  generated service account whose ``token_uri`` is ``<sandbox>/token`` covers it
  (``write_service_account``);
- FCM itself, hard-coded as ``https://fcm.googleapis.com/v1/projects/{project}/messages:send``
  in ``firebase_admin.messaging._MessagingService`` (no option or environment variable
  changes it): ``point_messaging_at`` rewrites that App's messaging service instead.

Checked against firebase-admin 7.7.0 and google-auth 2.62.
"""

from __future__ import annotations

import json
import os
import secrets
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

import firebase_admin
import requests.adapters
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from firebase_admin import messaging

SEND_PATH = "/v1/projects/{project}/messages:send"
REGISTRATIONS_PATH = "/v1/projects/{project}/registrations"
# Google-auth only calls token_uri for the default universe; any other makes it self-sign JWTs.
UNIVERSE_DOMAIN = "googleapis.com"
# google-auth's "no restriction" Regional Access Boundary (NO_OP_TRUST_BOUNDARY_ENCODED_LOCATIONS).
NO_OP_ACCESS_BOUNDARY = "0x0"
FCM_POOL_SIZE = 100


def write_service_account(path: str | os.PathLike[str], sandbox_url: str, project_id: str) -> Path:
    """Write a service-account JSON whose token endpoint is the sandbox; return its path.

    The file is left alone when it already names this token endpoint and project, so
    processes sharing it keep their key; otherwise a fresh RSA key is generated and the
    file is replaced atomically (mode 0600). The sandbox never checks signatures, but
    google-auth needs a real key to sign its token request.
    """
    path = Path(path)
    token_uri = f"{sandbox_url.rstrip('/')}/token"
    if _names_endpoint(path, token_uri, project_id):
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    _write_atomically(path, json.dumps(_service_account(token_uri, project_id), indent=2))
    return path


def point_messaging_at(app: firebase_admin.App, base_url: str) -> None:
    """Send this App's FCM messages to ``<base_url>/v1/projects/<project>/messages:send``.

    The only place that touches firebase-admin's and google-auth's private attributes:

    - the messaging service's ``_fcm_url`` (its send URL, also used by ``send_each`` and
      ``send_each_async``) and ``_fcm_topic_url`` (topic subscriptions, ``subscribe_to_topic``);
    - its requests session gets, for the sandbox URL, the same pooled, retrying adapter
      firebase-admin mounts for ``https://fcm.googleapis.com`` (100 connections: otherwise
      ``send_each``'s up-to-500 threads share requests' default pool of 10);
    - google-auth 2.62 service-account credentials look up their "Regional Access
      Boundary" at ``https://iamcredentials.googleapis.com``, in a background thread, on
      first use and whenever that data is stale. Seeding the credential with the no-op
      boundary, valid forever, keeps that call from leaving the machine.
    """
    base = base_url.rstrip("/")
    service = messaging._get_messaging_service(app)
    if not hasattr(service, "_fcm_url"):
        raise RuntimeError("firebase-admin's messaging internals changed; update this seam")
    service._fcm_url = base + SEND_PATH.format(project=app.project_id)
    service._fcm_topic_url = base + REGISTRATIONS_PATH.format(project=app.project_id)
    adapter = requests.adapters.HTTPAdapter(
        pool_connections=FCM_POOL_SIZE,
        pool_maxsize=FCM_POOL_SIZE,
        max_retries=firebase_admin._http_client.DEFAULT_RETRY_CONFIG,
    )
    service._client.session.mount(base + "/", adapter)
    credential = app.credential.get_credential()
    if hasattr(credential, "_set_regional_access_boundary"):
        credential._set_regional_access_boundary(
            {"encodedLocations": NO_OP_ACCESS_BOUNDARY, "expiry": datetime.max}
        )


def _names_endpoint(path: Path, token_uri: str, project_id: str) -> bool:
    try:
        info = json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return (
        isinstance(info, dict)
        and info.get("token_uri") == token_uri
        and info.get("project_id") == project_id
    )


def _service_account(token_uri: str, project_id: str) -> dict[str, Any]:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return {
        "type": "service_account",
        "project_id": project_id,
        "private_key_id": secrets.token_hex(20),
        "private_key": pem.decode(),
        "client_email": f"firebase-adminsdk-sandbox@{project_id}.iam.gserviceaccount.com",
        "client_id": str(secrets.randbelow(10**21)),
        "token_uri": token_uri,
        "universe_domain": UNIVERSE_DOMAIN,
    }


def _write_atomically(path: Path, text: str) -> None:
    """Readers never see a half-written file, even when several workers start at once."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w") as file:
            file.write(text)
        os.replace(temporary, path)
    except BaseException:
        os.unlink(temporary)
        raise
