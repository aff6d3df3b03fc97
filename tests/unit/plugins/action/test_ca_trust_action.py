"""The ca_trust action: which implementation runs, and what it is given (no host: the module run is captured)."""

from __future__ import annotations

from unittest import mock

from ansible_collections.edgeops.gateway.plugins.action.ca_trust import ActionModule


def make_action(args, shell_family):
    task = mock.MagicMock(args=args, async_val=0, check_mode=False, diff=False, action="edgeops.gateway.ca_trust")
    connection = mock.MagicMock()
    connection._shell.SHELL_FAMILY = shell_family
    action = ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    calls = []

    def execute(module_name, module_args, task_vars):
        calls.append((module_name, dict(module_args)))
        return {"changed": False}

    action._execute_module = execute
    return action, calls


HANDSHAKE = {"hostname": "gw1.site-a.example", "port": 8883}


def test_linux_hosts_get_the_handshake_with_the_trust_store():
    args = {"fingerprint": "AB" * 32, "state": "absent", "handshake": HANDSHAKE}
    action, calls = make_action(args, "sh")
    result = action.run(task_vars={})
    assert calls == [("edgeops.gateway.ca_trust", args)]
    assert not result.get("warnings")


def test_windows_hosts_get_no_handshake_and_a_warning():
    args = {"fingerprint": "AB" * 32, "state": "absent", "handshake": HANDSHAKE}
    action, calls = make_action(args, "powershell")
    result = action.run(task_vars={})
    assert calls == [("edgeops.gateway.win_ca_trust", {"fingerprint": "AB" * 32, "state": "absent"})]
    assert any("handshake is not made on Windows hosts" in w for w in result["warnings"])


def test_windows_hosts_without_handshake_get_no_warning():
    action, calls = make_action({"fingerprint": "AB" * 32, "state": "absent"}, "powershell")
    result = action.run(task_vars={})
    assert calls[0][0] == "edgeops.gateway.win_ca_trust"
    assert not result.get("warnings")
