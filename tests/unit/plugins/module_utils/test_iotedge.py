# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config.toml rendering and validation: every provisioning variant parsed back with tomllib."""

from __future__ import annotations

import tomllib

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge import (
    DEFAULT_GLOBAL_ENDPOINT,
    IotEdgeConfigError,
    missing_files,
    render,
    toml_string,
    validate,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_mask import mask_secrets

CONN = "HostName=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey=c2VjcmV0a2V5MTIzNA=="
SYMKEY = "c3ltbWV0cmljLWtleS0xMjM0NTY3OA=="
BASE = {
    "hostname": "gw1.site-a.example",
    "trust_bundle_cert": "/var/aziot/certs/root-ca.pem",
    "edge_ca_cert": "/var/aziot/certs/edge-ca-full-chain.pem",
    "edge_ca_pk": "/var/aziot/secrets/edge-ca.key.pem",
}
TOP = {
    "hostname": "gw1.site-a.example",
    "trust_bundle_cert": "file:///var/aziot/certs/root-ca.pem",
}
EDGE_CA = {"cert": "file:///var/aziot/certs/edge-ca-full-chain.pem", "pk": "file:///var/aziot/secrets/edge-ca.key.pem"}
IDENTITY = {
    "identity_cert": "file:///var/aziot/certs/identity.pem",
    "identity_pk": "file:///var/aziot/secrets/identity.key.pem",
}


def variant(name, **extra):
    params = dict(BASE, provisioning=name)
    if name == "manual_connection_string":
        params["connection_string"] = CONN
    elif name == "manual_x509":
        params.update(
            iothub_hostname="hub1.azure-devices.net",
            device_id="gw1",
            identity_cert="/var/aziot/certs/identity.pem",
            identity_pk="/var/aziot/secrets/identity.key.pem",
        )
    elif name == "dps_symmetric_key":
        params.update(id_scope="0ne00000001", registration_id="gw1", symmetric_key=SYMKEY)
    else:
        params.update(
            id_scope="0ne00000001",
            identity_cert="/var/aziot/certs/identity.pem",
            identity_pk="/var/aziot/secrets/identity.key.pem",
        )
    params.update(extra)
    return params


def parse(params):
    validate(params)
    return tomllib.loads(render(params))


EXPECTED_PROVISIONING = {
    "manual_connection_string": {"source": "manual", "connection_string": CONN},
    "manual_x509": {
        "source": "manual",
        "iothub_hostname": "hub1.azure-devices.net",
        "device_id": "gw1",
        "authentication": dict(IDENTITY, method="x509"),
    },
    "dps_symmetric_key": {
        "source": "dps",
        "global_endpoint": DEFAULT_GLOBAL_ENDPOINT,
        "id_scope": "0ne00000001",
        "attestation": {"method": "symmetric_key", "registration_id": "gw1", "symmetric_key": {"value": SYMKEY}},
    },
    "dps_x509": {
        "source": "dps",
        "global_endpoint": DEFAULT_GLOBAL_ENDPOINT,
        "id_scope": "0ne00000001",
        "attestation": dict(IDENTITY, method="x509"),
    },
}


@pytest.mark.parametrize("name", sorted(EXPECTED_PROVISIONING))
def test_every_variant_renders_exactly_the_documented_keys(name):
    assert parse(variant(name)) == dict(TOP, provisioning=EXPECTED_PROVISIONING[name], edge_ca=EDGE_CA)


@pytest.mark.parametrize("name", ["manual_connection_string", "manual_x509"])
def test_parent_hostname_for_manual_variants(name):
    data = parse(variant(name, parent_hostname="parent.site-a.example"))
    assert data["parent_hostname"] == "parent.site-a.example"
    assert data["provisioning"] == EXPECTED_PROVISIONING[name]


def test_optional_top_level_keys_and_agent():
    params = variant(
        "dps_x509",
        registration_id="gw1-reg",
        global_endpoint="https://dps.internal.example",
        auto_reprovisioning_mode="AlwaysOnStartup",
        agent_image="mcr.microsoft.com/azureiotedge-agent:1.5",
    )
    data = parse(params)
    assert data == dict(
        TOP,
        auto_reprovisioning_mode="AlwaysOnStartup",
        provisioning={
            "source": "dps",
            "global_endpoint": "https://dps.internal.example",
            "id_scope": "0ne00000001",
            "attestation": dict(IDENTITY, method="x509", registration_id="gw1-reg"),
        },
        agent={"name": "edgeAgent", "type": "docker", "config": {"image": "mcr.microsoft.com/azureiotedge-agent:1.5"}},
        edge_ca=EDGE_CA,
    )


@pytest.mark.parametrize(
    ("renew", "expected"),
    [
        (
            {"rotate_key": True, "threshold": "80%", "retry": "4%"},
            {"rotate_key": True, "threshold": "80%", "retry": "4%"},
        ),
        (
            {"rotate_key": True, "threshold": "7day", "retry": "30min"},
            {"rotate_key": True, "threshold": "7day", "retry": "30min"},
        ),
    ],
)
def test_auto_renew_for_the_quickstart_edge_ca(renew, expected):
    # The quickstart variant of upstream's untagged EdgeCa enum requires auto_generated_edge_ca_expiry_days:
    # [edge_ca.auto_renew] alone matches no variant ("data did not match any variant of untagged enum EdgeCa").
    params = variant("manual_connection_string", edge_ca_cert=None, edge_ca_pk=None, edge_ca_auto_renew=renew)
    assert parse(params) == dict(
        TOP,
        provisioning=EXPECTED_PROVISIONING["manual_connection_string"],
        edge_ca={"auto_generated_edge_ca_expiry_days": 90, "auto_renew": expected},
    )


def test_quickstart_edge_ca_expiry_days_alone_and_with_renewal():
    params = variant("manual_connection_string", edge_ca_cert=None, edge_ca_pk=None, edge_ca_expiry_days=30)
    assert parse(params)["edge_ca"] == {"auto_generated_edge_ca_expiry_days": 30}
    params["edge_ca_auto_renew"] = {"rotate_key": True, "threshold": "80%", "retry": "4%"}
    assert parse(params)["edge_ca"] == {
        "auto_generated_edge_ca_expiry_days": 30,
        "auto_renew": {"rotate_key": True, "threshold": "80%", "retry": "4%"},
    }


def test_every_edge_ca_table_matches_one_upstream_variant():
    """Preloaded (cert + pk) or quickstart (auto_generated_edge_ca_expiry_days): never a table of neither."""
    cases = [
        variant("manual_connection_string"),
        variant("manual_connection_string", edge_ca_cert=None, edge_ca_pk=None),
        variant(
            "dps_x509",
            edge_ca_cert=None,
            edge_ca_pk=None,
            edge_ca_auto_renew={"rotate_key": True, "threshold": "80%", "retry": "4%"},
        ),
    ]
    for params in cases:
        edge_ca = parse(params).get("edge_ca")
        if edge_ca is None:
            continue
        preloaded = set(edge_ca) == {"cert", "pk"}
        quickstart = "auto_generated_edge_ca_expiry_days" in edge_ca and set(edge_ca) <= {
            "auto_generated_edge_ca_expiry_days",
            "auto_renew",
            "subject",
        }
        assert preloaded or quickstart, edge_ca
        if "auto_renew" in edge_ca:
            assert set(edge_ca["auto_renew"]) == {"rotate_key", "threshold", "retry"}


def test_refuses_rotate_key_false_for_the_quickstart_edge_ca():
    params = variant(
        "manual_connection_string",
        edge_ca_cert=None,
        edge_ca_pk=None,
        edge_ca_auto_renew={"rotate_key": False, "threshold": "80%", "retry": "4%"},
    )
    refused(params, "rotate_key is false", "set rotate_key: true")


@pytest.mark.parametrize("days", [0, -1, 36501, True, "90"])
def test_refuses_bad_quickstart_expiry_days(days):
    params = variant("manual_connection_string", edge_ca_cert=None, edge_ca_pk=None, edge_ca_expiry_days=days)
    refused(params, "edge_ca_expiry_days", "from 1 to 36500")


def test_refuses_expiry_days_with_a_file_based_edge_ca():
    refused(variant("manual_connection_string", edge_ca_expiry_days=30), "keeps the validity it was issued with")


def test_minimal_config_without_trust_bundle_or_edge_ca():
    params = {"hostname": "gw1", "provisioning": "manual_connection_string", "connection_string": CONN}
    assert parse(params) == {"hostname": "gw1", "provisioning": {"source": "manual", "connection_string": CONN}}


def test_rendering_is_deterministic():
    params = variant("dps_symmetric_key", agent_image="img:1.6")
    assert render(params) == render(dict(reversed(list(params.items()))))


def test_strings_are_escaped():
    nasty = 'a"b\\c\nd\te\x01f\x7fg ü'
    assert tomllib.loads("k = " + toml_string(nasty))["k"] == nasty
    params = variant("manual_x509", device_id=nasty)
    assert parse(params)["provisioning"]["device_id"] == nasty


def test_paths_become_percent_encoded_file_uris():
    params = variant("manual_connection_string", trust_bundle_cert="/var/aziot/certs/my root.pem")
    assert parse(params)["trust_bundle_cert"] == "file:///var/aziot/certs/my%20root.pem"


# --- validation errors: each one has a test, and each message says how to fix it -----------------


def refused(params, *fragments):
    with pytest.raises(IotEdgeConfigError) as info:
        validate(params)
    for fragment in fragments:
        assert fragment in str(info.value)
    return str(info.value)


def test_refuses_upper_case_hostname_and_suggests_lower_case():
    refused(variant("manual_connection_string", hostname="GW1.Site-A.example"), "Use 'gw1.site-a.example'")


def test_refuses_hostname_over_64_characters():
    name = ("a" * 30 + ".") * 2 + "abcd"
    assert len(name) == 66
    refused(variant("manual_connection_string", hostname=name), "66 characters", "at most 64")


def test_accepts_hostname_of_exactly_64_characters():
    name = "a" * 31 + "." + "b" * 32
    assert len(name) == 64
    validate(variant("manual_connection_string", hostname=name))


@pytest.mark.parametrize("name", ["1gw.site", "gw_1.site", "gw-.site", "gw..site", "-gw.site", "gw1.site."])
def test_refuses_non_rfc1035_hostnames(name):
    refused(variant("manual_connection_string", hostname=name), "RFC 1035", "start with a letter")


def test_refuses_empty_hostname():
    refused(variant("manual_connection_string", hostname=""), "hostname is empty")


def test_refuses_bad_parent_hostname():
    refused(variant("manual_x509", parent_hostname="Parent.example"), "parent_hostname", "Use 'parent.example'")


@pytest.mark.parametrize("name", ["dps_symmetric_key", "dps_x509"])
def test_refuses_dps_with_parent_hostname(name):
    refused(variant(name, parent_hostname="parent.example"), "not supported in nested mode", "provision a nested")


@pytest.mark.parametrize("value", ["80", "80 %", "1h", "2hours", "7d", "100%", "0%", "0min", "", "-5%", "5days"])
def test_refuses_renewal_policies_in_units_iot_edge_rejects(value):
    params = variant("manual_connection_string", edge_ca_cert=None, edge_ca_pk=None)
    params["edge_ca_auto_renew"] = {"rotate_key": True, "threshold": value, "retry": "4%"}
    refused(params, "edge_ca_auto_renew.threshold")
    params["edge_ca_auto_renew"] = {"rotate_key": True, "threshold": "80%", "retry": value}
    refused(params, "edge_ca_auto_renew.retry")


@pytest.mark.parametrize("value", ["1%", "99%", "1min", "90day"])
def test_accepts_renewal_policies_in_units_iot_edge_accepts(value):
    params = variant("manual_connection_string", edge_ca_cert=None, edge_ca_pk=None)
    params["edge_ca_auto_renew"] = {"rotate_key": True, "threshold": value, "retry": value}
    validate(params)


def test_refuses_auto_renew_with_a_file_based_edge_ca():
    params = variant("manual_connection_string", edge_ca_auto_renew={"threshold": "80%", "retry": "4%"})
    refused(params, "never renewed", "Remove edge_ca_auto_renew")


def test_refuses_edge_ca_cert_without_key():
    refused(variant("manual_connection_string", edge_ca_pk=None), "edge_ca_cert and edge_ca_pk go together")


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("manual_connection_string", "connection_string"),
        ("manual_x509", "identity_pk"),
        ("dps_symmetric_key", "symmetric_key"),
        ("dps_x509", "id_scope"),
    ],
)
def test_refuses_a_variant_without_its_required_option(name, missing):
    refused(variant(name, **{missing: None}), f"provisioning={name} needs {missing}")


