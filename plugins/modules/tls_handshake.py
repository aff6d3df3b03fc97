#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: tls_handshake
short_description: Prove from a downstream device that it trusts its gateway's TLS chain, and say why not
version_added: 0.1.0
description:
  - Runs on the downstream device and makes the TLS handshake a device SDK makes with its IoT Edge gateway, the
    scripted form of C(openssl s_client -connect gw:8883 -CAfile root.pem).
  - Connects to O(hostname) (resolved by the device, or O(address) when given) on O(port), sends O(hostname) as SNI,
    verifies the chain against the system trust store (or O(ca_file)) and O(hostname) against the certificate's
    subjectAltName (the subject CN only when there is no DNS subjectAltName). TLS 1.2 and 1.3 are allowed, as
    device SDKs speak TLS 1.2.
  - The system trust store is OpenSSL's compiled-in default CA file and directory (on Debian and Ubuntu
    C(/usr/lib/ssl/cert.pem) and C(/usr/lib/ssl/certs), that is C(/etc/ssl/certs)). The E(SSL_CERT_FILE) and
    E(SSL_CERT_DIR) environment variables are not consulted, so a pass proves what the OS store holds.
  - On success it returns the TLS version, cipher, the chain the server presented, the verified chain up to the
    trusted root, the days until the first certificate of the verified chain expires and the handshake time. A
    certificate of the verified chain expiring within O(expiry_warning_days) gives a warning, not a failure.
  - On failure the task fails with RV(diagnosis), one of V(dns_failure), V(connection_refused), V(timeout),
    V(tls_protocol_error), V(untrusted_root), V(missing_intermediate), V(hostname_mismatch), V(expired),
    V(not_yet_valid), V(client_cert_required), V(client_cert_rejected), V(ca_name_loop), V(clock_skew), and a
    one-line RV(hint) that says how to fix it.
  - With O(reference_time) (the controller's clock, for example C({{ now(utc=true).isoformat() }}Z)) the device's
    clock is compared with it and RV(clock_offset) is returned. When a V(not_yet_valid) or V(expired) failure is
    explained by that offset (more than O(clock_tolerance) seconds, and the certificate is valid at the reference
    time) the diagnosis is V(clock_skew), with the measured offset and how to fix the clock, instead of blaming the
    certificate.
  - With O(gateway_time) as well (the gateway's clock, read on the gateway just before), the three clocks are
    compared. Two that agree within O(clock_tolerance) outvote the third, and RV(clock_off) names the clock that is
    off (V(device), V(gateway) or V(controller)) and RV(clock_off_by) how far. A gateway whose clock is ahead serves
    a certificate it issued that is not yet valid for everyone else (IoT Edge issues edgeHub's server certificate by
    the gateway's clock); a controller whose clock is wrong issued the site PKI by it.
  - The diagnosis is made from what the handshake shows, not from error text. The handshake messages are observed
    (the chain the server sent, whether it asked for a client certificate, which alert ended the handshake),
    OpenSSL's verify code tells the kind of verification failure, and chain-building failures are told apart by
    reading the presented certificates and the trust anchors. See the collection's C(docs/handshake.md) for the
    rules.
  - V(ca_name_loop) means the CA and the server certificate carry the same name. Clients that chain by name fail
    on it; where this device's OpenSSL still completes the handshake (key identifiers present), it is a warning and
    RV(findings) contains V(ca_name_loop).
  - Needs only the Python standard library (3.8 or later) on the device; the C(cryptography) package is not used.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
attributes:
  check_mode:
    support: full
    details:
      - The module changes nothing, so it runs the same check in check mode.
  diff_mode:
    support: N/A
    details:
      - The module changes nothing; there is nothing to diff.
  idempotent:
    support: full
    details:
      - The result is always C(changed=false).
  platform:
    support: full
    platforms: posix
    details:
      - Any POSIX device with Python 3.8 or later and its C(ssl) module.
notes:
  - Ports of an IoT Edge gateway are 8883 (MQTT over TLS), 5671 (AMQP over TLS) and 443 (HTTPS, WebSockets).
  - With TLS 1.3 a server judges the client certificate after the client's part of the handshake; when the server
    asked for one, the module waits up to 3 seconds (at most O(timeout)) for the server's session ticket or alert.
  - Retries (O(retries)) are made only for V(dns_failure), V(connection_refused) and V(timeout); a certificate
    problem does not go away by asking again.
seealso:
  - name: Azure IoT Edge, connect a downstream device to a gateway
    description: Microsoft's guide to the same check with C(openssl s_client).
    link: https://learn.microsoft.com/azure/iot-edge/how-to-connect-downstream-device
options:
  hostname:
    description:
      - The gateway's hostname as the device uses it (GatewayHostName). It is sent as SNI and the server
        certificate must carry it.
      - A name alone, without scheme or port.
    type: str
    required: true
  port:
    description:
      - TCP port of the gateway.
    type: int
    default: 8883
  address:
    description:
      - Address (or name) to dial instead of resolving O(hostname), for a device that reaches its gateway by IP
        while the certificate carries the hostname. O(hostname) is still the SNI and the name verified.
    type: str
  ca_file:
    description:
      - PEM file on the device with the CA certificates to trust instead of the system trust store.
      - When not set, the system trust store is used; that is what proves a trust-store installation.
    type: path
  client_cert:
    description:
      - PEM client certificate (optionally followed by its chain) for mutual TLS, on the device.
      - Requires O(client_key).
    type: path
  client_key:
    description:
      - PEM private key of O(client_cert), on the device. It is read by OpenSSL and never returned.
    type: path
  client_key_passphrase:
    description:
      - Passphrase of O(client_key) when it is encrypted.
    type: str
  timeout:
    description:
      - Seconds to wait for the TCP connection and, separately, for the TLS handshake.
    type: float
    default: 10
  retries:
    description:
      - How many more attempts after a V(dns_failure), V(connection_refused) or V(timeout).
    type: int
    default: 2
  retry_delay:
    description:
      - Seconds between attempts.
    type: float
    default: 2
  expiry_warning_days:
    description:
      - Warn when a certificate of the verified chain expires within this many days (C(iotedge check) uses 7).
    type: int
    default: 7
  reference_time:
    description:
      - A trusted clock to compare the device's clock with, as ISO 8601 text in UTC (C(Z) or C(+00:00); a time
        without an offset is taken as UTC). Pass the controller's clock, C({{ now(utc=true).isoformat() }}Z).
      - The time between templating on the controller and the check on the device (usually seconds) counts as
        offset; O(clock_tolerance) absorbs it.
    type: str
  clock_tolerance:
    description:
      - Offset in seconds between the device's clock and O(reference_time) below which the clocks count as agreeing.
    type: float
    default: 120
  gateway_time:
    description:
      - The gateway's clock, as ISO 8601 text in UTC like O(reference_time), read on the gateway (for example with
        C(date -u +%Y-%m-%dT%H:%M:%SZ)) just before this check. The C(handshake_check) role reads it when a check
        fails with V(expired) or V(not_yet_valid) and checks again with it.
    type: str
"""

EXAMPLES = r"""
- name: Check that the device trusts its gateway through the OS trust store
  edgeops.gateway.tls_handshake:
    hostname: gw1.site-a.example

- name: Check AMQP against a given root, dialing the gateway by IP
  edgeops.gateway.tls_handshake:
    hostname: gw1.site-a.example
    address: 192.0.2.10
    port: 5671
    ca_file: /usr/local/share/ca-certificates/site-a-root.crt

- name: Check mutual TLS with the device's own certificate
  edgeops.gateway.tls_handshake:
    hostname: gw1.site-a.example
    client_cert: /etc/edgeops/device-full-chain.pem
    client_key: /etc/edgeops/device.key.pem
  register: handshake

- name: Show why a device cannot reach its gateway
  edgeops.gateway.tls_handshake:
    hostname: gw1.site-a.example
  register: handshake
  failed_when: false

- name: Print the diagnosis
  ansible.builtin.debug:
    msg: "{{ handshake.diagnosis }}: {{ handshake.hint }}"
  when: handshake.diagnosis is not none
"""

RETURN = r"""
hostname:
  description: The name sent as SNI and verified.
  returned: always
  type: str
  sample: gw1.site-a.example
port:
  description: The port dialed.
  returned: always
  type: int
  sample: 8883
address:
  description: The IP address the connection was made to.
  returned: when the name or O(address) resolved
  type: str
  sample: 192.0.2.10
trust:
  description: V(system) for the system trust store, else the path of O(ca_file).
  returned: always
  type: str
  sample: system
clock_offset:
  description: Seconds the device's clock is ahead of O(reference_time) (negative when behind).
  returned: when O(reference_time) is given
  type: float
  sample: -259200.4
gateway_clock_offset:
  description: Seconds the device's clock is ahead of O(gateway_time) (negative when behind).
  returned: when O(gateway_time) is given
  type: float
  sample: 3.2
clock_off:
  description: With RV(diagnosis=clock_skew), the clock that is off, V(device), V(gateway) or V(controller).
  returned: when the diagnosis is clock_skew
  type: str
  sample: gateway
clock_off_by:
  description: With RV(diagnosis=clock_skew), seconds the clock in RV(clock_off) is ahead of the others (negative when behind).
  returned: when the diagnosis is clock_skew
  type: float
  sample: 7200.0
clock_diagnosis:
  description: With RV(diagnosis=clock_skew), what the device's clock made of the certificate (V(not_yet_valid) or V(expired)).
  returned: when the diagnosis is clock_skew
  type: str
  sample: not_yet_valid
attempts:
  description: Number of connection attempts made.
  returned: always
  type: int
  sample: 1
diagnosis:
  description:
    - Why the check failed, one of V(dns_failure), V(connection_refused), V(timeout), V(tls_protocol_error),
      V(untrusted_root), V(missing_intermediate), V(hostname_mismatch), V(expired), V(not_yet_valid),
      V(client_cert_required), V(client_cert_rejected), V(ca_name_loop), V(clock_skew).
    - V(clock_skew) replaces V(not_yet_valid) or V(expired) when O(reference_time) or O(gateway_time) show that a
      clock, not the certificate, is wrong (RV(clock_off) says which); RV(clock_diagnosis) keeps what the device saw.
    - V(null) on success.
  returned: always
  type: str
  sample: untrusted_root
hint:
  description: One line saying what is wrong and how to fix it. V(null) on success.
  returned: always
  type: str
  sample: >-
    the chain ends at 'CN=gw1.ca', issued by 'CN=Site Root CA', which is neither sent nor in the system trust
    store: install the site's root CA in the device's trust store (update-ca-certificates) or give the right ca_file
verify_code:
  description: OpenSSL's verify code (C(X509_V_ERR_*)) when certificate verification failed.
  returned: when certificate verification failed
  type: int
  sample: 20
verify_message:
  description: OpenSSL's text for RV(verify_code).
  returned: when certificate verification failed
  type: str
  sample: unable to get local issuer certificate
tls_version:
  description: The negotiated protocol.
  returned: success
  type: str
  sample: TLSv1.3
cipher:
  description: The negotiated cipher suite.
  returned: success
  type: str
  sample: TLS_AES_256_GCM_SHA384
handshake_time:
  description: Seconds the TLS handshake took (without the TCP connection).
  returned: success
  type: float
  sample: 0.0123
presented_chain:
  description: The certificates the server sent, in the order sent (leaf first).
  returned: success, and on failure once the server's certificates were received
  type: list
  elements: dict
  contains: &cert
    subject:
      description: Subject, RFC 4514 string.
      type: str
      sample: CN=gw1.site-a.example
    issuer:
      description: Issuer, RFC 4514 string.
      type: str
      sample: CN=gw1.ca
    not_before:
      description: Start of validity, UTC, ISO 8601.
      type: str
      sample: "2026-11-01T00:00:00Z"
    not_after:
      description: End of validity, UTC, ISO 8601.
      type: str
      sample: "2026-12-01T00:00:00Z"
    sha256:
      description: SHA-256 thumbprint of the DER certificate, uppercase hex without colons (as IoT Hub shows it).
      type: str
      sample: 9F86D081884C7D659A2FEAA0C55AD015A3BF4F1B2B0B822CD15D6C15B0F00A08
    is_ca:
      description: Whether basicConstraints says CA.
      type: bool
      sample: false
    san:
      description: subjectAltName entries, C(DNS:) and C(IP:) prefixed.
      type: list
      elements: str
      sample: ["DNS:gw1.site-a.example"]
verified_chain:
  description: The chain OpenSSL verified, from the server certificate up to the trusted root.
  returned: success
  type: list
  elements: dict
  contains: *cert
days_to_expiry:
  description: Whole days until the first certificate of the verified chain expires.
  returned: success
  type: int
  sample: 29
first_expiry:
  description: The certificate of the verified chain that expires first.
  returned: success
  type: dict
  contains:
    subject:
      description: Its subject.
      type: str
    not_after:
      description: Its end of validity, UTC, ISO 8601.
      type: str
findings:
  description:
    - Codes of the warnings raised on success, V(expires_soon) and V(ca_name_loop).
  returned: success
  type: list
  elements: str
  sample: []
"""

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._tls import (
    HANDSHAKE_OPTIONS,
    HANDSHAKE_REQUIRED_BY,
    HANDSHAKE_REQUIRED_TOGETHER,
    run_handshake,
)


def main():
    module = AnsibleModule(
        argument_spec=dict(HANDSHAKE_OPTIONS, gateway_time={"type": "str"}),
        required_together=HANDSHAKE_REQUIRED_TOGETHER,
        required_by=HANDSHAKE_REQUIRED_BY,
        supports_check_mode=True,
    )
    ok, result = run_handshake(module.params, module.params["gateway_time"])
    if not ok:
        module.fail_json(changed=False, **result)
    for warning in result.pop("warnings"):
        module.warn(warning)
    module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
