#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: runtime_trust
short_description: Make a CA trusted by runtimes that ignore the OS trust store (Node.js, Java, CA bundle files)
version_added: 0.2.0
description:
  - Official Node.js builds, JVMs with their own keystore, and applications configured with a CA file path do not
    read the operating system's trust store that M(edgeops.gateway.ca_trust) manages. This module gives one of them
    the CA, or takes it away again, and proves the result.
  - V(node) writes the CA to O(path) and points E(NODE_EXTRA_CA_CERTS) at it, for the systemd services named in
    O(node_services) (a drop-in C(/etc/systemd/system/<unit>.d/<dropin_name>.conf) with an C(Environment=) line) and,
    with O(node_environment=true), in C(/etc/environment) (read by PAM at login and by C(systemd --user), not by
    system services). Node.js adds that file to its bundled roots. Node.js reads one such file, so a different
    E(NODE_EXTRA_CA_CERTS) already in C(/etc/environment) is refused, not overwritten. After a drop-in changed, the
    module runs C(systemctl daemon-reload) when systemd runs; the services must be restarted to see the variable
    (RV(restart_services) names them).
  - V(java) makes the CA a trusted certificate entry O(name) (the alias) of a keystore with C(keytool), either O(keystore)
    or the C(cacerts) of the JRE that C(java) on the PATH (or O(java_executable)) belongs to. The entry is matched
    by alias and SHA-256 fingerprint; another certificate under the alias is replaced. The password is passed to
    keytool through its environment, not its command line.
  - V(bundle) writes the CA certificates to O(path), a PEM file for applications that take a CA file path.
  - Input that must not become a trust anchor is refused before anything is written, as by
    M(edgeops.gateway.ca_trust) (not a certificate, a private key, not a CA unless O(allow_non_ca=true), expired).
  - A missing runtime is an error for O(state=present) (C(node) for V(node), C(keytool) and a JRE for V(java));
    removal works without it.
  - After a change the result is proven and reported in RV(proof); a failed proof fails the task. V(node) runs
    Node.js with E(NODE_EXTRA_CA_CERTS) set to O(path) and checks that it loads exactly the CA's fingerprints;
    V(java) lists the alias again; V(bundle) reads the file back.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode reads the keystore and the files and reports what would change; it runs no keytool change,
        no Node.js proof and no C(daemon-reload).
  diff_mode:
    support: full
    details:
      - The diff shows the files (CA file, drop-ins, C(/etc/environment)) or the keystore alias with its
        fingerprint, before and after. It never contains a key or the keystore password.
  idempotent:
    support: full
    details:
      - A second run with the same input changes nothing.
  platform:
    support: full
    platforms: posix
options:
  runtime:
    description: Which runtime gets the CA.
    type: str
    required: true
    choices: [node, java, bundle]
  state:
    description: V(present) makes the CA trusted by the runtime; V(absent) takes it away.
    type: str
    choices: [present, absent]
    default: present
  content:
    description:
      - The CA certificate(s) in PEM. Required for O(state=present) unless O(src) is given.
      - For O(state=absent) optional; when given, an alias or file that holds another certificate is left alone.
      - Not logged, so that a private key pasted by mistake is never echoed (it is refused).
    type: str
  src:
    description: A PEM file on the managed host holding the CA certificate(s), instead of O(content).
    type: path
  name:
    description:
      - The keystore alias (V(java)) and the file name of the default O(path) (C(<name>.pem)).
    type: str
    required: true
  path:
    description:
      - The CA file that V(node) points E(NODE_EXTRA_CA_CERTS) at and that V(bundle) writes.
      - Defaults to C(/usr/local/share/edgeops/ca/<name>.pem).
    type: path
  mode:
    description: The mode of the file at O(path).
    type: raw
    default: "0644"
  owner:
    description: The owner of the file at O(path); unset keeps the current (or the user Ansible runs as).
    type: str
  group:
    description: The group of the file at O(path).
    type: str
  allow_non_ca:
    description: Trust a certificate that is not a CA (for example a self-signed server certificate).
    type: bool
    default: false
  node_services:
    description: systemd units (C(.service) is added when no suffix is given) whose processes get E(NODE_EXTRA_CA_CERTS).
    type: list
    elements: str
    default: []
  node_environment:
    description: Set E(NODE_EXTRA_CA_CERTS) in C(/etc/environment) too.
    type: bool
    default: false
  dropin_name:
    description: File name (without C(.conf)) of the systemd drop-ins.
    type: str
    default: edgeops-node-ca
  node_executable:
    description: The Node.js binary for the proof; default C(node) or C(nodejs) on the PATH.
    type: path
  keystore:
    description: The Java keystore to change; default the C(cacerts) of the JRE found from O(java_executable).
    type: path
  keystore_password:
    description: The keystore password (C(changeit) is the JRE's default for C(cacerts)).
    type: str
    default: changeit
  java_executable:
    description: The C(java) binary whose JRE's C(cacerts) is the default O(keystore); default C(java) on the PATH.
    type: path
  keytool_executable:
    description: The C(keytool) binary; default the one beside O(java_executable), else C(keytool) on the PATH.
    type: path
notes:
  - Debian's own C(nodejs) package is built to read the OS store as well; official Node.js builds (nodejs.org,
    NodeSource) are not, and need this module. Debian's C(ca-certificates-java) copies the OS store into the
    distribution JVM's C(cacerts); application keystores and JREs from vendor tarballs need this module.
