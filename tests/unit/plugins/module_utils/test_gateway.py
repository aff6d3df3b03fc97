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
    # restartPolicy, which the module left out, gets edgeAgent's usual value
    assert agent["modules"] == {"filter": dict(modules["filter"], restartPolicy="always")}
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


def desired(manifest, twin="$edgeAgent"):
    return roundtrip(manifest)["modulesContent"][twin]["properties.desired"]


def create_options(settings):
    """createOptions joined again from its parts, in edgeAgent's order, parsed as JSON."""
    keys = ["createOptions", *sorted(key for key in settings if key.startswith("createOptions") and key[-1].isdigit())]
    for index, key in enumerate(keys[1:], start=1):
        assert key == f"createOptions{index:02d}"
    assert all(len(settings[key]) <= 512 for key in keys)
    return json.loads("".join(settings[key] for key in keys))


def test_ports_per_gateway_a_nested_top_layer_leaves_443_to_the_api_proxy():
    hub = desired(deployment_manifest(ports=[8883, 5671]))["systemModules"]["edgeHub"]
    assert create_options(hub["settings"]) == {
        "HostConfig": {"PortBindings": {"8883/tcp": [{"HostPort": "8883"}], "5671/tcp": [{"HostPort": "5671"}]}}
    }
    via_filter = desired(FILTERS["deployment_manifest"]("1.5", ports=[8883]))["systemModules"]["edgeHub"]
    assert list(create_options(via_filter["settings"])["HostConfig"]["PortBindings"]) == ["8883/tcp"]


@pytest.mark.parametrize(
    ("ports", "fragment"),
    [
        ([], "non-empty list"),
        ("8883", "non-empty list"),
        ([0], "from 1 to 65535"),
        ([70000], "from 1 to 65535"),
        (["8883"], "from 1 to 65535"),
        ([True], "from 1 to 65535"),
        ([8883, 8883], "listed twice"),
    ],
)
def test_refuses_bad_ports(ports, fragment):
    with pytest.raises(GatewayError, match=fragment):
        deployment_manifest(ports=ports)


@pytest.mark.parametrize(
    ("version", "runtime", "tag"),
    [
        ("", "1.6", "1.6"),
        (None, "1.5", "1.5"),
        ("", "1.6.2-1", "1.6"),
        ("", "1.5.21~ubuntu22.04", "1.5"),
        ("1.5.21", "1.6", "1.5.21"),
        ("", "", "1.5"),
    ],
)
def test_image_tags_follow_the_installed_runtime_unless_given(version, runtime, tag):
    agent = desired(FILTERS["deployment_manifest"](version, runtime_version=runtime))
    assert agent["systemModules"]["edgeAgent"]["settings"]["image"] == f"mcr.microsoft.com/azureiotedge-agent:{tag}"
    assert agent["systemModules"]["edgeHub"]["settings"]["image"] == f"mcr.microsoft.com/azureiotedge-hub:{tag}"


def test_refuses_a_runtime_version_that_is_no_version():
    with pytest.raises(GatewayError, match="runtime_version 'latest' is not an IoT Edge version"):
        deployment_manifest(runtime_version="latest")


def test_hub_env_and_host_storage_survive_a_recreated_container():
    manifest = deployment_manifest(
        hub_env={"https_proxy": "http://proxy:3128", "UpstreamProtocol": "AmqpWs", "MaxUpstreamBatchSize": 20},
        agent_env={"UpstreamProtocol": "AmqpWs"},
        hub_storage="/var/lib/edgehub/",
    )
    modules = desired(manifest)["systemModules"]
    hub = modules["edgeHub"]
    assert hub["env"] == {
        "MaxUpstreamBatchSize": {"value": "20"},
        "UpstreamProtocol": {"value": "AmqpWs"},
        "https_proxy": {"value": "http://proxy:3128"},
        "storageFolder": {"value": "/iotedge/storage"},
    }
    options = create_options(hub["settings"])
    assert options["HostConfig"]["Binds"] == ["/var/lib/edgehub:/iotedge/storage"]
    assert set(options["HostConfig"]["PortBindings"]) == {"8883/tcp", "5671/tcp", "443/tcp"}
    assert modules["edgeAgent"]["env"] == {"UpstreamProtocol": {"value": "AmqpWs"}}


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"hub_storage": "relative/dir"}, "absolute folder"),
        ({"hub_storage": "/a:b"}, "without ':'"),
        ({"hub_storage": "/srv/edgehub", "hub_env": {"storageFolder": "/tmp"}}, "is not where hub_storage is mounted"),
        ({"hub_env": {"bad name": "x"}}, "not an environment variable name"),
        ({"hub_env": {"Flag": True}}, "must be a string"),
        ({"agent_env": ["x"]}, "agent_env must be a mapping"),
    ],
)
def test_refuses_bad_env_and_storage(kwargs, fragment):
    with pytest.raises(GatewayError, match=fragment):
        deployment_manifest(**kwargs)


def test_route_objects_beside_strings():
    routes = {
        "alarms": {
            "route": "FROM /messages/modules/plc/outputs/alarms INTO $upstream",
            "priority": 0,
            "timeToLiveSecs": 86400,
        },
        "bulk": {"route": "FROM /messages/* INTO $upstream", "priority": 9, "timeToLiveSecs": 0},
        "plain": "FROM /messages/modules/filter/* INTO $upstream",
    }
    hub = desired(deployment_manifest(routes=routes), "$edgeHub")
    assert hub["routes"] == routes
    assert hub["schemaVersion"] == "1.1"


