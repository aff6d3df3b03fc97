from __future__ import annotations

import datetime

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils._report import (
    ReportError,
    build_report,
    comparable,
    render_markdown,
    rollout_failure,
)

NOW = datetime.datetime(2026, 11, 23, 12, 0, tzinfo=datetime.UTC)
# A gateway whose role recorded a successful change (the evidence a gateway needs to be ok).
GW_OK = {"host": "gw1", "result": {"status": "deployed"}}


def _site():
    gateways = [{"host": "gw1", "hostname": "gw1.site-a.example", "runtime": "mosquitto", "result": {"changed": False}}]
    devices = [
        {
            "host": "dev1",
            "gateway": "gw1",
            "trust_store": {"state": "present"},
            "handshake": {"ok": True, "tls_version": "TLSv1.3"},
        },
        {
            "host": "dev2",
            "gateway": "gw1",
            "trust_store": {"state": "absent"},
            "handshake": {
                "ok": False,
                "diagnosis": "untrusted_root",
                "hint": "install the site's root CA | then retry",
            },
        },
        {
            "host": "dev3",
            "gateway": "gw1",
            "failure": {"phase": "devices", "msg": "ssh: connect timed out", "unreachable": True},
        },
    ]
    certificates = [
        {
            "name": "root_ca",
            "subject": "CN=Site A Root",
            "not_after": "2036-11-20T00:00:00Z",
            "sha256_thumbprint": "AA",
        },
        {"host": "gw1", "name": "edge_ca", "subject": "CN=gw1.ca", "not_after": "2027-11-23T12:00:00Z"},
        {
            "host": "dev1",
            "name": "device",
            "subject": "CN=dev1",
            "not_after": "2026-12-03T12:00:00Z",
            "renew_next_run": True,
        },
    ]
    return gateways, devices, certificates


def test_statuses_and_summary():
    gateways, devices, certificates = _site()
    report = build_report("site-a", gateways, devices, certificates, now=NOW)
    status = {d["host"]: d["status"] for d in report["devices"]}
    assert status == {"dev1": "ok", "dev2": "failed", "dev3": "unreachable"}
    assert report["devices"][1]["reason"] == "install the site's root CA | then retry"
    assert report["devices"][2]["phase"] == "devices"
    summary = report["summary"]
    assert (summary["devices_ok"], summary["devices_failed"], summary["gateways_ok"]) == (1, 2, 1)
    assert summary["earliest_expiry"] == {
        "host": "dev1",
        "certificate": "device",
        "subject": "CN=dev1",
        "not_after": "2026-12-03T12:00:00Z",
        "days_left": 10,
    }
    assert summary["line"].startswith("failed: 1 devices ok, 2 failed; 1 of 1 gateways ok; earliest expiry 2026-12-03")


def test_pki_report_items_are_attached_to_their_hosts():
    items = [
        {
            "relative_path": "root-ca.pem",
            "subject": "CN=root",
            "not_after": "2036-01-01T00:00:00+00:00",
            "renew": False,
        },
        {
            "relative_path": "devices/dev1/device.pem",
            "subject": "CN=dev1",
            "not_after": "2027-01-01T00:00:00+00:00",
            "thumbprint_sha256": "0A1B",
            "renew": True,
        },
    ]
    report = build_report("site-a", [], [{"host": "dev1", "gateway": "gw1"}], items, now=NOW)
    assert report["site_certificates"][0]["name"] == "root-ca"
    cert = report["devices"][0]["certificates"][0]
    assert (cert["name"], cert["sha256_thumbprint"], cert["renew_next_run"]) == ("device", "0A1B", True)


