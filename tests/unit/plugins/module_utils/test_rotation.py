# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The root CA rotation's decisions: which step runs, what a step's result means, resuming, what blocks step 3."""

from __future__ import annotations

import json

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils import _rotation as rot

DEVICES = ["dev1", "dev2"]
GATEWAYS = ["gw1", "gw2"]


def after(*steps):
    state = rot.empty_state()
    state["steps_done"] = list(steps)
    return state


def test_a_new_rotation_starts_at_step_1_and_runs_only_it():
    state = rot.parse_state(None, "/x")
    assert rot.next_step(state) == 1
    assert rot.runs(state, check_mode=False) == [1]
    # --check previews every step that is not done
    assert rot.runs(state, check_mode=True) == [1, 2, 3, 4, 5]


def test_runs_resume_at_the_first_step_not_done():
    assert rot.runs(after(1, 2), False) == [3]
    assert rot.runs(after(1, 2), True) == [3, 4, 5]
    assert rot.next_step(after(1, 2, 3, 4, 5)) is None
    assert rot.runs(after(1, 2, 3, 4, 5), True) == []


def test_step1_records_the_roots():
    state = rot.record_roots(rot.empty_state(), "subject=CN=old", "subject=CN=new")
    assert state["steps_done"] == [1]
    assert state["next_root"] == "subject=CN=new"


def test_step2_a_device_without_a_result_did_not_answer_and_stops_the_rotation():
    state, failed = rot.record_devices(after(1), 2, DEVICES, ["ok", ""])
    assert failed == {"dev2": rot.NO_ANSWER}
    assert state["steps_done"] == [1]
    assert state["stopped"] == "step 2: dev2"
    assert state["failed"]["2"] == {"dev2": rot.NO_ANSWER}
    assert state["devices"] == {"dev1": {"trusts": ["old", "new"]}}
    assert rot.blocking_devices(state) == {"dev2": rot.NO_ANSWER}
    assert rot.runs(state, False) == [2]


def test_step2_fewer_results_than_devices_means_the_last_did_not_answer():
    _state, failed = rot.record_devices(after(1), 2, DEVICES, ["ok"])
    assert failed == {"dev2": rot.NO_ANSWER}


def test_step2_a_reason_fails_the_device_with_it():
    _state, failed = rot.record_devices(after(1), 2, DEVICES, ["ok", "Check the handshake: untrusted_root"])
    assert failed == {"dev2": "Check the handshake: untrusted_root"}


def test_step2_passing_after_a_stop_resumes_and_clears_the_failure():
    stopped, _failed = rot.record_devices(after(1), 2, DEVICES, ["ok", ""])
    state, failed = rot.record_devices(stopped, 2, DEVICES, ["ok", "ok"])
    assert failed == {}
    assert state["steps_done"] == [1, 2]
    assert state["stopped"] is None
    assert state["failed"] == {}
    assert rot.blocking_devices(state) == {}
    assert rot.runs(state, False) == [3]


def test_a_step_cannot_be_recorded_before_the_steps_before_it():
    with pytest.raises(rot.RotationError, match=r"step 4 cannot be recorded before step.s. 3"):
        rot.record_devices(after(1, 2), 4, DEVICES, ["none", "none"])
    with pytest.raises(rot.RotationError, match=r"before step.s. 2"):
        rot.record_gateway(after(1), "gw1", GATEWAYS, "new")


def test_step3_a_rollback_stops_with_the_gateway_and_the_reason():
    state = rot.record_gateway(after(1, 2), "gw1", GATEWAYS, "old", "dev2: untrusted_root: ...")
    assert state["stopped"] == "step 3: gw1 rolled back to the old chain: dev2: untrusted_root: ..."
    assert state["gateways"]["gw1"] == {"serves": "old", "rolled_back": "dev2: untrusted_root: ...", "trusts": ["old"]}
    assert state["failed"]["3"] == {"gw1": "dev2: untrusted_root: ..."}
    assert state["steps_done"] == [1, 2]
    # the re-run resumes at step 3
    assert rot.runs(state, False) == [3]


def test_step3_is_done_only_when_every_gateway_serves_the_new_chain():
    state = rot.record_gateway(after(1, 2), "gw1", GATEWAYS, "new")
    assert state["steps_done"] == [1, 2]
    state = rot.record_gateway(state, "gw2", GATEWAYS, "old", "dev5 did not answer")
    assert state["steps_done"] == [1, 2]
    state = rot.record_gateway(state, "gw2", GATEWAYS, "new")
    assert state["steps_done"] == [1, 2, 3]
    assert state["stopped"] is None
    assert "3" not in state["failed"]
    # devices keep their old client certificates until step 4: the gateway accepts both roots
    assert state["gateways"]["gw2"] == {"serves": "new", "rolled_back": None, "trusts": ["old", "new"]}


def test_step3_refuses_a_gateway_outside_the_site_and_a_bad_chain_name():
    with pytest.raises(rot.RotationError, match="not one of the gateways"):
        rot.record_gateway(after(1, 2), "gw9", GATEWAYS, "new")
    with pytest.raises(rot.RotationError, match="serves is 'both'"):
        rot.record_gateway(after(1, 2), "gw1", GATEWAYS, "both")


