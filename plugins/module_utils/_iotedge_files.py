# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Read the files config.toml points at before config.toml is written.

Runs on the gateway: standard library only, through the collection's DER reader (_x509).
``iotedge config apply`` does not read the certificates and keys it is given (``iotedge check``
and the daemons do, later): an empty identity certificate, a swapped Edge CA certificate and key
or a trust bundle that holds no certificate would all be applied and fail only when the daemons
start. The checks here refuse them first, with a message that names the file and how to fix it.
Key material is read to compare public parts only; nothing of a key is ever put in a message.
"""

from __future__ import annotations

import base64
import binascii
import re

from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import (
    X509Error,
    _children,
    _oid,
    _tlv,
    certificates_from_pem,
)

# A trust bundle, a full chain or a key is a few KiB; anything past this is not one of them.
MAX_FILE_BYTES = 1024 * 1024
_OID_RSA = "1.2.840.113549.1.1.1"
_OID_EC = "1.2.840.10045.2.1"
_KEY_BLOCK = re.compile(rb"-----BEGIN ((?:RSA |EC |ENCRYPTED )?PRIVATE KEY)-----\s*(.*?)\s*-----END \1-----", re.S)


class FileCheckError(Exception):
    """A referenced file IoT Edge would not be able to use; the message says how to fix it."""


def read_limited(path, what):
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_BYTES + 1)
    except OSError as exc:
        raise FileCheckError(f"cannot read {what} {path}: {exc.strerror or exc}; check the path and its mode") from None
    if len(data) > MAX_FILE_BYTES:
        raise FileCheckError(
            f"{what} {path} is larger than {MAX_FILE_BYTES // 1024} KiB, far more than a PEM certificate file; "
            "check that the path names the right file"
        )
    return data


def read_certificates(path, what):
    """The certificates of a PEM file; refuses a file without one."""
    data = read_limited(path, what)
    try:
        certs = certificates_from_pem(data)
    except X509Error as exc:
        raise FileCheckError(f"{what} {path} holds a certificate that cannot be read ({exc}); issue it again") from None
    if not certs:
        state = "is empty" if not data.strip() else "holds no PEM certificate (-----BEGIN CERTIFICATE-----)"
        raise FileCheckError(f"{what} {path} {state}; deploy the certificate file there (PEM) or fix the path")
    return certs


def _int(data, start, end):
    return int.from_bytes(data[start:end], "big")


def _spki_public(der):
    """('rsa', modulus) or ('ec', point bytes) of a certificate's public key, or None for other kinds."""
    _tag, start, end = _tlv(der, 0)
    _tbs_tag, tbs_start, tbs_end = next(iter(_children(der, start, end)))
    tbs = list(_children(der, tbs_start, tbs_end))
    index = 1 if tbs and tbs[0][0] == 0xA0 else 0
    _t, sstart, send = tbs[index + 5]
    alg, bits = list(_children(der, sstart, send))[:2]
    _oid_tag, ostart, oend = next(iter(_children(der, alg[1], alg[2])))
    oid = _oid(der[ostart:oend])
    key = der[bits[1] + 1 : bits[2]]  # BIT STRING: first byte counts unused bits
    if oid == _OID_RSA:
        _t, rstart, rend = _tlv(key, 0)
        modulus = next(iter(_children(key, rstart, rend)))
        return ("rsa", _int(key, modulus[1], modulus[2]))
    if oid == _OID_EC:
        return ("ec", bytes(key))
    return None


def _rsa_private(data, start, end):
    parts = list(_children(data, start, end))
    return ("rsa", _int(data, parts[1][1], parts[1][2]))


def _ec_private(data, start, end):
    for tag, pstart, pend in _children(data, start, end):
        if tag == 0xA1:  # [1] publicKey BIT STRING
            _t, bstart, bend = _tlv(data, pstart, pend)
            return ("ec", bytes(data[bstart + 1 : bend]))
    return None  # no public key stored: it cannot be compared without EC arithmetic


def _key_public(path, data, what):
    match = _KEY_BLOCK.search(data)
    if not match:
        raise FileCheckError(
            f"{what} {path} holds no PEM private key (-----BEGIN PRIVATE KEY-----); deploy the key file there or "
            "fix the path"
        )
    label = match.group(1)
    if label == b"ENCRYPTED PRIVATE KEY":
        raise FileCheckError(
            f"{what} {path} is encrypted; IoT Edge's key service reads keys without a passphrase: deploy the key "
            "unencrypted with mode 0600 (owner aziotks)"
        )
    try:
        der = base64.b64decode(b"".join(match.group(2).split()), validate=True)
        _tag, start, end = _tlv(der, 0)
        if label == b"RSA PRIVATE KEY":
            return _rsa_private(der, start, end)
        if label == b"EC PRIVATE KEY":
            return _ec_private(der, start, end)
        _version, alg, octets = list(_children(der, start, end))[:3]
        _t, ostart, oend = next(iter(_children(der, alg[1], alg[2])))
        oid = _oid(der[ostart:oend])
        _t, istart, iend = _tlv(der, octets[1], octets[2])
        if oid == _OID_RSA:
            return _rsa_private(der, istart, iend)
        if oid == _OID_EC:
            return _ec_private(der, istart, iend)
        return None
    except (binascii.Error, ValueError, IndexError, StopIteration, X509Error):
        raise FileCheckError(f"{what} {path} is not a readable private key; deploy the key again") from None


