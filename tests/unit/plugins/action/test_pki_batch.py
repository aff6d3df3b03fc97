"""edgeops.gateway.pki_batch: PKI steps in order in one task, on real files in a temporary folder."""

from __future__ import annotations

import json
import os
import stat
from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.edgeops.gateway.plugins.action import pki_batch

PASSPHRASE = "batch-pass-7f3e"
PKCS12_PASSPHRASE = "batch-pfx-91aa"


def run(args, transport="local", become=False, check_mode=False, diff=True):
    task = mock.MagicMock(args=args, async_val=0, check_mode=check_mode, diff=diff, action="x")
    connection = mock.MagicMock(transport=transport)
    play_context = mock.MagicMock(become=become)
    action = pki_batch.ActionModule(
        task, connection, play_context, mock.MagicMock(), mock.MagicMock(), mock.MagicMock()
    )
    return action.run(task_vars={})


def site_steps(pki):
    root, key = str(pki / "root-ca.pem"), str(pki / "root-ca.key.pem")
    return [
        {
            "name": "directories",
            "module": "device_files",
            "args": {"directories": [{"path": str(pki), "mode": "0700"}]},
        },
        {
            "name": "root CA",
            "module": "pki_ca",
            "args": {"path": root, "key_path": key, "key_passphrase": PASSPHRASE, "common_name": "batch root CA"},
        },
        {
            "name": "devices",
            "module": "pki_cert",
            "needs": [root],
            "args": {
                "issuer_cert": root,
                "issuer_key": key,
                "issuer_key_passphrase": PASSPHRASE,
                "certificates": [
                    {"path": str(pki / "devices" / "dev1" / "device.pem"), "common_name": "dev1"},
                    {
                        "path": str(pki / "devices" / "dev2" / "device.pem"),
                        "common_name": "dev2",
                        "pkcs12_path": str(pki / "devices" / "dev2" / "device.pfx"),
                        "pkcs12_passphrase": PKCS12_PASSPHRASE,
                    },
                ],
            },
        },
        {"name": "report", "module": "pki_report", "args": {"path": str(pki)}},
    ]


def test_check_real_check_real_and_the_second_run_changes_nothing(tmp_path):
    pki = tmp_path / "pki"
    steps = site_steps(pki)
    results = [run({"steps": steps}, check_mode=check) for check in (True, False, True, False)]
    assert [r["changed"] for r in results] == [True, True, False, False]
    # check mode on a new site: nothing written, the devices skipped (no root CA to sign with yet)
    first = results[0]["steps"]
    assert [s["skipped"] for s in first] == [False, False, True, False]
    assert first[2]["skip_reason"] == f"check mode: {pki / 'root-ca.pem'} not made yet"
    # the real run made everything, in order; the report read what the earlier steps wrote
    real = results[1]["steps"]
    assert [(s["name"], s["changed"]) for s in real] == [
        ("directories", True),
        ("root CA", True),
        ("devices", True),
        ("report", False),
    ]
    read = sorted(c["relative_path"] for c in real[3]["result"]["certificates"])
    assert read == ["devices/dev1/device.pem", "devices/dev2/device.pem", "root-ca.pem"]
    assert all(not s["changed"] and not s["skipped"] for s in results[3]["steps"])
    assert stat.S_IMODE(os.stat(pki / "root-ca.key.pem").st_mode) == 0o600
    assert stat.S_IMODE(os.stat(pki / "devices" / "dev2" / "device.pfx").st_mode) == 0o600
    text = json.dumps(results)
    assert PASSPHRASE not in text and PKCS12_PASSPHRASE not in text and "PRIVATE KEY" not in text


def test_diff_lists_each_steps_diff_in_order(tmp_path):
    pki = tmp_path / "pki"
    result = run({"steps": site_steps(pki)}, check_mode=False, diff=True)
    assert isinstance(result["diff"], list) and len(result["diff"]) >= 3
    assert all("diff" not in s.get("result", {}) for s in result["steps"])
    # the root CA's certificate metadata, never a key
    assert any(str(pki / "root-ca.pem") in json.dumps(d.get("after", {})) for d in result["diff"])
    assert "PRIVATE KEY" not in json.dumps(result["diff"])
    assert "diff" not in run({"steps": site_steps(pki)}, diff=False)


def test_a_failing_step_ends_the_task_and_names_itself(tmp_path):
    pki = tmp_path / "pki"
    steps = site_steps(pki)
    # the devices' issuer key is wrong: the root CA is made, the devices are not, the report does not run
    steps[2]["args"]["issuer_key"] = str(tmp_path / "no-such-key.pem")
    result = run({"steps": steps})
    assert result["failed"] and result["failed_step"] == "devices"
    assert result["msg"].startswith("devices: ") and "no-such-key.pem" in result["msg"]
    assert [s["name"] for s in result["steps"]] == ["directories", "root CA", "devices"]
    assert (pki / "root-ca.pem").exists() and not (pki / "devices" / "dev1" / "device.pem").exists()
    assert PASSPHRASE not in json.dumps(result)


def test_arguments_a_step_s_module_refuses_fail_that_step(tmp_path):
    steps = site_steps(tmp_path / "pki")
    steps[1]["args"]["colour"] = "red"
    result = run({"steps": steps})
    assert result["failed_step"] == "root CA"
    assert "Unsupported parameters for (edgeops.gateway.pki_ca) module: colour" in result["msg"]
    # the step before it ran
    assert result["steps"][0]["changed"] and (tmp_path / "pki").is_dir()


@pytest.mark.parametrize(
    ("steps", "message"),
    [
        ([], "steps must be a non-empty list"),
        ("root", "steps must be a non-empty list"),
        (["root"], r"steps\[0\] is not a dict"),
        ([{"module": "pki_ca", "args": {}}], r"steps\[0\] has no name"),
        ([{"name": "x", "module": "copy", "args": {}}], r"steps\[0\] \(x\): module must be one of device_files"),
        ([{"name": "x", "module": "pki_ca", "args": "path=/x"}], r"args must be a dict"),
        ([{"name": "x", "module": "pki_ca", "args": {}, "needs": "/x"}], r"needs must be a list of paths"),
        ([{"name": "x", "module": "pki_ca", "args": {}, "when": True}], r"unknown keys when"),
    ],
)
def test_malformed_steps_are_refused_before_any_step_runs(tmp_path, steps, message):
    with pytest.raises(AnsibleActionFail, match=message):
        run({"steps": steps})


def test_a_malformed_step_after_good_ones_stops_the_task_before_the_first_runs(tmp_path):
    steps = [*site_steps(tmp_path / "pki"), {"name": "bad", "module": "shell", "args": {}}]
    with pytest.raises(AnsibleActionFail, match="module must be one of"):
        run({"steps": steps})
    assert not (tmp_path / "pki").exists()


@pytest.mark.parametrize(("transport", "become"), [("ssh", False), ("local", True)])
def test_a_remote_host_or_become_is_refused(tmp_path, transport, become):
    with pytest.raises(AnsibleActionFail, match="delegate_to: localhost"):
        run({"steps": site_steps(tmp_path / "pki")}, transport=transport, become=become)
    assert not (tmp_path / "pki").exists()
