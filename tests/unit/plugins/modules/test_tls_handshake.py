# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""tls_handshake as Ansible runs it, against real TLS servers on 127.0.0.1."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tls_lab import DAY, NOW, TlsServer, issue, write

from ansible_collections.edgeops.gateway.plugins.modules import tls_handshake


def run(capsys, args, check_mode=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        tls_handshake.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = info.value.code
    return result


def warnings(result):
    """Warning texts; ansible-core 2.19 returns them as structured events."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


@pytest.fixture(scope="module")
def pki():
    root = issue("Site Root CA", ca=True)
    edge = issue("gw1.ca", root, ca=True, path_len=0)
    return {
        "root": root,
        "edge": edge,
        "server": issue("localhost", edge, sans=["localhost"]),
        "soon": issue("localhost", edge, sans=["localhost"], not_after=NOW + 2 * DAY),
        "device": issue("dev1", edge, client=True),
    }


def test_four_runs_change_nothing_and_agree(tmp_path, capsys, pki):
    ca_file = write(tmp_path / "root.pem", pki["root"])
    with TlsServer(tmp_path, [pki["server"], pki["edge"]], pki["server"]) as server:
        args = {"hostname": "localhost", "port": server.port, "ca_file": ca_file}
        results = [run(capsys, args, check_mode=check) for check in (True, False, True, False)]
    assert [r["changed"] for r in results] == [False, False, False, False]
    assert all(r["rc"] == 0 and not r.get("failed") for r in results)
    first = results[0]
    for result in results[1:]:
        assert result["verified_chain"] == first["verified_chain"]
        assert result["presented_chain"] == first["presented_chain"]
    assert first["diagnosis"] is None
    assert first["trust"] == ca_file
    assert [c["subject"] for c in first["verified_chain"]] == ["CN=localhost", "CN=gw1.ca", "CN=Site Root CA"]
    assert warnings(first) == []


def test_failure_carries_diagnosis_and_hint(tmp_path, capsys, pki):
    other = write(tmp_path / "other.pem", issue("Other Root", ca=True))
    with TlsServer(tmp_path, [pki["server"], pki["edge"]], pki["server"]) as server:
        args = {"hostname": "localhost", "port": server.port, "ca_file": other, "retries": 0}
        results = [run(capsys, args, check_mode=check) for check in (True, False)]
    for result in results:
        assert result["failed"] is True and result["changed"] is False
        assert result["diagnosis"] == "untrusted_root"
        assert result["hint"] in result["msg"]
        assert result["verify_code"] == 20
        assert len(result["presented_chain"]) == 2


def test_expiry_warning_is_a_module_warning(tmp_path, capsys, pki):
    ca_file = write(tmp_path / "root.pem", pki["root"])
    with TlsServer(tmp_path, [pki["soon"], pki["edge"]], pki["soon"]) as server:
        result = run(capsys, {"hostname": "localhost", "port": server.port, "ca_file": ca_file})
    assert not result.get("failed")
    assert result["findings"] == ["expires_soon"]
    assert any("expires in 1." in w or "expires in 2." in w for w in warnings(result)), warnings(result)


def test_mutual_tls_never_returns_key_material(tmp_path, capsys, pki):
    ca_file = write(tmp_path / "root.pem", pki["root"])
    client_ca = write(tmp_path / "client-ca.pem", pki["root"], pki["edge"])
    cert = write(tmp_path / "dev1.pem", pki["device"])
    key = write(tmp_path / "dev1.key", pki["device"].key_pem)
    with TlsServer(tmp_path, [pki["server"], pki["edge"]], pki["server"], client_ca=client_ca) as server:
        args = {"hostname": "localhost", "port": server.port, "ca_file": ca_file, "client_cert": cert}
        incomplete = run(capsys, args)
        result = run(capsys, dict(args, client_key=key))
    assert incomplete["failed"] and "client_key" in incomplete["msg"]
    assert not result.get("failed"), result.get("msg")
    dumped = json.dumps(result)
    assert "PRIVATE KEY" not in dumped
    assert pki["device"].key_pem.decode().splitlines()[1] not in dumped


def test_bad_input_fails_with_a_fix(tmp_path, capsys):
    empty = tmp_path / "empty.pem"
    empty.write_text("")
    result = run(capsys, {"hostname": "localhost", "ca_file": str(empty)})
    assert result["failed"] and result["diagnosis"] is None
    assert "holds no PEM certificate" in result["msg"]
