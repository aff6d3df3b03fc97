"""The bookkeeping of the rollout_phase action: who is left out of a phase, and why."""

from __future__ import annotations

from unittest import mock

import pytest
from ansible.errors import AnsibleActionFail

from ansible_collections.edgeops.gateway.plugins.action.rollout_phase import (
    DROPPED_OUT,
    ActionModule,
    probe_failure,
    start_phase,
    start_phase_for_hosts,
    upstream_chain,
    upstream_host,
    upstream_problem,
)

FAILED_GW = {
    "edgeops_rollout_phase": "gateways",
    "edgeops_rollout_failure": {"phase": "gateways", "msg": "mosquitto did not start"},
}
DONE_GW = {"edgeops_rollout_phase": "gateways", "edgeops_rollout_completed": ["pki", "gateways"]}


def test_upstream_host_is_the_gateway_of_a_device_and_the_parent_of_a_gateway():
    assert upstream_host({"edgeops_gateway": "gw1"}) == "gw1"
    assert upstream_host({"edgeops_gateway_parent": "top"}) == "top"
    assert upstream_host({"edgeops_gateway": "", "edgeops_gateway_parent": "top"}) == "top"
    assert upstream_host({}) is None


def test_upstream_chain_follows_parents_and_stops_at_a_loop():
    hostvars = {
        "dev": {"edgeops_gateway": "child"},
        "child": {"edgeops_gateway_parent": "top"},
        "top": {"edgeops_gateway_parent": "child"},
    }
    assert upstream_chain("dev", hostvars["dev"], hostvars) == ["child", "top"]
    assert upstream_chain("top", hostvars["top"], hostvars) == ["child"]
    assert upstream_chain("dev", {"edgeops_gateway": "not-in-inventory"}, hostvars) == []


@pytest.mark.parametrize(
    ("upstream", "expected"),
    [
        (FAILED_GW, {"phase": "gateways", "msg": "mosquitto did not start"}),
        (DONE_GW, None),
        # Dropped out of an earlier phase with nothing recorded: Ansible took it out as unreachable.
        (
            {"edgeops_rollout_phase": "gateways", "edgeops_rollout_completed": ["pki"]},
            {"phase": "gateways", "msg": DROPPED_OUT},
        ),
        # In the phase both are in, the device does not wait for its gateway.
        ({"edgeops_rollout_phase": "devices", "edgeops_rollout_completed": ["pki"]}, None),
        (
            {"edgeops_rollout_phase": "gateways", "edgeops_rollout_skipped": "gateway top failed"},
            {"phase": "gateways", "msg": "it was left out: gateway top failed"},
        ),
        ({}, None),
    ],
)
def test_upstream_problem(upstream, expected):
    assert upstream_problem(upstream, "devices") == expected


def test_a_device_whose_gateway_failed_is_skipped_with_the_reason():
    hostvars = {"gw1": FAILED_GW, "dev1": {"edgeops_gateway": "gw1"}}
    facts, end = start_phase("devices", "dev1", hostvars["dev1"], hostvars)
    assert end is True
    assert facts == {
        "edgeops_rollout_phase": "devices",
        "edgeops_rollout_skipped": "gateway gw1 failed in the gateways phase: mosquitto did not start",
    }


def test_a_device_below_a_failed_parent_gateway_is_skipped_naming_both():
    hostvars = {
        "top": FAILED_GW,
        "child": dict(DONE_GW, edgeops_gateway_parent="top"),
        "dev1": {"edgeops_gateway": "child"},
    }
    facts, end = start_phase("devices", "dev1", hostvars["dev1"], hostvars)
    assert end is True
    assert facts["edgeops_rollout_skipped"] == (
        "gateway top (upstream of child) failed in the gateways phase: mosquitto did not start"
    )
    # The child gateway itself, in a later phase, is left out because of its parent.
    facts, end = start_phase("verify", "child", hostvars["child"], hostvars)
    assert end is True
    assert facts["edgeops_rollout_skipped"].startswith("parent gateway top failed in the gateways phase")


