# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway hierarchy: the tree of nested gateways, every refusal, the filters and the pki.yml pre-check."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.filter.hierarchy import FilterModule
from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import (
    DPS_NESTED_MESSAGE,
    HierarchyError,
    build,
    parent_chain,
    problems,
)

FILTERS = FilterModule().filters()
REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "..", ".."))


def gw(name, parent=None, **kw):
    entry = {"name": name, "parent": parent, "site": "site-a"}
    entry.update(kw)
    return entry


def dev(name, gateway, **kw):
    entry = {"name": name, "gateway": gateway, "site": "site-a"}
    entry.update(kw)
    return entry


TWO_LAYERS = (
    [gw("top"), gw("mid", "top", hostname="Mid.Plant.example")],
    [dev("d-top", "top"), dev("d-mid1", "mid"), dev("d-mid2", "mid")],
)


def test_two_layers_give_the_tree_layers_and_children():
    tree = build(*TWO_LAYERS)
    assert tree["layers"] == [["top"], ["mid"]]
    assert tree["depth"] == 2
    assert tree["order"] == ["top", "mid"]
    assert tree["gateways"]["top"]["children"] == ["mid"]
    assert tree["gateways"]["top"]["devices"] == ["d-top"]
    assert tree["gateways"]["mid"]["devices"] == ["d-mid1", "d-mid2"]
    assert tree["gateways"]["mid"]["path"] == ["top", "mid"]
    assert tree["gateways"]["mid"]["hostname"] == "mid.plant.example"
    assert tree["gateways"]["mid"]["parent_hostname"] == "top"
    assert tree["gateways"]["top"]["parent_hostname"] is None
    assert tree["devices"]["d-mid1"]["depth"] == 2
    assert tree["devices"]["d-mid1"]["gateway_hostname"] == "mid.plant.example"
    assert tree["tree"] == [
        {
            "name": "top",
            "devices": ["d-top"],
            "children": [{"name": "mid", "devices": ["d-mid1", "d-mid2"], "children": []}],
        }
    ]
    assert tree["sites"]["site-a"] == {
        "top": ["top"],
        "layers": [["top"], ["mid"]],
        "gateways": ["top", "mid"],
        "devices": ["d-mid1", "d-mid2", "d-top"],
    }
    # the gateway role's defaults when the inventory sets nothing
    assert tree["gateways"]["top"]["runtime"] == "iotedge"
    assert tree["gateways"]["top"]["provisioning"] == "manual_connection_string"
    assert tree["gateways"]["top"]["registered"] is True


def test_any_depth_and_several_top_gateways():
    gateways = [gw("l5"), gw("l4", "l5"), gw("l3", "l4"), gw("l2", "l3"), gw("other")]
    tree = build(gateways, [dev("x", "l2")])
    assert tree["layers"] == [["l5", "other"], ["l4"], ["l3"], ["l2"]]
    assert tree["gateways"]["l2"]["path"] == ["l5", "l4", "l3", "l2"]
    assert tree["devices"]["x"]["depth"] == 4
    assert [node["name"] for node in tree["tree"]] == ["l5", "other"]


def test_sites_are_grouped_by_edgeops_site():
    tree = build([gw("a1"), gw("b1", site="site-b")], [dev("da", "a1"), dev("db", "b1", site="site-b")])
    assert tree["sites"]["site-a"]["gateways"] == ["a1"]
    assert tree["sites"]["site-b"]["devices"] == ["db"]


def one(gateways, devices, known=None):
    found = problems(gateways, devices, known)
    assert len(found) == 1, found
    return found[0]


def test_a_host_in_both_groups_is_refused():
    msg = one([gw("gw1")], [dev("gw1", "gw1")])
    assert "gw1 is in both the gateways and the devices group" in msg


def test_a_gateway_that_is_its_own_parent_is_refused():
    msg = one([gw("gw1", "gw1")], [])
    assert msg.startswith("gateway gw1 names itself as its parent")


def test_a_missing_parent_is_refused_naming_both():
    msg = one([gw("child", "nowhere")], [])
    assert "gateway child names the parent nowhere, which is not a host of this inventory" in msg
    assert "edgeops_gateway_parent" in msg


