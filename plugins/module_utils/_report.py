# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Build the per-site rollout report (JSON data and a Markdown rendering).

Private to edgeops.gateway. The report is made from plain data collected on the controller:
what each role recorded about its host, and the certificate inventory of the site's PKI.
"""

from __future__ import annotations

import datetime
import math

from ansible_collections.edgeops.gateway.plugins.module_utils._report_tree import (
    assign_layers,
    has_hierarchy,
    render_tree,
    upstream_problem,
)

REPORT_FORMAT = 1

# Fields of a handshake result that the report keeps (the rest is bulky or volatile).
HANDSHAKE_FIELDS = (
    "ok",
    "diagnosis",
    "hint",
    "msg",
    "hostname",
    "port",
    "address",
    "trust",
    "tls_version",
    "cipher",
    "verify_message",
    "days_to_expiry",
    "first_expiry",
    "findings",
    "warnings",
)
# Values that differ between two runs of an unchanged site (the summary line carries days left):
# left out when two reports are compared.
VOLATILE_KEYS = ("generated_at", "handshake_time", "days_left", "days_to_expiry", "line")


class ReportError(Exception):
    """Raised when the report cannot be built from the data given."""


def _days_left(not_after, now):
    if not not_after:
        return None
    try:
        when = datetime.datetime.fromisoformat(str(not_after).replace("Z", "+00:00"))
    except ValueError as exc:
        raise ReportError(
            f"certificate expiry {not_after!r} is not an ISO 8601 date; pass not_after as e.g. 2027-01-31T12:00:00Z"
        ) from exc
    if when.tzinfo is None:
        when = when.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017 - runs on targets with Python 3.8+
    return int((when - now).total_seconds() // 86400)


def _whole_days(value, name):
    """A ``days_left`` given by the caller, as an int; a message for anything that is not a number."""
    if isinstance(value, bool):
        value = None
    try:
        number = float(value)
        if not math.isfinite(number) or number != int(number):
            raise ValueError
        return int(number)
    except (TypeError, ValueError):
        raise ReportError(
            f"days_left {value!r} of certificate {name!r} is not a whole number of days; "
            "pass a number such as 30, or leave days_left out and give not_after"
        ) from None


def parse_accept(value):
    """The ``accept_failed_devices`` setting as (kind, number): None, ("count", n) or ("share", percent)."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    try:
        if isinstance(value, bool):
            raise ValueError
        if text.endswith("%"):
            share = float(text[:-1])
            if not math.isfinite(share) or not 0 <= share <= 100:
                raise ValueError
            return ("share", share)
        count = float(text)
        if not math.isfinite(count) or count < 0 or count != int(count):
            raise ValueError
        return ("count", int(count))
    except ValueError:
        raise ReportError(
            f"edgeops_accept_failed_devices {value!r} is not a number of devices or a share: "
            "give a whole number such as 2, a share such as '10%', or leave it unset to accept none"
        ) from None


def accepted_count(accept, devices_total):
    """How many failed devices a site may have under ``accept`` (see :func:`parse_accept`)."""
    if accept is None:
        return 0
    kind, number = accept
    if kind == "count":
        return number
    return int(devices_total * number / 100 + 1e-9)


def overall_status(summary, accept=None):
    """``ok``, ``accepted`` (failed devices within the accepted number, every gateway ok) or ``failed``."""
    if summary["gateways_ok"] != summary["gateways_total"]:
        return "failed"
    if not summary["devices_failed"]:
        return "ok"
    if summary["devices_failed"] <= accepted_count(accept, summary["devices_total"]):
        return "accepted"
    return "failed"


def _owner_and_name(cert):
    """Host and certificate name, also from a pki_report item (gateways/<host>/<name>.pem)."""
    relative = cert.get("relative_path") or ""
    parts = relative.split("/")
    name = cert.get("name")
    if not name and relative:
        name = parts[-1][: -len(".pem")] if parts[-1].endswith(".pem") else parts[-1]
    host = cert.get("host")
    if not host and len(parts) == 3 and parts[0] in ("gateways", "devices"):
        host = parts[1]
    return host, name or cert.get("path")


