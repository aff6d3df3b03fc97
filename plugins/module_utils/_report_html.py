# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Render site reports as self-contained HTML pages: one per site and one for a fleet of sites.

Private to edgeops.gateway. Input is the dict ``_report.build_report`` returns (or a list of
them for the fleet page). A page needs no network: its style, its pictures (inline SVG) and the
table sorting script are all inside the file. Every value from the report is HTML-escaped.
"""

from __future__ import annotations

import datetime
import html

# Status colours, shared by the topology, the badges and the fleet page.
STATUS_COLOURS = {
    "ok": "#2e7d32",
    "awaiting_deployment": "#1565c0",
    "not_checked": "#f9a825",
    "skipped": "#757575",
    "rolled_back": "#ef6c00",
    "failed": "#c62828",
    "unreachable": "#6a1b9a",
    "unknown": "#9e9e9e",
}
_DEFAULT_COLOUR = "#9e9e9e"

# Topology grid: devices are laid out under their gateway in rows of this many.
_COLUMNS = 10
_NODE_W = 118
_NODE_H = 46
_GAP_X = 12
_GAP_Y = 30
# The expiry timeline stacks close markers in at most this many lanes.
_MAX_LANES = 16

_STYLE = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:1.5rem;color:#212121}
h1{margin:0 0 .3rem 0;font-size:1.5rem} h2{margin-top:2rem;font-size:1.15rem}
.meta{color:#616161;margin:0 0 1rem 0}
.badge{display:inline-block;padding:.1rem .5rem;border-radius:.8rem;color:#fff;font-size:.85rem}
.summary{font-size:1.05rem;padding:.6rem .8rem;background:#f5f5f5;border-left:4px solid #9e9e9e}
table{border-collapse:collapse;margin:.4rem 0;font-size:.88rem}
th,td{border:1px solid #e0e0e0;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#fafafa;cursor:pointer;user-select:none;white-space:nowrap}
th[aria-sort=ascending]::after{content:" \\25B2"} th[aria-sort=descending]::after{content:" \\25BC"}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.legend span{margin-right:1rem;font-size:.85rem}
.legend i{display:inline-block;width:.8rem;height:.8rem;border-radius:.2rem;margin-right:.3rem;vertical-align:middle}
svg text{font-family:inherit}
.scroll{overflow-x:auto;max-width:100%}
code{font-size:.82rem}
"""

# Sorts any table with class "sortable" by the clicked column: numbers numerically, the rest as text.
_SCRIPT = """
document.querySelectorAll("table.sortable").forEach(function (table) {
  table.querySelectorAll("th").forEach(function (th, index) {
    th.addEventListener("click", function () {
      var body = table.tBodies[0];
      var rows = Array.prototype.slice.call(body.rows);
      var ascending = th.getAttribute("aria-sort") !== "ascending";
      table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
      th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
      function key(row) {
        var cell = row.cells[index];
        var raw = cell.getAttribute("data-sort");
        if (raw === null) { raw = cell.textContent.trim(); }
        var number = parseFloat(raw);
        return isNaN(number) || String(number) !== raw.replace(/^\\+/, "") ? raw.toLowerCase() : number;
      }
      rows.sort(function (a, b) {
        var x = key(a), y = key(b);
        if (typeof x !== typeof y) { x = String(x); y = String(y); }
        var order = x < y ? -1 : x > y ? 1 : 0;
        return ascending ? order : -order;
      });
      rows.forEach(function (row) { body.appendChild(row); });
    });
  });
});
"""


def _e(value):
    if value is None or value == "":
        return "-"
    return html.escape(str(value), quote=True)


def _colour(status):
    return STATUS_COLOURS.get(status, _DEFAULT_COLOUR)


def _badge(status):
    return f'<span class="badge" style="background:{_colour(status)}">{_e(status)}</span>'


