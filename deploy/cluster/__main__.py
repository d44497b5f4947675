"""`python -m deploy.cluster [--nodes 3] [--port 8100]`: start the cluster, print where
everything is, and stop it all on Ctrl-C or SIGTERM.

`python -m deploy.cluster kill node2` (from another terminal): SIGKILL that node's whole
process tree, as losing its machine would.

The database and Redis come from CLUSTER_DATABASE_URL (default: the statuspage_cluster
database on 127.0.0.1) and CLUSTER_REDIS_URL (default: Redis database 5 on 127.0.0.1).
"""

from __future__ import annotations

import argparse
import signal
import sys
import time

from deploy.cluster.launcher import Cluster, ClusterConfig, descendants, kill_all, process_table


def kill(config: ClusterConfig, name: str) -> int:
    """SIGKILL the tree of the running node `name` (found by its runall's port)."""
    index = int(name.removeprefix("node"))
    marker = f"runall --port {config.node_port(index)} "
    roots = [p for p in process_table() if marker in p.title + " "]
    if not roots:
        print(f"{name} is not running (no runall on port {config.node_port(index)})")
        return 1
    for root in roots:
        tree = descendants(root.pid)
        kill_all(tree)
        print(f"{name}: SIGKILLed {len(tree)} processes")
    return 0


def main(argv: list[str] | None = None) -> int:
    defaults = ClusterConfig.from_env()
    parser = argparse.ArgumentParser(
        prog="python -m deploy.cluster",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--nodes", type=int, default=defaults.nodes)
    parser.add_argument("--port", type=int, default=defaults.base_port, help="load balancer")
    parser.add_argument("action", nargs="*", help="kill NODE: lose that node (kill -9)")
    args = parser.parse_args(argv)
    if args.action:
        if len(args.action) != 2 or args.action[0] != "kill":
            parser.error("the only action is: kill NODE")
        return kill(ClusterConfig.from_env(base_port=args.port), args.action[1])
    cluster = Cluster(ClusterConfig.from_env(nodes=args.nodes, base_port=args.port))
    stopping: list[int] = []
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda number, _frame: stopping.append(number))
    print(f"starting {args.nodes} nodes; logs in {cluster.config.var_dir}", flush=True)
    try:
        cluster.start()
        width = max(len(label) for label, _ in cluster.addresses())
        print("")
        for label, address in cluster.addresses():
            print(f"  {label:<{width}}  {address}")
        print("\n  Ctrl-C stops everything.\n", flush=True)
        down: set[str] = set()
        while not stopping:
            for node in cluster.nodes:
                if not node.alive and node.name not in down:
                    down.add(node.name)
                    print(f"{node.name} stopped (exit {node.process and node.process.poll()})")
            time.sleep(0.5)
    finally:
        print("stopping the cluster", flush=True)
        cluster.stop()
        print("everything stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
