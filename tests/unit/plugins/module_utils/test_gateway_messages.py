# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway role's failure messages: the reason, the closing message, and the daemons that did not come up."""

from __future__ import annotations

import pytest

from ansible_collections.edgeops.gateway.plugins.filter.gateway import FilterModule

FILTERS = FilterModule().filters()
reason = FILTERS["gateway_failure_reason"]
message = FILTERS["gateway_failure_message"]
daemon_problem = FILTERS["iotedge_daemon_problem"]

# the role's hostname refusal, as the fail task renders it (folded, ending with no period of its own)
REFUSAL = (
    "gateway_hostname changes from 'gw1.site-a.example' to 'gw9.site-a.example'; IoT Edge refuses to apply a new "
    "hostname while module containers exist. The documented procedure is: stop IoT Edge (iotedge system stop), "
    "remove the module containers (docker rm -f of edgeAgent, edgeHub and the modules), then apply the new "
    "configuration. Set gateway_iotedge_hostname_change: true to let the role do that (downstream devices must then "
    "use the new GatewayHostName), or keep the previous hostname"
)


def test_the_hostname_refusal_ends_with_one_period():
    text = message(reason("Refuse a hostname change unless it is asked for", REFUSAL), "iotedge", "gw1")
    assert text == (
        "iotedge on gw1: nothing was changed because Refuse a hostname change unless it is asked for failed: "
        + REFUSAL
        + ". Fix the cause and run again."
    )
    assert ".." not in text


@pytest.mark.parametrize("msg", ["the key does not match.", "the key does not match. ", "the key does not match...\n"])
def test_a_message_ending_with_periods_gets_one(msg):
    text = message(reason("Write the IoT Edge configuration", msg), "iotedge", "gw1")
    assert text.endswith("failed: the key does not match. Fix the cause and run again.")


def test_msg_hint_and_stderr_are_joined_as_sentences():
    text = reason("Run iotedge config apply", "non-zero return code", "", "could not parse config file:\n  bad key.\n")
    assert text == "Run iotedge config apply failed: non-zero return code. could not parse config file: bad key"


def test_a_task_without_a_message():
    assert reason("", "") == "the change failed"


def test_a_rollback_names_the_restored_files():
    text = message("Check failed: x", "mosquitto", "gw1", ["/etc/a.conf", "", "/etc/b.pem"])
    assert text == (
        "mosquitto on gw1: the change was rolled back to the previous configuration and certificates "
        "(/etc/a.conf, /etc/b.pem) because Check failed: x. Fix the cause and run again."
    )


def waited(**states):
    return [{"item": name, "rc": 0 if state == "active" else 3, "stdout": state} for name, state in states.items()]


STATUS = """System services:
    aziot-edged             Failed
    aziot-identityd         Running
    aziot-keyd              Running
    aziot-certd             Running
    aziot-tpmd              Ready
"""


def test_every_daemon_active_is_no_problem():
    assert daemon_problem(waited(**{"aziot-keyd": "active", "aziot-edged": "active"})) is None
    assert daemon_problem([{"item": "aziot-edged", "skipped": True}]) is None


def test_the_failed_daemon_is_named_with_status_and_logs():
    results = waited(**{"aziot-keyd": "active", "aziot-edged": "failed"})
    logs = "aziot-edged: could not load the Edge CA key /root/k.pem: permission denied for aziotks\n"
    text = daemon_problem(results, STATUS, logs, 10)
    assert text == (
        "the IoT Edge daemon aziot-edged (failed) did not come up within 10 s after iotedge config apply; "
        "iotedge system status: aziot-edged Failed; iotedge system logs: aziot-edged: could not load the Edge CA "
        "key /root/k.pem: permission denied for aziotks. See iotedge system logs and iotedge check on the gateway"
    )


def test_several_failed_daemons_and_only_the_last_log_lines():
    results = waited(**{"aziot-keyd": "inactive", "aziot-edged": "activating"})
    logs = "\n".join(f"line {n}" for n in range(1, 9))
    text = daemon_problem(results, "", logs)
    assert text.startswith("the IoT Edge daemons aziot-keyd (inactive), aziot-edged (activating) did not come up after")
    assert "iotedge system status" not in text
    assert "line 3" not in text and "line 4 | line 5 | line 6 | line 7 | line 8" in text


def test_the_restored_files_are_named_from_paths_or_task_results():
    rows = [
        {"dest": "/etc/aziot/config.toml", "changed": True},
        {"path": "/etc/mosquitto/conf.d/edgeops-gateway.conf", "changed": True, "backup_file": "/x~"},
        "/etc/mosquitto/certs/edgeops/root-ca.pem",
        {"changed": True},
    ]
    text = message("the check failed", "mosquitto", "gw1", rows)
    assert text == (
        "mosquitto on gw1: the change was rolled back to the previous configuration and certificates "
        "(/etc/aziot/config.toml, /etc/mosquitto/conf.d/edgeops-gateway.conf, /etc/mosquitto/certs/edgeops/root-ca.pem)"
        " because the check failed. Fix the cause and run again."
    )


def test_downstream_files_mark_the_files_with_a_connection_string_secret():
    files = FilterModule().filters()["downstream_files"]
    settings = {"dev2": {"device": "dev2", "mqtt_port": 8883}, "dev1": {"device": "dev1", "mqtt_port": 8883}}
    key = "c2VjcmV0a2V5MTIzNDU2Nzg5MA=="
    rows = files(
        settings,
        "/out/gw1/downstream",
        "gw1.site.lab",
        {"dev2": f"HostName=h.azure-devices.net;DeviceId=dev2;SharedAccessKey={key}"},
    )
    assert [r["path"] for r in rows] == ["/out/gw1/downstream/dev1.json", "/out/gw1/downstream/dev2.json"]
    assert [r["secret"] for r in rows] == [False, True]
    assert {r["mode"] for r in rows} == {"0600"}
    assert rows[0]["content"] == '{\n    "device": "dev1",\n    "mqtt_port": 8883\n}'
    assert "GatewayHostName=gw1.site.lab" in rows[1]["content"] and key in rows[1]["content"]
