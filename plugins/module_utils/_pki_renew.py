# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The renewal decision: pure, time comes in as ``now``.

Private to the collection; part of the controller-side PKI, whose module backends are in ``_pki_backends``.
"""

from __future__ import annotations

import datetime

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
except ImportError:  # pragma: no cover - reported by the modules (see _pki_load.HAS_CRYPTOGRAPHY)
    pass

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    _extension,
    iso,
    not_after,
    not_before,
    same_public_key,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_profiles import (
    profile_differences,
)

# ---------------------------------------------------------------------------------------
# Renewal decision (pure: time comes in as ``now``)


def renew_threshold(cert, window):
    """The moment from which ``cert`` counts as due for renewal under ``window`` (see parse_renew_window)."""
    kind, amount = window
    if kind == "fraction":
        lifetime = not_after(cert) - not_before(cert)
        return not_after(cert) - lifetime * amount
    return not_after(cert) - datetime.timedelta(days=amount)


def expiry_reasons(cert, now, window):
    """Reasons, from time alone, to reissue ``cert`` at ``now``: [] when it may stay."""
    if now >= not_after(cert):
        return [f"expired on {iso(not_after(cert))}"]
    threshold = renew_threshold(cert, window)
    if now >= threshold:
        return [f"inside its renew window since {iso(threshold)} (expires {iso(not_after(cert))})"]
    return []


def renewal_reasons(cert, now, window, *, wanted=None, issuer=None, key=None):
    """Every reason to reissue ``cert`` at ``now``; [] means it still matches the request.

    ``wanted`` is the request (see ``Request``), ``issuer`` the issuing certificate,
    ``key`` the public key the certificate must carry (of the private key or the CSR).
    """
    reasons = []
    if key is not None:
        if not same_public_key(cert.public_key(), key):
            reasons.append("the certificate does not match its key")
    if issuer is not None and not issued_by(cert, issuer):
        reasons.append(f"the issuer changed (now {issuer.subject.rfc4514_string()})")
    if wanted is not None:
        reasons.extend(profile_differences(cert, wanted))
    reasons.extend(expiry_reasons(cert, now, window))
    return reasons


def issued_by(cert, issuer):
    """Whether ``issuer`` (or a renewal of it with the same name and key) signed ``cert``."""
    if cert.issuer != issuer.subject:
        return False
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    ski = _extension(issuer, x509.SubjectKeyIdentifier)
    if aki and ski and aki.key_identifier:
        # Same name and the issuer's key identifier: this CA (or its renewal with the same key).
        return aki.key_identifier == ski.digest
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True
