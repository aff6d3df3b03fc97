"""The controller-side modules' actions: the module's code in this Python on a local connection, the module elsewhere.

Real files in a temporary folder; the module run that a remote host would get is captured, not made.
"""

from __future__ import annotations

import errno
import json
import os
import stat
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.edgeops.gateway.plugins.action import device_files as device_files_action
from ansible_collections.edgeops.gateway.plugins.action import iothub_plan as iothub_plan_action
from ansible_collections.edgeops.gateway.plugins.action import pki_ca as pki_ca_action
from ansible_collections.edgeops.gateway.plugins.action import pki_cert as pki_cert_action
from ansible_collections.edgeops.gateway.plugins.action import pki_report as pki_report_action
from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import build
from ansible_collections.edgeops.gateway.plugins.plugin_utils._controller_module import ControllerModule

PASSPHRASE = "controller-pass-51c9"


def make_action(plugin, args, transport="local", become=False, check_mode=False, diff=True):
    task = mock.MagicMock(args=args, async_val=0, check_mode=check_mode, diff=diff, action="x")
    connection = mock.MagicMock(transport=transport)
    play_context = mock.MagicMock(become=become)
    action = plugin.ActionModule(task, connection, play_context, mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    sent = []

    def execute(module_name, module_args, task_vars):
        sent.append((module_name, dict(module_args)))
        return {"changed": False, "sent": True}

    action._execute_module = execute
    return action, sent


def run(plugin, args, **kwargs):
    action, sent = make_action(plugin, args, **kwargs)
    result = action.run(task_vars={})
    assert not sent, "a local task must not be sent as a module"
    return result


def root_args(tmp_path):
    return {
        "path": str(tmp_path / "pki" / "root-ca.pem"),
        "key_path": str(tmp_path / "pki" / "root-ca.key.pem"),
        "key_passphrase": PASSPHRASE,
        "common_name": "site-a root CA",
    }


def test_pki_ca_runs_here_check_real_check_real_and_keeps_the_passphrase_out(tmp_path):
    args = root_args(tmp_path)
    results = [run(pki_ca_action, args, check_mode=check) for check in (True, False, True, False)]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert results[1]["reasons"] == ["no key yet", "no certificate yet"]
    assert results[1]["serial"] == results[3]["serial"]
    assert results[1]["diff"]["after"][args["path"]]["subject"] == "CN=site-a root CA"
    text = json.dumps(results)
    assert PASSPHRASE not in text and "PRIVATE KEY" not in text
    assert stat.S_IMODE(os.stat(args["key_path"]).st_mode) == 0o600
    assert stat.S_IMODE(os.stat(tmp_path / "pki").st_mode) == 0o700


def test_pki_cert_and_pki_report_run_here_and_the_second_run_changes_nothing(tmp_path):
    root = root_args(tmp_path)
    run(pki_ca_action, root)
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "certificates": [{"path": str(tmp_path / "pki" / "devices" / "dev1" / "device.pem"), "common_name": "dev1"}],
    }
    first, second = run(pki_cert_action, args), run(pki_cert_action, args)
    assert first["changed"] and not second["changed"]
    assert PASSPHRASE not in json.dumps([first, second])
    report = run(pki_report_action, {"pki_dir": str(tmp_path / "pki")})
    assert not report["changed"]
    assert sorted(c["relative_path"] for c in report["certificates"]) == ["devices/dev1/device.pem", "root-ca.pem"]


def test_a_refused_run_is_failed_with_the_modules_message_and_nothing_written(tmp_path):
    args = dict(root_args(tmp_path), type="intermediate", issuer_cert=str(tmp_path / "missing.pem"))
    args["issuer_key"] = str(tmp_path / "missing.key.pem")
    result = run(pki_ca_action, args)
    assert result["failed"] and "missing.pem" in result["msg"]
    assert not (tmp_path / "pki" / "root-ca.pem").exists()


def test_wrong_arguments_are_refused_as_the_module_refuses_them(tmp_path):
    with pytest.raises(AnsibleActionFail, match="missing required arguments: path"):
        run(pki_report_action, {})
    with pytest.raises(
        AnsibleActionFail, match=r"Unsupported parameters for \(edgeops.gateway.pki_report\) module: colour"
    ):
        run(pki_report_action, {"path": str(tmp_path), "colour": "red"})
    with pytest.raises(AnsibleActionFail, match="mutually exclusive"):
        run(pki_ca_action, dict(root_args(tmp_path), import_cert=str(tmp_path / "x.pem")))


