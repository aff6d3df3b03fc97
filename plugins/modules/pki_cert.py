#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_cert
short_description: Issue one or many certificates from one CA on the controller
version_added: 0.1.0
description:
  - Issues X.509 certificates for IoT Edge gateways and downstream devices from one issuing CA, with the
    C(cryptography) library, in files on the controller.
  - One task issues a whole list (O(certificates)), for example every downstream device of a site.
  - Each certificate follows a profile with its extensions. V(edge_ca) is C(basicConstraints) critical C(CA:TRUE)
    C(pathlen:0) and C(keyUsage) critical C(digitalSignature), C(keyCertSign). V(gateway_server) has CN and DNS SAN
    equal to the gateway hostname and C(serverAuth). V(device_identity) and V(downstream_device) have
    C(clientAuth). V(intermediate_ca) is a CA without path length limit unless O(certificates[].path_length) is set.
    All carry subject and authority key identifiers.
  - A certificate is rewritten only when it no longer matches the request. This is when its key changed or is
    missing, the issuer changed, the subject, DNS names or profile changed, or it is inside its renew window.
    An existing key is kept and reused; a new one is made only when it is missing or O(key_type) changed.
  - Guards run for every entry before anything is written. They refuse an issuer that is not a CA, is expired
    or whose key does not match, a validity beyond the issuer's, an Edge CA named like its gateway, a gateway
    hostname that is not lowercase RFC 1035 of at most 64 characters, and unreadable or malformed PEM input.
  - With O(certificates[].csr_path) the key stays where the request was made (for example on the device). Only
    the certificate (and its chain) is written, and the request's signature must verify.
  - Every file of the task is checked (folder writable or creatable, not a folder) before the first write; keys
    are written before the certificates that need them, so a refused or interrupted run never leaves a
    certificate without its key. Temp files a killed run left beside the files are removed by the next run.
  - Files are written atomically. Certificates and chains are mode V(0644), keys and PKCS#12 files V(0600).
    Missing directories are created with mode V(0700).
author:
  - edgeops.gateway maintainers (@edgeops)
requirements:
  - cryptography >= 42.0 (on the host that runs the module, normally the controller)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - edgeops.gateway.attributes.controller_action
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details:
      - Check mode reports exactly which certificates a real run would write and why (RV(certificates[].reasons)).
  diff_mode:
    support: full
    details:
      - The diff shows certificate metadata (subject, issuer, serial, validity, SHA-256 thumbprint), never keys.
  idempotent:
    support: full
  platform:
    platforms: posix
    details:
      - Meant to run on the controller (C(delegate_to=localhost)), where the PKI directory lives.
options:
  issuer_cert:
    description:
      - PEM certificate of the issuing CA.
      - When the file holds several certificates (a full-chain file), the first one is the issuer and must match
        O(issuer_key); the others are used as its chain, as if given in O(issuer_chain).
    type: path
    required: true
  issuer_key:
    description: PEM private key of the issuing CA.
    type: path
    required: true
  issuer_key_passphrase:
    description: Passphrase of O(issuer_key) when it is encrypted.
    type: str
  issuer_chain:
    description:
      - PEM files with the certificates above the issuer (intermediates, then the root), in order.
      - They follow the issuer in every full chain file; a root in them is left out unless
        O(full_chain_include_root=true).
    type: list
    elements: path
    default: []
  profile:
    description: Default profile of the entries of O(certificates).
    type: str
    choices: [intermediate_ca, edge_ca, gateway_server, device_identity, downstream_device]
    default: downstream_device
  key_type:
    description: Default key type for new keys.
    type: str
    choices: [ecdsa-p256, rsa-2048, rsa-3072, rsa-4096]
    default: ecdsa-p256
  validity_days:
    description: Default validity of new certificates, in days. It must not end after the issuer's.
    type: int
    default: 365
  backdate_minutes:
    description:
      - How many minutes before the moment of issue a new certificate's notBefore lies, so that a host whose
        clock lags behind the controller's (no RTC, no NTP yet) does not see it as not yet valid.
      - V(0) starts the validity at the moment of issue. At most V(525600) (one year).
      - A change does not reissue existing certificates.
    type: int
    default: 5
  renew_window:
    description:
      - Default renew window. A certificate is reissued from this much before it expires.
      - A percentage of its lifetime (V(20%)), a number of days (V(30d)), or empty for the last third of its lifetime.
    type: str
  full_chain_include_root:
    description: Default for whether full chain files end with the root CA.
    type: bool
    default: false
  certificates:
    description: The certificates to issue from this issuer.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Where the certificate (PEM) is written.
        type: path
        required: true
      common_name:
        description:
          - The subject CN. For V(gateway_server), the gateway hostname; for V(downstream_device) and
            V(device_identity), the IoT Hub device id.
        type: str
        required: true
      profile:
        description: The profile; O(profile) when not set.
        type: str
        choices: [intermediate_ca, edge_ca, gateway_server, device_identity, downstream_device]
      dns_names:
        description: Extra DNS SAN entries (a V(gateway_server) always carries its common name first).
        type: list
        elements: str
      key_path:
        description: Where the private key is kept; default O(certificates[].path) with C(.pem) replaced by C(.key.pem).
        type: path
      csr_path:
        description:
          - A PEM certificate signing request to sign instead of making a key. The certificate gets the request's
            public key; its subject comes from O(certificates[].common_name).
        type: path
      full_chain:
        description: Whether to write the full chain file.
        type: bool
        default: true
      full_chain_path:
        description:
          - Where the certificate followed by its issuer and intermediates is written; default
            O(certificates[].path) with C(.pem) replaced by C(-full-chain.pem).
        type: path
      full_chain_include_root:
        description: Whether the full chain ends with the root CA; O(full_chain_include_root) when not set.
        type: bool
      pkcs12_path:
        description: Also write a PKCS#12 file with key, certificate and chain (for Windows devices).
        type: path
      pkcs12_passphrase:
        description: Passphrase of the PKCS#12 file; none when not set.
        type: str
      key_type:
        description: Key type; O(key_type) when not set.
        type: str
        choices: [ecdsa-p256, rsa-2048, rsa-3072, rsa-4096]
      validity_days:
        description: Validity in days; O(validity_days) when not set.
        type: int
      renew_window:
        description: Renew window; O(renew_window) when not set.
        type: str
      path_length:
        description: Path length constraint of an V(intermediate_ca) (V(edge_ca) always has 0).
        type: int
      gateway_hostname:
        description: For V(edge_ca), the gateway's hostname; the Edge CA's common name must differ from it.
        type: str
      device_id:
        description: For V(edge_ca), the gateway's IoT Hub device id; the Edge CA's common name must differ from it.
        type: str
