# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers of the gateway role: the IoT Edge deployment manifest of a transparent
gateway and the connection settings of its downstream devices."""

from __future__ import annotations

import json
import re

from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import hostname_problem
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_options import IotEdgeConfigError, env_entries

# The ports edgeHub serves to downstream devices: MQTT over TLS, AMQP over TLS, HTTPS and
# MQTT/AMQP over WebSockets. A nested top layer whose API proxy module owns 443 binds only 8883 and 5671.
GATEWAY_PORTS = (8883, 5671, 443)
DEFAULT_ROUTES = {"upstream": "FROM /* INTO $upstream"}
DEFAULT_VERSION = "1.5"
# edgeHub's store-and-forward folder inside its container (storageFolder) when it lives on the host.
HUB_STORAGE = "/iotedge/storage"
# One twin value holds at most 512 characters; edgeAgent reads createOptions, createOptions01 .. createOptions99
# (Microsoft.Azure.Devices.Edge.Agent.Docker Constants: TwinValueMaxSize 512, TwinValueMaxChunks 100).
CHUNK_SIZE = 512
MAX_CHUNKS = 100
MODULE_STATUS = ("running", "stopped")
RESTART_POLICIES = ("never", "on-failure", "on-unhealthy", "always")
ROUTE_KEYS = ("route", "priority", "timeToLiveSecs")
_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
# what the gateway role takes as gateway_iotedge_version: 1.5, 1.6 or an aziot-edge package version (1.5.21-1)
_RUNTIME_VERSION = re.compile(r"^([0-9]+)\.([0-9]+)(\.[0-9]+)?([-~+][0-9A-Za-z.~+-]+)?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
_CHUNK_KEY = re.compile(r"^createOptions[0-9]+$", re.I)


class GatewayError(Exception):
    """Invalid input for a manifest or downstream settings; the message says how to fix it."""


def image_tag(version=None, runtime_version=None):
    """The edgeAgent/edgeHub tag: ``version`` when given, else major.minor of the installed runtime."""
    if version:
        if not _VERSION.match(str(version)):
            raise GatewayError(f"version '{version}' is not an IoT Edge image tag such as '1.5', '1.6' or '1.5.21'")
        return str(version)
    if runtime_version:
        match = _RUNTIME_VERSION.match(str(runtime_version))
        if not match:
            raise GatewayError(
                f"runtime_version '{runtime_version}' is not an IoT Edge version such as '1.5', '1.6' or '1.5.21-1'; "
                "give gateway_iotedge_version as installed, or the image tag as version"
            )
        return f"{match.group(1)}.{match.group(2)}"
    return DEFAULT_VERSION


def _ports(ports):
    if isinstance(ports, (str, dict)) or not ports:
        raise GatewayError(
            "ports must be a non-empty list of port numbers edgeHub binds on the host, e.g. [8883, 5671]"
        )
    seen = []
    for port in ports:
        if isinstance(port, bool) or not isinstance(port, int) or not 0 < port < 65536:
            raise GatewayError(f"port {port!r} is not a port number from 1 to 65535; list ports as numbers, e.g. 8883")
        if port in seen:
            raise GatewayError(f"port {port} is listed twice in ports")
        seen.append(port)
    return seen


def _env(entries, option):
    try:
        env = env_entries(entries or {}, option)
    except IotEdgeConfigError as exc:
        raise GatewayError(str(exc)) from None
    return {name: {"value": env[name]} for name in sorted(env)}


def _hub_storage(path):
    if not isinstance(path, str) or not path.startswith("/") or ":" in path or any(c.isspace() for c in path):
        raise GatewayError(
            f"hub_storage '{path}' must be an absolute folder on the gateway without ':' or spaces, e.g. "
            "/var/lib/edgehub (owned by UID 1000, edgeHub's user, mode 0700)"
        )
    return [f"{path.rstrip('/') or '/'}:{HUB_STORAGE}"]


def _hub_create_options(ports, binds):
    host_config = {"PortBindings": {f"{port}/tcp": [{"HostPort": str(port)}] for port in ports}}
    if binds:
        host_config["Binds"] = binds
    return {"HostConfig": host_config}


def _create_options_text(value, where):
    """createOptions as edgeAgent expects it: a JSON object in a string."""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    if isinstance(value, str):
        try:
            parsed = json.loads(value)
        except ValueError as exc:
            raise GatewayError(
                f"{where} createOptions is not valid JSON ({exc}); give it as a mapping instead"
            ) from None
        if isinstance(parsed, dict):
            return value
    raise GatewayError(f"{where} createOptions must be a mapping (or its JSON text), e.g. {{HostConfig: {{...}}}}")


def split_create_options(settings, value, where):
    """Put createOptions into ``settings``, split into createOptions, createOptions01, ... of 512 characters."""
    text = _create_options_text(value, where)
    chunks = [text[start : start + CHUNK_SIZE] for start in range(0, len(text), CHUNK_SIZE)] or [""]
    if len(chunks) > MAX_CHUNKS:
        raise GatewayError(
            f"{where} createOptions is {len(text)} characters; edgeAgent reads at most {MAX_CHUNKS} parts of "
            f"{CHUNK_SIZE} ({MAX_CHUNKS * CHUNK_SIZE} characters). Move long content (such as environment) to env"
        )
    for index, chunk in enumerate(chunks):
        settings["createOptions" if index == 0 else f"createOptions{index:02d}"] = chunk
    return settings


def _routes(routes):
    routes = DEFAULT_ROUTES if routes is None else routes
    if not isinstance(routes, dict) or not routes:
        raise GatewayError(
            "routes must be a non-empty mapping of route name to route, e.g. {upstream: 'FROM /* INTO $upstream'}"
        )
    out = {}
    for name, route in routes.items():
        if not _NAME.match(str(name)):
            raise GatewayError(f"route name '{name}' must be letters, digits, '-' or '_'")
        text = route.get("route") if isinstance(route, dict) else route
        if not isinstance(text, str) or not text.strip().upper().startswith("FROM "):
            raise GatewayError(
                f"route '{name}' must be a string starting with FROM, e.g. 'FROM /* INTO $upstream', or a mapping "
                "{route: 'FROM ...', priority: 0-9, timeToLiveSecs: seconds}"
            )
        if isinstance(route, dict):
            unknown = sorted(str(key) for key in route if key not in ROUTE_KEYS)
            if unknown:
                raise GatewayError(
                    f"route '{name}' has unknown keys " + ", ".join(unknown) + "; a route object holds route, "
                    "priority and timeToLiveSecs"
                )
            priority = route.get("priority", 0)
            if isinstance(priority, bool) or not isinstance(priority, int) or not 0 <= priority <= 9:
                raise GatewayError(f"route '{name}' priority {priority!r} must be a whole number from 0 (highest) to 9")
            ttl = route.get("timeToLiveSecs")
            if ttl is not None and (isinstance(ttl, bool) or not isinstance(ttl, int) or ttl < 0):
                raise GatewayError(
                    f"route '{name}' timeToLiveSecs {ttl!r} must be a whole number of seconds, 0 or more"
                )
            out[name] = {key: route[key] for key in ROUTE_KEYS if key in route}
        else:
            out[name] = route
    return out


def _module(name, module):
    """A user module: docker, an image, status and restart policy (defaults running / always), env and
    createOptions in edgeAgent's shapes."""
    where = f"module '{name}'"
    if not isinstance(module, dict):
        raise GatewayError(f"{where} must be a mapping with type, status, restartPolicy and settings.image")
    if module.get("type", "docker") != "docker":
        raise GatewayError(f"{where} type '{module.get('type')}' is not docker, the only type edgeAgent runs")
    settings = module.get("settings")
    if not isinstance(settings, dict) or not isinstance(settings.get("image"), str) or not settings["image"]:
        raise GatewayError(f"{where} needs settings.image, e.g. settings: {{image: myregistry.azurecr.io/filter:1.0}}")
    out = dict(module, type="docker")
    out.setdefault("status", "running")
    out.setdefault("restartPolicy", "always")
    if out["status"] not in MODULE_STATUS:
        raise GatewayError(f"{where} status '{out['status']}' must be one of " + ", ".join(MODULE_STATUS))
    if out["restartPolicy"] not in RESTART_POLICIES:
        raise GatewayError(
            f"{where} restartPolicy '{out['restartPolicy']}' must be one of " + ", ".join(RESTART_POLICIES)
        )
    if "env" in module:
        env = module["env"]
        if not isinstance(env, dict) or not all(isinstance(v, dict) and set(v) == {"value"} for v in env.values()):
            raise GatewayError(
                f"{where} env must map each variable to {{value: ...}}, e.g. env: {{LogLevel: {{value: debug}}}}"
            )
    if any(_CHUNK_KEY.match(str(key)) for key in settings):
        raise GatewayError(
            f"{where} has createOptions01...; give the whole createOptions (a mapping) and the filter splits it"
        )
    new_settings = {key: value for key, value in settings.items() if key != "createOptions"}
    if "createOptions" in settings:
        split_create_options(new_settings, settings["createOptions"], where)
    out["settings"] = new_settings
    return out


