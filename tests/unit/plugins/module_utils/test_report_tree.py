"""The nested hierarchy in the site report: layers, upstream handshakes and the tree."""

from __future__ import annotations

import datetime

from ansible_collections.edgeops.gateway.plugins.module_utils._report import build_report, render_markdown
from ansible_collections.edgeops.gateway.plugins.module_utils._report_tree import (
    assign_layers,
    render_tree,
    upstream_problem,
)

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
UP_OK = {"ok": True, "hostname": "gw-top", "port": 8883, "tls_version": "TLSv1.3", "trust": "ca_file"}
UP_REFUSED = {
    "ok": False,
    "hostname": "gw-mid",
    "port": 8883,
    "diagnosis": "connection_refused",
    "hint": "start the broker on gw-mid",
}


def _nested(mid=None, leaf=None):
    """Three layers: gw-top <- gw-mid <- gw-leaf, one device under each."""
    gateways = [
        {"host": "gw-top", "runtime": "mosquitto", "result": {"status": "deployed"}},
        dict(
            {"host": "gw-mid", "parent": "gw-top", "result": {"status": "deployed"}, "upstream": [UP_OK]}, **(mid or {})
        ),
        dict(
            {
                "host": "gw-leaf",
                "parent": "gw-mid",
                "result": {"status": "deployed"},
                "upstream": [dict(UP_OK, hostname="gw-mid")],
            },
            **(leaf or {}),
        ),
    ]
    devices = [
        {"host": f"dev-{name}", "gateway": f"gw-{name}", "handshake": {"ok": True, "tls_version": "TLSv1.3"}}
        for name in ("top", "mid", "leaf")
    ]
    return gateways, devices


def test_layers_and_upstream_results_are_in_the_gateway_rows():
    report = build_report("plant", *_nested(), [], now=NOW)
    rows = {row["host"]: row for row in report["gateways"]}
    assert [rows[h]["layer"] for h in ("gw-top", "gw-mid", "gw-leaf")] == [1, 2, 3]
    assert [rows[h]["parent"] for h in ("gw-top", "gw-mid", "gw-leaf")] == [None, "gw-top", "gw-mid"]
    assert rows["gw-top"]["upstream"] is None
    assert rows["gw-mid"]["upstream"] == [UP_OK]
    assert report["status"] == "ok"
    assert report["summary"]["gateways_ok"] == 3


def test_a_failed_upstream_handshake_fails_the_child_gateway_with_the_diagnosis():
    # The upstream check fails the gateway inside the verify phase (phase left unfinished, nothing
    # recorded): its own result explains it, not "unreachable".
    leaf = {
        "upstream": [UP_REFUSED],
        "failure": {"phase": "verify", "msg": "unreachable: dropped out", "unreachable": True, "inferred": True},
    }
    report = build_report("plant", *_nested(leaf=leaf), [], now=NOW)
    row = {r["host"]: r for r in report["gateways"]}["gw-leaf"]
    assert row["status"] == "failed"
    assert row["reason"] == (
        "upstream handshake with gw-mid:8883 failed: connection_refused: start the broker on gw-mid"
    )
    assert report["status"] == "failed"
    assert "gw-leaf" in [r["host"] for r in report["gateways"] if r["status"] != "ok"]


def test_a_broken_middle_gateway_skips_the_layer_below_with_its_reason():
    reason = "parent gateway gw-mid failed in the gateways phase: the check failed"
    mid = {"failure": {"phase": "gateways", "msg": "the check failed"}, "result": {"status": "failed"}}
    leaf = {"failure": {"phase": "verify", "msg": reason, "skipped": True}, "upstream": None}
    gateways, devices = _nested(mid=mid, leaf=leaf)
    devices[2] = {
        "host": "dev-leaf",
        "gateway": "gw-leaf",
        "failure": {
            "phase": "devices",
            "msg": "gateway gw-mid (upstream of gw-leaf) failed in the gateways phase: the check failed",
            "skipped": True,
        },
    }
    report = build_report("plant", gateways, devices, [], now=NOW)
    status = {r["host"]: (r["status"], r["reason"]) for r in report["gateways"] + report["devices"]}
    assert status["gw-mid"] == ("failed", "the check failed")
    assert status["gw-leaf"] == ("skipped", reason)
    assert status["dev-leaf"][0] == "skipped"
    assert "upstream of gw-leaf" in status["dev-leaf"][1]
    assert status["gw-top"] == ("ok", None)
    markdown = render_markdown(report)
    assert "## Hierarchy" in markdown
    assert f"    - gateway **gw-leaf** (layer 3, skipped: {reason})" in markdown
    assert "      - device dev-leaf (skipped: gateway gw-mid (upstream of gw-leaf)" in markdown


def test_the_markdown_tree_nests_gateways_and_devices_under_their_parents():
    markdown = render_markdown(build_report("plant", *_nested(), [], now=NOW))
    tree = markdown.split("## Hierarchy\n\n", 1)[1].split("\n\n", 1)[0].splitlines()
    assert tree == [
        "- gateway **gw-top** (layer 1, ok)",
        "  - device dev-top (ok)",
        "  - gateway **gw-mid** (layer 2, ok; upstream 8883 ok TLSv1.3)",
        "    - device dev-mid (ok)",
        "    - gateway **gw-leaf** (layer 3, ok; upstream 8883 ok TLSv1.3)",
        "      - device dev-leaf (ok)",
    ]


def test_a_site_without_a_hierarchy_has_no_tree_section():
    report = build_report("flat", [{"host": "gw1", "result": {"status": "deployed"}}], [], [], now=NOW)
    assert report["gateways"][0]["layer"] == 1
    assert report["gateways"][0]["parent"] is None
    assert "## Hierarchy" not in render_markdown(report)


def test_layers_of_a_loop_or_an_unknown_parent_are_none_and_the_tree_still_renders():
    rows = assign_layers(
        [
            {"host": "a", "parent": "b", "status": "ok"},
            {"host": "b", "parent": "a", "status": "ok"},
            {"host": "c", "parent": "elsewhere", "status": "ok"},
        ]
    )
    assert [row["layer"] for row in rows] == [None, None, None]
    report = {"gateways": rows, "devices": []}
    lines = render_tree(report)
    assert "- gateway **c** (ok)" in lines
    assert "- gateway **a** (parent b forms a loop: ok)" in lines
    assert "- gateway **b** (parent a forms a loop: ok)" in lines


def test_upstream_problem_names_the_first_failed_port():
    assert upstream_problem(None) is None
    assert upstream_problem([UP_OK]) is None
    assert upstream_problem([UP_OK, dict(UP_REFUSED, port=443, hint=None, msg="refused")]) == (
        "upstream handshake with gw-mid:443 failed: connection_refused: refused"
    )
