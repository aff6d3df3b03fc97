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
  - Covers the provisioning variants of a transparent gateway - manual with a connection string, manual with a
    symmetric key, manual with an X.509 identity, DPS with a symmetric key and DPS with X.509 - plus an optional
    parent gateway, trust bundle, file-based, quickstart or EST-issued Edge CA with its C([edge_ca.auto_renew])
    policy, C([cert_issuance.est]), edgeAgent image with its environment (an HTTPS proxy) and registry credentials,
    C([moby_runtime]) and O(auto_reprovisioning_mode).
  - Reads the files it refers to before anything is written - every certificate file must hold a PEM certificate,
    each key must be the key of its certificate (RSA and EC keys are compared), the Edge CA must be a CA with
    C(pathlen:0) whose common name differs from O(hostname) and that chains to O(trust_bundle_cert) - since
    C(iotedge config apply) does not read them and the daemons would fail later.
  - Leaves C([connect]) and C([listen]) out, so the package defaults apply.
  - Does not run C(iotedge config apply); the P(edgeops.gateway.gateway#role) role does that from a handler when
    this module reports a change.
  - Connection strings, symmetric keys and passwords never appear in results or diffs; the diff shows them masked.
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
  os_hostname:
    description:
      - The gateway's OS host name as the kernel has it (what C(hostname) prints, C(ansible_facts['nodename'])). When
        given, O(hostname) must be that name or start with it followed by a dot (C(<os hostname>.<domain>)), since
        C(iotedge check) fails otherwise; the comparison ignores case, and an IP address as O(hostname) is not compared.
      - See O(check_os_hostname) to have the module read it on the gateway.
    type: str
    version_added: 0.2.0
  check_os_hostname:
    description:
      - Read the gateway's OS host name on the gateway (C(gethostname), what C(iotedge check) compares) and check
        O(hostname) against it as for O(os_hostname). Ignored when O(os_hostname) is given.
    type: bool
    default: false
    version_added: 0.2.0
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
  edge_ca_est:
    description:
      - An Edge CA issued by an EST server (C([edge_ca]) with C(method = "est")); IoT Edge requests and renews it
        itself, with the policy in O(edge_ca_auto_renew) (IoT Edge's default 80% / 4% / rotate without it).
      - Not allowed with O(edge_ca_cert) or O(edge_ca_expiry_days) (the EST server sets the validity).
      - Without O(edge_ca_est.url), O(est.url) is used; without its own authentication, that of O(est).
    type: dict
    version_added: 0.2.0
    suboptions:
      common_name:
        description: Common name of the Edge CA; it must differ from O(hostname) (for example V(gw1.site-a.example.ca)).
        type: str
      url:
        description: The EST server's URL, for example V(https://est.site-a.example/.well-known/est).
        type: str
      username:
        description: User name for HTTP basic authentication to the EST server; requires the password.
        type: str
      password:
        description: Password for HTTP basic authentication to the EST server. Masked in the diff.
        type: str
      identity_cert:
        description: Absolute path on the gateway of the EST identity certificate (TLS client authentication).
        type: path
      identity_pk:
        description: Absolute path on the gateway of the EST identity certificate's key.
        type: path
      bootstrap_identity_cert:
        description:
          - Absolute path on the gateway of the bootstrap certificate IoT Edge uses to request its EST identity
            certificate. Not with an EST identity certificate.
        type: path
      bootstrap_identity_pk:
        description: Absolute path on the gateway of the bootstrap certificate's key.
        type: path
  est:
    description:
      - The defaults of every certificate issued by EST (C([cert_issuance.est])); only with O(edge_ca_est) or
        O(identity_cert_est).
    type: dict
    version_added: 0.2.0
    suboptions:
      trusted_certs:
        description: Absolute paths on the gateway of the CA certificates that verify the EST server (C(trusted_certs)).
        type: list
        elements: path
      url:
        description: The default EST URL (C([cert_issuance.est.urls] default)).
        type: str
      username:
        description: User name for HTTP basic authentication (C([cert_issuance.est.auth])); requires the password.
        type: str
      password:
        description: Password for HTTP basic authentication. Masked in the diff.
        type: str
      identity_cert:
        description: Absolute path on the gateway of the EST identity certificate (TLS client authentication).
        type: path
      identity_pk:
        description: Absolute path on the gateway of the EST identity certificate's key.
        type: path
      bootstrap_identity_cert:
        description: Absolute path on the gateway of the EST bootstrap certificate. Not with O(est.identity_cert).
        type: path
      bootstrap_identity_pk:
        description: Absolute path on the gateway of the EST bootstrap certificate's key.
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
      - Renewal policy of an Edge CA that IoT Edge makes itself (C([edge_ca.auto_renew])), the quickstart one or one
        issued by EST (O(edge_ca_est)). For the quickstart Edge CA the module writes it with
        C(auto_generated_edge_ca_expiry_days) (see O(edge_ca_expiry_days)), since C([edge_ca.auto_renew]) alone
        matches no variant IoT Edge accepts.
      - Not allowed with O(edge_ca_cert), since a file-based Edge CA is never renewed by IoT Edge.
    type: dict
    suboptions:
      rotate_key:
        description:
          - Whether renewal makes a new key. IoT Edge requires V(true) for the quickstart Edge CA; V(false) is refused
            there and accepted with O(edge_ca_est).
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
    description:
      - edgeAgent image, for example V(mcr.microsoft.com/azureiotedge-agent:1.5). Omitted when unset.
      - Required with O(agent_env), O(https_proxy), O(upstream_protocol) and O(agent_registry_auth), since IoT Edge
        reads C([agent]) as a whole.
    type: str
  agent_env:
    description:
      - Environment of edgeAgent (C([agent.env])), name to value; values are written as strings, which IoT Edge
        requires (quote V(true) or numbers in YAML), for example C(RuntimeLogLevel=debug).
      - Set the same variables in the deployment manifest too (P(edgeops.gateway.deployment_manifest#filter)), since
        edgeAgent runs with the manifest's settings once it is deployed.
    type: dict
    version_added: 0.2.0
  https_proxy:
    description:
      - The HTTPS proxy edgeAgent reaches IoT Hub and the registry through (C(https_proxy) in C([agent.env])), an
        C(http://) or C(https://) URL with a host, for example V(http://proxy.site-a.example:3128).
      - An HTTPS proxy carries only WebSocket traffic, so C(UpstreamProtocol) becomes V(AmqpWs) unless
        O(upstream_protocol) says V(MqttWs); V(Amqp) or V(Mqtt) are refused with it.
      - User name and password in the URL are masked in the diff. The daemons (aziot-identityd, aziot-edged) and the
        container engine need the proxy too, in their systemd drop-ins; this module does not write those.
    type: str
    version_added: 0.2.0
  upstream_protocol:
    description: How edgeAgent talks to IoT Hub (C(UpstreamProtocol) in C([agent.env])).
    type: str
    choices: [Amqp, AmqpWs, Mqtt, MqttWs]
    version_added: 0.2.0
  agent_registry_auth:
    description:
      - Credentials of the registry edgeAgent's image comes from (C([agent.config.auth])). The password is masked
        in the diff.
    type: dict
    version_added: 0.2.0
    suboptions:
      serveraddress:
        description: The registry's host (and port), for example V(myregistry.azurecr.io).
        type: str
        required: true
      username:
        description: The user name.
        type: str
        required: true
      password:
        description: The password or token.
        type: str
        required: true
  moby_runtime:
    description:
      - The container engine IoT Edge uses (C([moby_runtime])). IoT Edge requires both O(moby_runtime.uri) and
        O(moby_runtime.network) once the table exists; leave the option out for the package defaults.
    type: dict
    version_added: 0.2.0
    suboptions:
      uri:
        description: The engine's socket, for example V(unix:///var/run/docker.sock).
        type: str
      network:
        description: The container network of the modules, for example V(azure-iot-edge).
        type: str
  auto_reprovisioning_mode:
    description: When IoT Edge provisions again. Omitted when unset (IoT Edge then uses V(Dynamic)).
    type: str
    choices: [Dynamic, AlwaysOnStartup, OnErrorOnly]
  provisioning:
    description: How the gateway gets its IoT Hub identity.
    type: str
    required: true
    choices: [manual_connection_string, manual_symmetric_key, manual_x509, dps_symmetric_key, dps_x509]
  connection_string:
    description:
      - The device connection string from IoT Hub, for O(provisioning=manual_connection_string).
      - Read the way IoT Edge reads it - C(HostName), C(DeviceId) and C(SharedAccessKey) matched exactly, with no
        spaces after C(;) - and the key must be base64.
    type: str
  iothub_hostname:
    description: The IoT Hub host name, for O(provisioning=manual_x509) and O(provisioning=manual_symmetric_key).
    type: str
  device_id:
    description: The IoT Edge device id in IoT Hub, for O(provisioning=manual_x509) and O(provisioning=manual_symmetric_key).
    type: str
  identity_cert:
    description:
      - Absolute path on the gateway of the identity certificate, for the X.509 variants; requires O(identity_pk).
      - The X.509 variants need it or O(identity_cert_est).
    type: path
  identity_pk:
    description: Absolute path on the gateway of the identity private key, for the X.509 variants.
    type: path
  identity_cert_est:
    description:
      - An identity certificate issued by EST instead of O(identity_cert) (a C(identity_cert) table with
        C(method = "est")); IoT Edge makes its key. Uses the server and authentication of O(est) unless
        O(identity_cert_est.url) is given.
    type: dict
    version_added: 0.2.0
    suboptions:
      common_name:
        description: Common name of the certificate (for manual X.509, the device id).
        type: str
      url:
        description: The EST server's URL when it is not O(est.url).
        type: str
      auto_renew:
        description:
          - Renewal policy (C(auto_renew)); all three keys are written. Upstream warns to renew only with a
            CA-based DPS enrollment.
        type: dict
        suboptions:
          rotate_key:
            description: Whether renewal makes a new key.
            type: bool
            default: true
          threshold:
            description: When to renew, as V(N%) of the lifetime (below 100), V(Nmin) or V(Nday) before expiry.
            type: str
            default: 80%
          retry:
            description: How often to retry a failed renewal, in the same units.
            type: str
            default: 4%
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
    description:
      - The symmetric key (base64) inline, for O(provisioning=dps_symmetric_key) (the enrollment's key) and
        O(provisioning=manual_symmetric_key) (the device's primary key, C(device_id_pk)). Masked in the diff.
      - Not with O(symmetric_key_file).
    type: str
  symmetric_key_file:
    description:
      - Absolute path on the gateway of a file holding the symmetric key's raw bytes (not its base64 text), written as
        C({ uri = "file:///..." }) instead of the inline key; for the symmetric key variants.
      - The file is read before anything is written; an empty file or one holding base64 text is refused.
    type: path
    version_added: 0.2.0
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

- name: Configure a gateway behind an HTTPS proxy, pulling edgeAgent from a private registry
  edgeops.gateway.iotedge_config:
    hostname: gw3.site-a.example
    os_hostname: "{{ ansible_facts['nodename'] }}"
    provisioning: manual_symmetric_key
    iothub_hostname: hub1.azure-devices.net
    device_id: gw3
    symmetric_key_file: /var/aziot/secrets/device-id.key
    agent_image: myregistry.azurecr.io/azureiotedge-agent:1.5
    https_proxy: http://proxy.site-a.example:3128
    upstream_protocol: AmqpWs
    agent_registry_auth:
      serveraddress: myregistry.azurecr.io
      username: gateways
      password: "{{ vault_registry_password }}"
    moby_runtime:
      uri: unix:///var/run/docker.sock
      network: azure-iot-edge

- name: Configure a gateway whose Edge CA and identity certificate come from an EST server
  edgeops.gateway.iotedge_config:
    hostname: gw4.site-a.example
    trust_bundle_cert: /var/aziot/certs/root-ca.pem
    provisioning: dps_x509
    id_scope: 0ne00000000
    identity_cert_est:
      common_name: gw4
    edge_ca_est:
      common_name: gw4.site-a.example.ca
    edge_ca_auto_renew:
      rotate_key: true
      threshold: 80%
      retry: 4%
    est:
      url: https://est.site-a.example/.well-known/est
      trusted_certs: [/var/aziot/certs/est-server-ca.pem]
      username: gw4
      password: "{{ vault_est_password }}"
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
import socket
import time

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes, to_native

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan, read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge import (
    IotEdgeConfigError,
    missing_files,
    missing_files_message,
    referenced_files,
    render,
    validate,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_files import FileCheckError, check_files
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_mask import mask_secrets


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


def est_auth_spec():
    """The EST authentication keys, the same in [edge_ca] and [cert_issuance.est.auth]."""
    return dict(
        url=dict(type="str"),
        username=dict(type="str"),
        password=dict(type="str", no_log=True),
        identity_cert=dict(type="path"),
        identity_pk=dict(type="path", no_log=False),
        bootstrap_identity_cert=dict(type="path"),
        bootstrap_identity_pk=dict(type="path", no_log=False),
    )


def auto_renew_spec():
    return dict(
        rotate_key=dict(type="bool", default=True, no_log=False),
        threshold=dict(type="str", default="80%"),
        retry=dict(type="str", default="4%"),
    )


PROVISIONING_CHOICES = [
    "manual_connection_string",
    "manual_symmetric_key",
    "manual_x509",
    "dps_symmetric_key",
    "dps_x509",
]


def main():
    module = AnsibleModule(
        argument_spec=dict(
            path=dict(type="path", default="/etc/aziot/config.toml"),
            hostname=dict(type="str", required=True),
            os_hostname=dict(type="str"),
            check_os_hostname=dict(type="bool", default=False),
            parent_hostname=dict(type="str"),
            trust_bundle_cert=dict(type="path"),
            edge_ca_cert=dict(type="path"),
            edge_ca_pk=dict(type="path", no_log=False),
            edge_ca_auto_renew=dict(type="dict", options=auto_renew_spec()),
            edge_ca_expiry_days=dict(type="int"),
            edge_ca_est=dict(type="dict", options=dict(est_auth_spec(), common_name=dict(type="str"))),
            est=dict(type="dict", options=dict(est_auth_spec(), trusted_certs=dict(type="list", elements="path"))),
            agent_image=dict(type="str"),
            agent_env=dict(type="dict"),
            https_proxy=dict(type="str"),
            upstream_protocol=dict(type="str", choices=["Amqp", "AmqpWs", "Mqtt", "MqttWs"]),
            agent_registry_auth=dict(
                type="dict",
                options=dict(
                    serveraddress=dict(type="str", required=True),
                    username=dict(type="str", required=True),
                    password=dict(type="str", required=True, no_log=True),
                ),
            ),
            moby_runtime=dict(type="dict", options=dict(uri=dict(type="str"), network=dict(type="str"))),
            auto_reprovisioning_mode=dict(type="str", choices=["Dynamic", "AlwaysOnStartup", "OnErrorOnly"]),
            provisioning=dict(type="str", required=True, choices=PROVISIONING_CHOICES),
            connection_string=dict(type="str", no_log=True),
            iothub_hostname=dict(type="str"),
            device_id=dict(type="str"),
            identity_cert=dict(type="path"),
            identity_pk=dict(type="path", no_log=False),
            identity_cert_est=dict(
                type="dict",
                options=dict(
                    common_name=dict(type="str"),
                    url=dict(type="str"),
                    auto_renew=dict(type="dict", options=auto_renew_spec()),
                ),
            ),
            global_endpoint=dict(type="str"),
            id_scope=dict(type="str"),
            registration_id=dict(type="str"),
            symmetric_key=dict(type="str", no_log=True),
            symmetric_key_file=dict(type="path", no_log=False),
            backup=dict(type="bool", default=True),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
            mode=dict(type="raw", default="0600"),
        ),
        required_if=[
            ("provisioning", "manual_connection_string", ("connection_string",)),
            ("provisioning", "manual_symmetric_key", ("iothub_hostname", "device_id")),
            ("provisioning", "manual_symmetric_key", ("symmetric_key", "symmetric_key_file"), True),
            ("provisioning", "manual_x509", ("iothub_hostname", "device_id")),
            ("provisioning", "manual_x509", ("identity_cert", "identity_cert_est"), True),
            ("provisioning", "dps_symmetric_key", ("id_scope", "registration_id")),
            ("provisioning", "dps_symmetric_key", ("symmetric_key", "symmetric_key_file"), True),
            ("provisioning", "dps_x509", ("id_scope",)),
            ("provisioning", "dps_x509", ("identity_cert", "identity_cert_est"), True),
        ],
        required_together=[("edge_ca_cert", "edge_ca_pk"), ("identity_cert", "identity_pk")],
        mutually_exclusive=[
            ("edge_ca_cert", "edge_ca_auto_renew"),
            ("edge_ca_cert", "edge_ca_expiry_days"),
            ("edge_ca_cert", "edge_ca_est"),
            ("edge_ca_est", "edge_ca_expiry_days"),
            ("symmetric_key", "symmetric_key_file"),
            ("identity_cert", "identity_cert_est"),
        ],
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    if not path:
        module.fail_json(
            msg="path is empty; give the file IoT Edge reads, normally /etc/aziot/config.toml", changed=False
        )
    if params["check_os_hostname"] and not params["os_hostname"]:
        params["os_hostname"] = socket.gethostname()
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
