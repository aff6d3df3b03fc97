#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: ca_trust
short_description: Put a CA certificate into the operating system's trust store, or take it out
version_added: 0.1.0
description:
  - Installs or removes one CA certificate in the trust store that the operating system's TLS clients use, and
    proves the result.
  - The identity of a certificate is its SHA-256 fingerprint, not its file name. A CA that is already trusted under
    another file name is not installed twice; a different certificate under the same O(name) is replaced, and the
    replacement is reported in RV(replaced).
  - On Debian and Ubuntu the certificate is written to C(/usr/local/share/ca-certificates/<name>.crt) and
    C(update-ca-certificates) is run. On the RHEL family (RHEL, CentOS Stream, Rocky, Alma, Fedora) it is written
    to C(/etc/pki/ca-trust/source/anchors/<name>.crt) and C(update-ca-trust extract) is run. The family is detected
    from the tools and directories present; O(family), O(anchor_dir), O(update_command) and O(bundle_path) override
    it for other distributions.
  - After a change on Linux the module proves it. For V(present) the certificate must appear in O(bundle_path)
    (the bundle OpenSSL-based clients read) and C(openssl verify) with the system defaults, run without
    E(SSL_CERT_FILE) and E(SSL_CERT_DIR), must accept it. For V(absent) the bundle must no longer contain it
    (a warning says so when another source still trusts it). The update command runs only when a file was
    written or removed, or when the bundle is stale.
  - On Windows hosts (PowerShell connections) the action plugin runs M(edgeops.gateway.win_ca_trust) instead, with
    the same options; the certificate is imported into C(Cert:\LocalMachine\Root), or the store chosen with
    O(store_name) and O(store_location), matched by its SHA-1 thumbprint. That implementation has not been run on a
    Windows host by this collection's CI.
  - Input that must not become a trust anchor is refused before anything is written, with a message saying how to
    fix it; the store is left as it was. That is data that is not a certificate (a truncated PEM file is named as
    such), data that contains a private key (the key is never echoed), a certificate that is not a CA unless
    O(allow_non_ca=true), and a CA that is expired by the controller's clock.
  - Everything a change needs is checked before the first write, in check mode too, so that a refused run leaves
    nothing behind. That is the anchor folder (a folder, writable, not on a read-only file system), the update
    command (it exists and is executable) and, with O(verify=true), C(openssl). Input larger than 32 MiB, a
    certificate larger than 1 MiB or with more DER elements than any real certificate is refused.
  - When a step fails after the store was changed (the update command fails, or the proof does), the result says
    C(changed=true), so a handler or a report sees the change; the next run repairs a stale bundle.
  - B(Device clocks.) Many devices boot without a clock chip or NTP, so their clock can be behind a CA that was
    just created. When the host's clock is before the CA's notBefore, the anchor is installed and the bundle rebuilt
    anyway, the task reports success with a warning that says "the device clock is behind the CA's notBefore",
    with both times and the fix (set the clock, enable NTP), and the C(openssl verify) proof runs with
    C(-no_check_time), so it still proves that the anchor is in the store OpenSSL reads (C(time_checked) in RV(proof) is
    V(false)). TLS clients on the device reject the chain until the clock is right.
  - When the host's clock is past the CA's notAfter the same happens, with the warning "the device clock is past
    the CA's notAfter". The action plugin first checks the CA against the controller's clock and refuses a CA that
    is expired there ("is expired"), before the host is touched; so for certificates read on the controller the
    warning says that the device clock is ahead. With O(remote_src=true) the controller never sees the certificate
    and the warning names both causes (an expired CA or a clock that is ahead).
  - The action plugin reads O(src) on the controller (unless O(remote_src=true)), refuses a private key there so
    that it never travels to the host, and sends only the certificates to the host.
  - The options O(store_name) and O(store_location) apply to Windows only; O(verify), O(family), O(anchor_dir),
    O(update_command), O(bundle_path) and O(handshake) to Linux only.
  - With O(handshake), the same module run then makes the TLS handshake a device SDK makes with that endpoint, by
    default verified against the system trust store it has just put in order (the proof the store serves its
    purpose), for one Python start on the host instead of two (M(edgeops.gateway.tls_handshake) makes the same
    check as a task of its own). Its outcome is RV(handshake); a failed handshake does not fail the task, because
    the trust store is in place; the caller decides (the C(handshake_check) role fails the device with its
    diagnosis).
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - edgeops.gateway.attributes.action
  - ansible.builtin.action_common_attributes.flow
  - edgeops.gateway.ca_trust
