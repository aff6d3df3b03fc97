# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTML pages of the site report, parsed back: every host drawn and listed, values escaped."""

from __future__ import annotations

import datetime
from html.parser import HTMLParser

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