def test_trust_store_result_keeps_the_state_and_fingerprint_only():
    registered = {
        "changed": True,
        "state": "file",
        "fingerprint": "AB" * 32,
        "bundle_path": "/etc/ssl/certs/ca-certificates.crt",
        "diff": {"before": "x", "after": "y"},
        "invocation": {"module_args": {"state": "present", "content": "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"}},
    }
    report = build_report("site-a", [], [{"host": "dev1", "gateway": "gw1", "trust_store": registered}], [], now=NOW)
    assert report["devices"][0]["trust_store"] == {
        "state": "present",
        "fingerprint": "AB" * 32,
        "bundle_path": "/etc/ssl/certs/ca-certificates.crt",
    }


def test_trust_store_state_of_a_ca_trust_result_without_invocation():
    registered = {"changed": False, "state": "file", "path": "/usr/local/share/ca-certificates/a.crt"}
    report = build_report("site-a", [], [{"host": "dev1", "gateway": "gw1", "trust_store": registered}], [], now=NOW)
    assert report["devices"][0]["trust_store"]["state"] == "present"


def test_trust_store_state_of_ca_trust_results_as_ansible_core_2_21_registers_them():
    """No invocation (2.21 returns it only when asked); `state` comes from the path's file info, if any."""
    present = {"changed": True, "state": "file", "path": "/usr/local/share/ca-certificates/a.crt", "removed": []}
    absent = {"changed": True, "removed": ["/usr/local/share/ca-certificates/a.crt"], "replaced": []}
    devices = [
        {"host": "dev1", "gateway": "gw1", "trust_store": present},
        {"host": "dev2", "gateway": "gw1", "trust_store": absent},
    ]
    report = build_report("site-a", [], devices, [], now=NOW)
    assert [d["trust_store"]["state"] for d in report["devices"]] == ["present", "absent"]


def test_devices_behind_a_rolled_back_gateway_are_skipped_with_the_reason():
    failure = {"phase": "gateways", "msg": "gateways phase failed in 'Deploy': rolled back"}
    gateways = [
        {"host": "gw1", "failure": failure, "result": {"rolled_back": True, "reason": "mosquitto did not start"}}
    ]
    devices = [{"host": "dev1", "gateway": "gw1"}]
    report = build_report("site-a", gateways, devices, [], now=NOW)
    assert report["gateways"][0]["status"] == "rolled_back"
    assert report["gateways"][0]["phase"] == "gateways"
    assert report["devices"][0]["status"] == "skipped"
    assert report["devices"][0]["reason"] == "gateway gw1 is rolled_back: mosquitto did not start"
    assert report["summary"]["earliest_expiry"] is None


def test_device_without_any_result_is_not_counted_ok():
    report = build_report("site-a", [GW_OK], [{"host": "dev1", "gateway": "gw1"}], [], now=NOW)
    assert report["devices"][0]["status"] == "not_checked"
    assert report["summary"]["devices_failed"] == 1


def test_markdown_has_the_summary_and_escapes_cells():
    gateways, devices, certificates = _site()
    markdown = render_markdown(build_report("site-a", gateways, devices, certificates, now=NOW, mode="check"))
    assert markdown.startswith("# Site report: site-a\n")
    assert "check mode: nothing was changed" in markdown
    assert "**Summary:** failed: 1 devices ok, 2 failed" in markdown
    assert "install the site's root CA \\| then retry" in markdown
    rows = [line for line in markdown.splitlines() if line.startswith("| dev")]
    assert len(rows) == 3 + 1  # three device rows and dev1's certificate row
    assert all(row.count(" | ") == rows[0].count(" | ") for row in rows[:3])


def test_comparable_ignores_timestamps_and_countdowns_only():
    gateways, devices, certificates = _site()
    first = build_report("site-a", gateways, devices, certificates, now=NOW)
    later = build_report("site-a", gateways, devices, certificates, now=NOW + datetime.timedelta(days=2))
    assert first != later
    assert comparable(first) == comparable(later)
    devices[0]["handshake"]["ok"] = False
    assert comparable(build_report("site-a", gateways, devices, certificates, now=NOW)) != comparable(first)


