# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IoT Hub side of a site as a plan: its devices, their authentication, the parent-child links and
the deployments, as data (JSON) and as an Azure CLI script that is safe to run twice.

Private to the collection, pure Python (no Ansible, no I/O); the backend of the iothub_plan module.
The script uses only commands and flags of the azure-iot extension of the Azure CLI:
``az iot hub device-identity show|create`` (``--device-id``, ``--edge-enabled``, ``--auth-method``,
``--primary-thumbprint``, ``--secondary-thumbprint``), ``az iot hub device-identity parent show|set``
(``--parent-device-id``, ``--force``) and ``az iot edge set-modules`` (``--content``), with ``--hub-name``
or ``--login`` and the global ``--query`` and ``--output``.
"""

from __future__ import annotations

import shlex

from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_names import (
    device_id_problem,
    hub_name_problem,
    thumbprint_problem,
)

PLAN_VERSION = 1
AUTH_TYPES = ("sas", "x509_thumbprint", "x509_ca")
# the az --auth-method value of each
AZ_AUTH = {"sas": "shared_private_key", "x509_thumbprint": "x509_thumbprint", "x509_ca": "x509_ca"}
# how an iotedge gateway authenticates, by its gateway_iotedge_provisioning
GATEWAY_AUTH = {
    "manual_connection_string": "sas",
    "manual_x509": "x509_thumbprint",
    "dps_symmetric_key": "dps",
    "dps_x509": "dps",
}
# the certificate that identifies a host to IoT Hub, relative to the site PKI; a root rotation's
# certificates under next/ give the secondary thumbprint
GATEWAY_CERT = "gateways/{name}/identity.pem"
DEVICE_CERT = "devices/{name}/device.pem"
NEXT_PREFIX = "next/"
CA_CERTS = ("root-ca.pem", "intermediate-ca.pem")


class PlanError(Exception):
    """The plan cannot be made; ``problems`` holds every message."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _thumbprints(certificates):
    found = {}
    for cert in certificates or []:
        rel = cert.get("relative_path")
        if rel and cert.get("thumbprint_sha256"):
            found[rel] = cert["thumbprint_sha256"].upper()
    return found


def _auth(kind, rel, thumbprints, host, problems):
    auth = {"type": kind}
    if kind == "x509_thumbprint":
        primary = thumbprints.get(rel)
        if primary is None:
            problems.append(
                f"{host} authenticates with x509_thumbprint but the site PKI has no {rel}; run playbooks/pki.yml "
                "first (for a gateway with pki_identity_enabled: true), or set edgeops_iothub_auth"
            )
            return auth
        auth["primary_thumbprint"] = primary
        auth["certificate"] = rel
        secondary = thumbprints.get(NEXT_PREFIX + rel)
        if secondary:
            auth["secondary_thumbprint"] = secondary
            auth["secondary_certificate"] = NEXT_PREFIX + rel
        for key in ("primary_thumbprint", "secondary_thumbprint"):
            problem = thumbprint_problem(auth[key], f"the {key.replace('_', ' ')} of {host}") if key in auth else None
            if problem:
                problems.append(problem)
    return auth


