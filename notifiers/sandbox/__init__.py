"""Provider sandbox: a loopback stand-in for the providers our notifiers reach.

The real provider SDKs are pointed at it (see ``notifiers.sandbox.firebase`` for
firebase-admin); it records what it receives and can inject latency, errors and outages.
"""

from notifiers.sandbox.app import make_app, provider_modules
from notifiers.sandbox.faults import ANY_PROVIDER, FaultInjector, FaultProfile
from notifiers.sandbox.recorder import Preview, Record, Recorder
from notifiers.sandbox.server import LOOPBACK, SandboxServer, serve_forever

__all__ = [
    "ANY_PROVIDER",
    "LOOPBACK",
    "FaultInjector",
    "FaultProfile",
    "Preview",
    "Record",
    "Recorder",
    "SandboxServer",
    "make_app",
    "provider_modules",
    "serve_forever",
]