def _certificate_entry(cert, now):
    entry = {
        "name": _owner_and_name(cert)[1],
        "subject": cert.get("subject"),
        "issuer": cert.get("issuer"),
        "not_after": cert.get("not_after"),
        "days_left": cert.get("days_left"),
        "sha256_thumbprint": cert.get("sha256_thumbprint") or cert.get("thumbprint_sha256"),
        "sha1_thumbprint": cert.get("sha1_thumbprint") or cert.get("thumbprint_sha1"),
        "renew_next_run": cert.get("renew_next_run", cert.get("renew")),
    }
    if entry["days_left"] is None:
        entry["days_left"] = _days_left(entry["not_after"], now)
    else:
        entry["days_left"] = _whole_days(entry["days_left"], entry["name"])
    return entry


TRUST_FIELDS = ("state", "fingerprint", "subject", "not_after", "bundle_path", "path", "failed", "msg")


def _trust_entry(result):
    """What the report keeps of a trust-store result (a ca_trust result, as the role registers it)."""
    if not result:
        return None
    entry = {key: result[key] for key in TRUST_FIELDS if key in result}
    # The wanted state is the task's; a result's own `state` may describe the anchor file instead.
    # ca_trust reports the anchor file's state (`file` when it is there, `absent` when not).
    wanted = ((result.get("invocation") or {}).get("module_args") or {}).get("state")
    if not wanted and "removed" in result:
        # ansible-core 2.21 and later return no invocation unless asked: ca_trust and win_ca_trust
        # always return `removed`, and `path` only for state=present.
        wanted = "present" if "path" in result else "absent"
    entry["state"] = wanted or {"file": "present"}.get(entry.get("state"), entry.get("state"))
    if result.get("failed"):
        entry["state"] = "failed"
    return entry


def rollout_failure(recorded, phase, completed, skipped):
    """A host's failure in the rollout from the facts edgeops.gateway.rollout_phase records, or None.

    recorded: edgeops_rollout_failure; phase: edgeops_rollout_phase; completed: edgeops_rollout_completed;
    skipped: edgeops_rollout_skipped. Every failed task inside a phase is rescued and recorded, so a host
    that left its phase unfinished with nothing recorded was taken out by Ansible as unreachable (Ansible
    runs no rescue for an unreachable host). A device whose handshake check failed also leaves the verify
    phase unfinished; build_report lets its handshake result explain it.
    """
    if recorded:
        return recorded
    if skipped:
        return {"phase": phase, "msg": skipped, "skipped": True}
    if phase and phase not in (completed or []):
        return {
            "phase": phase,
            "msg": f"unreachable: dropped out during the {phase} phase with no failure recorded (see the rollout output)",
            "unreachable": True,
            "inferred": True,
        }
    return None


def _failure_status(failure):
    if failure.get("unreachable"):
        return "unreachable"
    return "skipped" if failure.get("skipped") else "failed"


def _handshake_entry(result):
    if not result:
        return None
    entry = {key: result[key] for key in HANDSHAKE_FIELDS if key in result}
    if "ok" not in entry:
        entry["ok"] = not result.get("failed", False) and not result.get("diagnosis")
    return entry


