"""The one fixed moment the tests are set at: a Friday, 01:00 UTC, late November 2026.

Tests freeze or travel the clock to NOW and name other moments relative to it
(NOW + timedelta(...)), so expected strings such as "2026-11-27T01:00:00+00:00" follow
from this one value.
"""

from __future__ import annotations

from datetime import UTC, datetime

NOW = datetime(2026, 11, 27, 1, 0, tzinfo=UTC)