@pytest.mark.parametrize(
    ("route", "fragment"),
    [
        ({"route": "FROM /* INTO $upstream", "priority": 10}, "from 0 \\(highest\\) to 9"),
        ({"route": "FROM /* INTO $upstream", "priority": -1}, "from 0 \\(highest\\) to 9"),
        ({"route": "FROM /* INTO $upstream", "priority": "1"}, "from 0 \\(highest\\) to 9"),
        ({"route": "FROM /* INTO $upstream", "timeToLiveSecs": -5}, "0 or more"),
        ({"route": "FROM /* INTO $upstream", "timeToLiveSecs": True}, "0 or more"),
        ({"route": "INTO $upstream"}, "starting with FROM"),
        ({"priority": 1}, "starting with FROM"),
        ({"route": "FROM /* INTO $upstream", "ttl": 5}, "unknown keys ttl"),
    ],
)
def test_refuses_bad_route_objects(route, fragment):
    with pytest.raises(GatewayError, match=fragment):
        deployment_manifest(routes={"r": route})


def test_long_create_options_are_split_at_512_characters_for_every_module():
    binds = [f"/srv/data/{i:03d}:/data/{i:03d}" for i in range(40)]
    options = {"HostConfig": {"Binds": binds, "Privileged": False}}
    text = json.dumps(options, sort_keys=True, separators=(",", ":"))
    assert len(text) > 1024
    modules = {
        "plc": {"settings": {"image": "r.local/plc:1", "createOptions": options}},
        "short": {"settings": {"image": "r.local/short:1", "createOptions": '{"User": "1000"}'}},
    }
    manifest = deployment_manifest(modules=modules, hub_storage="/srv/" + "h" * 600)
    agent = desired(manifest)
    plc = agent["modules"]["plc"]["settings"]
    assert "createOptions02" in plc and "createOptions03" not in plc
    assert plc["createOptions"] + plc["createOptions01"] + plc["createOptions02"] == text
    assert create_options(plc) == options
    assert agent["modules"]["short"]["settings"]["createOptions"] == '{"User": "1000"}'
    hub = agent["systemModules"]["edgeHub"]["settings"]
    assert "createOptions01" in hub
    assert create_options(hub)["HostConfig"]["Binds"] == ["/srv/" + "h" * 600 + ":/iotedge/storage"]
    assert agent["systemModules"]["edgeAgent"]["settings"]["createOptions"] == "{}"


@pytest.mark.parametrize(
    ("module", "fragment"),
    [
        ({"settings": {"image": "i", "createOptions": "{not json"}}, "not valid JSON"),
        ({"settings": {"image": "i", "createOptions": "[1]"}}, "must be a mapping"),
        ({"settings": {"image": "i", "createOptions": "{}", "createOptions01": "x"}}, "give the whole createOptions"),
        ({"settings": {"image": "i", "createOptions": {"Env": ["x" * 60000]}}}, "at most 100 parts"),
        ({"settings": {}}, "needs settings.image"),
        ({"type": "rkt", "settings": {"image": "i"}}, "is not docker"),
        ({"status": "paused", "settings": {"image": "i"}}, "status 'paused'"),
        ({"restartPolicy": "sometimes", "settings": {"image": "i"}}, "restartPolicy 'sometimes'"),
        ({"env": {"A": "b"}, "settings": {"image": "i"}}, "env must map each variable"),
    ],
)
def test_refuses_modules_edge_agent_cannot_run(module, fragment):
    with pytest.raises(GatewayError, match=fragment):
        deployment_manifest(modules={"m": module})


def test_registry_credentials_from_given_credentials():
    credentials = {"site": {"address": "myregistry.azurecr.io", "username": "gw", "password": "Reg-Pa55"}}
    settings = desired(deployment_manifest(registry_credentials=credentials))["runtime"]["settings"]
    assert settings["registryCredentials"] == credentials
    assert desired(deployment_manifest())["runtime"]["settings"]["registryCredentials"] == {}


@pytest.mark.parametrize(
    ("credentials", "fragment"),
    [
        ({"site": {"address": "r.example", "username": "gw", "password": ""}}, "needs password"),
        ({"site": {"address": "https://r.example", "username": "gw", "password": "Reg-Pa55"}}, "registry host"),
        ({"site": {"address": "r.example", "username": "gw", "password": "Reg-Pa55", "email": "x"}}, "only"),
        ({"bad name": {"address": "r", "username": "gw", "password": "Reg-Pa55"}}, "letters, digits"),
        (["Reg-Pa55"], "must be a mapping"),
    ],
)
def test_refuses_bad_registry_credentials_without_the_password(credentials, fragment):
    with pytest.raises(AnsibleFilterError) as info:
        FILTERS["deployment_manifest"]("1.5", registry_credentials=credentials)
    assert fragment in str(info.value)
    assert "Reg-Pa55" not in str(info.value)
    assert info.value.__cause__ is None


def test_the_manifest_is_json_all_the_way_down():
    with pytest.raises(GatewayError, match="cannot be written as JSON"):
        deployment_manifest(modules={"m": {"settings": {"image": "i", "extra": {1, 2}}}})


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
