# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The expiry report of a site's PKI directory: the backend of pki_report.

Private to the collection; part of the controller-side PKI, whose module backends are in ``_pki_backends``.
"""

from __future__ import annotations

import os

try:
    from cryptography import x509
except ImportError:  # pragma: no cover - reported by the modules (see _pki_load.HAS_CRYPTOGRAPHY)
    pass

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    _extension,
    cert_info,
    is_self_signed,
    iso,
    load_certificate,
    load_private_key,
    not_after,
    read_optional,
    same_public_key,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import (
    PKIError,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_renew import (
    expiry_reasons,
    issued_by,
    renew_threshold,
)

# ---------------------------------------------------------------------------------------
# Expiry report


def _is_certificate_file(name):
    return (
        name.endswith(".pem")
        and not name.endswith(".key.pem")
        and not name.endswith("-full-chain.pem")
        and not name.startswith(".")
    )


def collect_certificates(root):
    found = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if _is_certificate_file(name):
                found.append(os.path.join(directory, name))
    return found


def _not_a_certificate(path, data):
    """Why the ``*.pem`` file holding ``data`` is not a certificate the report can read, or None when it is one."""
    if not data.strip():
        return "the file is empty"
    if b"-----BEGIN CERTIFICATE-----" not in data:
        for marker, what in (
            (b"CERTIFICATE REQUEST-----", "a certificate signing request, not a certificate"),
            (b"PRIVATE KEY-----", "a private key, not a certificate (keys are expected as <name>.key.pem)"),
            (b"PUBLIC KEY-----", "a public key, not a certificate"),
        ):
            if marker in data:
                return what
        return "no PEM certificate in it"
    return None


def _read_candidate(path):
    """(certificate, None) or (None, reason) for one ``*.pem`` file of the PKI directory."""
    if os.path.islink(path) and not os.path.exists(path):
        return None, f"a link to '{os.readlink(path)}', which does not exist"
    try:
        with open(path, "rb") as handle:
            data = handle.read()
    except OSError as exc:
        return None, f"cannot be read ({exc.strerror})"
    reason = _not_a_certificate(path, data)
    if reason:
        return None, reason
    try:
        return load_certificate(data, "the file"), None
    except PKIError as exc:
        return None, str(exc).removeprefix("the file ")


def report(root, now, window):
    """Every certificate under ``root``: days left and what the next run would renew and why.

    A ``*.pem`` file that is not a readable certificate does not stop the report: it is listed in
    ``unreadable`` with the reason (not ``skipped``: Ansible reads that key of a result as "task skipped"),
    and a key next to a certificate that cannot be read is named too.
    """
    if not os.path.isdir(root):
        raise PKIError(f"the PKI directory '{root}' does not exist; run the pki role first or correct the path")
    certs = {}
    unreadable = []

    def skip(path, reason):
        unreadable.append({"path": path, "relative_path": os.path.relpath(path, root), "reason": reason})

    for path in collect_certificates(root):
        cert, reason = _read_candidate(path)
        if cert is None:
            skip(path, reason)
        else:
            certs[path] = cert
    by_ski = {}
    for cert in certs.values():
        ski = _extension(cert, x509.SubjectKeyIdentifier)
        if ski is not None:
            by_ski.setdefault(ski.digest, cert)
    entries = []
    for path, cert in certs.items():
        reasons = list(expiry_reasons(cert, now, window))
        key_path = f"{path[:-4]}.key.pem"
        try:
            key_bytes = read_optional(key_path)
        except PKIError:
            key_bytes = None
            skip(key_path, "the key next to the certificate cannot be read; check its permissions")
        if key_bytes is not None and b"ENCRYPTED" not in key_bytes:
            try:
                key = load_private_key(key_bytes, f"key '{key_path}'")
            except PKIError:
                key = None
                skip(key_path, "not a well-formed PEM private key; the next run of the PKI refuses it")
                reasons.append("its key cannot be read")
            if key is not None and not same_public_key(cert.public_key(), key.public_key()):
                reasons.append("the certificate does not match its key")
        if not is_self_signed(cert):
            aki = _extension(cert, x509.AuthorityKeyIdentifier)
            issuer = by_ski.get(aki.key_identifier) if aki is not None else None
            if issuer is None:
                reasons.append("its issuer is not in the PKI directory")
            elif not issued_by(cert, issuer):
                reasons.append("its issuer changed")
        info = cert_info(cert, now)
        info.update(
            {
                "path": path,
                "relative_path": os.path.relpath(path, root),
                "renew_from": iso(renew_threshold(cert, window)),
                "renew": bool(reasons),
                "reasons": reasons,
                "expired": now >= not_after(cert),
            }
        )
        entries.append(info)
    entries.sort(key=lambda e: (e["days_left"], e["path"]))
    unreadable.sort(key=lambda e: e["path"])
    return {
        "changed": False,
        "now": iso(now),
        "certificates": entries,
        "renew": [e["relative_path"] for e in entries if e["renew"]],
        "expired": [e["relative_path"] for e in entries if e["expired"]],
        "soonest": entries[0]["not_after"] if entries else None,
        "unreadable": unreadable,
    }
