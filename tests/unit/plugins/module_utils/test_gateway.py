# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Deployment manifest and downstream connection strings (module_utils/_gateway.py and the filters)."""

from __future__ import annotations

import json

import pytest
from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.filter.gateway import FilterModule
from ansible_collections.edgeops.gateway.plugins.module_utils._gateway import (
    GatewayError,
    deployment_manifest,
    downstream_connection_string,
)

FILTERS = FilterModule().filters()


def roundtrip(manifest):
    """What the role writes: the manifest as JSON text, parsed back."""
    return json.loads(json.dumps(manifest, indent=4, sort_keys=True))


def test_default_manifest_is_a_transparent_gateway():
    manifest = roundtrip(deployment_manifest())
    agent = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    hub = manifest["modulesContent"]["$edgeHub"]["properties.desired"]
    assert agent["systemModules"]["edgeAgent"]["settings"]["image"] == "mcr.microsoft.com/azureiotedge-agent:1.5"
    edge_hub = agent["systemModules"]["edgeHub"]
    assert edge_hub["settings"]["image"] == "mcr.microsoft.com/azureiotedge-hub:1.5"
    assert edge_hub["status"] == "running"
    # createOptions is a JSON document inside a string, as IoT Hub expects it
    options = json.loads(edge_hub["settings"]["createOptions"])
    assert options == {
        "HostConfig": {
            "PortBindings": {
                "8883/tcp": [{"HostPort": "8883"}],
                "5671/tcp": [{"HostPort": "5671"}],
                "443/tcp": [{"HostPort": "443"}],
            }
        }
    }
    assert hub["routes"] == {"upstream": "FROM /* INTO $upstream"}
    assert hub["schemaVersion"] == "1.1"
    assert hub["storeAndForwardConfiguration"] == {"timeToLiveSecs": 7200}
    assert agent["modules"] == {}


def test_routes_modules_and_version_are_overridable():
    routes = {"telemetry": "FROM /messages/modules/filter/* INTO $upstream"}
    modules = {"filter": {"type": "docker", "status": "running", "settings": {"image": "registry.local/filter:1"}}}
    manifest = roundtrip(FILTERS["deployment_manifest"]("1.6", routes=routes, modules=modules, registry="mirror.local"))
    agent = manifest["modulesContent"]["$edgeAgent"]["properties.desired"]
    assert manifest["modulesContent"]["$edgeHub"]["properties.desired"]["routes"] == routes
    assert agent["modules"] == modules
    assert agent["systemModules"]["edgeHub"]["settings"]["image"] == "mirror.local/azureiotedge-hub:1.6"


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"version": "latest"}, "not an IoT Edge image tag"),
        ({"routes": {}}, "non-empty mapping"),
        ({"routes": {"up": "INTO $upstream"}}, "must be a string starting with FROM"),
        ({"routes": {"bad name": "FROM /* INTO $upstream"}}, "route name 'bad name'"),
        ({"modules": {"edgeHub": {}}}, "reserved or invalid"),
        ({"modules": ["x"]}, "mapping of module name"),
        ({"store_and_forward_ttl": 0}, "positive number of seconds"),
    ],
)
def test_manifest_refuses_bad_input(kwargs, fragment):
    with pytest.raises(GatewayError, match=fragment):
        deployment_manifest(**kwargs)


def test_manifest_filter_turns_errors_into_filter_errors():
    with pytest.raises(AnsibleFilterError, match="deployment_manifest: version 'x'"):
        FILTERS["deployment_manifest"]("x")


CONN = "HostName=hub1.azure-devices.net;DeviceId=dev1;SharedAccessKey=ZGV2aWNla2V5"


def test_gateway_hostname_is_appended():
    assert downstream_connection_string(CONN, "gw1.site-a.lab") == CONN + ";GatewayHostName=gw1.site-a.lab"


def test_a_previous_gateway_hostname_is_replaced_and_trailing_semicolon_ignored():
    old = CONN + ";GatewayHostName=old.example;"
    assert downstream_connection_string(old, "gw1.site-a.lab") == CONN + ";GatewayHostName=gw1.site-a.lab"


def test_x509_device_connection_string():
    conn = "HostName=hub1.azure-devices.net;DeviceId=dev1;x509=true"
    assert downstream_connection_string(conn, "gw1").endswith(";x509=true;GatewayHostName=gw1")


@pytest.mark.parametrize(
    ("conn", "fragment"),
    [
        ("HostName=hub1.azure-devices.net;SharedAccessKey=c2VjcmV0", "lacks DeviceId"),
        ("HostName=hub1.azure-devices.net;DeviceId=dev1", "SharedAccessKey (or x509=true)"),
        ("just-a-key-c2VjcmV0", "not a list of Key=Value pairs"),
        ("", "not a list of Key=Value pairs"),
    ],
)
def test_bad_connection_strings_are_refused_without_echoing_them(conn, fragment):
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["downstream_connection_string"](conn, "gw1.site-a.lab")
    assert fragment in str(info.value)
    assert "c2VjcmV0" not in str(info.value)
    assert info.value.__cause__ is None


def test_upper_case_gateway_hostname_is_refused():
    with pytest.raises(GatewayError, match="not lowercase"):
        downstream_connection_string(CONN, "GW1.site-a.lab")
