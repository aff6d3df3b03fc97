#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

# This file only documents the module: the code is win_ca_trust.ps1.

from __future__ import annotations

DOCUMENTATION = r"""
module: win_ca_trust
short_description: Put a CA certificate into a Windows certificate store, or take it out
version_added: 0.1.0
description:
  - The Windows implementation of M(edgeops.gateway.ca_trust). M(edgeops.gateway.ca_trust) runs it by itself on
    hosts reached over a PowerShell connection, so playbooks normally call M(edgeops.gateway.ca_trust) for every
    host; calling this module by name works the same way.
  - Imports the CA certificate into C(Cert:\LocalMachine\Root), or the store chosen with O(store_name) and
    O(store_location). The certificate is matched by its SHA-1 thumbprint (the store's identity); O(fingerprint)
    matches the SHA-256 fingerprint. O(name) becomes the certificate's friendly name, and a different certificate
    with the same friendly name is replaced and reported in RV(replaced).
  - V(absent) removes the certificate (identified by the input, O(fingerprint), or else by friendly name O(name)).
  - Input that must not become a trust anchor is refused before the store is opened for writing, that is data that is not
    a certificate, data that contains a private key (never echoed), a certificate that is not a CA unless
    O(allow_non_ca=true), and an expired certificate.
  - B(This implementation has not been run on a Windows host by this collection's CI), because no PowerShell runtime is
    available there. It is checked by parsing it with the tree-sitter PowerShell grammar and by comparing its
    argument spec with this documentation and with M(edgeops.gateway.ca_trust).
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - edgeops.gateway.attributes.action
  - ansible.builtin.action_common_attributes.flow
  - edgeops.gateway.ca_trust
attributes:
  action:
    support: full
    details:
      - The action plugin reads O(src) on the controller, as for M(edgeops.gateway.ca_trust).
  check_mode:
    support: full
    details:
      - The store is opened read-only in check mode.
  diff_mode:
    support: full
    details:
      - The diff lists the store entries concerned (thumbprint, SHA-256 fingerprint, subject) before and after.
  idempotent:
    support: full
  platform:
    support: full
    platforms: windows
notes:
  - Changing a C(LocalMachine) store needs administrator rights.
  - The Linux-only options (O(verify), O(family), O(anchor_dir), O(update_command), O(bundle_path)) are accepted so
    that one task serves both platforms, and ignored (with a warning when set).
seealso:
  - module: edgeops.gateway.ca_trust
  - module: ansible.windows.win_certificate_store
"""

EXAMPLES = r"""
- name: Trust the site's root CA on a Windows device (usually through edgeops.gateway.ca_trust)
  edgeops.gateway.win_ca_trust:
    src: "{{ edgeops_pki_dir }}/root-ca.pem"
    name: edgeops-site-a-root-ca

- name: Remove it again by fingerprint
  edgeops.gateway.win_ca_trust:
    fingerprint: "{{ root_ca_sha256 }}"
    state: absent
"""

RETURN = r"""
fingerprint:
  description: SHA-256 fingerprint of the certificate, uppercase hex without colons.
  returned: when the certificate or O(fingerprint) was given
  type: str
  sample: 3F1A6C0E8D2B47A59E3C1D0F2A4B6C8D0E1F2A3B4C5D6E7F8091A2B3C4D5E6F7
thumbprint:
  description: SHA-1 thumbprint, the store's identity of the certificate.
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
  description: The certificate's PowerShell path in the store.
  returned: success, O(state=present)
  type: str
  sample: Cert:\LocalMachine\Root\9E3C1D0F2A4B6C8D0E1F2A3B4C5D6E7F8091A2B3
store:
  description: The store, as a PowerShell path.
  returned: success
  type: str
  sample: Cert:\LocalMachine\Root
removed:
  description: Thumbprints removed, or that would be removed in check mode.
  returned: success
  type: list
  elements: str
  sample: [9E3C1D0F2A4B6C8D0E1F2A3B4C5D6E7F8091A2B3]
proof:
  description:
    - After a change, C(store_contains) tells whether the store, read again, lists the certificate. The module fails
      when that contradicts the change. Empty when nothing changed or in check mode.
  returned: success
  type: dict
  sample: {store_contains: true}
replaced:
  description: Certificates that had the same friendly name O(name) and were replaced by this one.
  returned: success
  type: list
  elements: dict
  sample: [{path: "Cert:\\LocalMachine\\Root\\0A1B...", fingerprint: 5C6D...}]
"""
