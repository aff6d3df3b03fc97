# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""config.toml options beyond provisioning, parsed back with tomllib and compared with the upstream structs:
[agent] env and registry credentials, symmetric keys from files, [moby_runtime], EST issuance and the OS
host name rule of ``iotedge check``."""

from __future__ import annotations

import tomllib

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge import (
    DEFAULT_GLOBAL_ENDPOINT,
    IotEdgeConfigError,
    referenced_files,
    render,
    validate,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_mask import mask_secrets

CONN = "HostName=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey=c2VjcmV0a2V5MTIzNA=="
SYMKEY = "c3ltbWV0cmljLWtleS0xMjM0NTY3OA=="
IMAGE = "mcr.microsoft.com/azureiotedge-agent:1.5"
BASE = {"hostname": "gw1.site-a.example", "provisioning": "manual_connection_string", "connection_string": CONN}
AGENT = {"name": "edgeAgent", "type": "docker", "config": {"image": IMAGE}}
RENEW = {"rotate_key": True, "threshold": "80%", "retry": "4%"}
EST_URL = "https://est.site-a.example/.well-known/est"


def parse(params):
    validate(params)
    return tomllib.loads(render(params))


def refused(params, *fragments):
    with pytest.raises(IotEdgeConfigError) as info:
        validate(params)
    for fragment in fragments:
        assert fragment in str(info.value), str(info.value)
    return str(info.value)


# ---- [agent.env] and the proxy ---------------------------------------------------------------------


def test_agent_env_is_a_table_of_strings():
    # edgelet_settings ModuleSpec: env is BTreeMap<String, String>, so every value is a TOML string.
    data = parse(
        dict(BASE, agent_image=IMAGE, agent_env={"RuntimeLogLevel": "debug", "storageFolder": "/iotedge", "N": 3})
    )
    assert data["agent"] == dict(AGENT, env={"RuntimeLogLevel": "debug", "storageFolder": "/iotedge", "N": "3"})


def test_https_proxy_sets_the_env_and_a_websocket_protocol():
    data = parse(dict(BASE, agent_image=IMAGE, https_proxy="http://proxy.site-a.example:3128"))
    assert data["agent"]["env"] == {"https_proxy": "http://proxy.site-a.example:3128", "UpstreamProtocol": "AmqpWs"}
    data = parse(
        dict(BASE, agent_image=IMAGE, https_proxy="http://proxy.site-a.example:3128", upstream_protocol="MqttWs")
    )
    assert data["agent"]["env"]["UpstreamProtocol"] == "MqttWs"


def test_upstream_protocol_without_a_proxy():
    data = parse(dict(BASE, agent_image=IMAGE, upstream_protocol="Mqtt"))
    assert data["agent"]["env"] == {"UpstreamProtocol": "Mqtt"}


@pytest.mark.parametrize("protocol", ["Amqp", "Mqtt"])
def test_refuses_a_proxy_with_a_protocol_it_cannot_carry(protocol):
    params = dict(BASE, agent_image=IMAGE, https_proxy="http://proxy:3128", upstream_protocol=protocol)
    refused(params, f"UpstreamProtocol is {protocol}", "upstream_protocol: AmqpWs")
    params = dict(BASE, agent_image=IMAGE, https_proxy="http://proxy:3128", agent_env={"UpstreamProtocol": protocol})
    refused(params, f"UpstreamProtocol is {protocol}")


@pytest.mark.parametrize("proxy", ["proxy:3128", "socks5://proxy:1080", "http://", "http://proxy:port"])
def test_refuses_a_proxy_that_is_not_a_url_with_a_host(proxy):
    refused(dict(BASE, agent_image=IMAGE, https_proxy=proxy), "https_proxy", "http://proxy.site-a.example:3128")


def test_refuses_a_proxy_url_without_echoing_its_password():
    message = refused(dict(BASE, agent_image=IMAGE, https_proxy="ftp://user:s3cr3t@proxy:21"), "https_proxy")
    assert "s3cr3t" not in message


def test_refuses_conflicting_proxy_and_env():
    params = dict(BASE, agent_image=IMAGE, https_proxy="http://a:1", agent_env={"https_proxy": "http://b:1"})
    refused(params, "https_proxy and agent_env.https_proxy differ")
    params = dict(BASE, agent_image=IMAGE, upstream_protocol="Amqp", agent_env={"UpstreamProtocol": "Mqtt"})
    refused(params, "upstream_protocol and agent_env.UpstreamProtocol differ")


@pytest.mark.parametrize(
    ("env", "fragment"),
    [
        ({"bad name": "x"}, "not an environment variable name"),
        ({"A=B": "x"}, "not an environment variable name"),
        ({"Flag": True}, "must be a string"),
        ({"Nested": {"a": 1}}, "must be a string"),
        ({"Empty": None}, "must be a string"),
    ],
)
def test_refuses_env_entries_iot_edge_cannot_read(env, fragment):
    refused(dict(BASE, agent_image=IMAGE, agent_env=env), fragment)


@pytest.mark.parametrize(
    "extra",
    [
        {"agent_env": {"RuntimeLogLevel": "debug"}},
        {"https_proxy": "http://proxy:3128"},
        {"upstream_protocol": "AmqpWs"},
        {"agent_registry_auth": {"serveraddress": "r.example", "username": "u", "password": "p"}},
    ],
)
def test_refuses_agent_settings_without_the_image(extra):
    # [agent] is one ModuleSpec: name, type and config.image are required once the table exists.
    refused(dict(BASE, **extra), "set agent_image")


# ---- [agent.config.auth] ---------------------------------------------------------------------------


def test_registry_credentials_and_the_password_masked():
    auth = {"serveraddress": "myregistry.azurecr.io", "username": "gateways", "password": "pa55-w0rd"}
    params = dict(BASE, agent_image="myregistry.azurecr.io/azureiotedge-agent:1.5", agent_registry_auth=auth)
    data = parse(params)
    assert data["agent"]["config"] == {"image": "myregistry.azurecr.io/azureiotedge-agent:1.5", "auth": auth}
    masked = mask_secrets(render(params))
    assert "pa55-w0rd" not in masked
    assert tomllib.loads(masked)["agent"]["config"]["auth"]["password"] == "********"


@pytest.mark.parametrize(
    ("auth", "fragment"),
    [
        ({"serveraddress": "r.example", "username": "u", "password": ""}, "needs password"),
        ({"serveraddress": "", "username": "u", "password": "Reg-Secret-1"}, "needs serveraddress"),
        ({"serveraddress": "https://r.example", "username": "u", "password": "Reg-Secret-1"}, "registry host"),
        ({"serveraddress": "r.example/path", "username": "u", "password": "Reg-Secret-1"}, "registry host"),
    ],
)
def test_refuses_incomplete_registry_credentials(auth, fragment):
    message = refused(dict(BASE, agent_image=IMAGE, agent_registry_auth=auth), fragment)
    assert auth["password"] == "" or auth["password"] not in message


def test_proxy_credentials_are_masked_in_the_diff():
    params = dict(BASE, agent_image=IMAGE, https_proxy="http://gw:pr0xy-pass@proxy:3128")
    assert "pr0xy-pass" not in mask_secrets(render(params))
    assert parse(params)["agent"]["env"]["https_proxy"] == "http://gw:pr0xy-pass@proxy:3128"


# ---- symmetric keys inline or from a file ------------------------------------------------------------

MANUAL_SAS = {
    "hostname": "gw1.site-a.example",
    "provisioning": "manual_symmetric_key",
    "iothub_hostname": "hub1.azure-devices.net",
    "device_id": "gw1",
}
DPS_SAS = {
    "hostname": "gw1.site-a.example",
    "provisioning": "dps_symmetric_key",
    "id_scope": "0ne00000001",
    "registration_id": "gw1",
}


def test_manual_symmetric_key_inline_and_from_a_file():
    # ManualAuthMethod::SharedPrivateKey (method = "sas") with device_id_pk, an untagged SymmetricKey.
    manual = {"source": "manual", "iothub_hostname": "hub1.azure-devices.net", "device_id": "gw1"}
    data = parse(dict(MANUAL_SAS, symmetric_key=SYMKEY))
    assert data["provisioning"] == dict(manual, authentication={"method": "sas", "device_id_pk": {"value": SYMKEY}})
    data = parse(dict(MANUAL_SAS, symmetric_key_file="/var/aziot/secrets/device id.key"))
    assert data["provisioning"] == dict(
        manual, authentication={"method": "sas", "device_id_pk": {"uri": "file:///var/aziot/secrets/device%20id.key"}}
    )


def test_dps_symmetric_key_from_a_file():
    data = parse(dict(DPS_SAS, symmetric_key_file="/var/aziot/secrets/dps.key"))
    assert data["provisioning"] == {
        "source": "dps",
        "global_endpoint": DEFAULT_GLOBAL_ENDPOINT,
        "id_scope": "0ne00000001",
        "attestation": {
            "method": "symmetric_key",
            "registration_id": "gw1",
            "symmetric_key": {"uri": "file:///var/aziot/secrets/dps.key"},
        },
    }
    assert ("symmetric_key_file", "/var/aziot/secrets/dps.key") in referenced_files(
        dict(DPS_SAS, symmetric_key_file="/var/aziot/secrets/dps.key")
    )


def test_inline_manual_key_is_masked():
    masked = mask_secrets(render(dict(MANUAL_SAS, symmetric_key=SYMKEY)))
    assert SYMKEY not in masked
    assert tomllib.loads(masked)["provisioning"]["authentication"]["device_id_pk"] == {"value": "********"}


@pytest.mark.parametrize("params", [MANUAL_SAS, DPS_SAS])
def test_refuses_both_or_neither_key_form(params):
    refused(dict(params), "needs symmetric_key or symmetric_key_file")
    refused(dict(params, symmetric_key=SYMKEY, symmetric_key_file="/k"), "give only one of")


def test_refuses_a_relative_key_file_and_a_manual_key_that_is_not_base64():
    refused(dict(MANUAL_SAS, symmetric_key_file="device.key"), "not an absolute path")
    message = refused(dict(MANUAL_SAS, symmetric_key="not base64!"), "not base64", "from IoT Hub")
    assert "not base64!" not in message


def test_refuses_manual_symmetric_key_without_the_hub():
    refused(dict(MANUAL_SAS, iothub_hostname=None, symmetric_key=SYMKEY), "needs iothub_hostname")


# ---- [moby_runtime] -------------------------------------------------------------------------------


def test_moby_runtime_with_uri_and_network():
    moby = {"uri": "unix:///var/run/docker.sock", "network": "azure-iot-edge"}
    assert parse(dict(BASE, moby_runtime=moby))["moby_runtime"] == moby


@pytest.mark.parametrize("moby", [{"uri": "unix:///var/run/docker.sock"}, {"network": "azure-iot-edge"}])
def test_refuses_moby_runtime_with_only_one_of_uri_and_network(moby):
    refused(dict(BASE, moby_runtime=moby), "needs both uri and network", "unix:///var/run/docker.sock")


@pytest.mark.parametrize(
    ("moby", "fragment"),
    [
        ({"uri": "/var/run/docker.sock", "network": "n"}, "not a unix:///<socket>"),
        ({"uri": "unix://var/run/docker.sock", "network": "n"}, "absolute path"),
        ({"uri": "unix:///var/run/docker.sock", "network": "bad net"}, "not a container network name"),
    ],
)
def test_refuses_a_bad_moby_runtime(moby, fragment):
    refused(dict(BASE, moby_runtime=moby), fragment)


# ---- EST ------------------------------------------------------------------------------------------

EST = {
    "url": EST_URL,
    "trusted_certs": ["/var/aziot/certs/est-ca.pem"],
    "username": "gw1",
    "password": "est-pa55",
}


def test_edge_ca_issued_by_est_with_renewal_and_the_est_defaults():
    params = dict(
        BASE,
        edge_ca_est={
            "common_name": "gw1.site-a.example.ca",
            "url": "https://est2.site-a.example/.well-known/est",
            "identity_cert": "/var/aziot/certs/est-id.pem",
            "identity_pk": "/var/aziot/secrets/est-id.key.pem",
        },
        edge_ca_auto_renew={"rotate_key": False, "threshold": "7day", "retry": "1day"},
        est=EST,
    )
    data = parse(params)
    # EdgeCa::Issued (CertIssuanceOptions, method "est" with url and the flattened EstAuth)
    assert data["edge_ca"] == {
        "method": "est",
        "common_name": "gw1.site-a.example.ca",
        "url": "https://est2.site-a.example/.well-known/est",
        "identity_cert": "file:///var/aziot/certs/est-id.pem",
        "identity_pk": "file:///var/aziot/secrets/est-id.key.pem",
        "auto_renew": {"rotate_key": False, "threshold": "7day", "retry": "1day"},
    }
    assert data["cert_issuance"] == {
        "est": {
            "trusted_certs": ["file:///var/aziot/certs/est-ca.pem"],
            "auth": {"username": "gw1", "password": "est-pa55"},
            "urls": {"default": EST_URL},
        }
    }
    assert "est-pa55" not in mask_secrets(render(params))
    files = dict(referenced_files(params))
    assert files["edge_ca_est.identity_cert"] == "/var/aziot/certs/est-id.pem"
    assert files["est.trusted_certs[0]"] == "/var/aziot/certs/est-ca.pem"


def test_edge_ca_est_with_its_own_basic_auth_and_bootstrap_in_the_defaults():
    est = {
        "url": EST_URL,
        "bootstrap_identity_cert": "/var/aziot/certs/boot.pem",
        "bootstrap_identity_pk": "/var/aziot/secrets/boot.key.pem",
    }
    data = parse(dict(BASE, edge_ca_est={"username": "u", "password": "p"}, est=est))
    assert data["edge_ca"] == {"method": "est", "username": "u", "password": "p"}
    assert data["cert_issuance"]["est"] == {
        "auth": {
            "bootstrap_identity_cert": "file:///var/aziot/certs/boot.pem",
            "bootstrap_identity_pk": "file:///var/aziot/secrets/boot.key.pem",
        },
        "urls": {"default": EST_URL},
    }


@pytest.mark.parametrize(
    ("table", "name", "provisioning"),
    [
        ("authentication", "manual_x509", {"iothub_hostname": "hub1.azure-devices.net", "device_id": "gw1"}),
        ("attestation", "dps_x509", {"id_scope": "0ne00000001"}),
    ],
)
def test_identity_certificate_issued_by_est(table, name, provisioning):
    params = dict(
        hostname="gw1.site-a.example",
        provisioning=name,
        identity_cert_est={"common_name": "gw1", "auto_renew": RENEW},
        est={"url": EST_URL, "username": "gw1", "password": "p"},
        **provisioning,
    )
    data = parse(params)
    # X509Identity::Issued: identity_cert is a CertIssuanceOptions table, and there is no identity_pk.
    assert data["provisioning"][table] == {
        "method": "x509",
        "identity_cert": {"method": "est", "common_name": "gw1", "auto_renew": RENEW},
    }
    assert data["cert_issuance"]["est"]["urls"] == {"default": EST_URL}


def test_refuses_est_without_a_server_url():
    refused(dict(BASE, edge_ca_est={"common_name": "x.ca"}), "edge_ca_est has no EST server", "est.url")


def test_refuses_est_defaults_nobody_uses():
    refused(dict(BASE, est=EST), "set edge_ca_est or identity_cert_est")


@pytest.mark.parametrize(
    ("auth", "fragment"),
    [
        ({"username": "u"}, "username and edge_ca_est.password go together"),
        ({"identity_cert": "/c.pem"}, "identity_cert and edge_ca_est.identity_pk go together"),
        ({"bootstrap_identity_pk": "/k.pem"}, "bootstrap_identity_cert and edge_ca_est.bootstrap_identity_pk"),
        (
            {
                "identity_cert": "/c",
                "identity_pk": "/k",
                "bootstrap_identity_cert": "/b",
                "bootstrap_identity_pk": "/bk",
            },
            "IoT Edge takes one",
        ),
        ({"identity_cert": "c.pem", "identity_pk": "/k"}, "not an absolute path"),
        ({"url": "est.site-a.example"}, "not an https:// or http:// URL"),
    ],
)
def test_refuses_bad_est_authentication(auth, fragment):
    refused(dict(BASE, edge_ca_est=dict({"url": EST_URL}, **auth)), fragment)


def test_refuses_an_est_edge_ca_named_like_the_gateway():
    refused(dict(BASE, edge_ca_est={"url": EST_URL, "common_name": "gw1.site-a.example"}), "'gw1.site-a.example.ca'")


def test_refuses_est_edge_ca_with_files_or_expiry_days():
    refused(dict(BASE, edge_ca_est={"url": EST_URL}, edge_ca_cert="/c.pem", edge_ca_pk="/k.pem"), "two Edge CAs")
    refused(dict(BASE, edge_ca_est={"url": EST_URL}, edge_ca_expiry_days=30), "ignores it for an Edge CA issued by EST")


def test_refuses_bad_units_in_est_renewal():
    params = dict(
        hostname="gw1",
        provisioning="dps_x509",
        id_scope="0ne00000001",
        identity_cert_est={"url": EST_URL, "auto_renew": {"rotate_key": True, "threshold": "80", "retry": "4%"}},
    )
    refused(params, "identity_cert_est.auto_renew.threshold '80'", "bad units for policy")
    params["identity_cert_est"]["auto_renew"] = {"rotate_key": True, "threshold": "80%", "retry": "100%"}
    refused(params, "identity_cert_est.auto_renew.retry '100%'", "between 1% and 99%")


def test_refuses_identity_files_with_an_est_identity():
    params = dict(
        hostname="gw1",
        provisioning="dps_x509",
        id_scope="0ne00000001",
        identity_cert_est={"url": EST_URL},
        identity_pk="/var/aziot/secrets/identity.key.pem",
    )
    refused(params, "remove identity_pk")
    refused(dict(params, identity_cert="/var/aziot/certs/identity.pem"), "give only one of identity_cert")


# ---- the OS host name (iotedge check) --------------------------------------------------------------


@pytest.mark.parametrize(
    ("hostname", "os_hostname"),
    [
        ("gw2", "gw2"),
        ("gw2.plant-a.example.com", "gw2"),
        ("gw2.plant-a.example.com", "GW2"),
        ("gw2.plant-a.example.com", "gw2.plant-a.example.com"),
        ("192.0.2.20", "gw2"),
    ],
)
def test_accepts_a_hostname_that_iotedge_check_accepts(hostname, os_hostname):
    validate(dict(BASE, hostname=hostname, os_hostname=os_hostname))


@pytest.mark.parametrize(
    ("hostname", "os_hostname"),
    [
        ("edge-line2.plant-a.example.com", "gw2"),
        ("gw2x.plant-a.example.com", "gw2"),
        ("gw2", "gw2.plant-a.example.com"),
    ],
)
def test_refuses_a_hostname_that_iotedge_check_fails(hostname, os_hostname):
    message = refused(dict(BASE, hostname=hostname, os_hostname=os_hostname), hostname, f"'{os_hostname}'")
    assert "iotedge check" in message and "hostnamectl set-hostname" in message


def test_the_example_site_alias_fits_the_os_hostname_rule():
    import pathlib

    import yaml

    hosts = pathlib.Path(__file__).parents[4] / "inventories" / "example-site" / "hosts.yml"
    gateways = yaml.safe_load(hosts.read_text())["all"]["children"]["gateways"]["hosts"]
    for name, hostvars in gateways.items():
        alias = (hostvars or {}).get("edgeops_gateway_hostname")
        if alias:
            # ansible_hostname is the first label of the inventory name on these hosts
            validate(dict(BASE, hostname=alias, os_hostname=name.split(".")[0]))