def _table(table_id, headers, rows):
    """``rows`` are lists of cells; a cell is a value, or (text, sort_key, css_class)."""
    out = [f'<table class="sortable" id="{table_id}"><thead><tr>']
    out += [f"<th>{_e(h)}</th>" for h in headers]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>")
        for cell in row:
            if isinstance(cell, tuple):
                text, sort_key, css = cell
                attrs = f' data-sort="{_e(sort_key)}"' if sort_key is not None else ""
                attrs += f' class="{css}"' if css else ""
                out.append(f"<td{attrs}>{text}</td>")
            else:
                out.append(f"<td>{_e(cell)}</td>")
        out.append("</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _legend(statuses):
    items = "".join(f'<span><i style="background:{_colour(s)}"></i>{_e(s)}</span>' for s in statuses)
    return f'<p class="legend">{items}</p>'


def _short(text, limit):
    text = str(text)
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _node(x, y, kind, host, status, detail):
    """One host of the topology: a coloured box with its name, status and (when failing) the diagnosis."""
    colour = _colour(status)
    title = f"{host}: {status}" + (f" ({detail})" if detail else "")
    lines = [_short(host, 18), status if not detail else _short(detail, 20)]
    return (
        f'<g class="node" data-kind="{kind}" data-host="{_e(host)}" data-status="{_e(status)}">'
        f"<title>{_e(title)}</title>"
        f'<rect x="{x}" y="{y}" width="{_NODE_W}" height="{_NODE_H}" rx="6" fill="{colour}"/>'
        f'<text x="{x + _NODE_W / 2}" y="{y + 19}" fill="#fff" font-size="12" text-anchor="middle">{_e(lines[0])}</text>'
        f'<text x="{x + _NODE_W / 2}" y="{y + 35}" fill="#fff" font-size="10" text-anchor="middle">{_e(lines[1])}</text>'
        "</g>"
    )


def _device_detail(device):
    if device["status"] == "ok":
        return None
    handshake = device.get("handshake") or {}
    return handshake.get("diagnosis") or device.get("reason")


def _rows(devices):
    return (len(devices) + _COLUMNS - 1) // _COLUMNS


def _device_box(index, top):
    """Where the device at ``index`` below its gateway is drawn: the top left corner of its box."""
    row, column = divmod(index, _COLUMNS)
    return _GAP_X + column * (_NODE_W + _GAP_X), top + row * (_NODE_H + _GAP_Y)


def _links(gateway_x, gateway_bottom, top, devices):
    """The lines from a gateway to its devices, drawn in the gaps only (no line crosses a box, whatever the
    number of devices): a trunk down from the gateway, a spine down the left margin, along each row of
    devices a bus in the gap above it, and from the bus a short drop to each device in its status colour."""
    line = '<line x1="{:.1f}" y1="{:.1f}" x2="{:.1f}" y2="{:.1f}" stroke="{}" stroke-width="{}"{}/>'
    grey = "#9e9e9e"
    rows = _rows(devices)
    spine_x = _GAP_X / 2
    parts = [line.format(gateway_x, gateway_bottom, gateway_x, top - _GAP_Y / 2, grey, 1.5, "")]
    for row in range(rows):
        first_x, box_y = _device_box(row * _COLUMNS, top)
        last_x, _y = _device_box(min(len(devices), (row + 1) * _COLUMNS) - 1, top)
        bus_y = box_y - _GAP_Y / 2
        # the first row's bus reaches the trunk; with one row, it starts at the first device, not the margin
        start_x = spine_x if rows > 1 else min(first_x + _NODE_W / 2, gateway_x)
        end_x = last_x + _NODE_W / 2
        parts.append(line.format(start_x, bus_y, max(end_x, gateway_x) if row == 0 else end_x, bus_y, grey, 1.5, ""))
    if rows > 1:
        parts.append(line.format(spine_x, top - _GAP_Y / 2, spine_x, bus_y, grey, 1.5, ""))
    for index, device in enumerate(devices):
        box_x, box_y = _device_box(index, top)
        x = box_x + _NODE_W / 2
        parts.append(line.format(x, box_y - _GAP_Y / 2, x, box_y, _colour(device["status"]), 2, ' class="drop"'))
    return parts


def topology_svg(report):
    """Each gateway with its devices below it, coloured by status; devices of unknown gateways last."""
    devices_by_gateway = {}
    for device in report["devices"]:
        devices_by_gateway.setdefault(device.get("gateway"), []).append(device)
    groups = [(gw, devices_by_gateway.pop(gw["host"], [])) for gw in report["gateways"]]
    groups += [(None, devices) for devices in devices_by_gateway.values()]

    width = _COLUMNS * (_NODE_W + _GAP_X) + _GAP_X
    parts = []
    y = _GAP_Y / 2
    for gateway, devices in groups:
        gx = (width - _NODE_W) / 2
        if gateway is not None:
            parts.append(
                _node(
                    gx,
                    y,
                    "gateway",
                    gateway["host"],
                    gateway["status"],
                    gateway.get("reason") if gateway["status"] != "ok" else None,
                )
            )
        top = y + _NODE_H + _GAP_Y
        if gateway is not None and devices:
            parts += _links(gx + _NODE_W / 2, y + _NODE_H, top, devices)
        for index, device in enumerate(devices):
            parts.append(
                _node(*_device_box(index, top), "device", device["host"], device["status"], _device_detail(device))
            )
        y = top + _rows(devices) * (_NODE_H + _GAP_Y) + _GAP_Y / 2
    height = max(y, _NODE_H + _GAP_Y)
    # Lines first so the boxes are drawn over them.
    parts.sort(key=lambda p: not p.startswith("<line"))
    return (
        f'<svg id="topology" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label="Site topology">{"".join(parts)}</svg>'
    )


def _parse_time(value):
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)  # noqa: UP017


