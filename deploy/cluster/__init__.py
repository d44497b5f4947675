"""A cluster of nodes on one machine: `python -m deploy.cluster` (what `make cluster` runs)."""

from deploy.cluster.launcher import Cluster, ClusterConfig, Node

__all__ = ["Cluster", "ClusterConfig", "Node"]
