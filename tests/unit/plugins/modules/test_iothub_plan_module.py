# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iothub_plan as Ansible runs it: check mode, run, check mode, run; diff; refusals; the key never in output."""

from __future__ import annotations

import json
import os

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import build
from ansible_collections.edgeops.gateway.plugins.modules import iothub_plan

KEY = "c2VjcmV0LWh1Yi1rZXktOTk="
CONN = f"HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey={KEY}"
THUMB = "AB" * 32


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        iothub_plan.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["rc"] = info.value.code
    result["raw"] = out
    return result


@pytest.fixture
def args(tmp_path):
    tree = build(
        [
            {"name": "top", "site": "site-a", "provisioning": "manual_x509"},
            {"name": "mid", "site": "site-a", "parent": "top"},
        ],
        [{"name": "d1", "site": "site-a", "gateway": "mid"}],
    )
    manifest = tmp_path / "reports" / "gateways" / "mid" / "deployment.json"
    manifest.parent.mkdir(parents=True)
    manifest.write_text('{"modulesContent": {}}\n')
    return {
        "site": "site-a",
        "dest": str(tmp_path / "reports"),
        "hierarchy": tree,
        "certificates": [{"relative_path": "gateways/top/identity.pem", "thumbprint_sha256": THUMB}],
        "connection_string": CONN,
    }


def test_four_runs_write_once_and_then_change_nothing(capsys, args, tmp_path):
    results = [
        run(capsys, args, check_mode=True),
        run(capsys, args),
        run(capsys, args, check_mode=True),
        run(capsys, args),
    ]
    assert [r["rc"] for r in results] == [0, 0, 0, 0], results[0]
    assert [r["changed"] for r in results] == [True, True, False, False]
    json_path = tmp_path / "reports" / "iothub-plan.json"
    script_path = tmp_path / "reports" / "iothub-plan.sh"
    assert results[1]["json_path"] == str(json_path)
    plan = json.loads(json_path.read_text())
    assert plan == results[3]["plan"]
    assert plan["hub"] == {"name": "contoso-hub", "hostname": "contoso-hub.azure-devices.net"}
    assert plan["edge_devices"][0]["auth"]["primary_thumbprint"] == THUMB
    assert plan["edge_devices"][1]["deployment"] == str(tmp_path / "reports" / "gateways" / "mid" / "deployment.json")
    assert plan["edge_devices"][0]["deployment"] is None
    assert results[1]["summary"] == {"edge_devices": 2, "devices": 1, "links": 2, "deployments": 1, "not_registered": 0}
    assert oct(script_path.stat().st_mode & 0o777) == "0o755"
    assert oct(json_path.stat().st_mode & 0o777) == "0o644"
    # check mode wrote nothing, and its diff shows the files that would be written
    assert results[0]["diff"][0]["before"] == "" and '"edge_devices"' in results[0]["diff"][0]["after"]
    assert results[0]["diff"][1]["after"].startswith("#!/usr/bin/env bash")
    assert "diff" not in results[3]
    for result in results:
        assert KEY not in result["raw"]
    assert KEY not in json_path.read_text() and KEY not in script_path.read_text()


def test_a_changed_hierarchy_changes_the_plan(capsys, args, tmp_path):
    assert run(capsys, args)["changed"] is True
    args["hierarchy"] = build(
        [{"name": "top", "site": "site-a", "provisioning": "manual_x509"}],
        [{"name": "d1", "site": "site-a", "gateway": "top"}],
    )
    result = run(capsys, args)
    assert result["changed"] is True
    assert '"parent": "mid"' in result["diff"][0]["before"]
    assert json.loads((tmp_path / "reports" / "iothub-plan.json").read_text())["links"] == [
        {"child": "d1", "parent": "top", "kind": "device"}
    ]


def test_a_malformed_connection_string_is_refused_without_the_key(capsys, args, tmp_path):
    args["connection_string"] = CONN.replace("SharedAccessKeyName=iothubowner;", "")
    result = run(capsys, args)
    assert result["rc"] == 1 and result["failed"]
    assert "lacks SharedAccessKeyName" in result["msg"]
    assert KEY not in result["raw"]
    assert not (tmp_path / "reports" / "iothub-plan.json").exists()


def test_a_hub_name_that_differs_from_the_connection_string_is_refused(capsys, args):
    args["hub_name"] = "other-hub"
    result = run(capsys, args)
    assert result["failed"] and "differ" in result["msg"]


def test_a_plan_problem_fails_before_writing(capsys, args, tmp_path):
    args["certificates"] = []
    result = run(capsys, args)
    assert result["failed"]
    assert "no IoT Hub plan for site site-a: gateway top authenticates with x509_thumbprint" in result["msg"]
    assert not os.path.exists(tmp_path / "reports" / "iothub-plan.sh")