def all_certificates(report):
    """(owner, certificate entry) for every certificate of the report, the site's own first."""
    pairs = [("site", c) for c in report.get("site_certificates", [])]
    for row in report["gateways"] + report["devices"]:
        pairs += [(row["host"], c) for c in row.get("certificates", [])]
    return pairs


def _expiry_colour(days_left):
    if days_left is None:
        return _DEFAULT_COLOUR
    if days_left < 0:
        return STATUS_COLOURS["failed"]
    if days_left < 30:
        return "#e65100"
    if days_left < 90:
        return STATUS_COLOURS["not_checked"]
    return STATUS_COLOURS["ok"]


def timeline_svg(report):
    """Every certificate's expiry on one time axis from the report's time to the last expiry."""
    now = _parse_time(report.get("generated_at")) or datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017
    dated = [(owner, cert, _parse_time(cert.get("not_after"))) for owner, cert in all_certificates(report)]
    dated = [item for item in dated if item[2] is not None]
    width, left, right, lane = 1000, 40, 30, 14
    if not dated:
        return '<svg id="timeline" width="400" height="30"><text x="0" y="20">no certificate expiry known</text></svg>'
    start = min([now] + [when for _o, _c, when in dated])
    end = max(when for _o, _c, when in dated)
    span = max((end - start).total_seconds(), 86400.0)

    def x_of(moment):
        return left + (width - left - right) * (moment - start).total_seconds() / span

    dated.sort(key=lambda item: item[2])
    lanes = []  # x of the last marker per lane, so close expiries stack instead of overlapping
    parts = []
    for owner, cert, when in dated:
        x = x_of(when)
        for index, last in enumerate(lanes):
            if x - last >= 8:
                lanes[index] = x
                break
        else:
            if len(lanes) < _MAX_LANES:
                lanes.append(x)
                index = len(lanes) - 1
            else:
                # A large site renews in waves: past this many lanes markers overlap, and the table lists each.
                index = min(range(len(lanes)), key=lambda i: lanes[i])
                lanes[index] = x
        y = 30 + index * lane
        title = f"{owner} {cert.get('name')}: expires {cert.get('not_after')} ({cert.get('days_left')} days)"
        parts.append(
            f'<circle class="expiry" data-owner="{_e(owner)}" data-name="{_e(cert.get("name"))}" '
            f'data-days-left="{_e(cert.get("days_left"))}" cx="{x:.1f}" cy="{y}" r="5" '
            f'fill="{_expiry_colour(cert.get("days_left"))}"><title>{_e(title)}</title></circle>'
        )
    height = 30 + len(lanes) * lane + 30
    axis_y = height - 22
    ticks = []
    for fraction in (0, 0.25, 0.5, 0.75, 1):
        moment = start + datetime.timedelta(seconds=span * fraction)
        x = x_of(moment)
        ticks.append(
            f'<line x1="{x:.1f}" y1="{axis_y}" x2="{x:.1f}" y2="{axis_y + 5}" stroke="#616161"/>'
            f'<text x="{x:.1f}" y="{axis_y + 17}" font-size="10" text-anchor="middle" fill="#424242">'
            f"{moment.strftime('%Y-%m-%d')}</text>"
        )
    now_x = x_of(now)
    marker = (
        f'<line x1="{now_x:.1f}" y1="18" x2="{now_x:.1f}" y2="{axis_y}" stroke="#212121" stroke-dasharray="3,3"/>'
        f'<text x="{now_x + 3:.1f}" y="14" font-size="10" fill="#212121">report time</text>'
    )
    axis = f'<line x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}" stroke="#616161"/>'
    return (
        f'<svg id="timeline" xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" role="img" aria-label="Certificate expiry timeline">'
        f"{axis}{''.join(ticks)}{marker}{''.join(parts)}</svg>"
    )


def _page(title, body):
    return (
        "<!DOCTYPE html>\n"
        f'<html lang="en"><head><meta charset="utf-8"><title>{_e(title)}</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<style>{_STYLE}</style></head><body>{body}<script>{_SCRIPT}</script></body></html>\n"
    )


def _num(value):
    return (_e(value), value if value is not None else "", "num")


