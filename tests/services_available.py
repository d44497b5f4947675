"""Exit 0 when PostgreSQL and Redis answer on 127.0.0.1, so `make test` runs the second pass."""

import socket
import sys

SERVICES = {"PostgreSQL": ("127.0.0.1", 5432), "Redis": ("127.0.0.1", 6379)}


def reachable(address: tuple[str, int]) -> bool:
    try:
        socket.create_connection(address, timeout=1).close()
    except OSError:
        return False
    return True


if __name__ == "__main__":
    sys.exit(0 if all(reachable(a) for a in SERVICES.values()) else 1)
