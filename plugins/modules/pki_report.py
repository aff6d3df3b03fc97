#!/usr/bin/python
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_report
short_description: Report the expiry of every certificate of a site's PKI
version_added: 0.1.0
description:
  - Reads every certificate under a site's PKI directory on the controller. Key files (C(*.key.pem)) and full
    chain files (C(*-full-chain.pem)) are skipped.
  - Returns, per certificate, its days left, thumbprints and whether the next run of the PKI would renew it and
    why. It would when it is expired or inside the renew window, when it no longer matches the key next to it
    (C(<name>.key.pem)), or when its issuer is missing from the directory or no longer verifies it.
  - A C(*.pem) file that is not a readable certificate (a request or a key saved as C(.pem), an empty file, a
    dangling link, a damaged certificate) does not fail the report. It is listed in RV(unreadable) with the reason,
    and so is a key next to a certificate that cannot be read; every certificate that can be read is reported.
  - Only reads; never changes anything.
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
      - The module only reads, so check mode returns the same report.
  diff_mode:
    support: none
  idempotent:
    support: full
  platform:
    platforms: posix
    details:
      - Meant to run on the controller (C(delegate_to=localhost)), where the PKI directory lives.
options:
  path:
    description: The site's PKI directory (the pki role passes C(edgeops_pki_dir)).
    type: path
    required: true
    aliases: [pki_dir]
  renew_window:
    description:
      - The renew window the PKI uses. A percentage of a certificate's lifetime (V(20%)), a number of days
        (V(30d)), or empty for the last third of its lifetime.
    type: str
seealso:
  - module: edgeops.gateway.pki_cert
  - module: edgeops.gateway.pki_ca
"""

EXAMPLES = r"""
- name: Report the expiry of the site's certificates
  edgeops.gateway.pki_report:
    path: /srv/pki/site-a
  delegate_to: localhost
  run_once: true
  register: expiry

- name: Show what the next run renews
  ansible.builtin.debug:
    msg: "{{ expiry.renew }}"
"""

RETURN = r"""
certificates:
  description: Every certificate found, soonest expiry first. No key material.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The certificate file.
      type: str
    relative_path:
      description: The file relative to O(path).
      type: str
      sample: devices/dev1/device.pem
    subject:
      description: Subject (RFC 4514).
      type: str
    issuer:
      description: Issuer (RFC 4514).
      type: str
    serial:
      description: Serial number, uppercase hex.
      type: str
    not_before:
      description: Start of validity (UTC, ISO 8601).
      type: str
    not_after:
      description: End of validity (UTC, ISO 8601).
      type: str
    days_left:
      description: Whole days until it expires (negative once expired).
      type: int
    renew_from:
      description: When its renew window starts (UTC, ISO 8601).
      type: str
    renew:
      description: Whether the next run of the PKI renews it.
      type: bool
    reasons:
      description: Why it would be renewed.
      type: list
      elements: str
    expired:
      description: Whether it has expired.
      type: bool
    thumbprint_sha256:
      description: SHA-256 of the DER, uppercase hex without colons (IoT Hub's form).
      type: str
    thumbprint_sha1:
      description: SHA-1 of the DER, uppercase hex without colons.
      type: str
renew:
  description: Relative paths of the certificates the next run renews.
  returned: success
  type: list
  elements: str
  sample: [devices/dev1/device.pem]
expired:
  description: Relative paths of the expired certificates.
  returned: success
  type: list
  elements: str
soonest:
  description: The earliest C(not_after) of all certificates, or V(null) when there is none.
  returned: success
  type: str
unreadable:
  description: Files under O(path) the report could not read, with the reason. Empty when everything was read.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The file.
      type: str
    relative_path:
      description: The file relative to O(path).
      type: str
      sample: devices/dev1/device.csr.pem
    reason:
      description: Why it was not read.
      type: str
      sample: a certificate signing request, not a certificate
now:
  description: The moment the report was made for (UTC).
  returned: success
  type: str
path:
  description: The PKI directory read (O(path)).
  returned: success
  type: str
  sample: /srv/pki/site-a
  version_added: 0.2.0
renew_window:
  description: The renew window the C(renew) flags were computed with (O(renew_window)); V(null) for the default.
  returned: success
  type: str
  version_added: 0.2.0
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_modules import PKI_REPORT_SPEC, run_pki_report


def main():
    # The action plugin of the same name runs run_pki_report in the controller's Python when the task runs there.
    module = AnsibleModule(supports_check_mode=True, **PKI_REPORT_SPEC)
    module.exit_json(**run_pki_report(module))


if __name__ == "__main__":
    main()
