#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: iotedge_config
short_description: Write Azure IoT Edge's config.toml from validated options
version_added: 0.1.0
description:
  - Validates the options, renders C(/etc/aziot/config.toml) for Azure IoT Edge 1.5 / 1.6 deterministically and
    writes it atomically with a backup, owner and mode.
  - Every target is checked before the first write (the folder is writable, O(path) is not a folder, O(owner) and
    O(group) exist, O(mode) is a valid mode), so a refused run leaves the previous file and no backup behind.
  - Covers the provisioning variants of a transparent gateway - manual with a connection string, manual with an
    X.509 identity, DPS with a symmetric key and DPS with X.509 - plus an optional parent gateway, trust bundle,
    file-based Edge CA or C([edge_ca.auto_renew]) policy, edgeAgent image and O(auto_reprovisioning_mode).
  - Reads the files it refers to before anything is written - every certificate file must hold a PEM certificate,
    each key must be the key of its certificate (RSA and EC keys are compared), the Edge CA must be a CA with
    C(pathlen:0) whose common name differs from O(hostname) and that chains to O(trust_bundle_cert) - since
    C(iotedge config apply) does not read them and the daemons would fail later.
  - Leaves C([connect]) and C([listen]) out, so the package defaults apply.
  - Does not run C(iotedge config apply); the P(edgeops.gateway.gateway#role) role does that from a handler when
    this module reports a change.
  - Connection strings and symmetric keys never appear in results or diffs; the diff shows them masked.
  - Runs on the gateway with the Python standard library only; it needs no TOML library.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
attributes:
  check_mode:
    support: full
    details:
      - In check mode, missing referenced files are reported as warnings instead of errors, since the tasks that
        would deploy them did not run either.
  diff_mode:
    support: full
    details:
      - Secret values are masked in the diff.
  platform:
    platforms: posix
    support: full
  idempotent:
    support: full
    details:
      - The file is rendered deterministically; the unit tests run it four times (check, real, check, real).
options:
  path:
    description: Where to write the configuration.
    type: path
    default: /etc/aziot/config.toml
  hostname:
    description:
      - The gateway's host name as downstream devices use it (C(GatewayHostName)); edgeHub's server certificate
        is made for it.
      - Lower case, at most 64 characters, an RFC 1035 host name.
    type: str
    required: true
  parent_hostname:
    description:
      - Host name of the parent gateway, for a nested (child) gateway only. Cannot be combined with DPS.
    type: str
  trust_bundle_cert:
    description: Absolute path on the gateway of the root CA certificate (the trust bundle).
    type: path
  edge_ca_cert:
    description:
      - Absolute path on the gateway of the Edge CA certificate followed by its intermediates (the full chain).
      - Requires O(edge_ca_pk). Without both, IoT Edge makes a quickstart Edge CA.
    type: path
  edge_ca_pk:
    description: Absolute path on the gateway of the Edge CA private key.
    type: path
  edge_ca_expiry_days:
    description:
      - Lifetime in days of the quickstart Edge CA that IoT Edge makes itself when no Edge CA files are given
        (C(auto_generated_edge_ca_expiry_days)), from 1 to 36500.
      - Without it, and with O(edge_ca_auto_renew), the module writes V(90), the lifetime IoT Edge uses without an
        C([edge_ca]) table; IoT Edge requires the key in that variant.
      - Not allowed with O(edge_ca_cert).
    type: int
    version_added: 0.2.0
  edge_ca_auto_renew:
    description:
      - Renewal policy of the quickstart Edge CA that IoT Edge makes itself (C([edge_ca.auto_renew])). The module writes
        it with C(auto_generated_edge_ca_expiry_days) (see O(edge_ca_expiry_days)), since C([edge_ca.auto_renew]) alone
        matches no variant IoT Edge accepts.
      - Not allowed with O(edge_ca_cert), since a file-based Edge CA is never renewed by IoT Edge.
    type: dict
    suboptions:
      rotate_key:
        description:
          - Whether renewal makes a new key. IoT Edge requires V(true) for the quickstart Edge CA; V(false) is refused.
        type: bool
        default: true
      threshold:
        description: When to renew, as V(N%) of the lifetime (below 100), V(Nmin) or V(Nday) before expiry.
        type: str
        default: 80%
      retry:
        description: How often to retry a failed renewal, in the same units as O(edge_ca_auto_renew.threshold).
        type: str
        default: 4%
  agent_image:
    description: edgeAgent image, for example V(mcr.microsoft.com/azureiotedge-agent:1.5). Omitted when unset.
    type: str
  auto_reprovisioning_mode:
    description: When IoT Edge provisions again. Omitted when unset (IoT Edge then uses V(Dynamic)).
    type: str
    choices: [Dynamic, AlwaysOnStartup, OnErrorOnly]
  provisioning:
    description: How the gateway gets its IoT Hub identity.
    type: str
    required: true
    choices: [manual_connection_string, manual_x509, dps_symmetric_key, dps_x509]
  connection_string:
    description:
      - The device connection string from IoT Hub, for O(provisioning=manual_connection_string).
      - Read the way IoT Edge reads it - C(HostName), C(DeviceId) and C(SharedAccessKey) matched exactly, with no
        spaces after C(;) - and the key must be base64.
    type: str
  iothub_hostname:
    description: The IoT Hub host name, for O(provisioning=manual_x509).
    type: str
  device_id:
    description: The IoT Edge device id in IoT Hub, for O(provisioning=manual_x509).
    type: str
  identity_cert:
    description: Absolute path on the gateway of the identity certificate, for the X.509 variants.
    type: path
  identity_pk:
    description: Absolute path on the gateway of the identity private key, for the X.509 variants.
    type: path
  global_endpoint:
    description:
      - DPS global endpoint, an C(https://) URL with a host. Defaults to V(https://global.azure-devices-provisioning.net)
        for DPS.
    type: str
  id_scope:
    description: DPS id scope, for the DPS variants.
    type: str
  registration_id:
    description: DPS registration id; required for O(provisioning=dps_symmetric_key), optional for X.509.
    type: str
  symmetric_key:
    description: DPS symmetric key (base64), for O(provisioning=dps_symmetric_key).
    type: str
  backup:
    description: Keep a timestamped copy of the previous file when it changes.
    type: bool
    default: true
  owner:
    description: Owner of the file.
    type: str
    default: root
  group:
    description: Group of the file.
    type: str
    default: root
  mode:
    description: Mode of the file. It holds secrets, so keep it private.
    type: raw
    default: "0600"
notes:
  - Facts the module relies on are those of IoT Edge 1.5/1.6 C(config.toml); see the collection's C(docs/gateway.md).
seealso:
  - name: Configure IoT Edge device settings
    description: Microsoft's reference for C(config.toml).
    link: https://learn.microsoft.com/azure/iot-edge/configure-device
"""

EXAMPLES = r"""
- name: Configure a gateway provisioned with a connection string and a file-based Edge CA
  edgeops.gateway.iotedge_config:
    hostname: gw1.site-a.example
    trust_bundle_cert: /var/aziot/certs/root-ca.pem
    edge_ca_cert: /var/aziot/certs/edge-ca-full-chain.pem
    edge_ca_pk: /var/aziot/secrets/edge-ca.key.pem
    provisioning: manual_connection_string
    connection_string: "{{ vault_gw1_connection_string }}"
  notify: Apply IoT Edge configuration

- name: Configure a gateway provisioned by DPS with X.509
  edgeops.gateway.iotedge_config:
    hostname: gw2.site-a.example
    trust_bundle_cert: /var/aziot/certs/root-ca.pem
    provisioning: dps_x509
    id_scope: 0ne00000000
    identity_cert: /var/aziot/certs/identity.pem
    identity_pk: /var/aziot/secrets/identity.key.pem
    edge_ca_auto_renew:
      threshold: 80%
      retry: 4%
    agent_image: mcr.microsoft.com/azureiotedge-agent:1.5
"""

RETURN = r"""
path:
  description: The configuration file.
  returned: always
  type: str
  sample: /etc/aziot/config.toml
backup_file:
  description: The copy of the previous file, when one was made.
  returned: changed and O(backup=true) and the file existed
  type: str
  sample: /etc/aziot/config.toml.12345.2026-11-23@11:40:00~
referenced_files:
  description: Files the configuration refers to (certificates and keys on the gateway).
  returned: always
  type: list
  elements: str
  sample: [/var/aziot/certs/root-ca.pem, /var/aziot/certs/edge-ca-full-chain.pem]
"""

import os
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan, read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge import (
    IotEdgeConfigError,
    mask_secrets,
    missing_files,
    missing_files_message,
    referenced_files,
    render,
    validate,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_files import FileCheckError, check_files


def plan_config(path, current, wanted, params):
    """The writes of one run: the backup of the previous file first, then config.toml itself."""
    plan = WritePlan()
    backup_file = None
    changed = plan.write(
        path,
        wanted,
        params["mode"],
        owner=params["owner"],
        group=params["group"],
        what="the IoT Edge configuration",
        order=1,
    )
    if changed and current is not None and current != wanted and params["backup"]:
        backup_file = f"{path}.{os.getpid()}.{time.strftime('%Y-%m-%d@%H:%M:%S~')}"
        plan.write(backup_file, current, 0o600, what="the backup of the previous configuration", order=0)
    return plan, changed, backup_file


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/aziot/config.toml"),
            hostname=dict(type="str", required=True),
            parent_hostname=dict(type="str"),
            trust_bundle_cert=dict(type="path"),
            edge_ca_cert=dict(type="path"),
            edge_ca_pk=dict(type="path", no_log=False),
            edge_ca_auto_renew=dict(
                type="dict",
                options=dict(
                    rotate_key=dict(type="bool", default=True, no_log=False),
                    threshold=dict(type="str", default="80%"),
                    retry=dict(type="str", default="4%"),
                ),
            ),
            edge_ca_expiry_days=dict(type="int"),
            agent_image=dict(type="str"),
            auto_reprovisioning_mode=dict(type="str", choices=["Dynamic", "AlwaysOnStartup", "OnErrorOnly"]),
            provisioning=dict(
                type="str",
                required=True,
                choices=["manual_connection_string", "manual_x509", "dps_symmetric_key", "dps_x509"],
            ),
            connection_string=dict(type="str", no_log=True),
            iothub_hostname=dict(type="str"),
            device_id=dict(type="str"),
            identity_cert=dict(type="path"),
            identity_pk=dict(type="path", no_log=False),
            global_endpoint=dict(type="str"),
            id_scope=dict(type="str"),
            registration_id=dict(type="str"),
            symmetric_key=dict(type="str", no_log=True),
            backup=dict(type="bool", default=True),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="raw", default="0600"),
        ),
        required_if=[
            ("provisioning", "manual_connection_string", ("connection_string",)),
            ("provisioning", "manual_x509", ("iothub_hostname", "device_id", "identity_cert", "identity_pk")),
            ("provisioning", "dps_symmetric_key", ("id_scope", "registration_id", "symmetric_key")),
            ("provisioning", "dps_x509", ("id_scope", "identity_cert", "identity_pk")),
        ],
        required_together=[("edge_ca_cert", "edge_ca_pk")],
        mutually_exclusive=[("edge_ca_cert", "edge_ca_auto_renew"), ("edge_ca_cert", "edge_ca_expiry_days")],
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    if not path:
        module.fail_json(
            msg="path is empty; give the file IoT Edge reads, normally /etc/aziot/config.toml", changed=False
        )
    try:
        validate(params)
        missing = missing_files(params)
        if missing and not module.check_mode:
            raise IotEdgeConfigError(missing_files_message(missing))
        if missing:
            module.warn(missing_files_message(missing))
        check_files(params, os.path.isfile)
        wanted = render(params)
    except (IotEdgeConfigError, FileCheckError) as exc:
        module.fail_json(msg=to_native(exc), changed=False)

    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        message = (
            f"directory {directory} does not exist; install aziot-edge first (gateway_iotedge_install) or create it"
        )
        if not module.check_mode:
            module.fail_json(msg=message, changed=False)
        module.warn(message)
    wanted_bytes = to_bytes(wanted)
    current = read_bytes(path) if os.path.isfile(path) else None
    result = dict(changed=False, path=path, referenced_files=[p for _name, p in referenced_files(params)])
    try:
        plan, changed, backup_file = plan_config(path, current, wanted_bytes, params)
        if os.path.isdir(directory):
            plan.check()
    except WriteError as exc:
        module.fail_json(msg=to_native(exc), changed=False, path=path)
    result["changed"] = changed
    if current != wanted_bytes and module._diff:
        current_text = current.decode("utf-8", errors="replace") if current is not None else ""
        before, after = mask_secrets(current_text), mask_secrets(wanted)
        header = path
        if current is not None and before == after:
            header = f"{path} (a secret value changed; secrets are masked)"
        result["diff"] = dict(before_header=path, after_header=header, before=before, after=after)
    try:
        if os.path.isdir(directory):
            plan.apply(check_mode=module.check_mode)
    except WriteError as exc:
        module.fail_json(msg=to_native(exc), changed=exc.changed, path=path)
    if backup_file and not module.check_mode:
        result["backup_file"] = backup_file
    module.exit_json(**result)


if __name__ == "__main__":
    main()
