# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""What each certificate profile looks like, and signing a certificate to a profile.

Private to the collection; part of the controller-side PKI, whose module backends are in ``_pki_backends``.
"""

from __future__ import annotations

import datetime

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
except ImportError:  # pragma: no cover - reported by the modules (see _pki_load.HAS_CRYPTOGRAPHY)
    pass

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    _extension,
    dns_names,
    key_type_of,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import (
    BACKDATE,
    CA_PROFILES,
    LAST_VALID_MOMENT,
    PROFILES,
    PKIError,
    validate_common_name,
    validate_dns_name,
    validate_hostname,
)

# ---------------------------------------------------------------------------------------
# Profiles


class Request:
    """What one certificate should look like."""

    def __init__(self, profile, common_name_, dns_names_=None, validity_days=365, path_length=None):
        if profile not in PROFILES:
            raise PKIError(f"profile '{profile}' is unknown; choose one of {', '.join(PROFILES)}")
        self.profile = profile
        if profile == "gateway_server":
            validate_hostname(common_name_)
        self.common_name = validate_common_name(common_name_)
        names = [validate_dns_name(n) for n in (dns_names_ or [])]
        if profile == "gateway_server":
            names = [common_name_] + [n for n in names if n != common_name_]
        self.dns_names = names
        if isinstance(validity_days, bool) or not isinstance(validity_days, int) or validity_days < 1:
            raise PKIError(f"validity_days must be a positive number of days, got {validity_days!r}")
        self.validity_days = validity_days
        if path_length is not None and (
            isinstance(path_length, bool) or not isinstance(path_length, int) or path_length < 0
        ):
            raise PKIError(
                f"path_length must be 0 or more (how many CA levels may follow below this CA), got {path_length!r}; "
                "leave it unset for no limit"
            )
        self.path_length = 0 if profile == "edge_ca" else path_length

    def check_end(self, now):
        """Refuse a validity that ends after the last date X.509 can hold."""
        allowed = (LAST_VALID_MOMENT - now).days
        if self.validity_days > allowed:
            raise PKIError(
                f"validity_days {self.validity_days} for '{self.common_name}' ends after 9999-12-31, the last date "
                f"a certificate can hold; ask for at most {allowed} days"
            )

    def key_usage(self, key_type):
        ca = self.profile in CA_PROFILES
        rsa_key = key_type.startswith("rsa")
        return {
            "digital_signature": True,
            "content_commitment": False,
            "key_encipherment": rsa_key and not ca,
            "data_encipherment": False,
            "key_agreement": False,
            "key_cert_sign": ca,
            "crl_sign": self.profile in ("root_ca", "intermediate_ca"),
            "encipher_only": False,
            "decipher_only": False,
        }

    def extended_key_usage(self):
        if self.profile == "gateway_server":
            return [ExtendedKeyUsageOID.SERVER_AUTH]
        if self.profile in ("device_identity", "downstream_device"):
            return [ExtendedKeyUsageOID.CLIENT_AUTH]
        return []


def profile_differences(cert, wanted):
    """How ``cert`` differs from the request ``wanted`` (subject, SAN, profile extensions)."""
    diffs = []
    if cert.subject != x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted.common_name)]):
        diffs.append(f"the subject changed (was {cert.subject.rfc4514_string()}, wanted CN={wanted.common_name})")
    if sorted(dns_names(cert)) != sorted(wanted.dns_names):
        diffs.append(f"the DNS names changed (were {dns_names(cert)}, wanted {wanted.dns_names})")
    bc = _extension(cert, x509.BasicConstraints)
    want_ca = wanted.profile in CA_PROFILES
    if bc is None or bc.ca != want_ca or (want_ca and bc.path_length != wanted.path_length):
        diffs.append(f"the profile changed (basic constraints do not match {wanted.profile})")
    ku = _extension(cert, x509.KeyUsage)
    wanted_ku = wanted.key_usage(key_type_of(cert.public_key()))
    if ku is None or any(_ku_flag(ku, flag) != value for flag, value in wanted_ku.items()):
        diffs.append(f"the profile changed (key usage does not match {wanted.profile})")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if sorted(o.dotted_string for o in (eku or [])) != sorted(o.dotted_string for o in wanted.extended_key_usage()):
        diffs.append(f"the profile changed (extended key usage does not match {wanted.profile})")
    return diffs


def _ku_flag(ku, flag):
    try:
        return getattr(ku, flag)
    except ValueError:  # encipher_only/decipher_only are undefined without key_agreement
        return False


def build_certificate(wanted, public_key, issuer_cert, issuer_key, now, *, serial=None, backdate=BACKDATE):
    """Sign a certificate for ``public_key``; ``issuer_cert`` None means self-signed by ``issuer_key``."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted.common_name)])
    start = now - backdate
    end = now + datetime.timedelta(days=wanted.validity_days)
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    if issuer_cert is None:
        issuer_name, aki = subject, x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    else:
        issuer_name = issuer_cert.subject
        issuer_ski = _extension(issuer_cert, x509.SubjectKeyIdentifier)
        aki = (
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
            if issuer_ski
            else x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key())
        )
    ca = wanted.profile in CA_PROFILES
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=wanted.path_length if ca else None), critical=True)
        .add_extension(x509.KeyUsage(**wanted.key_usage(key_type_of(public_key))), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    eku = wanted.extended_key_usage()
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if wanted.dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in wanted.dns_names]), critical=False
        )
    return builder.sign(issuer_key, _hash_for(issuer_key))


def _hash_for(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()