def build_plan(site, hierarchy, certificates=None, hub_name=None, hub_hostname=None, deployments=None):
    """The plan of ``site`` as a dict; raises PlanError naming every problem.

    ``hierarchy`` is what the hierarchy filter returns; ``certificates`` is pki_report's list;
    ``deployments`` maps a gateway's inventory name to its deployment manifest file (existing files only).
    """
    problems = []
    if hub_name is not None:
        problem = hub_name_problem(hub_name)
        if problem:
            problems.append(problem)
    sites = hierarchy.get("sites") or {}
    if site not in sites:
        raise PlanError(
            [
                f"the hierarchy has no host of site {site!r} (sites: {', '.join(repr(s) for s in sorted(sites)) or 'none'}); "
                "pass the site's edgeops_site as site"
            ]
        )
    gws = hierarchy["gateways"]
    devs = hierarchy["devices"]
    deployments = deployments or {}
    thumbprints = _thumbprints(certificates)
    edge_devices, leaf_devices, links, not_registered = [], [], [], []
    for name in sites[site]["gateways"]:
        gw = gws[name]
        if not gw.get("registered"):
            not_registered.append(
                {
                    "host": name,
                    "reason": f"runtime {gw['runtime']} is not IoT Edge: the gateway has no IoT Hub identity",
                }
            )
            continue
        kind = gw.get("auth") or GATEWAY_AUTH.get(gw["provisioning"], "sas")
        if kind not in (*AUTH_TYPES, "dps"):
            problems.append(f"gateway {name}: edgeops_iothub_auth {kind!r} is not one of {', '.join(AUTH_TYPES)}")
            continue
        problem = device_id_problem(gw["device_id"], f"the device id of {name}")
        if problem:
            problems.append(problem)
        parent = gws[gw["parent"]]["device_id"] if gw.get("parent") else None
        entry = {
            "host": name,
            "device_id": gw["device_id"],
            "edge_enabled": True,
            "hostname": gw["hostname"],
            "layer": gw["depth"],
            "parent": parent,
            "auth": _auth(kind, GATEWAY_CERT.format(name=name), thumbprints, f"gateway {name}", problems),
            "deployment": deployments.get(name),
        }
        if kind == "dps":
            entry["auth"]["note"] = (
                "registered by its DPS enrollment when it first connects; the plan does not create it"
            )
        edge_devices.append(entry)
        if parent:
            links.append({"child": gw["device_id"], "parent": parent, "kind": "gateway"})
    for name in sites[site]["devices"]:
        dev = devs[name]
        if not dev.get("registered"):
            gateway = gws[dev["gateway"]]
            not_registered.append(
                {
                    "host": name,
                    "reason": f"its gateway {dev['gateway']} runs {gateway['runtime']}, not IoT Edge: "
                    "the device has no IoT Hub identity",
                }
            )
            continue
        rel = DEVICE_CERT.format(name=name)
        kind = dev.get("auth") or ("x509_thumbprint" if rel in thumbprints else "sas")
        if kind not in AUTH_TYPES:
            problems.append(f"device {name}: edgeops_iothub_auth {kind!r} is not one of {', '.join(AUTH_TYPES)}")
            continue
        problem = device_id_problem(dev["device_id"], f"the device id of {name}")
        if problem:
            problems.append(problem)
        parent = gws[dev["gateway"]]["device_id"]
        leaf_devices.append(
            {
                "host": name,
                "device_id": dev["device_id"],
                "edge_enabled": False,
                "parent": parent,
                "layer": dev["depth"],
                "auth": _auth(kind, rel, thumbprints, f"device {name}", problems),
            }
        )
        links.append({"child": dev["device_id"], "parent": parent, "kind": "device"})
    if problems:
        raise PlanError(problems)
    uses_ca = any(e["auth"]["type"] == "x509_ca" for e in edge_devices + leaf_devices)
    ca_certificates = []
    if uses_ca:
        for rel in CA_CERTS:
            if rel in thumbprints:
                ca_certificates.append({"certificate": rel, "thumbprint_sha256": thumbprints[rel]})
    plan = {
        "version": PLAN_VERSION,
        "site": site,
        "hub": {"name": hub_name, "hostname": hub_hostname},
        "edge_devices": edge_devices,
        "devices": leaf_devices,
        "links": links,
        "ca_certificates": ca_certificates,
        "not_registered": not_registered,
    }
    plan["steps"] = steps(plan)
    return plan


def steps(plan):
    """The script's steps in order: devices top layer first, then leaf devices, links, deployments."""
    out = []
    for entry in plan["edge_devices"] + plan["devices"]:
        auth = entry["auth"]
        if auth["type"] == "dps":
            out.append(["require_device", entry["device_id"], "provisioned through DPS; it appears after it connects"])
            continue
        args = ["ensure_device", entry["device_id"]]
        if entry["edge_enabled"]:
            args.append("--edge-enabled")
        args += ["--auth-method", AZ_AUTH[auth["type"]]]
        if auth["type"] == "x509_thumbprint":
            args += ["--primary-thumbprint", auth["primary_thumbprint"]]
            if auth.get("secondary_thumbprint"):
                args += ["--secondary-thumbprint", auth["secondary_thumbprint"]]
        out.append(args)
    for link in plan["links"]:
        out.append(["ensure_parent", link["child"], link["parent"]])
    for entry in plan["edge_devices"]:
        if entry["deployment"]:
            out.append(["set_modules", entry["device_id"], entry["deployment"]])
    return out