seealso:
  - module: edgeops.gateway.ca_trust
"""

EXAMPLES = r"""
- name: Let the Node.js telemetry agent trust the site's root CA
  edgeops.gateway.runtime_trust:
    runtime: node
    name: edgeops-site-a-root-ca
    content: "{{ lookup('ansible.builtin.file', 'pki/site-a/root-ca.pem') }}"
    node_services: [telemetry-agent]

- name: Add the root CA to an application's Java truststore
  edgeops.gateway.runtime_trust:
    runtime: java
    name: edgeops-site-a-root-ca
    content: "{{ lookup('ansible.builtin.file', 'pki/site-a/root-ca.pem') }}"
    keystore: /opt/plant-app/conf/truststore.p12
    keystore_password: "{{ vault_plant_app_truststore_password }}"

- name: Remove the CA bundle file again
  edgeops.gateway.runtime_trust:
    runtime: bundle
    name: edgeops-site-a-root-ca
    state: absent
"""

RETURN = r"""
path:
  description: The CA file (V(node), V(bundle)).
  returned: runtime is node or bundle
  type: str
  sample: /usr/local/share/edgeops/ca/edgeops-site-a-root-ca.pem
fingerprints:
  description: SHA-256 fingerprints (uppercase hex) of the CA certificates given.
  returned: success
  type: list
  elements: str
keystore:
  description: The keystore changed (V(java)).
  returned: runtime is java
  type: str
  sample: /usr/lib/jvm/java-17-openjdk-amd64/lib/security/cacerts
restart_services:
  description: Units whose drop-in changed; restart them so their processes see the variable.
  returned: runtime is node
  type: list
  elements: str
  sample: [telemetry-agent.service]
proof:
  description:
    - How the result was proven after a change; empty when nothing changed or in check mode.
    - V(node) has C(node_loads_ca), V(java) C(keystore_contains) and C(fingerprint), V(bundle) C(bundle_contains).
  returned: success
  type: dict
  sample: {node: /usr/bin/node, node_loads_ca: true, ok: true, rc: 0}
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils import _java_trust as java
from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan
from ansible_collections.edgeops.gateway.plugins.module_utils._runtime_trust import (
    DEFAULT_DIR,
    RUNTIMES,
    RuntimeTrustError,
    apply_plan,
    check_name,
    load_certificates,
    plan_bundle,
    plan_node,
    prove_bundle,
    prove_node,
)


def _content(params):
    if params["src"]:
        try:
            with open(params["src"], "rb") as handle:
                return handle.read()
        except OSError as exc:
            raise RuntimeTrustError(
                f"cannot read src {params['src']}: {exc.strerror}; give a readable PEM file"
            ) from None
    return params["content"]


def _files(module, params, certs, result, warnings):
    plan = WritePlan()
    path = result["path"]
    try:
        if params["runtime"] == "bundle":
            before, after = plan_bundle(
                plan, params["state"], path, certs, params["mode"], params["owner"], params["group"]
            )
            units = []
        else:
            before, after, units = plan_node(
                plan,
                params["state"],
                path,
                certs,
                params["node_services"],
                params["node_environment"],
                params["dropin_name"],
                warnings,
            )
    except WriteError as exc:
        raise RuntimeTrustError(str(exc)) from None
    node = None
    if params["runtime"] == "node" and params["state"] == "present":
        node = params["node_executable"] or module.get_bin_path("node") or module.get_bin_path("nodejs")
        if not node or not os.access(node, os.X_OK):
            raise RuntimeTrustError(
                "Node.js is not installed on this host (no node or nodejs on the PATH): install it, or give its "
                "binary in node_executable; nothing was written"
            )
    changed = plan.changed
    dropins = {p for p in plan.paths if p.endswith(params["dropin_name"] + ".conf")}
    result["restart_services"] = [u for u in units if any(f"/{u}.d/" in p for p in dropins)]
    apply_plan(plan, module.check_mode)
    if changed and not module.check_mode:
        if dropins and os.path.isdir("/run/systemd/system"):
            systemctl = module.get_bin_path("systemctl")
            if systemctl:
                rc, _out, err = module.run_command([systemctl, "daemon-reload"])
                if rc != 0:
                    warnings.append(f"systemctl daemon-reload failed: {err.strip()}; run it before the restart")
        if params["runtime"] == "node" and params["state"] == "present":
            result["proof"] = prove_node(module.run_command, node, path, certs)
            result["proof"]["ok"] = result["proof"]["node_loads_ca"]
        else:
            result["proof"] = prove_bundle(params["state"], path, certs)
    return changed, before, after