def test_a_device_below_a_gateway_left_out_names_the_gateway_that_failed():
    hostvars = {
        "top": FAILED_GW,
        "mid": dict(DONE_GW, edgeops_gateway_parent="top"),
        "leaf": {
            "edgeops_gateway_parent": "mid",
            "edgeops_rollout_phase": "gateways",
            "edgeops_rollout_skipped": "parent gateway mid failed",
        },
        "dev1": {"edgeops_gateway": "leaf"},
    }
    facts, end = start_phase("devices", "dev1", hostvars["dev1"], hostvars)
    assert end is True
    assert facts["edgeops_rollout_skipped"] == (
        "gateway top (upstream of leaf, mid) failed in the gateways phase: mosquitto did not start"
    )
    # With nothing failed above it, a host below one that was left out is left out with that host's record.
    hostvars["top"] = DONE_GW
    facts, end = start_phase("devices", "dev1", hostvars["dev1"], hostvars)
    assert end is True
    assert facts["edgeops_rollout_skipped"] == (
        "gateway leaf failed in the gateways phase: it was left out: parent gateway mid failed"
    )


def test_a_host_that_failed_or_was_left_out_earlier_is_ended_and_keeps_its_record():
    for earlier in ({"edgeops_rollout_failure": {"phase": "pki", "msg": "x"}}, {"edgeops_rollout_skipped": "y"}):
        facts, end = start_phase("verify", "dev1", dict(earlier, edgeops_gateway="gw1"), {"gw1": DONE_GW})
        assert end is True
        assert facts == {"edgeops_rollout_phase": "verify"}


def test_a_host_with_a_healthy_upstream_goes_on():
    hostvars = {"gw1": DONE_GW, "dev1": {"edgeops_gateway": "gw1"}, "gw2": {}}
    assert start_phase("verify", "dev1", hostvars["dev1"], hostvars) == ({"edgeops_rollout_phase": "verify"}, False)
    assert start_phase("gateways", "gw2", hostvars["gw2"], hostvars) == ({"edgeops_rollout_phase": "gateways"}, False)


def test_a_probe_that_did_not_answer_is_unreachable():
    assert probe_failure("devices", {"rc": 0, "stdout": "pong\n", "stderr": ""}) is None
    assert probe_failure("devices", {"rc": 0, "stdout": "pong\r\n"}) is None
    # The container is gone under the docker connection: the command fails with the engine's words.
    assert probe_failure(
        "verify", {"rc": 1, "stdout": "", "stderr": "Error response from daemon: container x is not running\n"}
    ) == {
        "phase": "verify",
        "msg": "Error response from daemon: container x is not running",
        "unreachable": True,
    }
    assert probe_failure("devices", {"unreachable": True, "msg": "ssh: connect to host: Connection refused"}) == {
        "phase": "devices",
        "msg": "ssh: connect to host: Connection refused",
        "unreachable": True,
    }
    assert probe_failure("verify", {"failed": True, "msg": "Module result deserialization failed"})["unreachable"]
    assert probe_failure("verify", {"failed": True})["msg"] == "the host did not answer"


AWAITING_GW = {
    "edgeops_rollout_phase": "verify",
    "edgeops_rollout_completed": ["pki", "gateways"],
    "gateway_result": {"status": "awaiting_deployment", "hint": "set the deployment manifest out/gw1/deployment.json"},
}


