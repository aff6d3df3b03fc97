# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The issuing CA and the guards that run on it before anything is written.

Private to the collection; part of the controller-side PKI, whose module backends are in ``_pki_backends``.
"""

from __future__ import annotations

import datetime

try:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
except ImportError:  # pragma: no cover - reported by the modules (see _pki_load.HAS_CRYPTOGRAPHY)
    pass

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    _extension,
    is_self_signed,
    iso,
    load_certificates,
    load_private_key,
    not_after,
    not_before,
    read_file,
    same_public_key,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import (
    CA_PROFILES,
    PKIError,
)

# ---------------------------------------------------------------------------------------
# Issuers and guards


class Issuer:
    """A CA that signs: its certificate, its key and the chain above it (intermediates, root last)."""

    def __init__(self, cert, key, chain=()):
        self.cert = cert
        self.key = key
        self.chain = list(chain)
        self._chains = {}

    @classmethod
    def from_files(cls, cert_path, key_path, passphrase=None, chain_paths=()):
        source = f"issuer certificate '{cert_path}'"
        bundle = load_certificates(read_file(cert_path, "issuer certificate"), source)
        cert = bundle[0]
        key = load_private_key(read_file(key_path, "issuer key"), f"issuer key '{key_path}'", passphrase)
        if len(bundle) > 1 and not same_public_key(cert.public_key(), key.public_key()):
            match = [i for i, c in enumerate(bundle) if same_public_key(c.public_key(), key.public_key())]
            where = (
                f"certificate #{match[0] + 1} ({bundle[match[0]].subject.rfc4514_string()}) is the one that matches "
                "the key: put it first"
                if match
                else "none of them matches the key"
            )
            raise PKIError(
                f"{source} holds {len(bundle)} certificates and the first one ({cert.subject.rfc4514_string()}) is "
                f"used as the issuer, but issuer key '{key_path}' does not match it; {where}, or point issuer_cert at "
                "a file holding only the issuing CA and put the rest in issuer_chain"
            )
        chain_paths = list(chain_paths)
        chain = list(bundle[1:])
        for path in chain_paths:
            chain.extend(load_certificates(read_file(path, "issuer chain file"), f"issuer chain file '{path}'"))
        # A chain file may begin with the issuer itself (a full-chain file): keep each certificate once.
        seen = {cert.fingerprint(hashes.SHA256())}
        unique = []
        for item in chain:
            fp = item.fingerprint(hashes.SHA256())
            if fp not in seen:
                seen.add(fp)
                unique.append(item)
        issuer = cls(cert, key, unique)
        check_key_matches(cert, key, f"issuer key '{key_path}'", f"issuer certificate '{cert_path}'")
        return issuer

    def chain_certs(self, include_root):
        """The issuer and the chain above it, the root (self-signed) only when ``include_root``."""
        key = bool(include_root)
        if key not in self._chains:
            certs = [self.cert, *self.chain]
            if not include_root:
                certs = [c for c in certs if not is_self_signed(c)]
            self._chains[key] = certs
        return self._chains[key]


def check_key_matches(cert, key, key_source, cert_source):
    if not same_public_key(cert.public_key(), key.public_key()):
        raise PKIError(
            f"{key_source} does not match {cert_source}: the key is not the one the certificate was issued for. "
            "Point both options at the same key pair"
        )


def check_issuer(issuer, wanted, now, source="the issuer"):
    """Guards on the issuing CA, before anything is written."""
    cert = issuer.cert
    bc = _extension(cert, x509.BasicConstraints)
    if not (bc and bc.ca):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not a CA certificate (basicConstraints CA:TRUE is "
            "missing), so it cannot issue certificates. Use the root, intermediate or Edge CA certificate as issuer"
        )
    ku = _extension(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) lacks the keyCertSign key usage; use a CA certificate "
            "made for signing certificates"
        )
    if now >= not_after(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) expired on {iso(not_after(cert))}; renew the CA first "
            "(run the pki role or the pki_ca module), then issue again"
        )
    if now < not_before(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not valid before {iso(not_before(cert))}; "
            "check the controller's clock"
        )
    if wanted.profile in CA_PROFILES and bc.path_length == 0:
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) has pathlen 0 and cannot issue the CA certificate "
            f"'{wanted.common_name}'. Issue it from the root or an intermediate CA instead"
        )
    end = now + datetime.timedelta(days=wanted.validity_days)
    if end > not_after(cert):
        allowed = max(0, int((not_after(cert) - now).total_seconds() // 86400))
        raise PKIError(
            f"the requested validity of {wanted.validity_days} days for '{wanted.common_name}' ends "
            f"{iso(end)}, after its issuer {cert.subject.rfc4514_string()} expires ({iso(not_after(cert))}). "
            f"Ask for at most {allowed} days or renew the issuer first"
        )


def check_edge_ca_name(common_name_, gateway_hostname=None, device_id=None):
    for other, what in ((gateway_hostname, "gateway hostname"), (device_id, "gateway device id")):
        if other and common_name_.lower() == other.lower():
            raise PKIError(
                f"the Edge CA common name '{common_name_}' equals the {what}; IoT Edge rejects this chain "
                f"because clients see the CA and the server certificate under one name. Use a distinct name "
                f"such as '{other}.ca'"
            )