def check_key_matches(cert, cert_path, cert_what, key_path, key_what):
    """Refuse a key that is not the key of ``cert`` (RSA and EC; other kinds are not compared)."""
    key = _key_public(key_path, read_limited(key_path, key_what), key_what)
    try:
        public = _spki_public(cert.der)
    except (ValueError, IndexError, StopIteration, X509Error):
        public = None
    if key is None or public is None:
        return
    if key != public:
        raise FileCheckError(
            f"{key_what} {key_path} is not the key of {cert_what} {cert_path} (subject {cert.subject}); the two "
            "files may be swapped or from different issues: deploy the key that belongs to the certificate"
        )


def _common_names(cert):
    # subject_rdns: the Name as read, RDNs of (oid, value) pairs; 2.5.4.3 is commonName.
    return [value for rdn in cert.subject_rdns for oid, value in rdn if oid == "2.5.4.3"]


def check_edge_ca(chain, path, hostname, bundle):
    """The Edge CA: a CA with pathlen 0, a CN other than ``hostname``, chaining to the trust bundle."""
    edge_ca = chain[0]
    if not edge_ca.can_sign_certificates:
        raise FileCheckError(
            f"edge_ca_cert {path} starts with '{edge_ca.subject}', which is not a CA certificate (basicConstraints "
            "CA:TRUE and keyCertSign); put the Edge CA certificate first, followed by its intermediates, or issue "
            "it with the edge_ca profile"
        )
    if edge_ca.path_len != 0:
        length = "no path length limit" if edge_ca.path_len is None else f"pathlen {edge_ca.path_len}"
        raise FileCheckError(
            f"edge_ca_cert {path}: the Edge CA '{edge_ca.subject}' has {length}; IoT Edge's Edge CA must be "
            "issued with pathlen:0 (the edge_ca profile of the PKI role)"
        )
    if hostname in _common_names(edge_ca):
        raise FileCheckError(
            f"edge_ca_cert {path}: the Edge CA common name equals the gateway hostname '{hostname}'; clients reject "
            f"the chain of edgeHub's certificate. Issue the Edge CA with a distinct name such as '{hostname}.ca'"
        )
    for position in range(1, len(chain)):
        child, parent = chain[position - 1], chain[position]
        if not parent.issued(child):
            raise FileCheckError(
                f"edge_ca_cert {path}: '{parent.subject}' did not issue '{child.subject}'; the file must hold the "
                "Edge CA first, then each issuer up to the root, in order"
            )
    if bundle is None:
        return
    top = chain[-1]
    if any(anchor.der == top.der or anchor.issued(top) for anchor in bundle):
        return
    raise FileCheckError(
        f"edge_ca_cert {path} does not chain to the trust bundle: '{top.subject}' was issued by '{top.issuer}', "
        "which is not in trust_bundle_cert; give the site's root CA as trust_bundle_cert or complete the chain"
    )


def check_files(params, exists):
    """Read every referenced file that ``exists(path)``; raises FileCheckError for the first unusable one."""

    def present(name):
        return params.get(name) and exists(params[name])

    bundle = None
    if present("trust_bundle_cert"):
        bundle = read_certificates(params["trust_bundle_cert"], "trust_bundle_cert")
    if present("edge_ca_cert"):
        chain = read_certificates(params["edge_ca_cert"], "edge_ca_cert")
        check_edge_ca(chain, params["edge_ca_cert"], params.get("hostname"), bundle)
        if present("edge_ca_pk"):
            check_key_matches(chain[0], params["edge_ca_cert"], "edge_ca_cert", params["edge_ca_pk"], "edge_ca_pk")
    if present("identity_cert"):
        identity = read_certificates(params["identity_cert"], "identity_cert")[0]
        if present("identity_pk"):
            check_key_matches(identity, params["identity_cert"], "identity_cert", params["identity_pk"], "identity_pk")
    if present("symmetric_key_file"):
        check_symmetric_key_file(params["symmetric_key_file"])
    est = params.get("est") or {}
    for index, path in enumerate(est.get("trusted_certs") or []):
        if exists(path):
            read_certificates(path, f"est.trusted_certs[{index}]")
    for name in ("edge_ca_est", "est"):
        table = params.get(name) or {}
        for cert_key in ("identity_cert", "bootstrap_identity_cert"):
            key_key = cert_key.replace("_cert", "_pk")
            cert_path, key_path = table.get(cert_key), table.get(key_key)
            if cert_path and exists(cert_path):
                cert = read_certificates(cert_path, f"{name}.{cert_key}")[0]
                if key_path and exists(key_path):
                    check_key_matches(cert, cert_path, f"{name}.{cert_key}", key_path, f"{name}.{key_key}")


def check_symmetric_key_file(path):
    """aziot-keyd reads a key file's bytes as the key itself (key.rs ``load_inner``; empty: "key file is empty").

    The common mistake is a file holding the base64 text IoT Hub or DPS shows: IoT Edge would then sign with
    the text's bytes and every authentication would fail. Never puts any of the key into a message.
    """
    data = read_limited(path, "symmetric_key_file")
    if not data:
        raise FileCheckError(
            f"symmetric_key_file {path} is empty; write the key's raw bytes there (base64 -d <<< '<key>' > {path})"
        )
    text = data.strip()
    # Random key bytes are all of the base64 alphabet with a chance of 4**-16 at most; a file that is, is text.
    if len(text) >= 16 and re.fullmatch(rb"[A-Za-z0-9+/]+={0,2}", text):
        try:
            decoded = base64.b64decode(text, validate=True)
        except binascii.Error:
            decoded = b""
        if len(decoded) >= 12:
            raise FileCheckError(
                f"symmetric_key_file {path} holds the key as base64 text; IoT Edge reads the file's bytes as the key "
                f"itself. Write the decoded bytes instead (base64 -d <<< '<key>' > {path}; mode 0600, owner aziotks) "
                "or give the key inline as symmetric_key"
            )
