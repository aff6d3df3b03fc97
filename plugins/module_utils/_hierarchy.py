# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The gateway hierarchy of a site (ISA-95 layers of nested gateways): the model and its checks.

Private to the collection, pure Python (no Ansible, no I/O). A gateway names its parent gateway with
``edgeops_gateway_parent`` (an inventory name, any depth; none = top layer); a device names its gateway
with ``edgeops_gateway``; ``edgeops_site`` groups hosts into sites where it is set. :func:`problems`
lists everything that is wrong, each message naming the hosts; :func:`build` returns the tree or raises
:class:`HierarchyError` with all of them.
"""

from __future__ import annotations

from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_names import device_id_problem

# The gateway role's defaults (roles/gateway/defaults/main.yml), used when the inventory does not set them.
DEFAULT_RUNTIME = "iotedge"
DEFAULT_PROVISIONING = "manual_connection_string"
DPS_PROVISIONING = ("dps_symmetric_key", "dps_x509")
# IoT Edge refuses DPS together with parent_hostname at `iotedge config apply`.
DPS_NESTED_MESSAGE = "DPS provisioning is not supported in nested mode"

GATEWAY_VARS = {
    "parent": "edgeops_gateway_parent",
    "hostname": "edgeops_gateway_hostname",
    "runtime": "gateway_runtime",
    "provisioning": "gateway_iotedge_provisioning",
    "site": "edgeops_site",
    "device_id": "edgeops_device_id",
    "auth": "edgeops_iothub_auth",
}
DEVICE_VARS = {
    "gateway": "edgeops_gateway",
    "site": "edgeops_site",
    "device_id": "edgeops_device_id",
    "auth": "edgeops_iothub_auth",
}


def parent_chain(start, parent_of, known):
    """The hosts above ``start``, nearest first, following ``parent_of`` (falsy at the top), and whether the chain
    ends at a top host: False when it reaches a host outside ``known`` or comes back to a host it passed (a loop).
    """
    chain, seen = [], {start}
    current = parent_of(start)
    while current:
        if current not in known or current in seen:
            return chain, False
        chain.append(current)
        seen.add(current)
        current = parent_of(current)
    return chain, True


class HierarchyError(Exception):
    """The hierarchy cannot be served; ``problems`` holds every message."""

    def __init__(self, problems):
        super().__init__("; ".join(problems))
        self.problems = list(problems)


def _value(host_vars, name):
    try:
        value = host_vars.get(name)
    except AttributeError:
        return None
    return None if value in ("", None) else value


def from_hostvars(hostvars, gateways, devices):
    """Gateway and device entries from Ansible's ``hostvars`` (or any mapping of host to variables)."""
    gateway_entries = []
    for name in gateways or []:
        host_vars = hostvars[name] if name in hostvars else {}
        entry = {"name": name}
        entry.update({key: _value(host_vars, var) for key, var in GATEWAY_VARS.items()})
        gateway_entries.append(entry)
    device_entries = []
    for name in devices or []:
        host_vars = hostvars[name] if name in hostvars else {}
        entry = {"name": name}
        entry.update({key: _value(host_vars, var) for key, var in DEVICE_VARS.items()})
        device_entries.append(entry)
    return gateway_entries, device_entries


def _normalise(gateways, devices):
    gws = {}
    for gw in gateways:
        name = gw["name"]
        gws[name] = {
            "name": name,
            "parent": gw.get("parent"),
            "hostname": str(gw.get("hostname") or name).lower(),
            "runtime": gw.get("runtime") or DEFAULT_RUNTIME,
            "provisioning": gw.get("provisioning") or DEFAULT_PROVISIONING,
            "site": gw.get("site"),
            "device_id": gw.get("device_id") or name,
            "auth": gw.get("auth"),
        }
    devs = {}
    for dev in devices:
        name = dev["name"]
        devs[name] = {
            "name": name,
            "gateway": dev.get("gateway"),
            "site": dev.get("site"),
            "device_id": dev.get("device_id") or name,
            "auth": dev.get("auth"),
        }
    return gws, devs


