"""Kept for imports written before the checks package existed: the HTTP check's names."""

from statuspage.checks.http import HttpCheck, new_session, run_http_check

__all__ = ["HttpCheck", "new_session", "run_http_check"]
