"""A network namespace joined to this one by veth pairs, so one node of a cluster can be
cut off the database (its link taken down) while the rest of the machine goes on.

Only addresses of the namespace's own links are used (link-local 169.254.x.y/30), never
anything beyond this machine."""

from __future__ import annotations

import os
import subprocess


def ip(*args: str, namespace: str | None = None) -> None:
    argv = ["ip", *args] if namespace is None else ["ip", "netns", "exec", namespace, "ip", *args]
    subprocess.run(argv, check=True, capture_output=True, text=True, timeout=30)


def why_namespaces_unavailable() -> str | None:
    """None when this process can create network namespaces (root, iproute2), else why not."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    probe = f"spcheck{os.getpid() % 100000}"
    try:
        ip("netns", "add", probe)
        ip("netns", "del", probe)
    except (OSError, subprocess.CalledProcessError) as exc:
        detail = getattr(exc, "stderr", "") or exc
        return f"cannot create a network namespace here: {str(detail).strip()}"
    return None


class Namespace:
    """`links` names each veth pair: {name: (address on this side, address inside)}."""

    def __init__(self, links: dict[str, tuple[str, str]]) -> None:
        self.name = f"spc{os.getpid() % 100000}"
        self.links = links
        self.devices = {
            link: (f"{self.name}{i}h", f"{self.name}{i}n") for i, link in enumerate(links)
        }

    @property
    def wrapper(self) -> list[str]:
        """Prefix a command with this to run it inside the namespace."""
        return ["ip", "netns", "exec", self.name]

    def __enter__(self) -> Namespace:
        ip("netns", "add", self.name)
        try:
            ip("link", "set", "lo", "up", namespace=self.name)
            for link, (outside, inside) in self.links.items():
                host_dev, ns_dev = self.devices[link]
                ip("link", "add", host_dev, "type", "veth", "peer", "name", ns_dev)
                ip("link", "set", ns_dev, "netns", self.name)
                ip("addr", "add", f"{outside}/30", "dev", host_dev)
                ip("link", "set", host_dev, "up")
                ip("addr", "add", f"{inside}/30", "dev", ns_dev, namespace=self.name)
                ip("link", "set", ns_dev, "up", namespace=self.name)
        except BaseException:
            self.__exit__()
            raise
        return self

    def cut(self, link: str) -> None:
        ip("link", "set", self.devices[link][0], "down")

    def heal(self, link: str) -> None:
        ip("link", "set", self.devices[link][0], "up")

    def __exit__(self, *exc: object) -> None:
        for host_dev, _ in self.devices.values():
            subprocess.run(["ip", "link", "del", host_dev], capture_output=True, timeout=30)
        subprocess.run(["ip", "netns", "del", self.name], capture_output=True, timeout=30)