def _site(site):
    return f"site {site}" if site else "no edgeops_site"


def _loops(gws):
    """Every loop of parent links once, as a list of names (first name again at the end)."""
    loops = []
    seen_in_loop = set()
    for start in sorted(gws):
        path = []
        current = start
        while current in gws and current not in path and current not in seen_in_loop:
            path.append(current)
            parent = gws[current]["parent"]
            # a parent that is not a name, or the gateway itself, is reported on its own
            current = parent if isinstance(parent, str) and parent != current else None
        if current in path:
            cycle = path[path.index(current) :]
            seen_in_loop.update(cycle)
            loops.append([*cycle, current])
    return loops


def problems(gateways, devices, known_hosts=None):
    """Every reason the hierarchy cannot be served, each naming its hosts; empty when it can."""
    gws, devs = _normalise(gateways, devices)
    known = set(known_hosts or ()) | set(gws) | set(devs)
    found = []
    for name in sorted(set(gws) & set(devs)):
        found.append(
            f"{name} is in both the gateways and the devices group; a host is either a gateway or a device "
            "(a child gateway belongs in gateways with edgeops_gateway_parent)"
        )
    for name in sorted(gws):
        gw = gws[name]
        parent = gw["parent"]
        if parent is None:
            continue
        if not isinstance(parent, str):
            found.append(
                f"gateway {name}: edgeops_gateway_parent must be the inventory name of its parent gateway, "
                f"not {type(parent).__name__} {parent!r}"
            )
            continue
        if parent == name:
            found.append(
                f"gateway {name} names itself as its parent (edgeops_gateway_parent); remove the variable for a "
                "top-layer gateway or name the gateway of the layer above"
            )
            continue
        if parent not in gws:
            where = "is not in the gateways group" if parent in known else "is not a host of this inventory"
            found.append(
                f"gateway {name} names the parent {parent}, which {where}; add {parent} to the gateways group or "
                "correct edgeops_gateway_parent"
            )
            continue
        above = gws[parent]
        if above["site"] != gw["site"]:
            found.append(
                f"gateway {name} ({_site(gw['site'])}) names the parent {parent} ({_site(above['site'])}); a "
                "hierarchy stays within one site: give both the same edgeops_site or choose a parent of the site"
            )
        if gw["runtime"] == "iotedge" and above["runtime"] != "iotedge":
            found.append(
                f"gateway {name} runs iotedge but its parent {parent} runs {above['runtime']}; an IoT Edge child "
                "connects to its parent's edgeHub, so the parent must run iotedge too"
            )
        if gw["runtime"] == "iotedge" and gw["provisioning"] in DPS_PROVISIONING:
            found.append(
                f"gateway {name} has the parent {parent} and provisioning {gw['provisioning']}; IoT Edge refuses "
                f"DPS in nested mode ('{DPS_NESTED_MESSAGE}'): provision {name} with manual_x509 or "
                "manual_connection_string, or make it a top-layer gateway"
            )
    for cycle in _loops(gws):
        found.append(
            f"gateways {' -> '.join(cycle)} form a loop through edgeops_gateway_parent; every chain of parents "
            "must end at a top-layer gateway without edgeops_gateway_parent"
        )
    for name in sorted(devs):
        dev = devs[name]
        gateway = dev["gateway"]
        if gateway is None:
            found.append(f"device {name} has no edgeops_gateway; set it to the inventory name of its gateway")
            continue
        if not isinstance(gateway, str) or gateway not in gws:
            where = (
                "is not in the gateways group"
                if isinstance(gateway, str) and gateway in known
                else "is not a host of this inventory"
            )
            found.append(
                f"device {name} names the gateway {gateway}, which {where}; set edgeops_gateway to one of "
                f"{', '.join(sorted(gws)) or 'the gateways (the group is empty)'}"
            )
            continue
        if gws[gateway]["site"] != dev["site"]:
            found.append(
                f"device {name} ({_site(dev['site'])}) names the gateway {gateway} ({_site(gws[gateway]['site'])}); "
                "a device connects to a gateway of its own site: correct edgeops_gateway or edgeops_site"
            )
    by_hostname = {}
    for name in sorted(gws):
        by_hostname.setdefault((gws[name]["site"], gws[name]["hostname"]), []).append(name)
    for (_site_name, hostname), names in sorted(by_hostname.items(), key=lambda item: item[1]):
        if len(names) > 1:
            found.append(
                f"gateways {' and '.join(names)} both use the hostname {hostname}; give each gateway its own "
                "edgeops_gateway_hostname (devices and child gateways reach their gateway by it)"
            )
    by_id = {}
    for entry in list(gws.values()) + list(devs.values()):
        by_id.setdefault((entry["site"], entry["device_id"]), set()).add(entry["name"])
    for (_site_name, device_id), names in sorted(by_id.items(), key=lambda item: sorted(item[1])):
        if len(names) > 1:
            found.append(
                f"hosts {' and '.join(sorted(names))} have the same IoT Hub device id {device_id}; set a distinct "
                "edgeops_device_id on each"
            )
    for entry in sorted(list(gws.values()) + list(devs.values()), key=lambda e: e["name"]):
        problem = device_id_problem(entry["device_id"], f"the device id of {entry['name']}")
        if problem and _registered(entry, gws):
            found.append(problem)
    return found