def test_refuses_options_of_another_variant():
    message = refused(variant("manual_x509", connection_string=CONN), "does not use connection_string")
    assert "SharedAccessKey" not in message


def test_refuses_unknown_variant():
    refused(variant("manual_connection_string", provisioning="tpm"), "provisioning 'tpm' is unknown")


def test_refuses_malformed_connection_string_without_echoing_it():
    message = refused(
        variant("manual_connection_string", connection_string="HostName=hub;SharedAccessKey=topsecret"),
        "lacks DeviceId",
    )
    assert "topsecret" not in message


def test_refuses_relative_file_paths():
    refused(variant("manual_connection_string", trust_bundle_cert="certs/root.pem"), "not an absolute path")


def test_refuses_non_https_global_endpoint():
    refused(variant("dps_x509", global_endpoint="http://dps.example"), "not an https:// URL")


@pytest.mark.parametrize("url", ["https://", "https:///path", "https://:443", "https://host:port"])
def test_refuses_global_endpoint_without_a_host(url):
    refused(variant("dps_x509", global_endpoint=url), "has no host name", DEFAULT_GLOBAL_ENDPOINT)


KEY = "c2VjcmV0a2V5MTIzNA=="


@pytest.mark.parametrize(
    ("conn", "fragments"),
    [
        # aziotctl splits at ';' and matches keys exactly: a space after ';' hides the key.
        (f"HostName=hub1.azure-devices.net; DeviceId=gw1;SharedAccessKey={KEY}", ("lacks DeviceId", "no space")),
        (f"HostName=hub1.azure-devices.net;DeviceId=gw1; SharedAccessKey={KEY}", ("lacks SharedAccessKey",)),
        (f"hostname=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey={KEY}", ("lacks HostName",)),
        ("HostName=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey=not base64!", ("not base64",)),
        ("HostName=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey=c2VjcmV0a2V5MTIzNA", ("not base64",)),
        ("HostName=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey=", ("not base64",)),
        (f"HostName=;DeviceId=gw1;SharedAccessKey={KEY}", ("empty HostName",)),
    ],
)
def test_connection_string_is_read_as_upstream_reads_it(conn, fragments):
    message = refused(variant("manual_connection_string", connection_string=conn), *fragments)
    assert KEY not in message
    assert "not base64!" not in message


