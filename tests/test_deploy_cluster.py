"""The cluster launcher's own parts that need no cluster: its load balancer configuration
(checked by haproxy itself where installed) and the figures it renders into the docs."""

from __future__ import annotations

import shutil
import subprocess

import pytest

from deploy.cluster.figures import END, START, render, replace_between_markers
from deploy.cluster.launcher import Cluster, ClusterConfig, haproxy_binary


def test_the_load_balancer_checks_every_node_on_readyz(tmp_path):
    cluster = Cluster(ClusterConfig(nodes=3, base_port=9100, var_dir=tmp_path))
    config = cluster.haproxy_config()
    assert "bind 127.0.0.1:9100" in config
    assert "uri /readyz" in config
    for port in (9101, 9102, 9103):
        assert f"127.0.0.1:{port} check" in config
    if not shutil.which(haproxy_binary()):
        pytest.skip("haproxy is not installed (make cluster-tools)")
    path = tmp_path / "haproxy.cfg"
    path.write_text(config)
    checked = subprocess.run([haproxy_binary(), "-c", "-f", str(path)], capture_output=True)
    assert checked.returncode == 0, checked.stderr.decode()


def test_the_figures_go_between_the_markers_and_the_rest_of_the_doc_stays():
    doc = (
        f"# Reliability\n\nbefore\n\n{START}\nthe figures of last time\n{END}\n\n## Next section\n"
    )
    figures = {
        "node killed mid fan-out": {
            "subscribers": 10000,
            "subscribers_never_told": 0,
            "deliveries_not_sent": 0,
            "duplicates": 12,
            "in_flight_at_fault": 150,
            "steps_fired_twice": 0,
            "seconds_to_resume": 15.4,
            "seconds_from_fault_to_all_sent": 25.6,
        }
    }
    written = replace_between_markers(doc, render(figures))
    assert "the figures of last time" not in written
    assert written.startswith("# Reliability\n\nbefore\n")
    assert written.endswith(f"{END}\n\n## Next section\n")
    assert "| node killed mid fan-out | – | 0 | 0 | 12 (150) | – | 15.4 | 25.6 |" in written