def _java(module, params, certs, result, warnings):
    for option in ("java_executable", "keytool_executable"):
        if params[option] and not os.access(params[option], os.X_OK):
            raise RuntimeTrustError(f"{option} {params[option]} is not an executable file; give the path of the binary")
    tool_java, keytool = java.find_java(module.get_bin_path, params["java_executable"], params["keytool_executable"])
    keystore = params["keystore"]
    if not keytool:
        if params["state"] == "absent" and (not keystore or not os.path.exists(keystore)):
            result["keystore"] = keystore
            return False, "", ""
        raise RuntimeTrustError(
            "keytool is not installed on this host: install a JRE (Debian/Ubuntu: default-jre-headless), or give "
            "keytool_executable; nothing was changed"
        )
    if not keystore:
        if not tool_java:
            raise RuntimeTrustError(
                "no Java runtime on this host (no java on the PATH) to find cacerts from: install a JRE, "
                "give java_executable, or give the keystore path"
            )
        keystore = java.jre_cacerts(tool_java)
    result["keystore"] = keystore
    password = params["keystore_password"]
    action, before, after = java.plan_java(
        module.run_command, keytool, keystore, password, params["name"], params["state"], certs, warnings
    )
    if action and not module.check_mode:
        java.apply_java(module.run_command, keytool, keystore, password, params["name"], action, certs)
        result["proof"] = java.prove_java(
            module.run_command, keytool, keystore, password, params["name"], params["state"], certs
        )
    return bool(action), before, after


def run(module):
    params = module.params
    check_name(params["name"])
    warnings = []
    content = _content(params)
    certs = load_certificates(content, params["allow_non_ca"]) if content else []
    result = {"runtime": params["runtime"], "fingerprints": [c.sha256 for c in certs], "proof": {}}
    if params["runtime"] == "node" and not params["node_services"] and not params["node_environment"]:
        raise RuntimeTrustError(
            "runtime=node needs node_services (systemd units of the Node.js programs) or node_environment=true; "
            "otherwise no Node.js process would see the CA"
        )
    if params["runtime"] == "java":
        changed, before, after = _java(module, params, certs, result, warnings)
    else:
        result["path"] = params["path"] or os.path.join(DEFAULT_DIR, params["name"] + ".pem")
        changed, before, after = _files(module, params, certs, result, warnings)
    if result["proof"] and not result["proof"].get("ok"):
        raise RuntimeTrustError(
            f"the change was made but the proof failed: {result['proof']}; check that the runtime reads what was "
            "written",
            changed=True,
        )
    result["changed"] = changed
    if module._diff:
        result["diff"] = {"before": before, "after": after}
    for warning in warnings:
        module.warn(warning)
    return result


def main():
    module = AnsibleModule(
        argument_spec={
            "runtime": {"type": "str", "required": True, "choices": list(RUNTIMES)},
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "content": {"type": "str", "no_log": True},
            "src": {"type": "path"},
            "name": {"type": "str", "required": True},
            "path": {"type": "path"},
            "mode": {"type": "raw", "default": "0644"},
            "owner": {"type": "str"},
            "group": {"type": "str"},
            "allow_non_ca": {"type": "bool", "default": False},
            "node_services": {"type": "list", "elements": "str", "default": []},
            "node_environment": {"type": "bool", "default": False},
            "dropin_name": {"type": "str", "default": "edgeops-node-ca"},
            "node_executable": {"type": "path"},
            "keystore": {"type": "path"},
            "keystore_password": {"type": "str", "default": "changeit", "no_log": True},
            "java_executable": {"type": "path"},
            "keytool_executable": {"type": "path"},
        },
        mutually_exclusive=[("src", "content")],
        required_if=[("state", "present", ("src", "content"), True)],
        supports_check_mode=True,
    )
    try:
        result = run(module)
    except RuntimeTrustError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