@pytest.mark.parametrize(
    ("site", "certificates", "message"),
    [
        ("", [], "set edgeops_site"),
        ("site-a", [{"name": "x", "not_after": "next tuesday"}], "not an ISO 8601 date"),
    ],
)
def test_bad_input_says_how_to_fix_it(site, certificates, message):
    with pytest.raises(ReportError, match=message):
        build_report(site, [], [], certificates, now=NOW)


def test_a_device_left_out_because_its_gateway_failed_is_skipped():
    failure = {"phase": "verify", "msg": "gateway gw1 failed in the gateways phase: apply failed", "skipped": True}
    report = build_report("site-a", [GW_OK], [{"host": "dev1", "gateway": "gw1", "failure": failure}], [], now=NOW)
    assert report["devices"][0]["status"] == "skipped"
    assert report["devices"][0]["reason"].startswith("gateway gw1 failed in the gateways phase")


def test_a_failed_handshake_explains_a_device_that_dropped_out_of_the_verify_phase():
    inferred = {"phase": "verify", "msg": "dropped out during the verify phase", "inferred": True}
    handshake = {"ok": False, "diagnosis": "untrusted_root", "hint": "install the root CA"}
    device = {"host": "dev1", "gateway": "gw1", "failure": inferred, "handshake": handshake}
    report = build_report("site-a", [GW_OK], [device], [], now=NOW)
    assert (report["devices"][0]["status"], report["devices"][0]["reason"]) == ("failed", "install the root CA")
    assert report["devices"][0]["handshake"]["diagnosis"] == "untrusted_root"


def _devices(ok, failed):
    rows = [{"host": f"ok{i}", "gateway": "gw1", "handshake": {"ok": True}} for i in range(ok)]
    rows += [
        {"host": f"bad{i}", "gateway": "gw1", "failure": {"phase": "devices", "msg": "down", "unreachable": True}}
        for i in range(failed)
    ]
    return rows


@pytest.mark.parametrize(
    ("ok", "failed", "accept", "status"),
    [
        (2, 0, None, "ok"),
        (2, 0, "0", "ok"),
        (1, 1, None, "failed"),
        (1, 1, 0, "failed"),
        (1, 1, 1, "accepted"),
        (1, 1, "1", "accepted"),
        (8, 2, 1, "failed"),
        (8, 2, "20%", "accepted"),
        (8, 2, "19%", "failed"),  # 19% of 10 devices rounds down to 1
        (9, 1, "10%", "accepted"),
        (1, 1, "100%", "accepted"),
        (0, 2, "100%", "accepted"),
    ],
)
def test_accepted_failed_devices_threshold(ok, failed, accept, status):
    report = build_report("site-a", [GW_OK], _devices(ok, failed), [], now=NOW, accept=accept)
    assert report["status"] == report["summary"]["status"] == status
    assert report["summary"]["line"].startswith(f"{status}")
    assert f"{ok} devices ok, {failed} failed" in report["summary"]["line"]
    assert render_markdown(report).count(f"**Summary:** {status}") == 1


def test_a_failed_gateway_is_never_accepted():
    failure = {"phase": "gateways", "msg": "apply failed"}
    report = build_report("site-a", [{"host": "gw1", "failure": failure}], _devices(2, 0), [], now=NOW, accept="100%")
    assert report["status"] == "failed"


def test_a_not_checked_device_is_not_ok():
    """ok needs evidence: a device without any recorded result fails the site."""
    report = build_report("site-a", [GW_OK], [{"host": "dev1", "gateway": "gw1"}], [], now=NOW)
    assert report["devices"][0]["status"] == "not_checked"
    assert report["status"] == "failed"


@pytest.mark.parametrize("accept", ["ten", "-1", "1.5", "150%", "nan", "x%", True, [1]])
def test_a_bad_threshold_says_how_to_fix_it(accept):
    with pytest.raises(ReportError, match=r"edgeops_accept_failed_devices .* give a whole number such as 2"):
        build_report("site-a", [GW_OK], _devices(1, 1), [], now=NOW, accept=accept)


