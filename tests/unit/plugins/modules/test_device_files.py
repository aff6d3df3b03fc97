# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""device_files as Ansible runs it, on real files in a temporary folder."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgeops.gateway.plugins.modules import device_files

CERT = "-----BEGIN CERTIFICATE-----\nMIIBdevice\n-----END CERTIFICATE-----\n"
CHAIN = CERT + "-----BEGIN CERTIFICATE-----\nMIIBroot\n-----END CERTIFICATE-----\n"
KEY = "-----BEGIN PRIVATE KEY-----\nMIGHAgEAkeymaterial0123456789\n-----END PRIVATE KEY-----\n"


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        device_files.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["rc"] = info.value.code
    result["raw"] = out
    return result


def device_args(folder, key=KEY):
    return {
        "files": [
            {"path": str(folder / "device.pem"), "content": CERT},
            {"path": str(folder / "device-full-chain.pem"), "content": CHAIN},
            {"path": str(folder / "device.key.pem"), "content": key, "mode": "0600", "secret": True},
        ]
    }


def test_four_runs_converge_once_and_never_show_the_key(tmp_path, capsys):
    folder = tmp_path / "etc" / "edgeops" / "pki"
    args = device_args(folder)
    results = [run(capsys, args, check_mode=check) for check in (True, False, True, False)]
    assert [r["rc"] for r in results] == [0, 0, 0, 0], [r.get("msg") for r in results]
    assert [r["changed"] for r in results] == [True, True, False, False]
    # Check mode wrote nothing; the real run wrote every file with its mode, the folder with 0700.
    assert [row["state"] for row in results[0]["files"]] == ["created", "created", "created"]
    assert (folder / "device.pem").read_text() == CERT
    assert (folder / "device-full-chain.pem").read_text() == CHAIN
    assert (folder / "device.key.pem").read_text() == KEY
    assert stat.S_IMODE(os.stat(folder / "device.key.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(folder / "device.pem").st_mode) == 0o644
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700
    assert results[1]["changed_files"] == [
        str(folder / n) for n in ("device.pem", "device-full-chain.pem", "device.key.pem")
    ]
    assert [row["state"] for row in results[3]["files"]] == ["unchanged", "unchanged", "unchanged"]
    assert results[3]["changed_files"] == []
    # The key's content never appears, and its row has no digest.
    for result in results:
        assert "keymaterial" not in result["raw"]
        assert "sha256" not in result["files"][2]
    assert "(secret) mode 0600" in results[1]["diff"]["after"]


def test_a_changed_file_and_a_changed_mode_are_reported_as_such(tmp_path, capsys):
    folder = tmp_path / "pki"
    assert run(capsys, device_args(folder))["changed"]
    os.chmod(folder / "device.pem", 0o666)
    new_key = KEY.replace("keymaterial", "otherkeymat")
    result = run(capsys, device_args(folder, key=new_key))
    assert result["changed"]
    assert [row["state"] for row in result["files"]] == ["attributes", "unchanged", "updated"]
    assert "mode 0666" in result["diff"]["before"] and "mode 0644" in result["diff"]["after"]
    assert "otherkeymat" not in result["raw"] and "keymaterial" not in result["raw"]
    assert (folder / "device.key.pem").read_text() == new_key


def test_a_refused_plan_writes_nothing(tmp_path, capsys):
    folder = tmp_path / "pki"
    folder.mkdir()
    (folder / "device-full-chain.pem").mkdir()  # a folder where a file is expected
    result = run(capsys, device_args(folder))
    assert result["rc"] == 1
    assert result["changed"] is False
    assert "is a folder" in result["msg"]
    assert not (folder / "device.pem").exists()
    assert not (folder / "device.key.pem").exists()


def test_a_file_without_content_is_refused_saying_how_to_fix_it(tmp_path, capsys):
    result = run(capsys, {"files": [{"path": str(tmp_path / "x.pem")}]})
    assert result["rc"] == 1
    assert "give content, or src" in result["msg"]


def broker_args(folder, conf, backup=True):
    return {
        "backup": backup,
        "directories": [{"path": str(folder / "certs"), "mode": "0750"}],
        "files": [
            {"path": str(folder / "certs" / "root.pem"), "content": CERT},
            {"path": str(folder / "certs" / "server.key.pem"), "content": KEY, "mode": "0640", "secret": True},
            {"path": str(folder / "broker.conf"), "content": conf, "mode": "0640", "diff_content": True},
        ],
    }


def test_directories_files_backups_and_content_diffs_in_four_runs(tmp_path, capsys):
    folder = tmp_path / "broker"
    conf = "listener 8883\ncafile /etc/root.pem\n"
    args = broker_args(folder, conf)
    results = [run(capsys, args, check_mode=check) for check in (True, False, True, False)]
    assert [r["rc"] for r in results] == [0, 0, 0, 0], [r.get("msg") for r in results]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert results[1]["directories"] == [{"path": str(folder / "certs"), "state": "created", "changed": True}]
    assert stat.S_IMODE(os.stat(folder / "certs").st_mode) == 0o750
    # A created file has nothing to back up; the config's text is in the diff, the key's never.
    assert not any("backup_file" in row for row in results[1]["files"])
    diffs = results[1]["diff"]
    assert isinstance(diffs, list) and len(diffs) == 2
    assert diffs[1]["after"] == conf and diffs[1]["before"] == ""
    assert all("keymaterial" not in r["raw"] for r in results)
    assert results[3]["directories"][0]["state"] == "unchanged"

    # A changed config and a folder with the wrong mode: the old config is kept as a backup with its
    # attributes, the folder gets its mode back, and the diff shows the config's text before and after.
    os.chmod(folder / "certs", 0o755)
    new_conf = conf.replace("8883", "8884")
    result = run(capsys, broker_args(folder, new_conf))
    assert result["changed"]
    assert result["directories"][0]["state"] == "attributes"
    assert stat.S_IMODE(os.stat(folder / "certs").st_mode) == 0o750
    row = result["files"][2]
    assert row["state"] == "updated" and row["mode"] == "0640"
    assert open(row["backup_file"]).read() == conf
    assert stat.S_IMODE(os.stat(row["backup_file"]).st_mode) == 0o640
    assert (folder / "broker.conf").read_text() == new_conf
    assert result["diff"][1]["before"] == conf and result["diff"][1]["after"] == new_conf
    assert "8884" not in result["diff"][0]["after"]  # the summary holds digests, not text


def test_no_backup_in_check_mode_and_a_folder_that_is_a_file_is_refused(tmp_path, capsys):
    folder = tmp_path / "broker"
    assert run(capsys, broker_args(folder, "a\n"))["changed"]
    result = run(capsys, broker_args(folder, "b\n"), check_mode=True)
    assert result["changed"] and "backup_file" not in result["files"][2]
    assert sorted(os.listdir(folder)) == ["broker.conf", "certs"]
    (tmp_path / "other").write_text("x")
    refused = run(capsys, dict(broker_args(tmp_path / "x", "a\n"), directories=[{"path": str(tmp_path / "other")}]))
    assert refused["rc"] == 1 and "is a file, not a folder" in refused["msg"]
    assert not (tmp_path / "x").exists()


def test_an_owner_that_does_not_exist_yet_is_a_warning_in_check_mode_and_refused_for_real(tmp_path, capsys):
    args = {
        "directories": [{"path": str(tmp_path / "certs"), "mode": "0750", "group": "edgeops-no-such-group"}],
        "files": [
            {"path": str(tmp_path / "certs" / "a.pem"), "content": CERT, "owner": "edgeops-no-such-user"},
            {"path": str(tmp_path / "certs" / "b.pem"), "content": CHAIN, "group": "edgeops-no-such-group"},
        ],
    }
    checked = run(capsys, args, check_mode=True)
    assert checked["rc"] == 0 and checked["changed"]
    warnings = json.dumps(checked.get("warnings", []))
    assert "group 'edgeops-no-such-group'" in warnings and "owner 'edgeops-no-such-user'" in warnings, warnings
    assert len(checked["warnings"]) == 2  # one per missing name
    refused = run(capsys, args)
    assert refused["rc"] == 1 and "does not exist on this host" in refused["msg"]
    assert not (tmp_path / "certs").exists()
