"""The app's own settings plus one URL: the framework's ceiling for `make bench-herd`."""

from config.settings import *  # noqa: F403

ROOT_URLCONF = "bench.herd_site.urls"
