"""`python -m deploy.nginx`: print the front's statuspage.conf for these settings, or run a
standalone front with `--run DIR` (Ctrl-C stops it). Settings also come from FRONT_* variables.

    python -m deploy.nginx --listen 0.0.0.0:80 --upstream 127.0.0.1:8000 \\
        --snapshot-dir /srv/status/snapshot --cache-dir /var/cache/nginx/statuspage \\
        > /etc/nginx/conf.d/statuspage.conf
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

from deploy.nginx.front import Front, FrontConfig, FrontConfigError, render_site


def parse(argv: list[str] | None) -> argparse.Namespace:
    env = os.environ.get
    parser = argparse.ArgumentParser(prog="python -m deploy.nginx", description=__doc__)
    parser.add_argument("--listen", default=env("FRONT_LISTEN", "127.0.0.1:8080"))
    parser.add_argument("--upstream", default=env("FRONT_UPSTREAM", "127.0.0.1:8000"))
    parser.add_argument("--snapshot-dir", default=env("STATUS_SNAPSHOT_DIR", ""))
    parser.add_argument("--cache-dir", default=env("FRONT_CACHE_DIR", "/var/cache/nginx/status"))
    parser.add_argument("--server-name", default=env("FRONT_SERVER_NAME", "_"))
    parser.add_argument("--app-timeout", default=env("FRONT_APP_TIMEOUT", "5s"))
    parser.add_argument("--run", metavar="DIR", help="run a standalone nginx from DIR")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    options = parse(argv)
    if not options.snapshot_dir:
        print("--snapshot-dir (or STATUS_SNAPSHOT_DIR) is required", file=sys.stderr)
        return 2
    config = FrontConfig(
        listen=options.listen,
        upstream=options.upstream,
        snapshot_dir=Path(options.snapshot_dir).absolute(),
        cache_dir=Path(options.cache_dir).absolute(),
        server_name=options.server_name,
        app_timeout=options.app_timeout,
    )
    try:
        if not options.run:
            sys.stdout.write(render_site(config))
            return 0
        front = Front(config, Path(options.run).absolute())
        front.start()
    except FrontConfigError as error:
        print(f"deploy.nginx: {error}", file=sys.stderr)
        return 2
    print(f"front on http://{config.listen}/ -> {config.upstream}; Ctrl-C stops it")
    signal.signal(signal.SIGTERM, lambda *_: front.stop())
    try:
        if front.process is not None:
            front.process.wait()
    except KeyboardInterrupt:
        pass
    finally:
        front.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
