# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side helpers of the gateway role: the IoT Edge deployment manifest of a transparent
gateway and the connection settings of its downstream devices."""

from __future__ import annotations

import json
import re

from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import hostname_problem

# The ports edgeHub serves to downstream devices: MQTT over TLS, AMQP over TLS, HTTPS and
# MQTT/AMQP over WebSockets.
GATEWAY_PORTS = (8883, 5671, 443)
DEFAULT_ROUTES = {"upstream": "FROM /* INTO $upstream"}
_VERSION = re.compile(r"^[0-9]+\.[0-9]+(\.[0-9]+)?$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]*$")


class GatewayError(Exception):
    """Invalid input for a manifest or downstream settings; the message says how to fix it."""


def _create_options(ports):
    bindings = {f"{port}/tcp": [{"HostPort": str(port)}] for port in ports}
    # IoT Hub expects createOptions as a JSON string, not an object.
    return json.dumps({"HostConfig": {"PortBindings": bindings}}, sort_keys=True, separators=(",", ":"))


def deployment_manifest(
    version="1.5",
    routes=None,
    modules=None,
    registry="mcr.microsoft.com",
    store_and_forward_ttl=7200,
    ports=GATEWAY_PORTS,
):
    """The deployment manifest (``modulesContent``) of a transparent gateway, as a dict."""
    if not _VERSION.match(str(version)):
        raise GatewayError(f"version '{version}' is not an IoT Edge image tag such as '1.5', '1.6' or '1.5.21'")
    routes = DEFAULT_ROUTES if routes is None else routes
    if not isinstance(routes, dict) or not routes:
        raise GatewayError(
            "routes must be a non-empty mapping of route name to route, e.g. {upstream: 'FROM /* INTO $upstream'}"
        )
    for name, route in routes.items():
        if not _NAME.match(str(name)):
            raise GatewayError(f"route name '{name}' must be letters, digits, '-' or '_'")
        if not isinstance(route, str) or not route.strip().upper().startswith("FROM "):
            raise GatewayError(f"route '{name}' must be a string starting with FROM, e.g. 'FROM /* INTO $upstream'")
    modules = modules or {}
    if not isinstance(modules, dict):
        raise GatewayError("modules must be a mapping of module name to its edgeAgent module definition")
    for name in modules:
        if name in ("edgeAgent", "edgeHub") or not _NAME.match(str(name)):
            raise GatewayError(
                f"module name '{name}' is reserved or invalid; use letters, digits, '-' or '_' and not edgeAgent/edgeHub"
            )
    try:
        ttl = int(store_and_forward_ttl)
    except (TypeError, ValueError):
        ttl = -1
    if ttl <= 0:
        raise GatewayError(f"store_and_forward_ttl '{store_and_forward_ttl}' must be a positive number of seconds")
    image = f"{registry}/azureiotedge-%s:{version}"
    return {
        "modulesContent": {
            "$edgeAgent": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "runtime": {
                        "type": "docker",
                        "settings": {"minDockerVersion": "v1.25", "loggingOptions": "", "registryCredentials": {}},
                    },
                    "systemModules": {
                        "edgeAgent": {
                            "type": "docker",
                            "settings": {"image": image % "agent", "createOptions": "{}"},
                        },
                        "edgeHub": {
                            "type": "docker",
                            "status": "running",
                            "restartPolicy": "always",
                            "settings": {"image": image % "hub", "createOptions": _create_options(ports)},
                        },
                    },
                    "modules": modules,
                }
            },
            "$edgeHub": {
                "properties.desired": {
                    "schemaVersion": "1.1",
                    "routes": dict(routes),
                    "storeAndForwardConfiguration": {"timeToLiveSecs": ttl},
                }
            },
        }
    }


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