def render_site_html(report):
    """One site's report as an HTML page: summary, topology, expiry timeline and sortable tables."""
    site = report["site"]
    summary = report["summary"]
    status = report.get("status")
    mode = " (check mode: nothing was changed)" if report.get("mode") == "check" else ""
    body = [f"<h1>Site report: {_e(site)}</h1>"]
    body.append(f'<p class="meta">Generated {_e(report.get("generated_at"))}{_e(mode) if mode else ""}</p>')
    badge = f"{_badge(status)} " if status else ""
    body.append(f'<p class="summary" id="summary">{badge}{_e(summary.get("line"))}</p>')

    statuses = sorted({row["status"] for row in report["gateways"] + report["devices"]})
    body.append("<h2>Topology</h2>")
    body.append(_legend(statuses))
    body.append(f'<div class="scroll">{topology_svg(report)}</div>')

    body.append("<h2>Certificate expiry</h2>")
    body.append(f'<div class="scroll">{timeline_svg(report)}</div>')

    body.append("<h2>Gateways</h2>")
    body.append(
        _table(
            "gateways",
            ["Gateway", "Hostname", "Runtime", "Status", "Phase", "Detail"],
            [
                [
                    g["host"],
                    g.get("hostname"),
                    g.get("runtime"),
                    (_badge(g["status"]), g["status"], None),
                    g.get("phase"),
                    g.get("reason"),
                ]
                for g in report["gateways"]
            ],
        )
    )
    body.append("<h2>Devices</h2>")
    device_rows = []
    for d in report["devices"]:
        handshake = d.get("handshake") or {}
        trust = d.get("trust_store") or {}
        device_rows.append(
            [
                d["host"],
                d.get("gateway"),
                (_badge(d["status"]), d["status"], None),
                trust.get("state"),
                handshake.get("tls_version"),
                handshake.get("diagnosis") or ("ok" if handshake.get("ok") else None),
                _num(handshake.get("days_to_expiry")),
                d.get("phase"),
                d.get("reason"),
            ]
        )
    body.append(
        _table(
            "devices",
            ["Device", "Gateway", "Status", "Trust store", "TLS", "Handshake", "Chain days left", "Phase", "Detail"],
            device_rows,
        )
    )
    body.append("<h2>Certificates</h2>")
    cert_rows = []
    for owner, c in all_certificates(report):
        renew = {True: "yes", False: "no"}.get(c.get("renew_next_run"), c.get("renew_next_run"))
        cert_rows.append(
            [
                owner,
                c.get("name"),
                c.get("subject"),
                (_e(c.get("not_after")), c.get("not_after") or "", None),
                _num(c.get("days_left")),
                (f"<code>{_e(c.get('sha256_thumbprint'))}</code>", c.get("sha256_thumbprint") or "", None),
                renew,
            ]
        )
    body.append(
        _table(
            "certificates",
            ["Owner", "Certificate", "Subject", "Not after", "Days left", "SHA-256 thumbprint", "Renews next run"],
            cert_rows,
        )
    )
    return _page(f"Site report: {site}", "".join(body))


def render_fleet_html(reports, links=None):
    """One page for many sites: a row per site with its status, counts, earliest expiry and a link.

    ``links`` maps a site name to the relative address of its own page.
    """
    links = links or {}
    rows = []
    totals = {"sites": 0, "devices_total": 0, "devices_ok": 0, "gateways_total": 0, "gateways_ok": 0}
    for report in sorted(reports, key=lambda r: r["site"]):
        summary = report["summary"]
        totals["sites"] += 1
        for key in ("devices_total", "devices_ok", "gateways_total", "gateways_ok"):
            totals[key] += summary.get(key) or 0
        status = report.get("status") or (
            "ok"
            if summary.get("devices_ok") == summary.get("devices_total")
            and summary.get("gateways_ok") == summary.get("gateways_total")
            else "failed"
        )
        earliest = summary.get("earliest_expiry") or {}
        site = report["site"]
        name = f'<a href="{_e(links[site])}">{_e(site)}</a>' if site in links else _e(site)
        rows.append(
            [
                (name, site, None),
                (_badge(status), status, None),
                _num(summary.get("devices_ok")),
                _num(summary.get("devices_total")),
                _num(summary.get("gateways_ok")),
                _num(summary.get("gateways_total")),
                (_e(earliest.get("not_after")), earliest.get("not_after") or "", None),
                _num(earliest.get("days_left")),
                summary.get("line"),
            ]
        )
    line = (
        f"{totals['sites']} sites; {totals['devices_ok']} of {totals['devices_total']} devices ok; "
        f"{totals['gateways_ok']} of {totals['gateways_total']} gateways ok"
    )
    body = [
        "<h1>Fleet report</h1>",
        f'<p class="summary" id="summary">{_e(line)}</p>',
        _table(
            "sites",
            [
                "Site",
                "Status",
                "Devices ok",
                "Devices",
                "Gateways ok",
                "Gateways",
                "Earliest expiry",
                "Days left",
                "Summary",
            ],
            rows,
        ),
    ]
    return _page("Fleet report", "".join(body))
