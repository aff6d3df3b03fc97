#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: iothub_plan
short_description: Write the IoT Hub side of a site as a JSON plan and an Azure CLI script
version_added: 0.2.0
description:
  - Writes, for one site, C(iothub-plan.json) and C(iothub-plan.sh) into O(dest). The plan lists every IoT Edge
    device (edge-enabled, SAS or X.509 with primary and secondary thumbprints, or DPS), every downstream device
    (X.509 thumbprints, CA-signed or SAS), every parent-child link (device to gateway and child gateway to parent
    gateway) and each gateway's deployment manifest.
  - The script runs the Azure CLI (azure-iot extension) and is safe to run twice. It creates a device only when
    C(az iot hub device-identity show) does not find it, sets a parent with C(az iot hub device-identity parent set)
    only when C(parent show) names another one (a device that has a different parent is refused unless
    C(EDGEOPS_IOTHUB_REPARENT=1)), and sets each gateway's deployment with C(az iot edge set-modules --content).
    Every id and path is quoted with C(shlex.quote) and passed as C(--flag=value).
  - Hosts that get no IoT Hub identity (gateways that do not run iotedge and the devices behind them) are listed
    under C(not_registered) with the reason.
  - Thumbprints are the SHA-256 thumbprints M(edgeops.gateway.pki_report) reports, of C(gateways/<gw>/identity.pem)
    for a gateway and C(devices/<dev>/device.pem) for a device. The same file under C(next/) (a root rotation in
    progress) gives the secondary thumbprint.
  - The module does not talk to IoT Hub. Applying the plan directly with a connection string is not available in
    this release (see the README); run the script.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
attributes:
  check_mode:
    support: full
    details:
      - Computes the plan and reports whether the files would change; writes nothing.
  diff_mode:
    support: full
  idempotent:
    support: full
    details:
      - The plan holds no time stamp, so the same inventory and PKI give the same files.
  platform:
    platforms: posix
    details:
      - Meant to run on the controller (C(delegate_to=localhost)), where the reports live.
options:
  site:
    description: The site (C(edgeops_site)) whose plan is written.
    type: str
    required: true
  dest:
    description: The folder that receives C(iothub-plan.json) and C(iothub-plan.sh), normally C(edgeops_report_dir).
    type: path
    required: true
  hierarchy:
    description: The site's hierarchy as the P(edgeops.gateway.hierarchy#filter) filter returns it.
    type: dict
    required: true
  certificates:
    description: The C(certificates) of M(edgeops.gateway.pki_report) run on the site PKI.
    type: list
    elements: dict
    default: []
  deployments_dir:
    description:
      - The folder of the gateways' deployment manifests, C(<deployments_dir>/<gateway>/deployment.json) (where the
        gateway role writes them). A gateway without one gets no C(set-modules) step.
      - Defaults to C(<dest>/gateways).
    type: path
  hub_name:
    description:
      - The IoT Hub's name, the script's default hub (C(EDGEOPS_IOTHUB_NAME) or C(EDGEOPS_IOTHUB_CONNECTION_STRING)
        override it when the script runs). Taken from O(connection_string) when that is given.
    type: str
  connection_string:
    description:
      - An IoT Hub service connection string (C(HostName=...;SharedAccessKeyName=...;SharedAccessKey=<base64>)).
        Its form is checked and a malformed one is refused with how to fix it; its C(HostName) gives the hub's name
        and host name. It is never written to the plan or the script.
    type: str
seealso:
  - module: edgeops.gateway.pki_report
  - plugin: edgeops.gateway.hierarchy
    plugin_type: filter
    description: The hierarchy this module takes.
"""

EXAMPLES = r"""
- name: Write the IoT Hub plan of the site
  edgeops.gateway.iothub_plan:
    site: site-a
    dest: /srv/reports/site-a
    hierarchy: "{{ hostvars | edgeops.gateway.hierarchy(groups['gateways'], groups['devices']) }}"
    certificates: "{{ pki.certificates }}"
    hub_name: contoso-hub
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
json_path:
  description: The JSON plan.
  returned: success
  type: str
script_path:
  description: The Azure CLI script.
  returned: success
  type: str
plan:
  description:
    - The plan as written to RV(json_path) - C(edge_devices), C(devices), C(links), C(ca_certificates),
      C(not_registered) and the script's C(steps).
  returned: success
  type: dict
