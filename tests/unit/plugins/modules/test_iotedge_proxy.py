# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotedge_proxy as Ansible runs it: the drop-ins' content, check, real, check, real, removal, masking.

The systemd folder is a temporary directory; "systemd runs the host" is a temporary /run/systemd/system
with a systemctl on the PATH that records its arguments (the test machine runs no systemd).
"""

from __future__ import annotations

import configparser
import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgeops.gateway.plugins.modules import iotedge_proxy

PROXY = "http://proxy.site-a.example:3128"
SECRET_PROXY = "http://gw1:p%40ss-W0rd@proxy.site-a.example:3128"
UNITS = ["docker.service", "aziot-identityd.service", "aziot-edged.service"]


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        iotedge_proxy.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["rc"] = info.value.code
    result["raw"] = out
    return result


@pytest.fixture
def site(tmp_path, monkeypatch):
    monkeypatch.setattr(iotedge_proxy, "SYSTEMD_RUNTIME_DIR", str(tmp_path / "no-systemd"))
    return {"https_proxy": PROXY, "systemd_dir": str(tmp_path / "systemd")}


def read_dropin(path):
    """The drop-in as systemd reads it: a [Service] section whose Environment= is one quoted assignment."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path)
    return dict(parser["Service"])


def test_content_of_each_unit(capsys, site):
    result = run(capsys, site)
    assert result["rc"] == 0 and result["changed"]
    assert result["changed_units"] == UNITS
    for unit in UNITS:
        path = os.path.join(site["systemd_dir"], unit + ".d", "edgeops-proxy.conf")
        assert result["dropins"][unit] == path
        assert read_dropin(path) == {"Environment": f'"https_proxy={PROXY}"'}
        assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
        assert stat.S_IMODE(os.stat(os.path.dirname(path)).st_mode) == 0o755


def test_four_runs_check_real_check_real(capsys, site):
    results = [
        run(capsys, site, check_mode=True),
        run(capsys, site),
        run(capsys, site, check_mode=True),
        run(capsys, site),
    ]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert [r["changed_units"] for r in results] == [UNITS, UNITS, [], []]
    assert all(r["rc"] == 0 for r in results)


def test_check_mode_writes_nothing(capsys, site):
    result = run(capsys, site, check_mode=True)
    assert result["changed"]
    assert not os.path.exists(site["systemd_dir"])


def test_a_changed_proxy_changes_every_unit_and_shows_a_diff(capsys, site):
    run(capsys, site)
    result = run(capsys, dict(site, https_proxy="http://proxy2.site-a.example:8080"))
    assert result["changed_units"] == UNITS
    assert "proxy.site-a.example:3128" in result["diff"]["before"]
    assert "proxy2.site-a.example:8080" in result["diff"]["after"]


def test_credentials_are_masked_escaped_and_private(capsys, site):
    result = run(capsys, dict(site, https_proxy=SECRET_PROXY))
    assert result["rc"] == 0
    assert "p%40ss-W0rd" not in result["raw"] and "p%%40ss-W0rd" not in result["raw"]
    assert "gw1:" not in result["diff"]["after"]
    path = result["dropins"]["docker.service"]
    # systemd expands specifiers in Environment=: the percent-encoding is written as %%
    assert read_dropin(path) == {"Environment": '"https_proxy=http://gw1:p%%40ss-W0rd@proxy.site-a.example:3128"'}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_absent_removes_the_dropins_and_then_changes_nothing(capsys, site):
    run(capsys, site)
    removed = run(capsys, dict(site, state="absent", https_proxy=None))
    again = run(capsys, dict(site, state="absent", https_proxy=None))
    assert removed["changed"] and removed["changed_units"] == UNITS
    assert not again["changed"] and again["changed_units"] == []
    assert not any(os.path.exists(p) for p in removed["dropins"].values())


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        ({"https_proxy": "proxy.site-a.example:3128"}, "is not an http:// or https:// URL"),
        ({"https_proxy": "http://"}, "has no host name"),
        ({"https_proxy": 'http://proxy.site-a.example:3128/"x'}, "percent-encode them"),
        ({"services": ["docker;rm"]}, "is not a systemd unit name"),
        ({"services": []}, "services is empty"),
        ({"dropin_name": "../proxy"}, "is not a file name"),
        ({"state": "present", "https_proxy": None}, "https_proxy is empty"),
    ],
)
def test_bad_input_is_refused_before_anything_is_written(capsys, site, args, fragment):
    result = run(capsys, dict(site, **args))
    assert result["rc"] == 1 and not result["changed"]
    assert fragment in result["msg"]
    assert not os.path.exists(site["systemd_dir"])


def test_daemon_reload_runs_once_after_a_change_when_systemd_runs(capsys, site, tmp_path, monkeypatch):
    runtime = tmp_path / "run-systemd"
    runtime.mkdir()
    monkeypatch.setattr(iotedge_proxy, "SYSTEMD_RUNTIME_DIR", str(runtime))
    bindir = tmp_path / "bin"
    bindir.mkdir()
    calls = tmp_path / "systemctl-calls"
    systemctl = bindir / "systemctl"
    systemctl.write_text(f'#!/bin/sh\necho "$@" >> {calls}\n')
    systemctl.chmod(0o755)
    monkeypatch.setenv("PATH", f"{bindir}:{os.environ['PATH']}")
    first = run(capsys, site)
    check = run(capsys, dict(site, https_proxy="http://other.site-a.example:3128"), check_mode=True)
    second = run(capsys, site)
    assert first["systemd"] and first["daemon_reloaded"]
    assert check["changed"] and not check["daemon_reloaded"]
    assert not second["changed"] and not second["daemon_reloaded"]
    assert calls.read_text() == "daemon-reload\n"


def test_without_systemd_nothing_is_reloaded(capsys, site):
    result = run(capsys, site)
    assert result["changed"] and not result["systemd"] and not result["daemon_reloaded"]