def test_a_parent_that_is_a_device_is_refused():
    msg = one([gw("top"), gw("child", "d1")], [dev("d1", "top")])
    assert "gateway child names the parent d1, which is not in the gateways group" in msg


def test_a_parent_that_is_another_inventory_host_is_refused():
    msg = one([gw("child", "jumphost")], [], known=["jumphost", "child"])
    assert "which is not in the gateways group" in msg


def test_a_parent_that_is_not_a_name_is_refused():
    msg = one([gw("child", ["top"]), gw("top")], [])
    assert "gateway child: edgeops_gateway_parent must be the inventory name" in msg


def test_a_parent_in_another_site_is_refused():
    msg = one([gw("top", site="site-b"), gw("child", "top")], [])
    assert "gateway child (site site-a) names the parent top (site site-b)" in msg


def test_an_iotedge_child_under_a_mosquitto_parent_is_refused():
    msg = one([gw("top", runtime="mosquitto"), gw("child", "top")], [])
    assert "gateway child runs iotedge but its parent top runs mosquitto" in msg


def test_mosquitto_layers_bridge_to_each_other():
    assert problems([gw("top", runtime="mosquitto"), gw("child", "top", runtime="mosquitto")], []) == []


@pytest.mark.parametrize("kind", ["dps_x509", "dps_symmetric_key"])
def test_a_child_gateway_with_dps_is_refused_as_upstream_refuses_it(kind):
    msg = one([gw("top"), gw("child", "top", provisioning=kind)], [])
    assert f"gateway child has the parent top and provisioning {kind}" in msg
    assert DPS_NESTED_MESSAGE in msg
    assert "manual_x509" in msg


def test_dps_on_the_top_layer_is_allowed():
    assert problems([gw("top", provisioning="dps_x509"), gw("child", "top", provisioning="manual_x509")], []) == []


def test_a_loop_is_refused_once_naming_every_gateway_of_it():
    msg = one([gw("a", "c"), gw("b", "a"), gw("c", "b")], [])
    assert msg.startswith("gateways a -> c -> b -> a form a loop")


def test_a_loop_of_two_under_a_good_tree():
    found = problems([gw("top"), gw("x", "y"), gw("y", "x"), gw("z", "x")], [])
    assert found == [
        "gateways x -> y -> x form a loop through edgeops_gateway_parent; every chain of parents must end at a "
        "top-layer gateway without edgeops_gateway_parent"
    ]


def test_a_device_without_a_gateway_is_refused():
    msg = one([gw("top")], [dev("d1", None)])
    assert msg == "device d1 has no edgeops_gateway; set it to the inventory name of its gateway"


def test_a_device_whose_gateway_is_a_device_is_refused():
    msg = one([gw("top")], [dev("d1", "top"), dev("d2", "d1")])
    assert "device d2 names the gateway d1, which is not in the gateways group" in msg
    assert "top" in msg


def test_a_device_whose_gateway_does_not_exist_is_refused():
    msg = one([gw("top")], [dev("d1", "gw9")])
    assert "device d1 names the gateway gw9, which is not a host of this inventory" in msg


def test_a_device_whose_gateway_is_in_another_site_is_refused():
    msg = one([gw("top", site="site-b")], [dev("d1", "top")])
    assert "device d1 (site site-a) names the gateway top (site site-b)" in msg


def test_two_gateways_with_one_hostname_are_refused():
    msg = one([gw("g1", hostname="gw.example"), gw("g2", hostname="GW.example")], [])
    assert "gateways g1 and g2 both use the hostname gw.example" in msg


def test_two_hosts_with_one_device_id_are_refused():
    msg = one([gw("g1", device_id="same")], [dev("d1", "g1", device_id="same")])
    assert "hosts d1 and g1 have the same IoT Hub device id same" in msg


def test_a_device_id_iot_hub_refuses_is_refused_for_registered_hosts_only():
    msg = one([gw("g1")], [dev("d1", "g1", device_id='bad "id"')])
    assert "the device id of d1 'bad \"id\"' has characters IoT Hub refuses" in msg
    # behind a mosquitto gateway the device gets no IoT Hub identity: its id is not IoT Hub's business
    assert problems([gw("g1", runtime="mosquitto")], [dev("d1", "g1", device_id="bad id")]) == []