_HEADER = r"""#!/usr/bin/env bash
# The IoT Hub side of site {site}, written by edgeops.gateway.iothub_plan from {json_name}.
# Needs the Azure CLI with its azure-iot extension (az extension add --name azure-iot).
# The hub: EDGEOPS_IOTHUB_CONNECTION_STRING (a service connection string, given to az as --login) or
# EDGEOPS_IOTHUB_NAME (the hub's name, after az login){default_note}.
# Safe to run again: a device is created only when `show` does not find it, a parent is set only when
# `parent show` names another one (a device that already has a different parent is refused unless
# EDGEOPS_IOTHUB_REPARENT=1, which moves it with --force), and set-modules sets the same deployment again.
# An existing device is not changed: its authentication and edge flag stay as they are.
# Ids and files are passed as --flag=value, so an id that starts with '-' is not read as a flag.
set -euo pipefail

DEFAULT_HUB={default_hub}
if [ -n "${{EDGEOPS_IOTHUB_CONNECTION_STRING:-}}" ]; then
  HUB=(--login="$EDGEOPS_IOTHUB_CONNECTION_STRING")
elif [ -n "${{EDGEOPS_IOTHUB_NAME:-$DEFAULT_HUB}}" ]; then
  HUB=(--hub-name="${{EDGEOPS_IOTHUB_NAME:-$DEFAULT_HUB}}")
else
  echo "set EDGEOPS_IOTHUB_NAME (after az login) or EDGEOPS_IOTHUB_CONNECTION_STRING" >&2
  exit 2
fi

ensure_device() {{  # device id, then the create flags
  local id=$1
  shift
  if az iot hub device-identity show --device-id="$id" "${{HUB[@]}}" --output none 2>/dev/null; then
    echo "exists:  $id"
  else
    az iot hub device-identity create --device-id="$id" "$@" "${{HUB[@]}}" --output none
    echo "created: $id"
  fi
}}

require_device() {{  # device id, why the plan does not create it
  if ! az iot hub device-identity show --device-id="$1" "${{HUB[@]}}" --output none 2>/dev/null; then
    echo "missing: $1 ($2); run this script again once it exists" >&2
    exit 1
  fi
  echo "exists:  $1"
}}

ensure_parent() {{  # child device id, parent (IoT Edge) device id
  local current
  current=$(az iot hub device-identity parent show --device-id="$1" "${{HUB[@]}}" --query deviceId --output tsv 2>/dev/null || true)
  if [ "$current" = "$2" ]; then
    echo "parent:  $1 -> $2 (already set)"
    return 0
  fi
  if [ -z "$current" ]; then
    az iot hub device-identity parent set --device-id="$1" --parent-device-id="$2" "${{HUB[@]}}" --output none
  elif [ "${{EDGEOPS_IOTHUB_REPARENT:-}}" = 1 ]; then
    az iot hub device-identity parent set --device-id="$1" --parent-device-id="$2" --force "${{HUB[@]}}" --output none
  else
    echo "refused: $1 has the parent $current, the plan says $2; set EDGEOPS_IOTHUB_REPARENT=1 to move it" >&2
    exit 1
  fi
  echo "parent:  $1 -> $2 (set)"
}}

set_modules() {{  # IoT Edge device id, deployment manifest file
  az iot edge set-modules --device-id="$1" --content="$2" "${{HUB[@]}}" --output none
  echo "modules: $1 <- $2"
}}

"""


def render_script(plan, json_name="iothub-plan.json"):
    """The bash script of the plan; every argument quoted with shlex.quote."""
    hub = plan["hub"]["name"]
    lines = [
        _HEADER.format(
            site=_comment(plan["site"]),
            json_name=_comment(json_name),
            default_hub=shlex.quote(hub or ""),
            default_note=f"; without either, the hub {hub}" if hub else "",
        ).rstrip("\n"),
        "",
    ]
    for entry in plan["not_registered"]:
        lines.append(f"# not registered: {_comment(entry['host'])}: {_comment(entry['reason'])}")
    for entry in plan["edge_devices"]:
        if not entry["deployment"]:
            lines.append(
                f"# no deployment manifest for {_comment(entry['device_id'])}: set-modules left out "
                "(the gateway role writes one with gateway_manifest_write)"
            )
    for entry in plan["ca_certificates"]:
        lines.append(
            f"# x509_ca devices: upload {_comment(entry['certificate'])} (SHA-256 {entry['thumbprint_sha256']}) to the "
            "hub and verify it before they connect"
        )
    for step in plan["steps"]:
        lines.append(" ".join(shlex.quote(str(arg)) for arg in step))
    lines.append('echo "done: IoT Hub plan of site "' + shlex.quote(plan["site"]))
    return "\n".join(lines) + "\n"


def _comment(text):
    """``text`` made safe for one comment line (no line breaks)."""
    return " ".join(str(text).split())
