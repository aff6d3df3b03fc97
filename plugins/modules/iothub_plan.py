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
  - edgeops.gateway.attributes.controller_action
  - ansible.builtin.action_common_attributes.flow
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_plan_module import (
    IOTHUB_PLAN_SPEC,
    run_iothub_plan,
)


def main():
    # The action plugin of the same name runs run_iothub_plan in the controller's Python when the task runs there.
    module = AnsibleModule(supports_check_mode=True, **IOTHUB_PLAN_SPEC)
    module.exit_json(**run_iothub_plan(module))


if __name__ == "__main__":
    main()