def test_step4_new_or_none_pass_anything_else_fails():
    state, failed = rot.record_devices(after(1, 2, 3), 4, DEVICES, ["new", "none"])
    assert failed == {}
    assert state["devices"]["dev1"]["certificate"] == "new"
    assert state["devices"]["dev2"]["certificate"] == "none"
    _state, failed = rot.record_devices(after(1, 2, 3), 4, DEVICES, ["ok", "none"])
    assert failed == {"dev1": "ok"}


def test_step5_devices_then_archive():
    state, failed = rot.record_devices(after(1, 2, 3, 4), 5, DEVICES, ["ok", "ok"], complete=False)
    assert failed == {}
    assert 5 not in state["steps_done"]
    assert state["devices"]["dev1"]["trusts"] == ["new"]
    state = rot.record_archive(state, "20261203T030000Z")
    assert state["steps_done"] == [1, 2, 3, 4, 5]
    assert state["archive"] == "20261203T030000Z"
    assert "archive/20261203T030000Z" in rot.summary(state)


def test_step5_a_gateway_goes_to_the_new_root_alone_or_stops_the_rotation_named():
    state = rot.record_gateway(after(1, 2), "gw1", GATEWAYS, "new")
    state = rot.record_gateway(state, "gw2", GATEWAYS, "new")
    state["steps_done"] = [1, 2, 3, 4]
    with pytest.raises(rot.RotationError, match="before step"):
        rot.record_gateway_trust(after(1, 2, 3), "gw1", GATEWAYS)
    with pytest.raises(rot.RotationError, match="not one of the gateways"):
        rot.record_gateway_trust(state, "gw9", GATEWAYS)
    state, _failed = rot.record_devices(state, 5, DEVICES, ["ok", "ok"], complete=False)
    state = rot.record_gateway_trust(state, "gw1", GATEWAYS)
    state = rot.record_gateway_trust(state, "gw2", GATEWAYS, "dev2: client_cert_rejected: ...")
    assert state["gateways"]["gw1"]["trusts"] == ["new"]
    assert state["gateways"]["gw2"]["trusts"] == ["old", "new"]
    assert state["stopped"] == "step 5: gw2 still trusts both roots: dev2: client_cert_rejected: ..."
    assert state["failed"]["5"] == {"gw2": "dev2: client_cert_rejected: ..."}
    assert "gw1: new (trusts new client certificates), gw2: new (trusts old+new client certificates)" in rot.summary(
        state
    )
    # a re-run that passes clears the stop; step 5 is done only with the archive
    again = rot.record_gateway_trust(state, "gw2", GATEWAYS)
    assert again["stopped"] is None
    assert "5" not in again["failed"]
    assert 5 not in again["steps_done"]
    assert rot.record_archive(again, "20261203T030000Z")["steps_done"] == [1, 2, 3, 4, 5]


def test_step5_a_device_that_still_trusts_the_old_root_stops_it():
    state, failed = rot.record_devices(
        after(1, 2, 3, 4), 5, DEVICES, ["ok", "Check that the old root is no longer in the OS store: "], complete=False
    )
    assert list(failed) == ["dev2"]
    assert state["stopped"] == "step 5: dev2"


def test_only_device_steps_take_devices():
    with pytest.raises(rot.RotationError, match="not a device step"):
        rot.record_devices(after(1, 2), 3, DEVICES, ["ok", "ok"])


def test_more_results_than_hosts_is_refused():
    with pytest.raises(rot.RotationError, match="one result per host"):
        rot.results_of(["dev1"], ["ok", "ok"])


def test_state_files_that_cannot_be_used_are_refused_with_how_to_fix():
    with pytest.raises(rot.RotationError, match=r"is not JSON .*move it away"):
        rot.parse_state("{", "/pki/rotation-state.json")
    with pytest.raises(rot.RotationError, match="does not hold a JSON object"):
        rot.parse_state("[]", "/p")
    with pytest.raises(rot.RotationError, match=r"steps_done in /p is \[7\]"):
        rot.parse_state('{"steps_done": [7]}', "/p")
    with pytest.raises(rot.RotationError, match="devices in /p is not an object"):
        rot.parse_state('{"devices": []}', "/p")


def test_a_state_file_of_the_first_release_is_read():
    text = json.dumps(
        {"steps_done": [1], "stopped": "step 2: dev2", "step2_failed": {"dev2": "x"}, "devices": {}, "gateways": {}}
    )
    state = rot.parse_state(text, "/p")
    assert state["failed"] == {"2": {"dev2": "x"}}
    assert "step2_failed" not in state
    assert rot.blocking_devices(state) == {"dev2": "x"}


def test_records_do_not_change_their_input():
    state = after(1)
    rot.record_devices(state, 2, DEVICES, ["ok", ""])
    assert state == after(1)


def test_summary_names_where_it_stopped_and_who_serves_and_trusts_what():
    state, _failed = rot.record_devices(after(1), 2, DEVICES, ["ok", ""])
    line = rot.summary(state)
    assert line == "steps done [1]; stopped at step 2: dev2; devices trust dev1: old+new"
