# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""role_settings_problems: the roles' settings of many hosts checked against the roles' real argument specs."""

from __future__ import annotations

import os

import pytest
import yaml
from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.filter.settings import FilterModule

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))
problems = FilterModule().filters()["role_settings_problems"]


def options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as handle:
        return yaml.safe_load(handle)["argument_specs"]["main"]["options"]


SPECS = {"trust_store": options("trust_store"), "handshake_check": options("handshake_check")}


def test_right_settings_pass_with_the_conversions_of_ansible():
    hostvars = {
        "dev1": {"handshake_check_port": "5671", "trust_store_verify": "yes", "other": object()},
        "dev2": {},
    }
    assert problems(hostvars, ["dev1", "dev2"], SPECS) == []


def test_every_wrong_setting_is_named_with_its_host_and_role():
    hostvars = {
        "dev1": {"trust_store_multiple": "sometimes"},
        "dev2": {"handshake_check_port": "eighty", "trust_store_multiple": "first"},
        "dev3": {"handshake_check_port": 443},
    }
    found = problems(hostvars, ["dev1", "dev2", "dev3"], SPECS)
    assert len(found) == 2
    assert found[0].startswith("dev1: the trust_store role: value of trust_store_multiple must be one of")
    assert "got: sometimes" in found[0]
    assert found[1].startswith("dev2: the handshake_check role: argument 'handshake_check_port' is of type str")


def test_only_the_hosts_given_are_checked():
    hostvars = {"dev1": {"trust_store_multiple": "sometimes"}, "dev2": {}}
    assert problems(hostvars, ["dev2"], SPECS) == []


def test_a_no_log_value_is_masked():
    spec = {"secret_option": {"type": "str", "choices": ["a", "b"], "no_log": True}}
    found = problems({"dev1": {"secret_option": "hunter2-value"}}, ["dev1"], {"role": spec})
    assert len(found) == 1
    assert "hunter2-value" not in found[0]
    assert "********" in found[0]


def test_the_trust_store_keystore_password_is_no_log_in_the_role_spec():
    assert SPECS["trust_store"]["trust_store_keystore_password"].get("no_log") is True


def test_a_host_outside_the_inventory_and_bad_specs_are_refused():
    with pytest.raises(AnsibleFilterError, match="dev9 is not a host of the inventory"):
        problems({}, ["dev9"], SPECS)
    with pytest.raises(AnsibleFilterError, match="must map a role"):
        problems({"dev1": {}}, ["dev1"], "trust_store")
    with pytest.raises(AnsibleFilterError, match=r"nowhere is not a role of edgeops\.gateway"):
        problems({"dev1": {}}, ["dev1"], ["nowhere"])
    with pytest.raises(AnsibleFilterError, match=r"is not a role of edgeops\.gateway"):
        problems({"dev1": {}}, ["dev1"], ["../roles/trust_store"])
    with pytest.raises(AnsibleFilterError, match="must be a mapping"):
        problems({"dev1": {}}, ["dev1"], {"trust_store": ["x"]})


def test_role_hosts_checks_a_role_on_its_hosts_only_reading_each_host_once(recording_hostvars):
    hostvars = recording_hostvars(
        {
            "gw1": {"trust_store_multiple": "sometimes", "handshake_check_port": "eighty"},
            "dev1": {"trust_store_multiple": "sometimes", "handshake_check_port": "eighty"},
        }
    )
    found = problems(hostvars, ["gw1", "dev1"], SPECS, role_hosts={"trust_store": ["dev1"]})
    # trust_store only on dev1; handshake_check (not in role_hosts) on both
    assert [p.split(":")[0] + ":" + p.split(":")[1] for p in found] == [
        "gw1: the handshake_check role",
        "dev1: the trust_store role",
        "dev1: the handshake_check role",
    ]
    assert hostvars.reads == ["gw1", "dev1"]
    assert problems(hostvars, ["gw1"], SPECS, role_hosts={"trust_store": [], "handshake_check": []}) == []


@pytest.mark.parametrize("role_hosts", [["dev1"], {"trust_store": "dev1"}, {"trust_store": 3}])
def test_role_hosts_of_the_wrong_shape_is_refused(role_hosts):
    with pytest.raises(AnsibleFilterError, match="role_hosts"):
        problems({"dev1": {}}, ["dev1"], SPECS, role_hosts=role_hosts)


def test_the_collection_roles_can_be_named_instead_of_their_specs():
    hostvars = {"dev1": {"trust_store_multiple": "sometimes"}, "gw1": {"gateway_mosquitto_port": "x"}}
    by_name = problems(hostvars, ["dev1", "gw1"], ["trust_store", "gateway"], role_hosts={"gateway": ["gw1"]})
    given = problems(
        hostvars,
        ["dev1", "gw1"],
        {"trust_store": SPECS["trust_store"], "gateway": options("gateway")},
        role_hosts={"gateway": ["gw1"]},
    )
    assert by_name == given
    assert [p.split(":")[0] for p in by_name] == ["dev1", "gw1"]
