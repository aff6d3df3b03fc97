"""edgeops.gateway.rollout_phase_start: the rollout_phase action's start for many hosts, as a filter."""

from __future__ import annotations

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.action.rollout_phase import start_phase_for_hosts
from ansible_collections.edgeops.gateway.plugins.filter.rollout import rollout_phase_start

FAILED_GW = {"edgeops_rollout_failure": {"phase": "gateways", "msg": "mosquitto did not start"}}


def site(recording_hostvars):
    return recording_hostvars(
        {
            "gw1": {"edgeops_rollout_phase": "gateways", "edgeops_rollout_completed": ["pki", "gateways"]},
            "gw2": FAILED_GW,
            "dev1": {"edgeops_gateway": "gw1"},
            "dev2": {"edgeops_gateway": "gw2"},
            "dev3": {"edgeops_gateway": "gw2"},
            "dev4": {"edgeops_gateway": "gw1", "edgeops_rollout_failure": {"phase": "pki", "msg": "refused"}},
        }
    )


def test_the_filter_gives_what_the_action_gives_and_reads_each_host_once(recording_hostvars):
    hostvars = site(recording_hostvars)
    started = rollout_phase_start(hostvars, ["dev1", "dev2", "dev3", "dev4"], "devices")
    assert started == start_phase_for_hosts("devices", ["dev1", "dev2", "dev3", "dev4"], dict(hostvars))
    assert started["dev1"] == {
        "facts": {"edgeops_rollout_phase": "devices"},
        "end_host": False,
        "msg": "devices: started",
    }
    assert started["dev2"]["end_host"] and started["dev2"]["facts"]["edgeops_rollout_skipped"] == (
        "gateway gw2 failed in the gateways phase: mosquitto did not start"
    )
    # failed earlier: out, its record kept (no new skip reason)
    assert started["dev4"] == {
        "facts": {"edgeops_rollout_phase": "devices"},
        "end_host": True,
        "msg": "devices: left out (failed or left out in an earlier phase)",
    }
    # the two devices of gw2 read its variables once
    assert sorted(hostvars.reads) == ["dev1", "dev2", "dev3", "dev4", "gw1", "gw2"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((["dev1"], "deploy"), "phase must be one of pki, gateways, devices, verify"),
        ((["dev1", "dev9"], "devices"), "rollout_phase_start hosts: not hosts of the inventory: dev9"),
        ((["dev1"], "devices", "many"), "many"),
    ],
)
def test_wrong_input_is_refused(recording_hostvars, args, message):
    with pytest.raises(AnsibleFilterError, match=message):
        rollout_phase_start(site(recording_hostvars), *args)


def test_an_accepted_share_of_failed_devices_is_taken(recording_hostvars):
    started = rollout_phase_start(site(recording_hostvars), ["dev1"], "pki", "10%")
    assert started["dev1"]["facts"] == {"edgeops_rollout_phase": "pki"}