@pytest.mark.parametrize("days_left", ["soon", "", "nan", float("inf"), [3], True, 1.5])
def test_a_non_numeric_days_left_says_how_to_fix_it(days_left):
    cert = {"name": "device", "subject": "CN=dev1", "days_left": days_left}
    with pytest.raises(ReportError, match=r"days_left .* of certificate 'device' is not a whole number of days"):
        build_report("site-a", [], [], [cert], now=NOW)


def test_a_numeric_days_left_string_is_a_number():
    report = build_report("site-a", [], [], [{"name": "root", "days_left": "30"}], now=NOW)
    assert report["site_certificates"][0]["days_left"] == 30


def test_a_gateway_awaiting_its_deployment_is_named_and_is_not_ok():
    gateways = [
        {
            "host": "gw1",
            "runtime": "iotedge",
            "result": {"status": "awaiting_deployment", "hint": "set gateways/gw1/deployment.json in IoT Hub"},
        }
    ]
    devices = [{"host": "dev1", "gateway": "gw1"}]
    report = build_report("site-a", gateways, devices, [], now=NOW)
    assert report["gateways"][0]["status"] == "awaiting_deployment"
    assert report["gateways"][0]["reason"] == "set gateways/gw1/deployment.json in IoT Hub"
    assert report["devices"][0]["status"] == "skipped"
    assert "awaiting_deployment" in report["devices"][0]["reason"]
    assert report["status"] == "failed"


def test_a_gateway_is_ok_only_with_a_recorded_result():
    # A gateway that never ran its phase (no result, no recorded failure) is not ok, and its
    # devices without a handshake are not called ok or skipped either.
    gateways = [{"host": "gw1", "hostname": "gw1.site-a.example", "runtime": "mosquitto", "result": None}]
    devices = [{"host": "dev1", "gateway": "gw1"}]
    report = build_report("site-a", gateways, devices, [], now=NOW)
    assert report["gateways"][0]["status"] == "not_checked"
    assert "no gateway result was recorded" in report["gateways"][0]["reason"]
    assert report["devices"][0]["status"] == "not_checked"
    assert report["status"] == "failed"
    assert report["summary"]["gateways_ok"] == 0


def test_rollout_failure_prefers_the_recorded_failure_then_the_skip():
    recorded = {"phase": "devices", "msg": "copy failed", "unreachable": False}
    assert rollout_failure(recorded, "devices", [], "gateway gw1 failed") is recorded
    assert rollout_failure(None, "devices", ["pki"], "gateway gw1 failed") == {
        "phase": "devices",
        "msg": "gateway gw1 failed",
        "skipped": True,
    }


def test_rollout_failure_of_a_host_that_finished_every_phase_it_started_is_none():
    assert rollout_failure(None, "verify", ["pki", "devices", "verify"], None) is None
    assert rollout_failure(None, None, None, None) is None


def test_a_host_that_left_its_phase_unfinished_with_nothing_recorded_is_unreachable():
    failure = rollout_failure(None, "devices", ["pki"], None)
    assert failure["unreachable"] and failure["inferred"] and failure["phase"] == "devices"
    report = build_report("site-a", [GW_OK], [{"host": "dev1", "gateway": "gw1", "failure": failure}], [], now=NOW)
    assert (report["devices"][0]["status"], report["devices"][0]["phase"]) == ("unreachable", "devices")


def test_a_failed_handshake_still_explains_an_unfinished_verify_phase():
    failure = rollout_failure(None, "verify", ["pki", "devices"], None)
    handshake = {"ok": False, "diagnosis": "untrusted_root", "hint": "install the root CA"}
    device = {"host": "dev1", "gateway": "gw1", "failure": failure, "handshake": handshake}
    report = build_report("site-a", [GW_OK], [device], [], now=NOW)
    assert (report["devices"][0]["status"], report["devices"][0]["reason"]) == ("failed", "install the root CA")