summary:
  description: Counts of the plan.
  returned: success
  type: dict
  sample: {edge_devices: 2, devices: 3, links: 4, deployments: 2, not_registered: 0}
msg:
  description: One line saying what the plan holds and where it is.
  returned: always
  type: str
"""

import json
import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan, read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_names import (
    IotHubNameError,
    parse_hub_connection_string,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_plan import (
    PlanError,
    build_plan,
    render_script,
)

JSON_NAME = "iothub-plan.json"
SCRIPT_NAME = "iothub-plan.sh"


def main():
    module = AnsibleModule(
        argument_spec={
            "site": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "hierarchy": {"type": "dict", "required": True},
            "certificates": {"type": "list", "elements": "dict", "default": []},
            "deployments_dir": {"type": "path"},
            "hub_name": {"type": "str"},
            "connection_string": {"type": "str", "no_log": True},
        },
        supports_check_mode=True,
    )
    params = module.params
    hub_name = params["hub_name"]
    hub_hostname = None
    if params["connection_string"] is not None:
        try:
            hub = parse_hub_connection_string(params["connection_string"])
        except IotHubNameError as exc:
            module.fail_json(msg=str(exc))
        if hub_name and hub_name != hub["hub_name"]:
            module.fail_json(
                msg=f"hub_name {hub_name!r} and the connection string's hub {hub['hub_name']!r} differ; give one of them"
            )
        hub_name, hub_hostname = hub["hub_name"], hub["hostname"]
    dest = os.path.abspath(params["dest"])
    deployments_dir = os.path.abspath(params["deployments_dir"] or os.path.join(dest, "gateways"))
    hierarchy = params["hierarchy"]
    deployments = {}
    for name in hierarchy.get("gateways") or {}:
        path = os.path.join(deployments_dir, name, "deployment.json")
        if os.path.isfile(path):
            deployments[name] = path
    try:
        plan = build_plan(
            params["site"],
            hierarchy,
            params["certificates"],
            hub_name=hub_name,
            hub_hostname=hub_hostname,
            deployments=deployments,
        )
    except (PlanError, KeyError, TypeError) as exc:
        if isinstance(exc, PlanError):
            module.fail_json(msg=f"no IoT Hub plan for site {params['site']}: {exc}")
        module.fail_json(
            msg=f"hierarchy is not what the edgeops.gateway.hierarchy filter returns ({exc!r}); pass its result"
        )
    json_path = os.path.join(dest, JSON_NAME)
    script_path = os.path.join(dest, SCRIPT_NAME)
    json_text = json.dumps(plan, indent=2, sort_keys=True) + "\n"
    script_text = render_script(plan, JSON_NAME)
    before = {path: (read_bytes(path) or b"").decode("utf-8", errors="replace") for path in (json_path, script_path)}
    writes = WritePlan()
    try:
        writes.write(json_path, json_text.encode(), 0o644, what="the IoT Hub plan", order=0, dir_mode=0o750)
        writes.write(script_path, script_text.encode(), 0o755, what="the IoT Hub script", order=1, dir_mode=0o750)
        writes.apply(check_mode=module.check_mode)
    except WriteError as exc:
        module.fail_json(msg=f"cannot write the IoT Hub plan to {dest}: {exc}", changed=exc.changed)
    result = {
        "changed": writes.changed,
        "json_path": json_path,
        "script_path": script_path,
        "plan": plan,
        "summary": {
            "edge_devices": len(plan["edge_devices"]),
            "devices": len(plan["devices"]),
            "links": len(plan["links"]),
            "deployments": sum(1 for e in plan["edge_devices"] if e["deployment"]),
            "not_registered": len(plan["not_registered"]),
        },
    }
    s = result["summary"]
    result["msg"] = (
        f"site {params['site']}: {s['edge_devices']} IoT Edge devices, {s['devices']} downstream devices, "
        f"{s['links']} parent links, {s['deployments']} deployments, {s['not_registered']} hosts without an IoT Hub "
        f"identity; plan {json_path}, script {script_path}"
    )
    if module._diff and writes.changed:
        result["diff"] = [
            {"before_header": json_path, "after_header": json_path, "before": before[json_path], "after": json_text},
            {
                "before_header": script_path,
                "after_header": script_path,
                "before": before[script_path],
                "after": script_text,
            },
        ]
    module.exit_json(**result)


if __name__ == "__main__":
    main()
