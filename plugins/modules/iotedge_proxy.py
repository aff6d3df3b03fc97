#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iotedge_proxy
short_description: Give IoT Edge's daemons and the container engine an HTTPS proxy (systemd drop-ins)
version_added: 0.2.0
description:
  - Behind an HTTPS proxy, IoT Edge needs the proxy in three places besides C(config.toml)'s C([agent.env])
    (M(edgeops.gateway.iotedge_config) O(edgeops.gateway.iotedge_config#module:https_proxy)) - the identity service
    C(aziot-identityd) and the daemon C(aziot-edged), which reach IoT Hub and DPS, and the container engine
    (C(docker), from C(moby-engine)), which pulls the module images. This module writes for each unit in
    O(services) a systemd drop-in C(<systemd_dir>/<unit>.d/<dropin_name>.conf) with
    C(Environment="https_proxy=<url>"), as Microsoft's C(systemctl edit) procedure does, or removes it
    (O(state=absent)).
  - The files are written atomically through the collection's write plan; every target is checked before the first
    write. A drop-in is mode V(0644), or V(0600) when the URL holds a user name and password.
  - After a drop-in changed, the module runs C(systemctl daemon-reload) when systemd runs the host (O(daemon_reload)).
    It does not restart anything; RV(changed_units) names the units to restart so that their processes see the
    proxy (the P(edgeops.gateway.gateway#role) role restarts them).
  - A C(%) in the URL (percent-encoding) is written as C(%%), since systemd expands specifiers in C(Environment=).
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reports what would change and runs no C(daemon-reload).
  diff_mode:
    support: full
    details:
      - The diff shows the drop-ins before and after, with the user name and password of the URL masked.
  idempotent:
    support: full
    details:
      - A second run with the same input changes nothing and runs no C(daemon-reload).
  platform:
    support: full
    platforms: posix
options:
  https_proxy:
    description:
      - The proxy URL, C(http://) or C(https://) with a host, for example V(http://proxy.site-a.example:3128).
      - Required with O(state=present). A user name and password in the URL are masked in every result and diff.
    type: str
  state:
    description: V(present) writes the drop-ins, V(absent) removes them.
    type: str
    choices: [present, absent]
    default: present
  services:
    description: The systemd units that get the proxy; a name without a dot gets C(.service).
    type: list
    elements: str
    default: [docker, aziot-identityd, aziot-edged]
  dropin_name:
    description: Name of the drop-in file, without C(.conf).
    type: str
    default: edgeops-proxy
  systemd_dir:
    description: Where the drop-in folders are made.
    type: path
    default: /etc/systemd/system
  daemon_reload:
    description: Run C(systemctl daemon-reload) after a drop-in changed, when systemd runs the host.
    type: bool
    default: true
seealso:
  - name: Configure an IoT Edge device to communicate through a proxy server
    description: Microsoft's procedure, which this module follows for the daemons and the container engine.
    link: https://learn.microsoft.com/azure/iot-edge/how-to-configure-proxy-support
  - module: edgeops.gateway.iotedge_config
"""

EXAMPLES = r"""
- name: Give aziot-identityd, aziot-edged and docker the site's HTTPS proxy
  edgeops.gateway.iotedge_proxy:
    https_proxy: http://proxy.site-a.example:3128
  register: proxy

- name: Restart the units whose drop-in changed
  ansible.builtin.systemd_service:
    name: "{{ item }}"
    state: restarted
  loop: "{{ proxy.changed_units }}"
  when: proxy.systemd

- name: Take the proxy away again
  edgeops.gateway.iotedge_proxy:
    state: absent
"""

RETURN = r"""
dropins:
  description: The drop-in file of each unit (written or removed).
  returned: always
  type: dict
  sample: {docker.service: /etc/systemd/system/docker.service.d/edgeops-proxy.conf}
changed_units:
  description: Units whose drop-in changed (or would change in check mode); restart them.
  returned: always
  type: list
  elements: str
  sample: [docker.service, aziot-identityd.service, aziot-edged.service]
systemd:
  description: Whether systemd runs this host (C(/run/systemd/system) exists).
  returned: always
  type: bool
daemon_reloaded:
  description: Whether the module ran C(systemctl daemon-reload).
  returned: always
  type: bool
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_native

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_proxy import (
    DEFAULT_SERVICES,
    ProxyError,
    plan_dropins,
    proxy_secrets,
    validate,
)

SYSTEMD_RUNTIME_DIR = "/run/systemd/system"


def main():
    module = AnsibleModule(
        argument_spec=dict(
            # not no_log as a whole, so the host shows in results and diffs; its password is masked below
            https_proxy=dict(type="str", no_log=False),
            state=dict(type="str", choices=["present", "absent"], default="present"),
            services=dict(type="list", elements="str", default=list(DEFAULT_SERVICES)),
            dropin_name=dict(type="str", default="edgeops-proxy"),
            systemd_dir=dict(type="path", default="/etc/systemd/system"),
            daemon_reload=dict(type="bool", default=True),
        ),
        supports_check_mode=True,
    )
    params = module.params
    for secret in proxy_secrets(params["https_proxy"]):
        module.no_log_values.add(secret)
    systemd = os.path.isdir(SYSTEMD_RUNTIME_DIR)
    result = dict(changed=False, dropins={}, changed_units=[], systemd=systemd, daemon_reloaded=False)
    try:
        validate(params["state"], params["https_proxy"], params["services"], params["dropin_name"])
        plan = WritePlan()
        paths, before, after = plan_dropins(
            plan,
            params["state"],
            params["https_proxy"],
            params["services"],
            params["dropin_name"],
            params["systemd_dir"],
        )
        plan.check()
    except (ProxyError, WriteError) as exc:
        module.fail_json(msg=to_native(exc), **result)
    result["dropins"] = paths
    changed_paths = set(plan.paths)
    result["changed_units"] = [unit for unit, path in paths.items() if path in changed_paths]
    result["changed"] = plan.changed
    if module._diff and plan.changed:
        result["diff"] = dict(
            before_header="systemd drop-ins", after_header="systemd drop-ins", before=before, after=after
        )
    try:
        plan.apply(check_mode=module.check_mode)
    except WriteError as exc:
        result["changed"] = exc.changed
        module.fail_json(msg=to_native(exc), **result)
    if plan.changed and not module.check_mode and params["daemon_reload"] and systemd:
        systemctl = module.get_bin_path("systemctl", required=True)
        rc, _out, err = module.run_command([systemctl, "daemon-reload"])
        if rc != 0:
            module.fail_json(
                msg=f"systemctl daemon-reload failed ({err.strip()}); the drop-ins are written: run it, then restart "
                + ", ".join(result["changed_units"]),
                **result,
            )
        result["daemon_reloaded"] = True
    module.exit_json(**result)


if __name__ == "__main__":
    main()