def test_build_raises_every_problem_at_once():
    with pytest.raises(HierarchyError) as info:
        build([gw("a", "b"), gw("b", "a"), gw("c", "gone")], [dev("d", "zz")])
    assert len(info.value.problems) == 3
    assert "gone" in str(info.value) and "zz" in str(info.value) and "a -> b -> a" in str(info.value)


HOSTVARS = {
    "top": {"edgeops_site": "site-a", "edgeops_gateway_hostname": "top.plant.example"},
    "mid": {"edgeops_site": "site-a", "edgeops_gateway_parent": "top", "gateway_iotedge_provisioning": "manual_x509"},
    "d1": {"edgeops_site": "site-a", "edgeops_gateway": "mid", "edgeops_device_id": "sensor-1"},
}


def test_the_filters_read_hostvars():
    tree = FILTERS["hierarchy"](HOSTVARS, ["top", "mid"], ["d1"])
    assert tree["gateways"]["mid"]["parent_hostname"] == "top.plant.example"
    assert tree["gateways"]["mid"]["provisioning"] == "manual_x509"
    assert tree["devices"]["d1"]["device_id"] == "sensor-1"
    assert FILTERS["hierarchy_problems"](HOSTVARS, ["top", "mid"], ["d1"]) == []


def test_the_hierarchy_filter_fails_with_the_problems():
    bad = dict(HOSTVARS, mid=dict(HOSTVARS["mid"], gateway_iotedge_provisioning="dps_x509"))
    with pytest.raises(AnsibleFilterError, match="gateway mid has the parent top and provisioning dps_x509"):
        FILTERS["hierarchy"](bad, ["top", "mid"], ["d1"])
    assert len(FILTERS["hierarchy_problems"](bad, ["top", "mid"], ["d1"])) == 1


def test_pki_playbook_stops_a_bad_hierarchy_before_any_host_is_touched(tmp_path):
    """The first play of pki.yml refuses a loop and a device of another site; no host is contacted, no PKI made."""
    pki = tmp_path / "pki"
    inventory = tmp_path / "hosts.yml"
    inventory.write_text(
        f"""
all:
  vars:
    edgeops_site: site-a
    edgeops_pki_dir: {pki}
    edgeops_report_dir: {tmp_path / "reports"}
    ansible_connection: local
    ansible_python_interpreter: {sys.executable}
  children:
    gateways:
      hosts:
        gw-a: {{edgeops_gateway_parent: gw-b}}
        gw-b: {{edgeops_gateway_parent: gw-a}}
        gw-c: {{edgeops_site: site-b}}
    devices:
      hosts:
        dev1: {{edgeops_gateway: gw-c}}
"""
    )
    playbook = os.path.join(os.path.dirname(sys.executable), "ansible-playbook")
    proc = subprocess.run(
        [playbook, "-i", str(inventory), os.path.join(REPO, "playbooks", "pki.yml")],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=dict(os.environ, ANSIBLE_COLLECTIONS_PATH=os.path.join(REPO, ".collections"), ANSIBLE_NOCOLOR="1"),
    )
    out = proc.stdout + proc.stderr
    assert proc.returncode == 2, out
    assert "gateways gw-a -> gw-b -> gw-a form a loop" in out
    assert "device dev1 (site site-a) names the gateway gw-c (site site-b)" in out
    assert "Start the phase" not in out  # the play over the hosts never started
    assert "gw-a                       :" not in out  # no host but localhost in the recap
    assert not pki.exists()


def test_parent_chain_follows_the_parents_and_says_whether_it_reaches_the_top():
    parent = {"top": None, "mid": "top", "leaf": "mid", "a": "b", "b": "a", "lost": "gone"}
    assert parent_chain("leaf", parent.get, parent) == (["mid", "top"], True)
    assert parent_chain("top", parent.get, parent) == ([], True)
    # a loop and a parent outside the known hosts stop the chain where they start
    assert parent_chain("a", parent.get, parent) == (["b"], False)
    assert parent_chain("lost", parent.get, parent) == ([], False)