def test_connection_string_key_keeps_its_padding_and_extra_sections():
    # split_once('='): the padding of the key stays in the value; unknown sections are ignored.
    conn = f"HostName=hub1.azure-devices.net;DeviceId=gw1;ModuleId=x;SharedAccessKey={KEY}"
    validate(variant("manual_connection_string", connection_string=conn))


@pytest.mark.parametrize("key", ["not-base64", "c3ltbWV0cmlj!", ""])
def test_refuses_a_dps_symmetric_key_that_is_not_base64(key):
    params = variant("dps_symmetric_key", symmetric_key=key or "   ")
    message = refused(params, "symmetric_key is not base64")
    assert key not in message or not key


def test_refuses_unknown_reprovisioning_mode():
    refused(variant("manual_x509", auto_reprovisioning_mode="Always"), "auto_reprovisioning_mode 'Always'")


def test_reports_missing_referenced_files(tmp_path):
    root = tmp_path / "root.pem"
    root.write_text("x")
    params = variant("manual_x509", trust_bundle_cert=str(root))
    missing = dict(missing_files(params))
    assert str(root) not in missing.values()
    assert set(missing) == {"edge_ca_cert", "edge_ca_pk", "identity_cert", "identity_pk"}


def test_mask_secrets_hides_connection_strings_and_symmetric_keys():
    for name, secret in (("manual_connection_string", "c2VjcmV0a2V5MTIzNA=="), ("dps_symmetric_key", SYMKEY)):
        text = render(variant(name))
        masked = mask_secrets(text)
        assert secret not in masked
        assert "********" in masked
        # the rest of the file is untouched and still valid TOML
        assert tomllib.loads(masked)["hostname"] == "gw1.site-a.example"


def test_mask_secrets_hides_hand_written_forms():
    text = "connection_string = 'HostName=h;DeviceId=d;SharedAccessKey=abc'\n[x]\nvalue = \"abc\"\n"
    assert "abc" not in mask_secrets(text)
