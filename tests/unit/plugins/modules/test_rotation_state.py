# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""rotation_state as Ansible runs it: reads, records through the atomic writer, check mode, diff, idempotence."""

from __future__ import annotations

import json
import os
import stat

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgeops.gateway.plugins.modules import rotation_state


def run(capsys, args, check_mode=False):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=True)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        rotation_state.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = info.value.code
    return result


def test_reading_a_missing_file_writes_nothing(tmp_path, capsys):
    path = tmp_path / "pki" / "rotation-state.json"
    result = run(capsys, {"path": str(path)})
    assert result["rc"] == 0 and result["changed"] is False
    assert result["next_step"] == 1 and result["runs"] == [1]
    assert not path.exists()
    assert run(capsys, {"path": str(path)}, check_mode=True)["runs"] == [1, 2, 3, 4, 5]
    assert run(capsys, {"path": str(path), "last_step": 2}, check_mode=True)["runs"] == [1, 2]


def test_recording_twice_check_real_check_real(tmp_path, capsys):
    path = tmp_path / "pki" / "rotation-state.json"
    args = {"path": str(path), "step": 1, "old_root": "subject=CN=old", "next_root": "subject=CN=new"}
    results = [run(capsys, args, check_mode=check) for check in (True, False, True, False)]
    assert [r["rc"] for r in results] == [0, 0, 0, 0], [r.get("msg") for r in results]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert results[0]["diff"]["before"] == ""
    assert json.loads(results[0]["diff"]["after"])["steps_done"] == [1]
    assert json.loads(path.read_text())["steps_done"] == [1]
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert not [name for name in os.listdir(path.parent) if name.endswith(".tmp")]


def test_step2_stop_names_the_device_and_check_mode_leaves_the_file(tmp_path, capsys):
    path = tmp_path / "rotation-state.json"
    run(capsys, {"path": str(path), "step": 1})
    before = path.read_text()
    args = {"path": str(path), "step": 2, "hosts": ["dev1", "dev2"], "results": ["ok", ""]}
    checked = run(capsys, args, check_mode=True)
    assert checked["changed"] is True
    assert checked["failures"] == {"dev2": "unreachable: the host did not answer"}
    assert path.read_text() == before
    assert '"stopped": "step 2: dev2"' in checked["diff"]["after"]
    result = run(capsys, args)
    assert result["rc"] == 0
    assert result["state"]["stopped"] == "step 2: dev2"
    assert result["blocking"] == {"dev2": "unreachable: the host did not answer"}
    assert json.loads(path.read_text())["failed"]["2"] == {"dev2": "unreachable: the host did not answer"}
    assert run(capsys, args)["changed"] is False


def test_rollback_then_resume(tmp_path, capsys):
    path = tmp_path / "rotation-state.json"
    run(capsys, {"path": str(path), "step": 1})
    run(capsys, {"path": str(path), "step": 2, "hosts": ["dev1"], "results": ["ok"]})
    gw = {"path": str(path), "step": 3, "gateway": "gw1", "gateways": ["gw1"]}
    rolled = run(capsys, dict(gw, serves="old", reason="dev1: untrusted_root"))
    assert rolled["state"]["stopped"] == "step 3: gw1 rolled back to the old chain: dev1: untrusted_root"
    assert rolled["failures"] == {"gw1": "dev1: untrusted_root"}
    assert run(capsys, {"path": str(path)})["runs"] == [3]
    switched = run(capsys, dict(gw, serves="new"))
    assert switched["state"]["steps_done"] == [1, 2, 3]
    assert switched["runs"] == [4]
    assert switched["state"]["gateways"]["gw1"] == {"serves": "new", "rolled_back": None, "trusts": ["old", "new"]}


def test_step5_gateway_trusts_the_new_root_alone_check_real_twice(tmp_path, capsys):
    path = tmp_path / "rotation-state.json"
    run(capsys, {"path": str(path), "step": 1})
    run(capsys, {"path": str(path), "step": 2, "hosts": ["dev1"], "results": ["ok"]})
    run(capsys, {"path": str(path), "step": 3, "gateway": "gw1", "gateways": ["gw1"], "serves": "new"})
    run(capsys, {"path": str(path), "step": 4, "hosts": ["dev1"], "results": ["new"]})
    run(capsys, {"path": str(path), "step": 5, "hosts": ["dev1"], "results": ["ok"], "complete": False})
    gw = {"path": str(path), "step": 5, "gateway": "gw1", "gateways": ["gw1"]}
    failed = run(capsys, dict(gw, reason="dev1: client_cert_rejected"))
    assert failed["failures"] == {"gw1": "dev1: client_cert_rejected"}
    assert failed["state"]["stopped"] == "step 5: gw1 still trusts both roots: dev1: client_cert_rejected"
    before = path.read_text()
    checked = run(capsys, gw, check_mode=True)
    assert checked["changed"] is True and checked["state"]["gateways"]["gw1"]["trusts"] == ["new"]
    assert path.read_text() == before
    done = run(capsys, gw)
    assert done["changed"] is True and done["failures"] == {} and done["state"]["stopped"] is None
    assert json.loads(path.read_text())["gateways"]["gw1"]["trusts"] == ["new"]
    assert done["runs"] == [5]
    assert run(capsys, gw)["changed"] is False
    result = run(capsys, {"path": str(path), "step": 4, "hosts": ["dev1"], "results": ["new"], "reason": "x"})
    assert result["rc"] == 1 and "reason goes with step 3" in result["msg"]


def test_bad_input_fails_with_how_to_fix_and_writes_nothing(tmp_path, capsys):
    path = tmp_path / "rotation-state.json"
    path.write_text("{not json")
    result = run(capsys, {"path": str(path), "step": 1})
    assert result["rc"] == 1 and "is not JSON" in result["msg"] and "move it away" in result["msg"]
    assert path.read_text() == "{not json"
    path.write_text("{}")
    result = run(capsys, {"path": str(path), "step": 4, "hosts": ["dev1"], "results": ["new"]})
    assert result["rc"] == 1 and "cannot be recorded before step(s) 1, 2, 3" in result["msg"]
    result = run(capsys, {"path": str(path), "step": 2})
    assert result["rc"] == 1 and "give hosts" in result["msg"]


def test_a_folder_that_cannot_be_written_is_refused(tmp_path, capsys):
    target = tmp_path / "state-is-a-folder"
    target.mkdir()
    result = run(capsys, {"path": str(target / "x" / "rotation-state.json"), "step": 1})
    assert result["rc"] == 0
    (tmp_path / "file").write_text("")
    result = run(capsys, {"path": str(tmp_path / "file" / "rotation-state.json"), "step": 1})
    assert result["rc"] == 1 and "nothing was written" in result["msg"]