def test_devices_of_a_gateway_awaiting_its_deployment_are_not_checked_in_verify_with_the_hint():
    hostvars = {
        "gw1": AWAITING_GW,
        "child": dict(DONE_GW, edgeops_gateway_parent="gw1"),
        "dev1": {"edgeops_gateway": "gw1"},
        "dev2": {"edgeops_gateway": "child"},
    }
    facts, end = start_phase("verify", "dev1", hostvars["dev1"], hostvars)
    assert end is True
    assert facts["edgeops_rollout_skipped"] == (
        "gateway gw1 is awaiting_deployment: set the deployment manifest out/gw1/deployment.json"
    )
    facts, end = start_phase("verify", "child", hostvars["child"], hostvars)
    assert end is True
    assert facts["edgeops_rollout_skipped"].startswith("parent gateway gw1 is awaiting_deployment: ")
    facts, end = start_phase("verify", "dev2", hostvars["dev2"], hostvars)
    assert facts["edgeops_rollout_skipped"].startswith("gateway gw1 (upstream of child) is awaiting_deployment: ")
    # Before verify the device goes on: its trust anchor and files do not need edgeHub.
    hostvars["gw1"] = dict(AWAITING_GW, edgeops_rollout_phase="gateways")
    assert start_phase("devices", "dev1", hostvars["dev1"], hostvars) == ({"edgeops_rollout_phase": "devices"}, False)
    # A deployed gateway keeps nobody out.
    hostvars["gw1"] = dict(AWAITING_GW, gateway_result={"status": "deployed", "hint": None})
    assert start_phase("verify", "dev1", hostvars["dev1"], hostvars) == ({"edgeops_rollout_phase": "verify"}, False)


def test_several_hosts_start_on_the_controller_each_with_its_own_upstream():
    hostvars = {
        "gw1": DONE_GW,
        "gw2": FAILED_GW,
        "gw3": AWAITING_GW,
        "dev1": {"edgeops_gateway": "gw1"},
        "dev2": {"edgeops_gateway": "gw2"},
        "dev3": {"edgeops_gateway": "gw3"},
        "dev4": {"edgeops_gateway": "gw1", "edgeops_rollout_skipped": "left out earlier"},
    }
    started = start_phase_for_hosts("verify", ["dev1", "dev2", "dev3", "dev4", "dev1"], hostvars)
    assert list(started) == ["dev1", "dev2", "dev3", "dev4"]
    assert started["dev1"] == {
        "facts": {"edgeops_rollout_phase": "verify"},
        "end_host": False,
        "msg": "verify: started",
    }
    assert started["dev2"]["end_host"] is True
    assert started["dev2"]["facts"]["edgeops_rollout_skipped"] == (
        "gateway gw2 failed in the gateways phase: mosquitto did not start"
    )
    assert started["dev2"]["msg"].startswith("verify: left out: gateway gw2 failed")
    assert started["dev3"]["facts"]["edgeops_rollout_skipped"].startswith("gateway gw3 is awaiting_deployment: ")
    # each is what start_phase gives the host on its own
    for host, entry in started.items():
        assert (entry["facts"], entry["end_host"]) == start_phase("verify", host, hostvars[host], hostvars)
    with pytest.raises(ValueError, match="not hosts of the inventory: nowhere"):
        start_phase_for_hosts("verify", ["dev1", "nowhere"], hostvars)


def run_action(args, hostvars):
    task = mock.MagicMock(args=args, async_val=0, check_mode=False, diff=False, action="edgeops.gateway.rollout_phase")
    connection = mock.MagicMock()
    action = ActionModule(task, connection, mock.MagicMock(), mock.MagicMock(), mock.MagicMock(), mock.MagicMock())
    action._low_level_execute_command = mock.MagicMock(side_effect=AssertionError("no probe with hosts"))
    return action.run(task_vars={"inventory_hostname": "dev1", "hostvars": hostvars, **hostvars["dev1"]})


def test_the_action_with_hosts_starts_them_without_a_probe():
    hostvars = {
        "gw1": DONE_GW,
        "gw2": FAILED_GW,
        "dev1": {"edgeops_gateway": "gw1"},
        "dev2": {"edgeops_gateway": "gw2"},
    }
    result = run_action({"phase": "verify", "hosts": ["dev1", "dev2"]}, hostvars)
    assert result["changed"] is False
    assert set(result["hosts"]) == {"dev1", "dev2"}
    assert result["hosts"]["dev2"]["end_host"] is True
    assert result["msg"] == "verify: started for 1 of 2 hosts on the controller, 1 left out"
    assert "facts" not in result and "end_host" not in result
    with pytest.raises(AnsibleActionFail, match="probe=true cannot be used with hosts"):
        run_action({"phase": "verify", "hosts": ["dev1"], "probe": True}, hostvars)
    with pytest.raises(AnsibleActionFail, match="rollout_phase hosts: not hosts of the inventory: dev9"):
        run_action({"phase": "verify", "hosts": ["dev9"]}, hostvars)