def _registry_credentials(credentials):
    """runtime.settings.registryCredentials; messages never name a password."""
    if not credentials:
        return {}
    if not isinstance(credentials, dict):
        raise GatewayError("registry_credentials must be a mapping of name to {address, username, password}")
    out = {}
    for name, entry in credentials.items():
        if not _NAME.match(str(name)):
            raise GatewayError(f"registry credential name '{name}' must be letters, digits, '-' or '_'")
        if not isinstance(entry, dict) or set(entry) - {"address", "username", "password"}:
            raise GatewayError(
                f"registry credential '{name}' must be a mapping with address, username and password only"
            )
        missing = [
            key for key in ("address", "username", "password") if not isinstance(entry.get(key), str) or not entry[key]
        ]
        if missing:
            raise GatewayError(f"registry credential '{name}' needs " + ", ".join(missing) + " (non-empty strings)")
        if "://" in entry["address"] or "/" in entry["address"]:
            raise GatewayError(
                f"registry credential '{name}' address '{entry['address']}' must be the registry host (and port) "
                "only, e.g. myregistry.azurecr.io"
            )
        out[name] = {key: entry[key] for key in ("address", "username", "password")}
    return out


def deployment_manifest(
    version=None,
    routes=None,
    modules=None,
    registry="mcr.microsoft.com",
    store_and_forward_ttl=7200,
    ports=GATEWAY_PORTS,
    runtime_version=None,
    hub_env=None,
    agent_env=None,
    hub_storage=None,
    registry_credentials=None,
):
    """The deployment manifest (``modulesContent``) of a transparent gateway, as a dict."""
    tag = image_tag(version, runtime_version)
    routes = _routes(routes)
    modules = modules or {}
    if not isinstance(modules, dict):
        raise GatewayError("modules must be a mapping of module name to its edgeAgent module definition")
    for name in modules:
        if name in ("edgeAgent", "edgeHub") or not _NAME.match(str(name)):
            raise GatewayError(
                f"module name '{name}' is reserved or invalid; use letters, digits, '-' or '_' and not edgeAgent/edgeHub"
            )
    modules = {name: _module(name, module) for name, module in modules.items()}
    try:
        ttl = int(store_and_forward_ttl)
    except (TypeError, ValueError):
        ttl = -1
    if ttl <= 0:
        raise GatewayError(f"store_and_forward_ttl '{store_and_forward_ttl}' must be a positive number of seconds")
    hub_environment = _env(hub_env, "hub_env")
    binds = []
    if hub_storage:
        binds = _hub_storage(hub_storage)
        folder = hub_environment.get("storageFolder", {"value": HUB_STORAGE})["value"]
        if folder != HUB_STORAGE:
            raise GatewayError(
                f"hub_env storageFolder '{folder}' is not where hub_storage is mounted ({HUB_STORAGE}); remove "
                "storageFolder from hub_env, the filter sets it"
            )
        hub_environment["storageFolder"] = {"value": HUB_STORAGE}
    image = f"{registry}/azureiotedge-%s:{tag}"
    edge_agent = {"type": "docker", "settings": split_create_options({"image": image % "agent"}, "{}", "edgeAgent")}
    agent_environment = _env(agent_env, "agent_env")
    if agent_environment:
        edge_agent["env"] = agent_environment
    edge_hub = {
        "type": "docker",
        "status": "running",
        "restartPolicy": "always",
        "settings": split_create_options(
            {"image": image % "hub"}, _hub_create_options(_ports(ports), binds), "edgeHub"
        ),
    }
    if hub_environment:
        edge_hub["env"] = dict(sorted(hub_environment.items()))
    manifest = {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {
                        "type": "docker",
                        "settings": {
                            "minDockerVersion": "v1.25",
                            "loggingOptions": "",
                            "registryCredentials": _registry_credentials(registry_credentials),
                        },
                    },
                    "systemModules": {"edgeAgent": edge_agent, "edgeHub": edge_hub},
                    "modules": modules,
                }
            },
            "$edgeHub": {
                "properties.desired": {
                    # route objects {route, priority, timeToLiveSecs} need edgeHub schema 1.1
                    "schemaVersion": "1.1",
                    "routes": routes,
                    "storeAndForwardConfiguration": {"timeToLiveSecs": ttl},
                }
            },
        }
    }
    try:
        # what IoT Hub receives is JSON: anything json cannot write (a set, bytes, NaN) is refused here
        json.dumps(manifest, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise GatewayError(
            f"the manifest cannot be written as JSON ({exc}); give plain strings, numbers and mappings"
        ) from None
    return manifest


def downstream_connection_string(connection_string, gateway_hostname):
    """Append GatewayHostName=<gateway> to a device connection string (replacing any previous one)."""
    problem = hostname_problem(gateway_hostname, "the gateway hostname", allow_ip=True)
    if problem:
        raise GatewayError(problem + " (edgeops_gateway_hostname)")
    parts = []
    keys = set()
    for item in str(connection_string or "").strip().strip(";").split(";"):
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GatewayError(
                "the device connection string is not a list of Key=Value pairs separated by ';'; copy it again from "
                "IoT Hub (HostName=<hub>.azure-devices.net;DeviceId=<id>;SharedAccessKey=<key>)"
            )
        if key.strip().lower() == "gatewayhostname":
            continue
        keys.add(key.strip())
        parts.append(f"{key.strip()}={value}")
    missing = [key for key in ("HostName", "DeviceId") if key not in keys]
    if not keys & {"SharedAccessKey", "SharedAccessSignature", "x509"}:
        missing.append("SharedAccessKey (or x509=true)")
    if missing:
        raise GatewayError(
            "the device connection string lacks "
            + ", ".join(missing)
            + "; use the device's connection string from IoT Hub, not the hub's or the gateway's"
        )
    parts.append(f"GatewayHostName={gateway_hostname}")
    return ";".join(parts)
