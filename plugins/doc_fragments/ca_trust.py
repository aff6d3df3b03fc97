# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Options shared by edgeops.gateway.ca_trust (Linux) and edgeops.gateway.win_ca_trust (Windows)."""

from __future__ import annotations


class ModuleDocFragment:
    # Both implementations accept every option, so that one task serves Linux and Windows hosts;
    # each ignores the other platform's options (with a warning when they are set).
    DOCUMENTATION = r"""
options:
  state:
    description:
      - V(present) makes the certificate a trust anchor; V(absent) removes it.
    type: str
    choices: [present, absent]
    default: present
  src:
    description:
      - Path of a PEM or DER file holding the CA certificate.
      - A path on the controller (looked up like other C(files) sources), unless O(remote_src=true), when it is a
        path on the managed host.
      - With O(state=absent) the file only identifies the certificate to remove.
      - Mutually exclusive with O(content) and O(fingerprint).
    type: path
  remote_src:
    description:
      - Whether O(src) is a path on the managed host rather than on the controller.
    type: bool
    default: false
  content:
    description:
      - The CA certificate as PEM text.
      - Mutually exclusive with O(src) and O(fingerprint).
      - It is never logged, because a private key passed here by mistake must not be echoed.
    type: str
  fingerprint:
    description:
      - SHA-256 fingerprint (64 hex digits, colons and case ignored) of the certificate to remove.
      - Only with O(state=absent); mutually exclusive with O(src) and O(content).
      - On Windows the store is searched for a certificate with this SHA-256 fingerprint.
    type: str
  name:
    description:
      - File name (without the C(.crt) suffix) of the anchor on Linux; the friendly name on Windows.
      - Defaults to C(ca-) followed by the first 16 hex digits of the SHA-256 fingerprint.
      - With O(state=present), a different certificate under this name is replaced.
      - With O(state=absent) and no certificate or O(fingerprint), the anchor of this name is removed, whatever
        it holds.
      - Letters, digits, C(.), C(_) and C(-) only.
    type: str
  multiple:
    description:
      - What to do when the input holds more than one certificate (for example a root followed by intermediates).
      - V(fail) refuses the input and lists the certificates found.
      - V(root) takes the single self-signed certificate and ignores the others.
      - V(first) takes the first certificate.
      - To trust several certificates, call the module once per certificate.
    type: str
    choices: [fail, root, first]
    default: fail
  allow_non_ca:
    description:
      - Trust a certificate that is not a CA (no C(basicConstraints CA:TRUE), or a C(keyUsage) without
        C(keyCertSign)), for example a self-signed server certificate. Expired certificates are refused regardless.
    type: bool
    default: false
  verify:
    description:
      - After a change on Linux, run C(openssl verify) with the system defaults to prove that the certificate is
        (or is no longer) trusted. The bundle check in O(bundle_path) always runs.
      - Ignored on Windows.
    type: bool
    default: true
  family:
    description:
      - The Linux trust store tooling. V(auto) detects it; V(debian) covers Debian and Ubuntu, V(rhel) the RHEL
        family.
      - With V(auto) and all of O(anchor_dir), O(update_command) and O(bundle_path) set, those are used as given.
      - Ignored on Windows.
    type: str
    choices: [auto, debian, rhel]
    default: auto
  anchor_dir:
    description:
      - Directory the update command reads anchors from. Defaults to the family's directory.
      - Ignored on Windows.
    type: path
  update_command:
    description:
      - The command, as a list of arguments, that rebuilds the trust bundle. Defaults to the family's command.
      - Ignored on Windows.
    type: list
    elements: str
  bundle_path:
    description:
      - The PEM bundle that OpenSSL-based clients read, used to prove the result. Defaults to the family's bundle
        (C(/etc/ssl/certs/ca-certificates.crt) on Debian/Ubuntu, C(/etc/pki/tls/certs/ca-bundle.crt) on RHEL).
      - Ignored on Windows.
    type: path
  store_name:
    description:
      - Windows certificate store name, for example V(Root), V(CA) or V(TrustedPeople).
      - Ignored (with a warning when changed) on Linux.
    type: str
    default: Root
  store_location:
    description:
      - Windows certificate store location.
      - Ignored (with a warning when changed) on Linux.
    type: str
    choices: [LocalMachine, CurrentUser]
    default: LocalMachine
"""
