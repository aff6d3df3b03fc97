# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""TLS handshake check from a downstream device to its gateway, with a precise diagnosis.

Runs on the device: Python 3.8+ standard library only. The handshake is made with the
``ssl`` module, like the device SDKs do (TLS 1.2 allowed, SNI and hostname verification on).

How the diagnosis is made (never from error strings):

* The handshake messages are observed with ``SSLContext._msg_callback`` (CPython 3.8+,
  OpenSSL calls it with every handshake message, also the encrypted ones of TLS 1.3). That
  yields the chain the server presented, whether it asked for a client certificate, whether
  the client sent one, whether a session ticket arrived and which alert ended the handshake.
* A verification failure carries OpenSSL's verify code (``SSLCertVerificationError.verify_code``).
* Chain-building failures (unknown issuer, self-signed in chain) are told apart by reading the
  presented certificates and the trust anchors with the DER reader in ``_x509``.
"""

from __future__ import annotations

import datetime
import errno
import math
import os
import socket
import ssl
import time

from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import (
    UTC,
    Certificate,
    X509Error,
    certificates_from_pem,
)

DIAGNOSES = (
    "dns_failure",
    "connection_refused",
    "timeout",
    "tls_protocol_error",
    "untrusted_root",
    "missing_intermediate",
    "hostname_mismatch",
    "expired",
    "not_yet_valid",
    "client_cert_required",
    "client_cert_rejected",
    "ca_name_loop",
    "clock_skew",
)

# Diagnoses worth another attempt: the gateway may be starting, or the network settling.
TRANSIENT = ("dns_failure", "connection_refused", "timeout")

# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h).
_V_ERR_UNABLE_TO_GET_ISSUER_CERT = 2
_V_ERR_CERT_SIGNATURE_FAILURE = 7
_V_ERR_CERT_NOT_YET_VALID = 9
_V_ERR_CERT_HAS_EXPIRED = 10
_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT = 18
_V_ERR_SELF_SIGNED_CERT_IN_CHAIN = 19
_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY = 20
_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE = 21
_V_ERR_AKID_SKID_MISMATCH = 30
_V_ERR_HOSTNAME_MISMATCH = 62
_V_ERR_IP_ADDRESS_MISMATCH = 64
_CHAIN_CODES = (
    _V_ERR_UNABLE_TO_GET_ISSUER_CERT,
    _V_ERR_CERT_SIGNATURE_FAILURE,
    _V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT,
    _V_ERR_SELF_SIGNED_CERT_IN_CHAIN,
    _V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY,
    _V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE,
    _V_ERR_AKID_SKID_MISMATCH,
)

# TLS alert descriptions (RFC 8446 section 6) that a server sends about a client certificate.
_ALERT_NAMES = {
    10: "unexpected_message",
    40: "handshake_failure",
    42: "bad_certificate",
    43: "unsupported_certificate",
    44: "certificate_revoked",
    45: "certificate_expired",
    46: "certificate_unknown",
    47: "illegal_parameter",
    48: "unknown_ca",
    49: "access_denied",
    50: "decode_error",
    51: "decrypt_error",
    70: "protocol_version",
    71: "insufficient_security",
    80: "internal_error",
    112: "unrecognized_name",
    116: "certificate_required",
}
_CLIENT_CERT_ALERTS = (40, 42, 43, 44, 45, 46, 48, 49, 51, 116)

_HANDSHAKE = 22
_ALERT = 21
_HS_NEW_SESSION_TICKET = 4
_HS_CERTIFICATE = 11
_HS_CERTIFICATE_REQUEST = 13
_TLS13 = 0x0304

# How long to wait, after a TLS 1.3 handshake in which the server asked for a client
# certificate, for the server's verdict (a session ticket or an alert).
_POST_HANDSHAKE_WAIT = 3.0


class TlsCheckError(Exception):
    """The check failed. ``diagnosis`` is one of DIAGNOSES, or None for bad input."""

    def __init__(self, msg, diagnosis=None, hint=None, result=None):
        super().__init__(msg)
        self.msg = msg
        self.diagnosis = diagnosis
        self.hint = hint
        self.result = result or {}


class _Failure(Exception):
    def __init__(self, diagnosis, hint, detail=""):
        super().__init__(hint)
        self.diagnosis = diagnosis
        self.hint = hint
        self.detail = detail
        self.facts = {}


class _Recorder:
    """Collects what the handshake messages tell (``SSLContext._msg_callback``)."""

    def __init__(self):
        self.server_certs = None
        self.cert_requested = False
        self.client_cert_sent = None
        self.ticket = False
        self.alert_received = None

    def __call__(self, _conn, direction, version, content_type, _msg_type, data):
        try:
            if content_type == _HANDSHAKE and len(data) >= 4:
                kind = data[0]
                if direction == "read":
                    if kind == _HS_CERTIFICATE and self.server_certs is None:
                        self.server_certs = certificate_message(data, version == _TLS13)
                    elif kind == _HS_CERTIFICATE_REQUEST:
                        self.cert_requested = True
                    elif kind == _HS_NEW_SESSION_TICKET:
                        self.ticket = True
                elif kind == _HS_CERTIFICATE:
                    self.client_cert_sent = bool(certificate_message(data, version == _TLS13))
            elif content_type == _ALERT and direction == "read" and len(data) == 2:
                self.alert_received = data[1]
        except (IndexError, ValueError):  # a message we cannot read never breaks the handshake
            pass


def certificate_message(data, tls13):
    """Return the DER certificates of a TLS Certificate handshake message (with its header)."""
    body = bytes(data[4 : 4 + int.from_bytes(data[1:4], "big")])
    pos = 1 + body[0] if tls13 else 0  # TLS 1.3: certificate_request_context first
    end = pos + 3 + int.from_bytes(body[pos : pos + 3], "big")
    pos += 3
    if end > len(body):
        raise ValueError("truncated Certificate message")
    certs = []
    while pos < end:
        length = int.from_bytes(body[pos : pos + 3], "big")
        pos += 3
        certs.append(body[pos : pos + length])
        pos += length
        if tls13:  # per-certificate extensions
            pos += 2 + int.from_bytes(body[pos : pos + 2], "big")
    return certs


def system_trust_paths():
    """OpenSSL's compiled-in default CA file and directory.

    These are the paths OpenSSL uses when nothing overrides them; the ``SSL_CERT_FILE`` /
    ``SSL_CERT_DIR`` environment variables are deliberately not consulted, so the check proves
    what is in the OS store.
    """
    paths = ssl.get_default_verify_paths()
    return paths.openssl_cafile, paths.openssl_capath


def _read_bundle(path):
    with open(path, "rb") as handle:
        return certificates_from_pem(handle.read())


def load_anchors(ca_file, trust_paths):
    """The trusted certificates, parsed: ``ca_file`` or the system store (file and hashed dir)."""
    if ca_file:
        return _read_bundle(ca_file)
    cafile, capath = trust_paths
    anchors = []
    seen = set()
    candidates = []
    if cafile and os.path.isfile(cafile):
        candidates.append(cafile)
    if capath and os.path.isdir(capath):
        # The hashed links (<hash>.<n>) are exactly what OpenSSL looks up in the directory.
        for name in sorted(os.listdir(capath)):
            stem, _dot, suffix = name.partition(".")
            if len(stem) == 8 and suffix.isdigit():
                candidates.append(os.path.join(capath, name))
    for path in candidates:
        try:
            certs = _read_bundle(path)
        except (OSError, X509Error):
            continue  # one unreadable file in the store must not hide the others
        for cert in certs:
            if cert.sha256 not in seen:
                seen.add(cert.sha256)
                anchors.append(cert)
    return anchors


def build_context(ca_file, client_cert, client_key, client_key_passphrase, trust_paths):
    """An ``SSLContext`` like a device SDK's: TLS 1.2+, chain and hostname verification."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.check_hostname = True
    context.verify_mode = ssl.CERT_REQUIRED
    # SAN first; the subject CN only when the certificate has no DNS SAN (OpenSSL's rule).
    context.hostname_checks_common_name = True
    if ca_file:
        try:
            if not _read_bundle(ca_file):
                raise TlsCheckError(f"ca_file {ca_file} holds no PEM certificate: give the site's root CA in PEM form")
            context.load_verify_locations(cafile=ca_file)
        except (OSError, X509Error, ssl.SSLError) as exc:
            if isinstance(exc, TlsCheckError):
                raise
            raise TlsCheckError(
                f"cannot load ca_file {ca_file}: {exc}; give a readable PEM file with the site's root CA"
            ) from exc
    else:
        cafile, capath = trust_paths
        loaded = False
        if cafile and os.path.isfile(cafile):
            context.load_verify_locations(cafile=cafile)
            loaded = True
        if capath and os.path.isdir(capath):
            context.load_verify_locations(capath=capath)
            loaded = True
        if not loaded:
            raise TlsCheckError(
                f"no system trust store on this device (looked for {cafile} and {capath}): "
                "install the ca-certificates package or pass ca_file"
            )
    if client_cert:
        if not client_key_passphrase and _is_encrypted_key(client_key or client_cert):
            raise TlsCheckError(
                f"the client key {client_key or client_cert} is encrypted and no passphrase was given: "
                "set client_key_passphrase, or give an unencrypted key"
            )
        try:
            # A callable (not None) so OpenSSL never prompts on a terminal for an encrypted key.
            context.load_cert_chain(client_cert, client_key, password=client_key_passphrase or _no_passphrase)
        except (OSError, ssl.SSLError) as exc:
            # The exception text names files and OpenSSL reasons, never key material.
            raise TlsCheckError(
                f"cannot load the client certificate {client_cert} with key {client_key}: {exc}; "
                "check that both are PEM, that the key belongs to the certificate, and the passphrase"
            ) from exc
    return context