seealso:
  - module: edgeops.gateway.pki_ca
  - module: edgeops.gateway.pki_report
"""

EXAMPLES = r"""
- name: Give a gateway its Edge CA
  edgeops.gateway.pki_cert:
    issuer_cert: /srv/pki/site-a/root-ca.pem
    issuer_key: /srv/pki/site-a/root-ca.key.pem
    full_chain_include_root: true
    certificates:
      - path: /srv/pki/site-a/gateways/gw1/edge-ca.pem
        profile: edge_ca
        common_name: gw1.site-a.example.ca
        gateway_hostname: gw1.site-a.example
        validity_days: 365
  delegate_to: localhost

- name: Issue every downstream device of the site in one task
  edgeops.gateway.pki_cert:
    issuer_cert: /srv/pki/site-a/root-ca.pem
    issuer_key: /srv/pki/site-a/root-ca.key.pem
    profile: downstream_device
    validity_days: 90
    renew_window: 30d
    certificates:
      - path: /srv/pki/site-a/devices/dev1/device.pem
        common_name: dev1
      - path: /srv/pki/site-a/devices/dev2/device.pem
        common_name: dev2
        pkcs12_path: /srv/pki/site-a/devices/dev2/device.pfx
        pkcs12_passphrase: "{{ vault_dev2_pfx_passphrase }}"
  delegate_to: localhost
  run_once: true

- name: Sign a request made on the device (its key never leaves it)
  edgeops.gateway.pki_cert:
    issuer_cert: /srv/pki/site-a/root-ca.pem
    issuer_key: /srv/pki/site-a/root-ca.key.pem
    certificates:
      - path: /srv/pki/site-a/devices/dev1/device.pem
        common_name: dev1
        csr_path: /srv/pki/site-a/devices/dev1/device.csr
  delegate_to: localhost
"""

RETURN = r"""
certificates:
  description:
    - One entry per requested certificate, in request order. No key material.
    - In check mode, a certificate that would be (re)issued has V(null) serial, validity and thumbprints.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The certificate file.
      type: str
      sample: /srv/pki/site-a/devices/dev1/device.pem
    changed:
      description: Whether any file of this entry was (or would be) written.
      type: bool
    reissued:
      description: Whether the certificate was (or would be) issued anew.
      type: bool
    reasons:
      description: Why it was reissued; empty when it still matches the request.
      type: list
      elements: str
      sample: ["inside its renew window since 2026-10-01T00:00:00Z (expires 2026-12-01T00:00:00Z)"]
    subject:
      description: Subject (RFC 4514).
      type: str
      sample: CN=dev1
    dns_names:
      description: DNS names of the SAN.
      type: list
      elements: str
    serial:
      description: Serial number, uppercase hex.
      type: str
    not_before:
      description: Start of validity (UTC, ISO 8601).
      type: str
      sample: "2026-11-23T11:26:20Z"
    not_after:
      description: End of validity (UTC, ISO 8601).
      type: str
    days_left:
      description: Whole days until O(certificates[].path) expires.
      type: int
    thumbprint_sha256:
      description: IoT Hub thumbprint, SHA-256 of the DER, uppercase hex without colons.
      type: str
      sample: D23BEEFD101CF1D9E04501BA3F502DB5430CE2F38295F56A9E4B943AE968F83F
    thumbprint_sha1:
      description: IoT Hub thumbprint, SHA-1 of the DER, uppercase hex without colons.
      type: str
      sample: 672D0C4D3969552679220EB5104D5FBAC56863B5
issuer:
  description: Subject of the issuing CA (RFC 4514), the same for every certificate of the task.
  returned: success
  type: str
  sample: CN=site-a root CA
now:
  description: The moment the renew decisions were made for (UTC).
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_modules import PKI_CERT_SPEC, run_pki_cert


def main():
    # The action plugin of the same name runs run_pki_cert in the controller's Python when the task runs there.
    module = AnsibleModule(supports_check_mode=True, **PKI_CERT_SPEC)
    module.exit_json(**run_pki_cert(module))


if __name__ == "__main__":
    main()