def test_earlier_handshakes_start_only_the_devices_whose_handshake_passed_reading_each_host_once(recording_hostvars):
    passed = {"ok": True, "host": "gw1", "port": 8883}
    hostvars = {
        "gw1": DONE_GW,
        "gw2": FAILED_GW,
        "dev1": {
            "edgeops_gateway": "gw1",
            "trust_store_result": {"handshake": passed},
            "edgeops_rollout_completed": ["devices"],
        },
        "dev2": {"edgeops_gateway": "gw2", "trust_store_result": {"handshake": passed}},
        "dev3": {"edgeops_gateway": "gw1", "trust_store_result": {"handshake": {"failed": True, "diagnosis": "x"}}},
        "dev4": {"edgeops_gateway": "gw1", "trust_store_result": {"changed": False}},
        "dev5": {
            "edgeops_gateway": "gw1",
            "handshake_check_gateway": "gw1",
            "trust_store_result": {"handshake": passed},
        },
    }
    batch = ["dev1", "dev2", "dev3", "dev4", "dev5", "gone"]
    recorded = recording_hostvars(hostvars)
    result = run_action({"phase": "verify", "hosts": batch, "earlier_handshakes": True}, recorded)
    assert list(result["hosts"]) == ["dev1", "dev2", "dev5"]
    assert result["hosts"]["dev1"] == {
        "facts": {"edgeops_rollout_phase": "verify"},
        "end_host": False,
        "msg": "verify: started",
        "handshake": passed,
        "gateway": "gw1",
        "completed": ["devices"],
    }
    # its gateway failed since: left out with the reason, as without earlier_handshakes
    assert result["hosts"]["dev2"]["end_host"] is True
    assert result["hosts"]["dev2"]["facts"]["edgeops_rollout_skipped"].startswith("gateway gw2 failed")
    assert result["hosts"]["dev5"]["gateway"] == "gw1"
    assert result["msg"] == "verify: started for 2 of 3 hosts on the controller, 1 left out"
    # every host read once by the action, the gateways too (not once per device); the first read is run_action's own
    assert recorded.reads[0] == "dev1"
    assert sorted(recorded.reads[1:]) == sorted(set(recorded.reads[1:]))
    assert set(recorded.reads[1:]) == {"dev1", "dev2", "dev3", "dev4", "dev5", "gw1", "gw2"}
    none = run_action({"phase": "verify", "hosts": ["dev3", "dev4"], "earlier_handshakes": True}, hostvars)
    assert none["hosts"] == {}
    with pytest.raises(AnsibleActionFail, match="earlier_handshakes needs hosts"):
        run_action({"phase": "verify", "earlier_handshakes": True}, hostvars)


def test_a_start_on_one_host_reads_each_upstream_host_once(recording_hostvars):
    hostvars = recording_hostvars(
        {
            "gw1": dict(DONE_GW),
            "gw2": dict(DONE_GW, edgeops_gateway_parent="gw1", edgeops_rollout_skipped="left out below gw1"),
            "dev1": {"edgeops_gateway": "gw2"},
        }
    )
    result = run_action({"phase": "devices", "probe": False}, hostvars)
    assert result["end_host"] is True
    assert result["facts"]["edgeops_rollout_skipped"] == (
        "gateway gw2 failed in the gateways phase: it was left out: left out below gw1"
    )
    # the first read is run_action's own (the host's variables); the action reads gw2 and gw1 once each
    assert sorted(hostvars.reads[1:]) == ["gw1", "gw2"]
