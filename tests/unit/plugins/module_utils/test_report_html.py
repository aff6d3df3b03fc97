# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML pages of the site report, parsed back: every host drawn and listed, values escaped."""

from __future__ import annotations

import datetime
import re
from html.parser import HTMLParser

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils._report import build_report
from ansible_collections.edgeops.gateway.plugins.module_utils._report_html import (
    STATUS_COLOURS,
    render_fleet_html,
    render_site_html,
)

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)


class Page(HTMLParser):
    """Collects what the tests look at: topology nodes, table rows per table, expiry marks, links."""

    def __init__(self, text):
        super().__init__()
        self.nodes = []
        self.rows = {}
        self.expiry = []
        self.refs = []
        self.scripts = 0
        self._table = None
        self._in_body = False
        self._row = None
        self._cell = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        for name in ("src", "href"):
            if attrs.get(name):
                self.refs.append(attrs[name])
        if tag == "script":
            self.scripts += 1
        if tag == "g" and "node" in (attrs.get("class") or "").split():
            self.nodes.append(attrs)
        if tag == "circle" and "expiry" in (attrs.get("class") or "").split():
            self.expiry.append(attrs)
        if tag == "table":
            self._table = attrs.get("id")
            self.rows[self._table] = []
        if tag == "tbody":
            self._in_body = True
        if tag == "tr" and self._in_body:
            self._row = []
        if tag == "td" and self._row is not None:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "td" and self._cell is not None:
            self._row.append("".join(self._cell).strip())
            self._cell = None
        if tag == "tr" and self._row is not None:
            self.rows[self._table].append(self._row)
            self._row = None
        if tag == "tbody":
            self._in_body = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def _report(devices=3):
    gateways = [
        {"host": "gw1", "hostname": "gw1.site-a.example", "runtime": "mosquitto", "result": {"status": "deployed"}}
    ]
    rows = [
        {"host": "dev1", "gateway": "gw1", "trust_store": {"state": "present"}, "handshake": {"ok": True}},
        {
            "host": "dev2",
            "gateway": "gw1",
            "trust_store": {"state": "absent"},
            "handshake": {"ok": False, "diagnosis": "untrusted_root", "hint": "install the root <b>CA</b>"},
        },
        {"host": "dev3", "gateway": "gw1", "failure": {"phase": "devices", "msg": "timed out", "unreachable": True}},
    ]
    rows += [
        {"host": f"dev{i}", "gateway": "gw1", "handshake": {"ok": True}, "trust_store": {"state": "present"}}
        for i in range(4, devices + 1)
    ]
    certificates = [
        {"relative_path": "root_ca.pem", "subject": "CN=Root", "not_after": "2036-11-20T00:00:00Z"},
        {"relative_path": "gateways/gw1/edge_ca.pem", "subject": "CN=Edge CA", "not_after": "2027-01-10T00:00:00Z"},
        {"relative_path": "devices/dev1/device.pem", "subject": "CN=dev1", "not_after": "2026-11-01T00:00:00Z"},
    ]
    return build_report("site-a", gateways, rows[:devices], certificates, now=NOW)


def test_site_page_draws_and_lists_every_host_with_its_status():
    report = _report()
    page = Page(render_site_html(report))
    drawn = {n["data-host"]: (n["data-kind"], n["data-status"]) for n in page.nodes}
    assert drawn == {
        "gw1": ("gateway", "ok"),
        "dev1": ("device", "ok"),
        "dev2": ("device", "failed"),
        "dev3": ("device", "unreachable"),
    }
    assert [r[0] for r in page.rows["gateways"]] == ["gw1"]
    assert sorted(r[0] for r in page.rows["devices"]) == ["dev1", "dev2", "dev3"]
    statuses = {r[0]: r[2] for r in page.rows["devices"]}
    assert statuses == {"dev1": "ok", "dev2": "failed", "dev3": "unreachable"}
    assert len(page.rows["certificates"]) == 3


def test_failing_nodes_carry_their_diagnosis_and_colour():
    html = render_site_html(_report())
    start = html.index('data-host="dev2"')
    node = html[start : html.index("</g>", start)]
    assert "untrusted_root" in node
    assert STATUS_COLOURS["failed"] in node
    start = html.index('data-host="dev1"')
    assert STATUS_COLOURS["ok"] in html[start : html.index("</g>", start)]


def test_timeline_marks_every_dated_certificate_and_flags_the_expired_one():
    page = Page(render_site_html(_report()))
    assert len(page.expiry) == 3
    days = sorted(int(c["data-days-left"]) for c in page.expiry)
    assert days[0] < 0 < days[1] < days[2]