def build_report(site, gateways, devices, certificates, now=None, mode="run", accept=None):
    """Return the report as a dict.

    gateways: list of dicts {host, hostname, runtime, failure, result, parent, upstream}; parent is the
    gateway's parent gateway (nested hierarchies), upstream its handshake results with the parent
    devices: list of dicts {host, gateway, failure, trust_store, handshake}
    certificates: list of dicts with at least a subject or path; `host` attaches one to a host, and so
    does a pki_report `relative_path` of gateways/<host>/... or devices/<host>/...
    A `failure` is {phase, msg, unreachable, skipped} recorded when a host failed, was unreachable
    or was left out (its gateway failed) in a phase of the rollout.
    accept: the accepted failed devices (the value of edgeops_accept_failed_devices, see parse_accept).
    """
    accept = parse_accept(accept)
    if not site:
        raise ReportError("the site name is empty; set edgeops_site in the inventory")
    now = now or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - runs on targets with Python 3.8+
    by_host = {}
    site_certs = []
    for cert in certificates or []:
        entry = _certificate_entry(cert, now)
        owner = _owner_and_name(cert)[0]
        if owner:
            by_host.setdefault(owner, []).append(entry)
        else:
            site_certs.append(entry)

    gateway_rows = []
    gateway_status = {}
    for gw in gateways:
        failure = gw.get("failure")
        result = gw.get("result") or {}
        upstream = [_handshake_entry(check) for check in gw.get("upstream") or []] or None
        if failure and failure.get("inferred") and upstream:
            # The upstream check fails a child gateway whose parent it could not verify: it says why.
            failure = None
        if result.get("rolled_back"):
            # The gateway failed, and its previous configuration and certificates were put back.
            status, reason = "rolled_back", result.get("reason") or result.get("msg")
        elif failure:
            status, reason = _failure_status(failure), failure.get("msg")
        elif upstream_problem(upstream):
            status, reason = "failed", upstream_problem(upstream)
        elif result.get("status") == "awaiting_deployment":
            # IoT Edge is up, but edgeHub (and 8883) comes only once the deployment is set in IoT Hub.
            status, reason = "awaiting_deployment", result.get("hint") or "set the generated deployment in IoT Hub"
        elif result:
            # The gateway role records its result only after the change was applied and checked.
            status, reason = "ok", None
        else:
            # ok needs evidence: without a recorded result the gateway phase did not run for this host.
            status, reason = (
                "not_checked",
                "no gateway result was recorded: the gateway phase did not run for this host",
            )
        gateway_status[gw["host"]] = (status, reason)
        gateway_rows.append(
            {
                "host": gw["host"],
                "hostname": gw.get("hostname") or gw["host"],
                "runtime": gw.get("runtime"),
                "status": status,
                "phase": (failure or {}).get("phase"),
                "reason": reason,
                "certificates": by_host.get(gw["host"], []),
                "parent": gw.get("parent"),
                "upstream": upstream,
            }
        )
    assign_layers(gateway_rows)

    device_rows = []
    for dev in devices:
        failure = dev.get("failure")
        handshake = _handshake_entry(dev.get("handshake"))
        if failure and failure.get("inferred") and handshake is not None:
            # The handshake check fails the devices it could not verify: its own result says why.
            failure = None
        gw_status, gw_reason = gateway_status.get(dev.get("gateway"), ("unknown", None))
        if failure:
            status = _failure_status(failure)
            reason = failure.get("msg")
        elif handshake is not None:
            status = "ok" if handshake.get("ok") else "failed"
            reason = None if handshake.get("ok") else (handshake.get("hint") or handshake.get("msg"))
        elif gw_status not in ("ok", "unknown", "not_checked"):
            status = "skipped"
            reason = f"gateway {dev.get('gateway')} is {gw_status}: {gw_reason}"
        else:
            status, reason = "not_checked", "no handshake result was recorded for this device"
        device_rows.append(
            {
                "host": dev["host"],
                "gateway": dev.get("gateway"),
                "status": status,
                "phase": (failure or {}).get("phase"),
                "reason": reason,
                "trust_store": _trust_entry(dev.get("trust_store")),
                "handshake": handshake,
                "certificates": by_host.get(dev["host"], []),
            }
        )

    all_certs = site_certs + [c for rows in (gateway_rows, device_rows) for row in rows for c in row["certificates"]]
    owners = {id(c): row["host"] for rows in (gateway_rows, device_rows) for row in rows for c in row["certificates"]}
    dated = [c for c in all_certs if c.get("days_left") is not None]
    earliest = None
    if dated:
        first = min(dated, key=lambda c: c["days_left"])
        earliest = {
            "host": owners.get(id(first)),
            "certificate": first["name"],
            "subject": first["subject"],
            "not_after": first["not_after"],
            "days_left": first["days_left"],
        }
    devices_ok = sum(1 for d in device_rows if d["status"] == "ok")
    summary = {
        "devices_total": len(device_rows),
        "devices_ok": devices_ok,
        "devices_failed": len(device_rows) - devices_ok,
        "gateways_total": len(gateway_rows),
        "gateways_ok": sum(1 for g in gateway_rows if g["status"] == "ok"),
        "earliest_expiry": earliest,
        "devices_accepted": accepted_count(accept, len(device_rows)),
    }
    status = overall_status(summary, accept)
    summary["status"] = status
    summary["line"] = summary_line(summary)
    return {
        "format": REPORT_FORMAT,
        "site": site,
        "status": status,
        "mode": mode,
        "generated_at": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "summary": summary,
        "gateways": gateway_rows,
        "devices": device_rows,
        "site_certificates": site_certs,
    }