def _no_passphrase():
    return b""


def _is_encrypted_key(path):
    """True when the PEM key file is encrypted (PKCS#8 or a traditional key with a DEK-Info header)."""
    try:
        with open(path, "rb") as handle:
            head = handle.read(1 << 20)
    except OSError:
        return False
    return b"-----BEGIN ENCRYPTED PRIVATE KEY-----" in head or b"Proc-Type: 4,ENCRYPTED" in head


def _connect(target, port, timeout, hostname):
    try:
        infos = socket.getaddrinfo(target, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        if target != hostname:
            hint = f"the address to dial '{target}' does not resolve ({exc}): give the gateway's IP address"
        else:
            hint = (
                f"'{target}' does not resolve on this device ({exc}): add it to DNS or /etc/hosts, "
                "or give the gateway's IP address as the address to dial"
            )
        raise _Failure("dns_failure", hint) from exc
    failure = None
    for family, socktype, proto, _canon, sockaddr in infos:
        sock = socket.socket(family, socktype, proto)
        sock.settimeout(timeout)
        try:
            sock.connect(sockaddr)
            return sock, sockaddr[0]
        except socket.timeout:  # noqa: UP041 - not TimeoutError before Python 3.10 (targets run 3.8+)
            failure = _Failure(
                "timeout",
                f"no answer from {sockaddr[0]} port {port} within {timeout:g} s: check that the gateway is up "
                "and that no firewall drops the traffic between the device and the gateway",
            )
        except ConnectionRefusedError:
            failure = _Failure(
                "connection_refused",
                f"{sockaddr[0]} refused port {port}: nothing listens there; start the gateway's broker (edgeHub) "
                "or check the port (8883 MQTT, 5671 AMQP, 443 WebSockets)",
            )
        except OSError as exc:
            if exc.errno in (errno.EHOSTUNREACH, errno.ENETUNREACH):
                failure = _Failure(
                    "timeout",
                    f"{sockaddr[0]} is unreachable from this device ({exc.strerror}): check its routing "
                    "and that the gateway is up",
                )
            else:
                failure = _Failure(
                    "connection_refused",
                    f"cannot connect to {sockaddr[0]} port {port} ({exc.strerror}): check the address and port",
                )
        sock.close()
    raise failure


def _alert_name(code):
    return _ALERT_NAMES.get(code, f"alert {code}")


def _client_cert_failure(recorder, client_subject, detail):
    """Tell client_cert_required from client_cert_rejected by what was actually sent."""
    if recorder.client_cert_sent:
        return _Failure(
            "client_cert_rejected",
            f"the gateway refused the client certificate '{client_subject}' ({detail}): issue it from a CA "
            "the gateway trusts, with clientAuth, and check that it has not expired",
            detail,
        )
    return _Failure(
        "client_cert_required",
        "the gateway requires a client certificate and none was sent: give the device's certificate "
        "and key (client_cert, client_key)",
        detail,
    )


def _protocol_failure(recorder, exc, client_subject):
    """Classify a handshake error that is not a certificate verification error."""
    alert = recorder.alert_received
    if alert == 116 or (recorder.cert_requested and alert in _CLIENT_CERT_ALERTS):
        return _client_cert_failure(recorder, client_subject, f"server alert {_alert_name(alert)}")
    if alert is None and recorder.cert_requested and isinstance(exc, (ssl.SSLEOFError, ConnectionError)):
        return _client_cert_failure(recorder, client_subject, "the server closed the connection")
    reason = getattr(exc, "reason", None) or type(exc).__name__
    detail = f"server alert {_alert_name(alert)}" if alert is not None else f"OpenSSL: {reason}"
    return _Failure(
        "tls_protocol_error",
        f"the TLS handshake failed ({detail}): check that this port serves TLS (not plain MQTT) "
        "and that the gateway accepts TLS 1.2 or 1.3",
        detail,
    )


def _wait_for_verdict(tls, recorder, timeout, client_subject):
    """TLS 1.3 servers judge the client certificate after the client's handshake ends.

    Wait for a session ticket (accepted) or an alert (refused).
    """
    deadline = time.monotonic() + min(timeout, _POST_HANDSHAKE_WAIT)
    tls.settimeout(0.05)
    while not recorder.ticket and time.monotonic() < deadline:
        try:
            data = tls.recv(1)
        except socket.timeout:  # noqa: UP041 - not TimeoutError before Python 3.10 (targets run 3.8+)
            continue
        except (ssl.SSLError, OSError) as exc:
            raise _protocol_failure(recorder, exc, client_subject) from exc
        if data:
            return  # the server spoke: it accepted us
        if not recorder.ticket:
            raise _client_cert_failure(recorder, client_subject, "the server closed the connection")


def _build_path(leaf, presented, anchors):
    """Link the leaf to its issuers, first among the presented certificates, then the anchors.

    Returns ``(path, end)``; ``end`` is ``"root"`` (a presented self-signed certificate ends the
    path), ``"anchor"`` (the path reached the trust anchors) or ``"gap"`` (an issuer is missing).
    """
    path = [leaf]
    while len(path) < 12:
        current = path[-1]
        if current.self_signed:
            return path, ("anchor" if any(a.sha256 == current.sha256 for a in anchors) else "root")
        used = {cert.sha256 for cert in path}
        issuer = next((c for c in presented if c.sha256 not in used and c.issued(current)), None)
        if issuer is None:
            issuer = next((c for c in anchors if c.sha256 not in used and c.issued(current)), None)
            if issuer is None:
                return path, "gap"
            path.append(issuer)
            while not path[-1].self_signed and len(path) < 12:
                used.add(path[-1].sha256)
                parent = next((c for c in anchors if c.sha256 not in used and c.issued(path[-1])), None)
                if parent is None:
                    break
                path.append(parent)
            return path, "anchor"
        path.append(issuer)
    return path, "gap"


def name_loop(leaf, others):
    """The CA certificate among ``others`` that carries the leaf's own name, if any."""
    for cert in others:
        if cert.sha256 != leaf.sha256 and cert.is_ca and cert.subject_key == leaf.subject_key:
            return cert
    return None


def _loop_hint(leaf):
    return (
        f"the CA and the server certificate share the name '{leaf.subject}': clients that chain by name "
        f"loop on it; reissue the Edge CA with a distinct name (IoT Edge's scripts append '.ca')"
    )


def _expiry_failure(code, path, now):
    if code == _V_ERR_CERT_HAS_EXPIRED:
        cert = next((c for c in path if c.not_after < now), path[0])
        failure = _Failure(
            "expired",
            f"'{cert.subject}' expired on {cert.not_after:%Y-%m-%d %H:%M} UTC (device clock: {now:%Y-%m-%d %H:%M} "
            "UTC): renew it on the gateway, or fix the device's clock if it is wrong",
        )
    else:
        cert = next((c for c in path if c.not_before > now), path[0])
        failure = _Failure(
            "not_yet_valid",
            f"'{cert.subject}' is valid only from {cert.not_before:%Y-%m-%d %H:%M} UTC but the device's clock says "
            f"{now:%Y-%m-%d %H:%M} UTC: fix the device's time (NTP) or reissue the certificate",
        )
    failure.cert = cert
    return failure


# -- clocks ---------------------------------------------------------------------------------
# A device without a real-time clock or NTP turns a good chain into not_yet_valid (clock behind)
# or expired (clock ahead). With a reference clock (the controller's, passed in), the offset is
# measured and, when the failing certificate is valid at the reference time, the failure is
# reported as clock_skew instead of blaming the certificate.


def parse_reference_time(text, option="reference_time", clock="the controller's clock"):
    """An aware UTC datetime from ISO 8601 text ('2026-12-02T14:50:00Z', '...+00:00'); naive means UTC."""
    value = str(text).strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    try:
        parsed = datetime.datetime.fromisoformat(value)
    except ValueError:
        raise TlsCheckError(
            f"{option} '{text}' is not an ISO 8601 time; pass {clock}, for example "
            '"{{ now(utc=true).isoformat() }}Z" for the controller\'s or `date -u +%Y-%m-%dT%H:%M:%SZ` on the gateway'
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def _span(seconds):
    seconds = abs(round(seconds))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{days} d"] if days else []
    parts += [f"{hours} h"] if hours or days else []
    parts += [f"{minutes} min", f"{secs} s"] if not days else [f"{minutes} min"]
    return " ".join(parts)


def which_clock(cert, device_now, offset, tolerance, gateway_offset=None):
    """Which clock explains an expired/not_yet_valid ``cert``: ``(clock, offset, reference)`` or ``None``.

    ``offset`` is the device's clock minus the controller's, ``gateway_offset`` the device's minus the
    gateway's (either may be ``None`` when that clock is unknown). Two clocks that agree within
    ``tolerance`` outvote the third. ``clock`` is the one that is off (``device``, ``gateway`` or
    ``controller``); ``offset`` is how far it is from the clocks that agree (positive: ahead);
    ``reference`` names what it was compared with. ``None`` when no clock difference explains the failure:
    the certificate is not valid at any clock that disagrees with the device's.
    """
    times = {"device": device_now}
    if offset is not None:
        times["controller"] = device_now - datetime.timedelta(seconds=offset)
    if gateway_offset is not None:
        times["gateway"] = device_now - datetime.timedelta(seconds=gateway_offset)

    def agree(a, b):
        return abs((times[a] - times[b]).total_seconds()) <= tolerance

    def valid_at(name):
        return cert.not_before <= times[name] <= cert.not_after

    if "controller" in times and "gateway" in times:
        if agree("controller", "gateway") and not agree("device", "controller") and valid_at("controller"):
            return "device", offset, "the controller's and the gateway's clocks"
        if agree("device", "controller") and not agree("gateway", "device") and valid_at("gateway"):
            return "gateway", offset - gateway_offset, "the controller's and the device's clocks"
        if agree("device", "gateway") and not agree("controller", "device") and valid_at("controller"):
            return "controller", -offset, "the device's and the gateway's clocks"
    for name, reference in (("controller", "the controller's clock"), ("gateway", "the gateway's clock")):
        if name in times and not agree("device", name) and valid_at(name):
            return "device", (times["device"] - times[name]).total_seconds(), reference
    return None


_CLOCK_FIXES = {
    "device": (
        "the certificate is fine: set the device's clock (enable NTP, e.g. 'timedatectl set-ntp true' or chrony; "
        "a device without a real-time clock needs time sync at boot) and run again"
    ),
    "gateway": (
        "the certificate is fine by the gateway's clock only (IoT Edge issues edgeHub's server certificate from the "
        "Edge CA by the gateway's clock): set the gateway's clock (NTP), then run the gateway playbook again so the "
        "certificate it serves is issued by the right time"
    ),
    "controller": (
        "the controller's clock is wrong, and the site PKI issued its certificates by it: set the controller's clock "
        "(NTP), then renew the certificates (pki_renew_window, or delete the affected ones and run pki.yml) and run "
        "the rollout again; pki_cert's backdate_minutes (default 5) only absorbs small differences"
    ),
}


def clock_explains(failure, device_now, offset, tolerance, gateway_offset=None):
    """Turn an expired/not_yet_valid failure into clock_skew when a clock difference explains it."""
    cert = getattr(failure, "cert", None)
    if cert is None or failure.diagnosis not in ("expired", "not_yet_valid"):
        return failure
    found = which_clock(cert, device_now, offset, tolerance, gateway_offset)
    if found is None:
        return failure
    clock, clock_offset, reference = found
    direction = "behind" if clock_offset < 0 else "ahead of"
    owner = {"device": "the device's", "gateway": "the gateway's", "controller": "the controller's"}[clock]
    explained = _Failure(
        "clock_skew",
        f"{owner} clock is {_span(clock_offset)} {direction} {reference} (device clock {device_now:%Y-%m-%d %H:%M:%S} "
        f"UTC), so '{cert.subject}' (valid {cert.not_before:%Y-%m-%d %H:%M} to {cert.not_after:%Y-%m-%d %H:%M} UTC) "
        f"looks {failure.diagnosis} to the device; " + _CLOCK_FIXES[clock],
    )
    explained.facts = failure.facts
    explained.facts["clock_diagnosis"] = failure.diagnosis
    explained.facts["clock_off"] = clock
    explained.facts["clock_off_by"] = round(clock_offset, 1)
    return explained


def diagnose_verification(code, message, presented, anchors, hostname, trust, now):
    """Turn an OpenSSL verification failure and the inspected chain into a diagnosis."""
    if not presented:
        return _Failure(
            "untrusted_root", f"certificate verification failed ({message}) and the server presented no chain"
        )
    leaf = presented[0]
    path, end = _build_path(leaf, presented[1:], anchors)
    if code in (_V_ERR_HOSTNAME_MISMATCH, _V_ERR_IP_ADDRESS_MISMATCH):
        names = leaf.san_dns + leaf.san_ip
        if not names:
            names = [leaf.subject]
        return _Failure(
            "hostname_mismatch",
            f"the certificate is for {', '.join(names)}, not '{hostname}': use a name the certificate carries "
            f"as GatewayHostName, or reissue the server certificate with '{hostname}' in its subjectAltName",
        )
    if code in (_V_ERR_CERT_HAS_EXPIRED, _V_ERR_CERT_NOT_YET_VALID):
        return _expiry_failure(code, path, now)
    if code not in _CHAIN_CODES:
        return _Failure(
            "tls_protocol_error",
            f"certificate verification failed: {message} (OpenSSL verify code {code}): "
            "reissue the gateway's certificates from the site PKI",
        )
    loop = name_loop(leaf, presented[1:] + anchors)
    if loop is not None:
        return _Failure("ca_name_loop", _loop_hint(leaf))
    unlinked = [c for c in presented[1:] if c.sha256 not in {p.sha256 for p in path}]
    top = path[-1]
    if end == "root":
        return _Failure(
            "untrusted_root",
            f"the chain ends at the root '{top.subject}', which {trust} does not trust: install the site's "
            "root CA in the device's trust store (update-ca-certificates) or give the right ca_file",
        )
    if end == "anchor":
        return _Failure(
            "untrusted_root",
            f"the chain reaches '{top.subject}' in {trust} but not a trusted root above it: "
            "install the site's root CA itself in the trust store",
        )
    if len(path) == 1 or unlinked:
        sent = len(presented)
        return _Failure(
            "missing_intermediate",
            f"the gateway sent {sent} certificate(s) and the issuer '{top.issuer}' of '{top.subject}' is neither "
            f"sent nor in {trust}: serve the full chain (server certificate, Edge CA and intermediates, "
            "as in edge-ca-full-chain.pem); if that issuer is itself the root, install it too",
        )
    return _Failure(
        "untrusted_root",
        f"the chain ends at '{top.subject}', issued by '{top.issuer}', which is neither sent nor in {trust}: "
        "install the site's root CA in the device's trust store (update-ca-certificates) or give the right "
        "ca_file; if that issuer is an intermediate, the gateway must send it too",
    )


def _parse_chain(ders):
    certs = []
    for der in ders or ():
        try:
            certs.append(Certificate(der))
        except X509Error:
            continue
    return certs


def _verified_chain(tls, presented, anchors_loader):
    """OpenSSL's verified chain (CPython 3.10+), else rebuilt from the presented chain and anchors."""
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_verified_chain", None)
    if getter is not None:
        try:
            import _ssl  # noqa: PLC0415  (private, CPython 3.10+)

            return [Certificate(cert.public_bytes(_ssl.ENCODING_DER)) for cert in getter()]
        except (AttributeError, TypeError, ValueError, X509Error):
            pass
    if not presented:
        return []
    path, _end = _build_path(presented[0], presented[1:], anchors_loader())
    return path


def _attempt(options, context, trust, now_fn):
    hostname = options["hostname"]
    port = options["port"]
    timeout = options["timeout"]
    recorder = _Recorder()
    if hasattr(context, "_msg_callback"):
        context._msg_callback = recorder
    target = options.get("address") or hostname
    sock, address = _connect(target, port, timeout, hostname)
    facts = {"address": address}
    client_subject = options.get("client_subject") or ""
    started = time.monotonic()
    try:
        tls = context.wrap_socket(sock, server_hostname=hostname, do_handshake_on_connect=False)
    except (ValueError, ssl.SSLError) as exc:
        sock.close()
        raise TlsCheckError(f"cannot use '{hostname}' as TLS server name: {exc}; give a DNS name") from exc
    try:
        try:
            tls.do_handshake()
            elapsed = time.monotonic() - started
            if tls.version() == "TLSv1.3" and recorder.cert_requested:
                _wait_for_verdict(tls, recorder, timeout, client_subject)
        except ssl.SSLCertVerificationError as exc:
            presented = _parse_chain(recorder.server_certs or _unverified(tls))
            facts["presented_chain"] = [c.to_dict() for c in presented]
            facts["verify_code"] = exc.verify_code
            facts["verify_message"] = exc.verify_message
            failure = diagnose_verification(
                exc.verify_code,
                exc.verify_message,
                presented,
                options["anchors"](),
                hostname,
                trust,
                now_fn(),
            )
            failure.facts = facts
            raise failure from exc
        except socket.timeout as exc:  # noqa: UP041 - not TimeoutError before Python 3.10
            failure = _Failure(
                "timeout",
                f"{address} port {port} accepted the connection but did not complete a TLS handshake within "
                f"{timeout:g} s: check that this port serves TLS",
            )
            failure.facts = facts
            raise failure from exc
        except (ssl.SSLError, OSError) as exc:
            failure = _protocol_failure(recorder, exc, client_subject)
            presented = _parse_chain(recorder.server_certs)
            if presented:
                facts["presented_chain"] = [c.to_dict() for c in presented]
            failure.facts = facts
            raise failure from exc
        except _Failure as failure:
            presented = _parse_chain(recorder.server_certs)
            facts["presented_chain"] = [c.to_dict() for c in presented]
            failure.facts = facts
            raise
        presented = _parse_chain(recorder.server_certs or _unverified(tls) or [tls.getpeercert(True)])
        verified = _verified_chain(tls, presented, options["anchors"])
        cipher = tls.cipher()
        facts.update(
            {
                "tls_version": tls.version(),
                "cipher": cipher[0] if cipher else None,
                "handshake_time": round(elapsed, 4),
                "presented": presented,
                "verified": verified,
            }
        )
        return facts
    finally:
        tls.close()


def _unverified(tls):
    sslobj = getattr(tls, "_sslobj", None)
    getter = getattr(sslobj, "get_unverified_chain", None)
    if getter is None:
        return []
    try:
        import _ssl  # noqa: PLC0415  (private, CPython 3.10+)

        return [cert.public_bytes(_ssl.ENCODING_DER) for cert in (getter() or [])]
    except (AttributeError, TypeError, ValueError, ssl.SSLError):
        return []


def check_handshake(
    hostname,
    port=8883,
    address=None,
    ca_file=None,
    client_cert=None,
    client_key=None,
    client_key_passphrase=None,
    timeout=10.0,
    retries=2,
    retry_delay=2.0,
    expiry_warning_days=7,
    trust_paths=None,
    now_fn=None,
    sleep=time.sleep,
    reference_time=None,
    clock_tolerance=120.0,
    gateway_time=None,
):
    """Run the check. Returns the result dict; raises TlsCheckError on bad input or a failed check.

    The result has ``warnings`` (messages) and ``findings`` (codes: ``expires_soon``, ``ca_name_loop``).
    ``reference_time`` (an aware datetime, e.g. the controller's clock) adds ``clock_offset`` (seconds,
    device minus reference) and ``gateway_time`` (the gateway's clock) ``gateway_clock_offset``; an expiry
    failure a clock difference explains is reported as ``clock_skew`` with ``clock_off`` naming the clock.
    """
    if not hostname or (any(c in hostname for c in "/: ") and not _is_ipv6(hostname)):
        raise TlsCheckError(
            f"hostname '{hostname}' is not a host name: give the gateway's name alone (no scheme, no port)"
        )
    if not 0 < port < 65536:
        raise TlsCheckError(f"port {port} is out of range: use 8883 (MQTT), 5671 (AMQP) or 443 (WebSockets)")
    for name, value in (("timeout", timeout), ("retry_delay", retry_delay)):
        if not math.isfinite(value):
            raise TlsCheckError(f"{name} {value} is not a number of seconds: give a finite number such as 10")
    if timeout <= 0:
        raise TlsCheckError(f"timeout {timeout} must be positive (seconds)")
    if retries < 0 or retry_delay < 0:
        raise TlsCheckError("retries and retry_delay must not be negative")
    if expiry_warning_days < 0:
        raise TlsCheckError("expiry_warning_days must not be negative")
    if client_key and not client_cert:
        raise TlsCheckError("client_key was given without client_cert: give both or neither")
    trust_paths = trust_paths or system_trust_paths()
    now_fn = now_fn or (lambda: datetime.datetime.now(UTC))
    trust = f"ca_file {ca_file}" if ca_file else "the system trust store"
    context = build_context(ca_file, client_cert, client_key, client_key_passphrase, trust_paths)
    client_subject = ""
    if client_cert:
        try:
            certs = _read_bundle(client_cert)
        except (OSError, X509Error) as exc:
            raise TlsCheckError(f"cannot read client_cert {client_cert}: {exc}") from exc
        client_subject = certs[0].subject if certs else client_cert

    anchors_cache = []

    def anchors():
        if not anchors_cache:
            anchors_cache.append(load_anchors(ca_file, trust_paths))
        return anchors_cache[0]

    options = {
        "hostname": hostname,
        "port": port,
        "address": address,
        "timeout": float(timeout),
        "anchors": anchors,
        "client_subject": client_subject,
    }
    base = {
        "hostname": hostname,
        "port": port,
        "address": None,
        "trust": ca_file or "system",
        "attempts": 0,
    }
    if clock_tolerance < 0:
        raise TlsCheckError("clock_tolerance must not be negative (seconds)")
    offset = gateway_offset = None
    if reference_time is not None:
        offset = (now_fn() - reference_time).total_seconds()
        base["clock_offset"] = round(offset, 1)
    if gateway_time is not None:
        gateway_offset = (now_fn() - gateway_time).total_seconds()
        base["gateway_clock_offset"] = round(gateway_offset, 1)
    attempt = 0
    while True:
        attempt += 1
        base["attempts"] = attempt
        try:
            facts = _attempt(options, context, trust, now_fn)
            break
        except _Failure as failure:
            if offset is not None or gateway_offset is not None:
                failure = clock_explains(failure, now_fn(), offset, clock_tolerance, gateway_offset)
            if failure.diagnosis in TRANSIENT and attempt <= retries:
                sleep(retry_delay)
                continue
            result = dict(base)
            result.update(failure.facts)
            result["diagnosis"] = failure.diagnosis
            result["hint"] = failure.hint
            raise TlsCheckError(
                f"TLS handshake with {hostname} port {port} failed: {failure.diagnosis}: {failure.hint}",
                diagnosis=failure.diagnosis,
                hint=failure.hint,
                result=result,
            ) from None
    return _success(base, facts, expiry_warning_days, now_fn())


def _success(base, facts, expiry_warning_days, now):
    presented = facts.pop("presented")
    verified = facts.pop("verified")
    result = dict(base)
    result.update(facts)
    result["presented_chain"] = [c.to_dict() for c in presented]
    result["verified_chain"] = [c.to_dict() for c in verified]
    result["diagnosis"] = None
    result["hint"] = None
    warnings = []
    findings = []
    first = min(verified or presented, key=lambda c: c.not_after)
    result["days_to_expiry"] = int(first.days_left(now) // 1)
    result["first_expiry"] = {"subject": first.subject, "not_after": first.to_dict()["not_after"]}
    for cert in verified or presented:
        days = cert.days_left(now)
        if days < expiry_warning_days:
            if "expires_soon" not in findings:
                findings.append("expires_soon")
            warnings.append(
                f"'{cert.subject}' in the verified chain expires in {days:.1f} days "
                f"({cert.to_dict()['not_after']}), within {expiry_warning_days} days: renew it now"
            )
    if presented:
        loop = name_loop(presented[0], presented[1:] + verified[1:])
        if loop is not None:
            findings.append("ca_name_loop")
            warnings.append("the handshake succeeded here, but " + _loop_hint(presented[0]) + " (ca_name_loop)")
    result["findings"] = findings
    result["warnings"] = warnings
    return result


def _is_ipv6(text):
    try:
        socket.inet_pton(socket.AF_INET6, text)
    except (OSError, ValueError):
        return False
    return True


# The options of a handshake as the modules take them (edgeops.gateway.tls_handshake, and ca_trust's ``handshake``).
HANDSHAKE_OPTIONS = {
    "hostname": {"type": "str", "required": True},
    "port": {"type": "int", "default": 8883},
    "address": {"type": "str"},
    "ca_file": {"type": "path"},
    "client_cert": {"type": "path"},
    "client_key": {"type": "path", "no_log": False},
    "client_key_passphrase": {"type": "str", "no_log": True},
    "timeout": {"type": "float", "default": 10},
    "retries": {"type": "int", "default": 2},
    "retry_delay": {"type": "float", "default": 2},
    "expiry_warning_days": {"type": "int", "default": 7},
    "reference_time": {"type": "str"},
    "clock_tolerance": {"type": "float", "default": 120},
}
# Their dependencies, for the module's argument spec (or the dict option's) beside HANDSHAKE_OPTIONS.
HANDSHAKE_REQUIRED_TOGETHER = [("client_cert", "client_key")]
HANDSHAKE_REQUIRED_BY = {"client_key_passphrase": "client_key"}


def run_handshake(params, gateway_time=None):
    """The handshake of module options ``params`` (HANDSHAKE_OPTIONS): (True, result) or (False, failure).

    ``result`` is check_handshake's, with its ``warnings``; ``failure`` has ``msg``, ``diagnosis`` (None for bad
    input), ``hint`` and what the check saw before it failed (the presented chain, the clock offsets, ...).
    """
    try:
        reference = parse_reference_time(params["reference_time"]) if params.get("reference_time") else None
        gateway = parse_reference_time(gateway_time, "gateway_time", "the gateway's clock") if gateway_time else None
        result = check_handshake(
            params["hostname"],
            port=params["port"],
            address=params.get("address"),
            ca_file=params.get("ca_file"),
            client_cert=params.get("client_cert"),
            client_key=params.get("client_key"),
            client_key_passphrase=params.get("client_key_passphrase"),
            timeout=params["timeout"],
            retries=params["retries"],
            retry_delay=params["retry_delay"],
            expiry_warning_days=params["expiry_warning_days"],
            reference_time=reference,
            clock_tolerance=params["clock_tolerance"],
            gateway_time=gateway,
        )
    except TlsCheckError as exc:
        failure = {"msg": exc.msg, "diagnosis": exc.diagnosis, "hint": exc.hint}
        failure.update(exc.result)
        return False, failure
    return True, result