def test_values_are_escaped_and_the_page_needs_no_network():
    html = render_site_html(_report())
    assert "<b>CA</b>" not in html
    assert "install the root &lt;b&gt;CA&lt;/b&gt;" in html
    page = Page(html)
    assert page.refs == []
    assert page.scripts == 1
    # The only URL in the page is the SVG namespace name, which is never fetched.
    assert {part.split('"')[0] for part in html.split("http")[1:]} == {"://www.w3.org/2000/svg"}


def test_a_site_of_200_devices_is_one_page_with_200_device_nodes():
    page = Page(render_site_html(_report(devices=200)))
    assert sum(1 for n in page.nodes if n["data-kind"] == "device") == 200
    assert len(page.rows["devices"]) == 200


def _topology(html):
    """The topology's lines (x1, y1, x2, y2, stroke, class) and node boxes (host, x, y, w, h) from the page."""
    svg = html[html.index('<svg id="topology"') : html.index("</svg>", html.index('<svg id="topology"'))]
    lines = [
        (float(x1), float(y1), float(x2), float(y2), stroke, css)
        for x1, y1, x2, y2, stroke, css in re.findall(
            r'<line x1="([\d.]+)" y1="([\d.]+)" x2="([\d.]+)" y2="([\d.]+)" stroke="([^"]+)"[^>]*?(?: class="([^"]+)")?/>',
            svg,
        )
    ]
    boxes = [
        (host, float(x), float(y), float(w), float(h))
        for host, x, y, w, h in re.findall(
            r'data-host="([^"]+)".*?<rect x="([\d.]+)" y="([\d.]+)" width="([\d.]+)" height="([\d.]+)"', svg
        )
    ]
    return lines, boxes


def _touch(a, b):
    """Whether two axis-aligned segments meet (cross, touch or overlap)."""
    ax1, ax2 = sorted((a[0], a[2]))
    ay1, ay2 = sorted((a[1], a[3]))
    bx1, bx2 = sorted((b[0], b[2]))
    by1, by2 = sorted((b[1], b[3]))
    return ax1 <= bx2 + 0.01 and bx1 <= ax2 + 0.01 and ay1 <= by2 + 0.01 and by1 <= ay2 + 0.01


@pytest.mark.parametrize("devices", [1, 3, 10, 11, 23, 200])
def test_links_run_in_the_gaps_and_join_every_device_to_its_gateway(devices):
    report = _report(devices=devices)
    lines, boxes = _topology(render_site_html(report))
    assert len(boxes) == devices + 1
    # no line enters a box (the lines are horizontal or vertical; a drop ends on its box's top edge)
    for line in lines:
        assert line[0] == line[2] or line[1] == line[3], line
        x1, x2 = sorted((line[0], line[2]))
        y1, y2 = sorted((line[1], line[3]))
        for host, x, y, w, h in boxes:
            across = x < x1 < x + w if x1 == x2 else (x1 < x + w and x2 > x)
            down = y < y1 < y + h if y1 == y2 else (y1 < y + h and y2 > y)
            assert not (across and down), f"{line} runs through the box of {host}"
    # one drop per device, in its status colour, ending at the middle of its box's top edge
    drops = [line for line in lines if line[5] == "drop"]
    assert len(drops) == devices
    status = {row["host"]: row["status"] for row in report["devices"]}
    for host, x, y, w, _h in boxes[1:]:
        mine = [d for d in drops if d[0] == x + w / 2 and d[3] == y]
        assert len(mine) == 1, host
        assert mine[0][4] == STATUS_COLOURS[status[host]]
    # every drop is joined to the gateway: the lines form one piece with the trunk from the gateway's box
    _gw, gx, gy, gw, gh = boxes[0]
    trunk = [line for line in lines if line[0] == gx + gw / 2 and line[1] == gy + gh]
    assert len(trunk) == 1
    joined, todo = {lines.index(trunk[0])}, [trunk[0]]
    while todo:
        current = todo.pop()
        for index, other in enumerate(lines):
            if index not in joined and _touch(current, other):
                joined.add(index)
                todo.append(other)
    assert joined == set(range(len(lines)))


def test_fleet_page_lists_every_site_with_its_status_and_link():
    ok = _report()
    ok["site"] = "site-b"
    failed = _report()
    failed["status"] = "failed"
    page = Page(render_fleet_html([failed, ok], links={"site-a": "site-a/site-report.html"}))
    sites = {r[0]: r for r in page.rows["sites"]}
    assert set(sites) == {"site-a", "site-b"}
    assert sites["site-a"][1] == "failed"
    assert page.refs == ["site-a/site-report.html"]
