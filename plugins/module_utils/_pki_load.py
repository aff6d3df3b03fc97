# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Reading PEM files, keys and the facts the PKI reads off a certificate.

Private to the collection; part of the controller-side PKI, whose module backends are in ``_pki_backends``.
"""

from __future__ import annotations

import hashlib
import os
import re

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.x509.oid import NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import (
    KEY_TYPES,
    PKIError,
    utcnow,
)

# ---------------------------------------------------------------------------------------
# Loading


def _decode(data):
    return data if isinstance(data, bytes) else data.encode("utf-8")


def load_certificates(data, source):
    """All certificates of a PEM bundle, in file order; fails when there is none or one is malformed."""
    data = _decode(data)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise PKIError(
            f"{source} holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' block); "
            "point it at a PEM-encoded X.509 certificate (convert DER with 'openssl x509 -inform der')"
        )
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError:
        raise PKIError(f"{source} {_pem_damage(data)}") from None


def _pem_damage(data):
    """What is wrong with a PEM certificate file cryptography refused, in words (never its debug text)."""
    begins = data.count(b"-----BEGIN CERTIFICATE-----")
    ends = data.count(b"-----END CERTIFICATE-----")
    if ends < begins:
        return (
            f"is cut short: it has {begins} '-----BEGIN CERTIFICATE-----' line(s) but {ends} matching END line(s). "
            "Copy the whole certificate file again"
        )
    bodies = re.findall(rb"-----BEGIN CERTIFICATE-----(.*?)-----END CERTIFICATE-----", data, re.S)
    if any(not body.strip() for body in bodies):
        return "has a certificate block with nothing between its BEGIN and END lines; copy the whole certificate again"
    return (
        "has a certificate block whose content is damaged (not valid base64 or not a DER X.509 certificate); "
        "replace it with a valid PEM certificate"
    )


def load_certificate(data, source):
    return load_certificates(data, source)[0]


def load_single_certificate(data, source, how_to_split):
    """The one certificate of a file that must hold exactly one (``how_to_split`` says what to do otherwise)."""
    certs = load_certificates(data, source)
    if len(certs) > 1:
        names = "; ".join(f"#{i + 1} {c.subject.rfc4514_string()}" for i, c in enumerate(certs))
        raise PKIError(f"{source} holds {len(certs)} certificates ({names}); {how_to_split}")
    return certs[0]


def load_private_key(data, source, passphrase=None, encrypted_hint=None):
    """A PEM private key; ``encrypted_hint`` says what to do when it is encrypted and no passphrase was given."""
    data = _decode(data)
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        if password is None:
            raise PKIError(f"{source} is encrypted; {encrypted_hint or 'give its passphrase'}") from None
        raise PKIError(f"{source} is not encrypted but a passphrase was given; drop the passphrase") from exc
    except ValueError as exc:
        if password is not None and b"ENCRYPTED" in data:
            raise PKIError(f"could not decrypt {source}: the passphrase is wrong; give the key's passphrase") from exc
        raise PKIError(
            f"{source} is not a well-formed PEM private key; point it at the PEM key that belongs to the certificate"
        ) from None


def load_csr(data, source):
    data = _decode(data)
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise PKIError(
            f"{source} is not a well-formed PEM certificate signing request; make it again on the device with "
            "'openssl req -new -key <key> -out <csr>'"
        ) from exc
    if not csr.is_signature_valid:
        raise PKIError(
            f"the signature of {source} does not verify, so it does not prove possession of its key; "
            "make the request again on the device"
        )
    return csr


def read_file(path, what):
    if os.path.isdir(path):
        raise PKIError(f"{what} '{path}' is a folder; give the path of a file")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise PKIError(f"{what} '{path}' does not exist; create it first or correct the path") from exc
    except OSError as exc:
        raise PKIError(f"cannot read {what} '{path}' ({exc.strerror}); check the path and its permissions") from exc


def read_optional(path):
    if os.path.isdir(path):
        raise PKIError(f"'{path}' is a folder, but a file is expected there; give the path of a file")
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except NotADirectoryError:
        raise PKIError(
            f"cannot use '{path}': a part of the path is a file, not a folder; move that file or choose another path"
        ) from None
    except OSError as exc:
        raise PKIError(f"cannot read '{path}' ({exc.strerror}); check its permissions") from None


# ---------------------------------------------------------------------------------------
# Keys


def generate_key(key_type):
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type in ("rsa-2048", "rsa-3072", "rsa-4096"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.split("-")[1]))
    raise PKIError(f"key type '{key_type}' is not supported; choose one of {', '.join(KEY_TYPES)}")


def key_type_of(public_key):
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "ecdsa-p256"
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size in (2048, 3072, 4096):
        return f"rsa-{public_key.key_size}"
    return "other"


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def same_public_key(a, b):
    return _public_der(a) == _public_der(b)


def key_to_pem(key, passphrase=None):
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def cert_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


# ---------------------------------------------------------------------------------------
# Facts about certificates


def not_before(cert):
    return cert.not_valid_before_utc


def not_after(cert):
    return cert.not_valid_after_utc


def thumbprints(cert):
    """IoT Hub's thumbprint format: SHA-256 and SHA-1 of the DER, uppercase hex without colons."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "thumbprint_sha256": hashlib.sha256(der).hexdigest().upper(),
        "thumbprint_sha1": hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - IoT Hub's format, not security
    }


def common_name(name):
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else ""


_EXTENSIONS = {}


def _extension(cert, cls):
    """The value of ``cert``'s extension of class ``cls``, or None (one parse per certificate)."""
    key = id(cert)
    cached = _EXTENSIONS.get(key)
    if cached is None or cached[0] is not cert:
        cached = (cert, {type(ext.value): ext.value for ext in cert.extensions})
        if len(_EXTENSIONS) > 4096:
            _EXTENSIONS.clear()
        _EXTENSIONS[key] = cached
    return cached[1].get(cls)


def dns_names(cert):
    san = _extension(cert, x509.SubjectAlternativeName)
    return san.get_values_for_type(x509.DNSName) if san else []


def is_ca(cert):
    bc = _extension(cert, x509.BasicConstraints)
    return bool(bc and bc.ca)


def is_self_signed(cert):
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_info(cert, now=None):
    """Metadata that is safe to show (results, diffs): never key material."""
    now = now or utcnow()
    info = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "common_name": common_name(cert.subject),
        "dns_names": dns_names(cert),
        "serial": format(cert.serial_number, "X"),
        "not_before": iso(not_before(cert)),
        "not_after": iso(not_after(cert)),
        "days_left": days_left(cert, now),
        "key_type": key_type_of(cert.public_key()),
        "is_ca": is_ca(cert),
    }
    info.update(thumbprints(cert))
    return info


def days_left(cert, now):
    return int((not_after(cert) - now).total_seconds() // 86400)