options:
  handshake:
    description:
      - A TLS handshake to make after the trust store is checked (and changed, when it had to be), with the options
        of M(edgeops.gateway.tls_handshake) (except O(edgeops.gateway.tls_handshake#module:gateway_time)).
      - Made in check mode too, against the store as it is, like M(edgeops.gateway.tls_handshake) in check mode.
      - Only with O(state=present), and only on Linux; the action plugin leaves it out on Windows hosts and says so in
        a warning.
    type: dict
    suboptions:
      hostname:
        description: The gateway's hostname as the device uses it (SNI and the name verified).
        type: str
        required: true
      port:
        description: TCP port of the gateway.
        type: int
        default: 8883
      address:
        description: Address (or name) to dial instead of resolving O(handshake.hostname).
        type: str
      ca_file:
        description: PEM file on the host to verify against instead of the system trust store.
        type: path
      client_cert:
        description: PEM client certificate (optionally with its chain) on the host, for mutual TLS.
        type: path
      client_key:
        description: PEM private key of O(handshake.client_cert) on the host; read by OpenSSL, never returned.
        type: path
      client_key_passphrase:
        description: Passphrase of O(handshake.client_key) when it is encrypted.
        type: str
      timeout:
        description: Seconds to wait for the TCP connection and, separately, for the TLS handshake.
        type: float
        default: 10
      retries:
        description: How many more attempts after a V(dns_failure), V(connection_refused) or V(timeout).
        type: int
        default: 2
      retry_delay:
        description: Seconds between attempts.
        type: float
        default: 2
      expiry_warning_days:
        description: Warn when a certificate of the verified chain expires within this many days.
        type: int
        default: 7
      reference_time:
        description: The controller's clock as ISO 8601 text in UTC, to compare the host's clock with.
        type: str
      clock_tolerance:
        description: Seconds of clock offset below which two clocks count as agreeing.
        type: float
        default: 120
attributes:
  action:
    support: full
    details:
      - The action plugin reads O(src) on the controller.
  check_mode:
    support: full
    details:
      - Check mode reports what would be written or removed and whether the update command would run, after the
        same checks of the anchor folder, the update command and C(openssl) as a real run.
  diff_mode:
    support: full
    details:
      - The diff lists the anchor files (Linux) or store entries (Windows) concerned, with their fingerprints and
        subjects, before and after. It never contains key material.
  idempotent:
    support: full
    details:
      - A second run with the same input changes nothing and does not run the update command.
  platform:
    support: full
    platforms: posix, windows
    details:
      - Linux needs the distribution's C(ca-certificates) package and the C(openssl) CLI (for the proof).
notes:
  - The lab of this collection proves the Debian path only (Debian 12 containers). The RHEL code path is covered by
    unit tests; the Windows implementation is checked by parsing and by comparing its argument spec with this
    documentation, and has not been run on Windows.
  - Some runtimes (Node.js, Java, some SDKs) ignore the OS trust store; give them the CA file path.
seealso:
  - module: edgeops.gateway.win_ca_trust
  - module: ansible.windows.win_certificate_store
"""

EXAMPLES = r"""
- name: Trust the site's root CA (read on the controller)
  edgeops.gateway.ca_trust:
    src: "{{ edgeops_pki_dir }}/root-ca.pem"
    name: edgeops-site-a-root-ca

- name: Trust the root of a chain file that also holds intermediates
  edgeops.gateway.ca_trust:
    src: /etc/edgeops/chain.pem
    remote_src: true
    multiple: root
    name: edgeops-site-a-root-ca

- name: Stop trusting a CA identified by its fingerprint
  edgeops.gateway.ca_trust:
    fingerprint: "3F:1A:...:9C"
    state: absent

- name: Trust a CA on a RHEL-like distribution with non-standard paths
  edgeops.gateway.ca_trust:
    content: "{{ lookup('ansible.builtin.file', 'root-ca.pem') }}"
    family: auto
    anchor_dir: /etc/ca-certificates/trust-source/anchors
    update_command: [trust, extract-compat]
    bundle_path: /etc/ssl/certs/ca-certificates.crt

- name: Trust the site's root CA for the current user on Windows
  edgeops.gateway.ca_trust:
    src: "{{ edgeops_pki_dir }}/root-ca.pem"
    store_location: CurrentUser
"""

RETURN = r"""
handshake:
  description:
    - The outcome of O(handshake), with the return values of M(edgeops.gateway.tls_handshake) (C(diagnosis)
      V(null) on success, else the diagnosis and its C(hint)), and C(failed) (whether it failed), C(msg)
      (why, V(null) on success) and C(warnings) (the check's warnings, also given as the task's warnings).
  returned: when O(handshake) was given and the trust store step succeeded
  type: dict
  sample: {failed: false, msg: null, diagnosis: null, hint: null, hostname: gw1.site-a.example, port: 8883,
           tls_version: TLSv1.3, days_to_expiry: 29, warnings: []}
fingerprint:
  description: SHA-256 fingerprint of the certificate, uppercase hex without colons.
  returned: when the certificate or O(fingerprint) was given
  type: str
  sample: 3F1A6C0E8D2B47A59E3C1D0F2A4B6C8D0E1F2A3B4C5D6E7F8091A2B3C4D5E6F7
thumbprint:
  description: SHA-1 thumbprint (the Windows store identity), uppercase hex without colons.
  returned: when the certificate was given
  type: str
  sample: 9E3C1D0F2A4B6C8D0E1F2A3B4C5D6E7F8091A2B3
subject:
  description: Subject of the certificate.
  returned: when the certificate was given
  type: str
  sample: CN=edgeops site-a root CA
not_after:
  description: End of the certificate's validity, ISO 8601 UTC.
  returned: when the certificate was given
  type: str
  sample: "2036-11-23T11:00:00Z"
path:
  description: The anchor file that holds (or would hold) the certificate on Linux.
  returned: success, O(state=present), Linux
  type: str
  sample: /usr/local/share/ca-certificates/edgeops-site-a-root-ca.crt
bundle_path:
  description: The bundle OpenSSL-based clients read, which now contains (or no longer contains) the certificate.
  returned: success, Linux
  type: str
  sample: /etc/ssl/certs/ca-certificates.crt
store:
  description: The Windows store, as a PowerShell path.
  returned: success, Windows
  type: str
  sample: Cert:\LocalMachine\Root
family:
  description: The Linux trust store family used (V(debian), V(rhel) or V(custom)).
  returned: success, Linux
  type: str
  sample: debian
removed:
  description: Anchor files (Linux) or thumbprints (Windows) removed, or that would be removed in check mode.
  returned: success
  type: list
  elements: str
  sample: [/usr/local/share/ca-certificates/edgeops-site-a-root-ca.crt]
replaced:
  description: Certificates that were under the same O(name) and were replaced by this one.
  returned: success
  type: list
  elements: dict
  sample: [{path: /usr/local/share/ca-certificates/edgeops-site-a-root-ca.crt, fingerprint: 0A1B...}]
store_updated:
  description: Whether the update command ran (Linux).
  returned: success, Linux
  type: bool
  sample: true
proof:
  description:
    - How the result was proven after a change on Linux; empty when nothing changed or in check mode.
    - C(bundle_contains) tells whether O(bundle_path) holds the certificate, C(openssl_verify) whether
      C(openssl verify) with the system defaults accepts it.
    - C(time_checked) is V(false) when the host's clock is outside the CA's validity and C(openssl verify) ran with
      C(-no_check_time) (see the warning of that run).
  returned: success, Linux
  type: dict
  sample: {bundle_contains: true, openssl_verify: true, time_checked: true}
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._tls import (
    HANDSHAKE_OPTIONS,
    HANDSHAKE_REQUIRED_BY,
    HANDSHAKE_REQUIRED_TOGETHER,
    run_handshake,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._trust import (
    MULTIPLE_CHOICES,
    TrustError,
    run_ca_trust,
)


def main():
    module = AnsibleModule(
        argument_spec={
            "state": {"type": "str", "choices": ["present", "absent"], "default": "present"},
            "src": {"type": "path"},
            "remote_src": {"type": "bool", "default": False},
            "content": {"type": "str", "no_log": True},
            "fingerprint": {"type": "str"},
            "name": {"type": "str"},
            "multiple": {"type": "str", "choices": list(MULTIPLE_CHOICES), "default": "fail"},
            "allow_non_ca": {"type": "bool", "default": False},
            "verify": {"type": "bool", "default": True},
            "family": {"type": "str", "choices": ["auto", "debian", "rhel"], "default": "auto"},
            "anchor_dir": {"type": "path"},
            "update_command": {"type": "list", "elements": "str"},
            "bundle_path": {"type": "path"},
            "store_name": {"type": "str", "default": "Root"},
            "store_location": {"type": "str", "choices": ["LocalMachine", "CurrentUser"], "default": "LocalMachine"},
            "handshake": {
                "type": "dict",
                "options": HANDSHAKE_OPTIONS,
                "required_together": HANDSHAKE_REQUIRED_TOGETHER,
                "required_by": HANDSHAKE_REQUIRED_BY,
            },
        },
        mutually_exclusive=[("src", "content", "fingerprint")],
        required_if=[
            ("state", "present", ("src", "content"), True),
            ("state", "absent", ("src", "content", "fingerprint", "name"), True),
            ("remote_src", True, ("src",)),
        ],
        supports_check_mode=True,
    )
    handshake = module.params["handshake"]
    if handshake is not None and module.params["state"] != "present":
        module.fail_json(
            msg="handshake is made only with state=present: leave it out when removing a CA", changed=False
        )
    try:
        result = run_ca_trust(module)
    except TrustError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed)
    if handshake is not None:
        ok, outcome = run_handshake(handshake)
        outcome.setdefault("warnings", [])
        for warning in outcome["warnings"]:
            module.warn(f"handshake with {handshake['hostname']}:{handshake['port']}: {warning}")
        outcome.update(failed=not ok, msg=outcome.get("msg"))
        result["handshake"] = outcome
    module.exit_json(**result)


if __name__ == "__main__":
    main()
