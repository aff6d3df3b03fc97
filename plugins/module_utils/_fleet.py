# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fleet summary: one row per site from each site's own report and the exit status of its run.

Private to edgeops.gateway. A site is ok only with evidence: its run exited 0 (when the exit status
is known) and its report says every gateway and device is ok (or its own ``status`` says ok or
accepted). A site without a readable report is failed, with the reason.
"""

from __future__ import annotations

import datetime
import json

FLEET_FORMAT = 1


class FleetError(Exception):
    pass


def _site_status(report, rc):
    summary = report["summary"]
    if report.get("status"):
        status = report["status"]
    elif summary.get("devices_ok") == summary.get("devices_total") and summary.get("gateways_ok") == summary.get(
        "gateways_total"
    ):
        status = "ok"
    else:
        status = "failed"
    if rc not in (None, 0) and status in ("ok", "accepted"):
        # The report was written but the run itself failed afterwards (or before all plays ran).
        return "failed", f"the run exited {rc} although the report says {status}"
    return status, None if status in ("ok", "accepted") else summary.get("line")


def _read(path):
    try:
        with open(path, encoding="utf-8") as handle:
            report = json.load(handle)
    except FileNotFoundError:
        return None, "no report was written (the run stopped before its report play)"
    except (OSError, ValueError) as exc:
        return None, f"the report cannot be read: {exc}"
    if not isinstance(report, dict) or not isinstance(report.get("summary"), dict) or "site" not in report:
        return None, "the file is not a site report of edgeops.gateway (no site or summary)"
    return report, None


def build_fleet(sites, mode="run", now=None):
    """Return (fleet dict, {site name: site report}) for a list of {name, report, rc, log}."""
    if not sites:
        raise FleetError("sites is empty; list at least one site with its name and report path")
    names = [s["name"] for s in sites]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise FleetError(f"sites lists {', '.join(duplicates)} more than once; give each site once")
    now = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - matches _report
    rows, reports = [], {}
    for site in sites:
        report, problem = _read(site["report"])
        rc = site.get("rc")
        row = {"name": site["name"], "report": site["report"], "rc": rc, "log": site.get("log")}
        if report is None:
            row.update(status="failed", reason=problem)
        else:
            if report["site"] != site["name"]:
                raise FleetError(
                    f"the report {site['report']} is of site {report['site']}, not {site['name']}; "
                    "point each site at its own report"
                )
            status, reason = _site_status(report, rc)
            row.update(status=status, reason=reason, summary=report["summary"])
            reports[site["name"]] = report
        rows.append(row)
    counts = {
        "sites_total": len(rows),
        "sites_ok": sum(1 for r in rows if r["status"] in ("ok", "accepted")),
        "devices_total": sum((r.get("summary") or {}).get("devices_total", 0) for r in rows),
        "devices_ok": sum((r.get("summary") or {}).get("devices_ok", 0) for r in rows),
    }
    counts["line"] = (
        f"{counts['sites_ok']} of {counts['sites_total']} sites ok; "
        f"{counts['devices_ok']} of {counts['devices_total']} devices ok"
    )
    fleet = {
        "format": FLEET_FORMAT,
        "mode": mode,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "status": "ok" if counts["sites_ok"] == counts["sites_total"] else "failed",
        "summary": counts,
        "sites": rows,
    }
    return fleet, reports


def page_rows(fleet, reports):
    """What the fleet page shows per site: its report with the fleet's verdict, or a stand-in with the reason."""
    out = []
    for row in fleet["sites"]:
        if row["name"] in reports:
            out.append(dict(reports[row["name"]], status=row["status"]))
        else:
            out.append({"site": row["name"], "status": row["status"], "summary": {"line": row["reason"]}})
    return out


def render_fleet_markdown(fleet):
    lines = [f"# Fleet report ({fleet['generated_at']})", "", f"**{fleet['status']}**: {fleet['summary']['line']}", ""]
    lines.append("| site | status | exit | devices ok | summary or reason |")
    lines.append("|---|---|---|---|---|")
    for row in fleet["sites"]:
        summary = row.get("summary") or {}
        ok = f"{summary.get('devices_ok', '-')}/{summary.get('devices_total', '-')}" if summary else "-"
        detail = (row.get("reason") or summary.get("line") or "-").replace("|", "\\|")
        lines.append(
            f"| {row['name']} | {row['status']} | {'-' if row['rc'] is None else row['rc']} | {ok} | {detail} |"
        )
    return "\n".join(lines) + "\n"
