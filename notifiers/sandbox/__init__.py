"""Provider sandbox: a loopback stand-in for the providers our notifiers reach.

The real provider SDKs are pointed at it (see ``notifiers.sandbox.firebase`` for
firebase-admin); it records what it receives and can inject latency, errors and outages.
The package itself imports nothing, so a channel's SDK seam (``firebase``, ``twilio``) loads
only what it needs: ``server`` runs it, ``app`` assembles the provider modules it finds.
"""
