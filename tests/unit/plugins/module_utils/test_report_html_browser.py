# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The site report page in a real headless browser (Debian's chromium): the page's own script runs.

tools/setup installs chromium; without it these tests fail and say how to get it. Screenshots are
kept in tests/output/browser/ as artifacts of the run.
"""

from __future__ import annotations

import json
import pathlib
import shutil
import subprocess

import pytest
from test_report_html import Page, _report

from ansible_collections.edgeops.gateway.plugins.module_utils._report_html import render_site_html

ROOT = pathlib.Path(__file__).resolve().parents[4]
ARTIFACTS = ROOT / "tests" / "output" / "browser"

# Clicks a header the way a person does, then writes the column's text in table order where the
# test can read it back from the DOM the browser dumps.
_PROBE = """
<script>
function columnOf(id, index) {
  return Array.prototype.map.call(document.querySelector(id).tBodies[0].rows,
    function (row) { return row.cells[index].textContent; }).join(",");
}
var header = document.querySelectorAll("#devices th")[0];
var result = {before: columnOf("#devices", 0)};
header.click();
result.ascending = columnOf("#devices", 0);
header.click();
result.descending = columnOf("#devices", 0);
var sort = document.querySelectorAll("#devices th")[6];
sort.click();
result.days = columnOf("#devices", 6);
var out = document.createElement("pre");
out.id = "probe";
out.textContent = JSON.stringify(result);
document.body.appendChild(out);
</script>
"""


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    pytest.fail("no chromium on PATH: run tools/setup (it installs Debian's chromium) or apt-get install chromium")


def _browser(*args):
    cmd = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars", *args]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


@pytest.fixture
def page_file(tmp_path):
    def write(report, probe=False):
        text = render_site_html(report)
        if probe:
            text = text.replace("</body>", _PROBE + "</body>")
        path = tmp_path / "site-report.html"
        path.write_text(text, encoding="utf-8")
        return path

    return write


def test_browser_shows_every_host_of_a_50_device_site_and_keeps_a_screenshot(page_file):
    report = _report(devices=50)
    path = page_file(report)
    dom = Page(_browser("--dump-dom", path.as_uri()))
    hosts = {n["data-host"] for n in dom.nodes}
    assert hosts == {"gw1"} | {d["host"] for d in report["devices"]}
    assert len(dom.rows["devices"]) == 50
    assert len(dom.rows["gateways"]) == 1
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    shot = ARTIFACTS / "site-report-50.png"
    if shot.exists():
        shot.unlink()
    _browser("--window-size=1300,2400", f"--screenshot={shot}", path.as_uri())
    # A PNG of real content: the signature and more than a blank page's few hundred bytes.
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    assert len(data) > 20000


def test_browser_sorts_the_device_table_by_the_clicked_column(page_file):
    report = _report(devices=12)
    for index, device in enumerate(report["devices"]):
        device["handshake"] = dict(device.get("handshake") or {}, days_to_expiry=(index * 37) % 11)
    dom = _browser("--dump-dom", page_file(report, probe=True).as_uri())
    start = dom.index('<pre id="probe">') + len('<pre id="probe">')
    result = json.loads(dom[start : dom.index("</pre>", start)].replace("&quot;", '"'))
    names = result["before"].split(",")
    assert result["ascending"].split(",") == sorted(names)
    assert result["descending"].split(",") == sorted(names, reverse=True)
    days = [int(v) for v in result["days"].split(",") if v]
    assert days == sorted(days)
    assert len(days) == 12
