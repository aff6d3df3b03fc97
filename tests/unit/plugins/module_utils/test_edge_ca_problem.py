# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The edge_ca_problem filter: iotedge_config's Edge CA checks on the controller's PEM text."""

from __future__ import annotations

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tls_lab import issue

from ansible_collections.edgeops.gateway.plugins.filter.gateway import FilterModule

edge_ca_problem = FilterModule().filters()["edge_ca_problem"]
HOST = "gw1.site-a.example"


def chain(*certs):
    return b"".join(cert.pem for cert in certs).decode()


def test_a_distinct_edge_ca_that_chains_to_the_root_passes():
    root = issue("site-a root", ca=True)
    edge_ca = issue(f"{HOST}.ca", issuer=root, ca=True, path_len=0)
    assert edge_ca_problem(chain(edge_ca, root), HOST, chain(root)) is None


def test_an_edge_ca_named_like_the_gateway_is_refused():
    root = issue("site-a root", ca=True)
    edge_ca = issue(HOST, issuer=root, ca=True, path_len=0)
    problem = edge_ca_problem(chain(edge_ca, root), HOST, chain(root), "pki/gw1/edge-ca-full-chain.pem")
    assert "pki/gw1/edge-ca-full-chain.pem" in problem
    assert f"the Edge CA common name equals the gateway hostname '{HOST}'" in problem


def test_an_edge_ca_of_another_root_and_a_leaf_are_refused():
    root, other = issue("site-a root", ca=True), issue("other root", ca=True)
    edge_ca = issue(f"{HOST}.ca", issuer=other, ca=True, path_len=0)
    assert "does not chain to the trust bundle" in edge_ca_problem(chain(edge_ca, other), HOST, chain(root))
    leaf = issue(HOST, issuer=root)
    assert "not a CA certificate" in edge_ca_problem(chain(leaf), HOST, chain(root))
    assert "holds no PEM certificate" in edge_ca_problem("", HOST, chain(root))