def test_device_files_on_the_controller_masks_secret_content_and_makes_a_backup(tmp_path):
    path = tmp_path / "out" / "settings.json"
    args = {"files": [{"path": str(path), "content": "secret-content-1\n", "secret": True, "mode": "0600"}]}
    first, second = run(device_files_action, args), run(device_files_action, args)
    assert first["changed"] and not second["changed"]
    assert "secret-content-1" not in json.dumps([first, second])
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    changed = {"files": [{"path": str(path), "content": "secret-content-2\n", "secret": True}], "backup": True}
    result = run(device_files_action, changed)
    backup = result["files"][0]["backup_file"]
    assert backup.startswith(str(path) + ".") and open(backup).read() == "secret-content-1\n"
    assert path.read_text() == "secret-content-2\n"


@pytest.mark.skipif(os.geteuid() != 0, reason="giving a file another user's owner needs root")
def test_backup_keeps_owner_and_group_and_is_made_where_they_cannot_be_given(tmp_path):
    module = ControllerModule({}, check_mode=False, diff=False, no_log_values=set())

    def original(name, owner=None):
        # one file per case: backups made within the same second of one file have the same name
        path = tmp_path / name
        path.write_text("before\n")
        os.chmod(path, 0o640)
        if owner is not None:
            os.chown(path, owner, owner)
        return str(path)

    # same owner and group as the one who copies: nothing to change
    with mock.patch("os.chown") as chown:
        backup = module.backup_local(original("own.toml"))
    chown.assert_not_called()
    assert open(backup).read() == "before\n" and stat.S_IMODE(os.stat(backup).st_mode) == 0o640

    # another user's file: the copy gets its owner and group, as AnsibleModule's copy does
    backup = module.backup_local(original("other.toml", 65534))
    assert (os.stat(backup).st_uid, os.stat(backup).st_gid) == (65534, 65534)

    # not allowed to give them (EPERM, a user who is not root): the backup is still made, the copier's own
    denied = original("denied.toml", 65534)
    with mock.patch("os.chown", side_effect=OSError(errno.EPERM, "Operation not permitted")):
        backup = module.backup_local(denied)
    assert open(backup).read() == "before\n" and os.stat(backup).st_uid == os.geteuid()

    # any other failure is the backup's failure, with the path in the message
    failing = original("failing.toml", 65534)
    with (
        mock.patch("os.chown", side_effect=OSError(errno.EIO, "I/O error")),
        pytest.raises(Exception, match=r"Could not make backup of .*failing\.toml"),
    ):
        module.backup_local(failing)
    assert module.backup_local(str(tmp_path / "absent")) == ""


def test_iothub_plan_runs_here_and_keeps_the_hub_key_out(tmp_path):
    key = "c2VjcmV0LWh1Yi1rZXktOTk="
    tree = build(
        [{"name": "top", "site": "site-a", "provisioning": "manual_x509"}],
        [{"name": "d1", "site": "site-a", "gateway": "top"}],
    )
    args = {
        "site": "site-a",
        "dest": str(tmp_path / "reports"),
        "hierarchy": tree,
        "certificates": [{"relative_path": "gateways/top/identity.pem", "thumbprint_sha256": "AB" * 32}],
        "connection_string": f"HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={key}",
    }
    first, second = run(iothub_plan_action, args), run(iothub_plan_action, args)
    assert first["changed"] and not second["changed"], first
    assert first["summary"]["edge_devices"] == 1 and first["summary"]["devices"] == 1
    assert os.path.isfile(first["json_path"]) and os.path.isfile(first["script_path"])
    assert key not in json.dumps([first, second])


@pytest.mark.parametrize(("transport", "become"), [("ssh", False), ("local", True)])
def test_a_remote_host_or_become_gets_the_module(tmp_path, transport, become):
    args = root_args(tmp_path)
    action, sent = make_action(pki_ca_action, args, transport=transport, become=become)
    result = action.run(task_vars={})
    assert sent == [("edgeops.gateway.pki_ca", args)]
    assert result["sent"] and not (tmp_path / "pki").exists()


def test_device_files_reads_src_on_the_controller_before_sending(tmp_path):
    src = tmp_path / "device.pem"
    src.write_text("PEM TEXT\n")
    args = {"files": [{"path": "/etc/edgeops/device.pem", "src": str(src)}]}
    action, sent = make_action(device_files_action, args, transport="ssh")
    action._find_needle = lambda kind, name: name
    action.run(task_vars={})
    assert sent[0][1]["files"] == [{"path": "/etc/edgeops/device.pem", "content": "PEM TEXT\n"}]


def test_device_files_on_the_controller_shows_the_text_of_a_non_secret_file_asked_for_in_its_diff(tmp_path):
    path = tmp_path / "deployment.json"
    args = {"files": [{"path": str(path), "content": '{"modulesContent": {}}\n', "diff_content": True}]}
    result = run(device_files_action, args)
    summary, content = result["diff"]
    assert content["after"] == '{"modulesContent": {}}\n'
    assert "modulesContent" not in summary["after"]