def _registered(entry, gws):
    """Whether the host becomes an IoT Hub device: an iotedge gateway or a device behind one."""
    if "gateway" in entry:
        gateway = gws.get(entry["gateway"]) if isinstance(entry["gateway"], str) else None
        return gateway is not None and gateway["runtime"] == "iotedge"
    return entry["runtime"] == "iotedge"


def build(gateways, devices, known_hosts=None):
    """The hierarchy as data; raises HierarchyError naming every problem."""
    found = problems(gateways, devices, known_hosts)
    if found:
        raise HierarchyError(found)
    gws, devs = _normalise(gateways, devices)
    for gw in gws.values():
        gw["children"] = sorted(n for n, other in gws.items() if other["parent"] == gw["name"])
        gw["devices"] = sorted(n for n, dev in devs.items() if dev["gateway"] == gw["name"])
        above, _complete = parent_chain(gw["name"], lambda name: gws[name]["parent"], gws)
        path = [*reversed(above), gw["name"]]
        gw["path"] = path
        gw["depth"] = len(path) - 1
        gw["parent_hostname"] = gws[gw["parent"]]["hostname"] if gw["parent"] else None
        gw["registered"] = _registered(gw, gws)
    for dev in devs.values():
        gateway = gws[dev["gateway"]]
        dev["depth"] = gateway["depth"] + 1
        dev["gateway_hostname"] = gateway["hostname"]
        dev["registered"] = _registered(dev, gws)
    order = sorted(gws, key=lambda n: (gws[n]["depth"], gws[n]["site"] or "", n))
    layers = []
    for name in order:
        depth = gws[name]["depth"]
        while len(layers) <= depth:
            layers.append([])
        layers[depth].append(name)

    def node(name):
        return {"name": name, "devices": gws[name]["devices"], "children": [node(c) for c in gws[name]["children"]]}

    sites = {}
    for name in order:
        site = sites.setdefault(gws[name]["site"] or "", {"top": [], "layers": [], "gateways": [], "devices": []})
        site["gateways"].append(name)
        if gws[name]["parent"] is None:
            site["top"].append(name)
        depth = gws[name]["depth"]
        while len(site["layers"]) <= depth:
            site["layers"].append([])
        site["layers"][depth].append(name)
    for name in sorted(devs):
        sites.setdefault(devs[name]["site"] or "", {"top": [], "layers": [], "gateways": [], "devices": []})[
            "devices"
        ].append(name)
    return {
        "gateways": gws,
        "devices": devs,
        "order": order,
        "layers": layers,
        "depth": len(layers),
        "sites": sites,
        "tree": [node(name) for name in order if gws[name]["parent"] is None],
    }
