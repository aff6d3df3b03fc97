# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The nested hierarchy in the site report: each gateway's layer under the top, its upstream
handshake (a child gateway to its parent), and the tree rendered for the Markdown report.

Private to edgeops.gateway; used by _report.py. The hierarchy is the inventory's
``edgeops_gateway_parent`` of each gateway (none for a top-layer gateway).
"""

from __future__ import annotations

from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import parent_chain


def upstream_problem(upstream):
    """Why a child gateway's link to its parent failed (the first failed port), or None."""
    for check in upstream or []:
        if not check.get("ok"):
            where = f"{check.get('hostname') or 'parent'}:{check.get('port')}"
            why = check.get("hint") or check.get("msg") or "the handshake failed"
            return f"upstream handshake with {where} failed: {check.get('diagnosis') or 'error'}: {why}"
    return None


def assign_layers(gateway_rows):
    """Set ``layer`` on each gateway row: 1 for a top-layer gateway, its parent's layer + 1 below.

    A parent that is not a gateway of the report, or a loop, leaves the layer None (the inventory
    checks refuse both before a rollout; the report still renders).
    """
    parent = {row["host"]: row.get("parent") for row in gateway_rows}
    for row in gateway_rows:
        above, complete = parent_chain(row["host"], parent.get, parent)
        row["layer"] = len(above) + 1 if complete else None
    return gateway_rows


def has_hierarchy(report):
    return any(row.get("parent") for row in report["gateways"])


def render_tree(report):
    """Markdown lines of the hierarchy: each gateway under its parent, its devices under it."""
    gateways = report["gateways"]
    known = {row["host"] for row in gateways}
    children = {}
    for row in gateways:
        children.setdefault(row.get("parent") if row.get("parent") in known else None, []).append(row)
    devices = {}
    for row in report["devices"]:
        devices.setdefault(row.get("gateway"), []).append(row)
    lines = ["## Hierarchy", ""]

    def status(row):
        return f"{row['status']}: {row['reason']}" if row.get("reason") else row["status"]

    placed = set()

    def walk(row, depth, seen):
        placed.add(row["host"])
        upstream = "".join(
            f"; upstream {check.get('port')} {'ok' if check.get('ok') else check.get('diagnosis') or 'failed'}"
            + (f" {check['tls_version']}" if check.get("tls_version") else "")
            for check in row.get("upstream") or []
        )
        layer = f"layer {row['layer']}, " if row.get("layer") else ""
        lines.append(f"{'  ' * depth}- gateway **{row['host']}** ({layer}{status(row)}{upstream})")
        for dev in devices.get(row["host"], []):
            lines.append(f"{'  ' * (depth + 1)}- device {dev['host']} ({status(dev)})")
        for child in children.get(row["host"], []):
            if child["host"] not in seen:
                walk(child, depth + 1, seen | {child["host"]})

    for row in children.get(None, []):
        walk(row, 0, {row["host"]})
    for row in gateways:
        # a loop in the parents: nothing above it is a top-layer gateway
        if row["host"] not in placed:
            lines.append(f"- gateway **{row['host']}** (parent {row.get('parent')} forms a loop: {status(row)})")
    lines.append("")
    return lines