def summary_line(summary):
    line = f"{summary['devices_ok']} devices ok, {summary['devices_failed']} failed"
    if summary.get("status"):
        accepted = summary.get("devices_accepted") or 0
        note = f" ({accepted} failed devices accepted)" if accepted else ""
        line = f"{summary['status']}{note}: {line}"
    line += f"; {summary['gateways_ok']} of {summary['gateways_total']} gateways ok"
    earliest = summary.get("earliest_expiry")
    if earliest:
        where = f"{earliest['host']} {earliest['certificate']}" if earliest.get("host") else earliest["certificate"]
        line += f"; earliest expiry {earliest['not_after']} ({where}, {earliest['days_left']} days)"
    else:
        line += "; no certificate expiry known"
    return line


def comparable(report):
    """The report without the values that change between two runs of an unchanged site."""

    def strip(value):
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in VOLATILE_KEYS}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    return strip(report)


def _cell(value):
    if value is None or value == "":
        return "-"
    return str(value).replace("|", "\\|").replace("\n", " ")


def _table(headers, rows):
    lines = ["| " + " | ".join(headers) + " |", "|" + "---|" * len(headers)]
    lines.extend("| " + " | ".join(_cell(v) for v in row) + " |" for row in rows)
    return lines


def render_markdown(report):
    """Render the report as Markdown for a person."""
    out = [f"# Site report: {report['site']}", ""]
    mode = " (check mode: nothing was changed)" if report["mode"] == "check" else ""
    out += [f"Generated {report['generated_at']}{mode}.", "", f"**Summary:** {report['summary']['line']}", ""]

    out += ["## Gateways", ""]
    out += _table(
        ["Gateway", "Hostname", "Runtime", "Status", "Detail"],
        [[g["host"], g["hostname"], g["runtime"], g["status"], _detail(g)] for g in report["gateways"]],
    )
    if has_hierarchy(report):
        out += ["", *render_tree(report)[:-1]]
    out += ["", "## Devices", ""]
    rows = []
    for d in report["devices"]:
        hs = d["handshake"] or {}
        trust = d["trust_store"] or {}
        rows.append(
            [
                d["host"],
                d["gateway"],
                d["status"],
                trust.get("state"),
                hs.get("tls_version"),
                hs.get("diagnosis") or ("ok" if hs.get("ok") else None),
                _detail(d),
            ]
        )
    out += _table(["Device", "Gateway", "Status", "Trust store", "TLS", "Handshake", "Detail"], rows)

    out += ["", "## Certificates", ""]
    cert_rows = []
    for owner, certs in [("site", report["site_certificates"])] + [
        (row["host"], row["certificates"]) for row in report["gateways"] + report["devices"]
    ]:
        for c in certs:
            renew = {True: "yes", False: "no"}.get(c.get("renew_next_run"), c.get("renew_next_run"))
            cert_rows.append(
                [owner, c["name"], c["subject"], c["not_after"], c["days_left"], c["sha256_thumbprint"], renew]
            )
    out += _table(
        ["Owner", "Certificate", "Subject", "Not after", "Days left", "SHA-256 thumbprint", "Renews next run"],
        cert_rows,
    )
    out.append("")
    return "\n".join(out)


def _detail(row):
    parts = []
    if row.get("phase"):
        parts.append(f"in {row['phase']}")
    if row.get("reason"):
        parts.append(row["reason"])
    return ": ".join(parts) if parts else None
