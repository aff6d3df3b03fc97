#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_ca
short_description: Create or import a site's root or intermediate CA on the controller
version_added: 0.1.0
description:
  - Generates a self-signed root CA (O(type=root)) or an intermediate CA signed by O(issuer_cert)
    (O(type=intermediate)) with the C(cryptography) library, or imports the user's own CA certificate and key
    (O(import_cert), O(import_key)) into the site's PKI directory.
  - A root CA has C(basicConstraints) critical C(CA:TRUE) and C(keyUsage) critical C(keyCertSign), C(cRLSign),
    C(digitalSignature), with subject and authority key identifiers. An intermediate CA is the same, signed by
    its issuer.
  - The certificate is rewritten only when it no longer matches the request. This is when the key changed, the
    issuer changed, the subject or profile changed, or it is inside its renew window. The key is kept when it exists, so a renewed
    CA keeps the same key and subject key identifier, and certificates it issued earlier still verify.
  - An imported CA is checked before anything is written. It must be a CA, not expired, match its key, be
    self-signed for O(type=root), and be issued by O(issuer_cert) when that is given. It is then copied unchanged.
    A root may be imported without its key, for trust only; nothing can be issued from it here.
  - Certificates are written with mode V(0644), keys with mode V(0600), atomically. Missing directories are
    created with mode V(0700). Every target is checked before the first write and the key is written before its
    certificate, so a refused or interrupted run never leaves a CA certificate without its key.
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
      - Check mode reports whether the CA would be created, renewed or imported, and why.
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
  path:
    description: Where the CA certificate (PEM) is kept.
    type: path
    required: true
  key_path:
    description:
      - Where the CA private key (PEM) is kept.
      - Required unless a root CA is imported without its key.
    type: path
  key_passphrase:
    description:
      - Passphrase that protects the CA key at O(key_path); a generated key is encrypted with it.
      - For an imported key, the passphrase of O(import_key); the key is copied as it is.
    type: str
  type:
    description: Root (self-signed) or intermediate CA.
    type: str
    choices: [root, intermediate]
    default: root
  common_name:
    description: The CA's subject CN, when the CA is generated. Mutually exclusive with O(import_cert).
    type: str
  key_type:
    description: Key type of a generated CA. A change makes a new key and certificate.
    type: str
    choices: [ecdsa-p256, rsa-2048, rsa-3072, rsa-4096]
    default: ecdsa-p256
  validity_days:
    description: Validity of a generated CA, in days. An intermediate's must not end after its issuer's.
    type: int
    default: 3650
  path_length:
    description: Path length constraint of a generated CA (0 or more); none when not set.
    type: int
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
      - A generated CA is renewed from this much before it expires.
      - A percentage of its lifetime (V(20%)), a number of days (V(90d)), or empty for the last third of its lifetime.
    type: str
  issuer_cert:
    description:
      - For O(type=intermediate), the certificate of the CA that signs it.
      - With O(import_cert), the imported CA must have been issued by it.
    type: path
  issuer_key:
    description: For a generated O(type=intermediate), the issuer's private key.
    type: path
  issuer_key_passphrase:
    description: Passphrase of O(issuer_key) when it is encrypted.
    type: str
  issuer_chain:
    description: PEM files of the certificates above the issuer, for O(full_chain_path).
    type: list
    elements: path
    default: []
  full_chain_path:
    description: For a generated intermediate, also write it followed by its issuer chain to this file.
    type: path
  full_chain_include_root:
    description: Whether O(full_chain_path) ends with the root CA.
    type: bool
    default: false
  import_cert:
    description:
      - The user's own CA certificate (PEM) to import instead of generating one.
      - The file must hold exactly one certificate; a bundle is refused with the list of what it holds (import
        each CA of a chain with its own task).
    type: path
  import_key:
    description: The private key (PEM) of O(import_cert). Required for an imported intermediate.
    type: path
seealso:
  - module: edgeops.gateway.pki_cert
  - module: edgeops.gateway.pki_report
"""

EXAMPLES = r"""
- name: Create the site's root CA
  edgeops.gateway.pki_ca:
    path: /srv/pki/site-a/root-ca.pem
    key_path: /srv/pki/site-a/root-ca.key.pem
    key_passphrase: "{{ vault_root_ca_passphrase }}"
    common_name: site-a root CA
    validity_days: 3650
  delegate_to: localhost
  run_once: true

- name: Create an intermediate CA below it
  edgeops.gateway.pki_ca:
    type: intermediate
    path: /srv/pki/site-a/intermediate-ca.pem
    key_path: /srv/pki/site-a/intermediate-ca.key.pem
    common_name: site-a intermediate CA
    validity_days: 1825
    issuer_cert: /srv/pki/site-a/root-ca.pem
    issuer_key: /srv/pki/site-a/root-ca.key.pem
    issuer_key_passphrase: "{{ vault_root_ca_passphrase }}"
  delegate_to: localhost
  run_once: true

- name: Bring your own root CA (certificate and key from the company PKI)
  edgeops.gateway.pki_ca:
    path: /srv/pki/site-a/root-ca.pem
    key_path: /srv/pki/site-a/root-ca.key.pem
    import_cert: /secure/company-root.pem
    import_key: /secure/company-root.key.pem
    key_passphrase: "{{ vault_company_root_passphrase }}"
  delegate_to: localhost
  run_once: true
"""

RETURN = r"""
path:
  description: The CA certificate file.
  returned: success
  type: str
reissued:
  description: Whether the CA certificate was (or would be) generated anew.
  returned: success
  type: bool
imported:
  description: Whether the given CA was (or would be) copied in.
  returned: when O(import_cert) is set
  type: bool
reasons:
  description: Why the certificate was generated or imported; empty when nothing changed.
  returned: success
  type: list
  elements: str
  sample: ["no key yet", "no certificate yet"]
profile:
  description: V(root_ca) or V(intermediate_ca).
  returned: success
  type: str
subject:
  description: Subject (RFC 4514).
  returned: success
  type: str
  sample: CN=site-a root CA
issuer:
  description: Issuer (RFC 4514).
  returned: success
  type: str
common_name:
  description: Subject common name.
  returned: success
  type: str
serial:
  description: Serial number, uppercase hex; V(null) in check mode when it would be generated anew.
  returned: success
  type: str
not_before:
  description: Start of validity (UTC, ISO 8601); V(null) in check mode when it would be generated anew.
  returned: success
  type: str
not_after:
  description: End of validity (UTC, ISO 8601); V(null) in check mode when it would be generated anew.
  returned: success
  type: str
days_left:
  description: Whole days until the CA expires.
  returned: success
  type: int
key_type:
  description: Key type of the CA.
  returned: success
  type: str
thumbprint_sha256:
  description: SHA-256 of the DER, uppercase hex without colons (the form IoT Hub shows).
  returned: success
  type: str
thumbprint_sha1:
  description: SHA-1 of the DER, uppercase hex without colons.
  returned: success
  type: str
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_modules import PKI_CA_SPEC, run_pki_ca


def main():
    # The action plugin of the same name runs run_pki_ca in the controller's Python when the task runs there.
    module = AnsibleModule(supports_check_mode=True, **PKI_CA_SPEC)
    module.exit_json(**run_pki_ca(module))


if __name__ == "__main__":
    main()
