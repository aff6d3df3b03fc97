# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Planning one certificate and the files it needs (key, certificate, chain, PKCS#12); the backends are in
``_pki_backends``.

Private to the collection. Everything runs on the controller with ``cryptography``; files are
written only through ``_io.WritePlan``: every target checked first, keys before certificates.
"""

from __future__ import annotations

try:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.serialization import pkcs12
except ImportError:  # pragma: no cover - reported by the modules (see _pki_load.HAS_CRYPTOGRAPHY)
    pass

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_issuer import (
    check_edge_ca_name,
    check_issuer,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    cert_info,
    cert_to_pem,
    generate_key,
    is_self_signed,
    key_to_pem,
    key_type_of,
    load_certificate,
    load_csr,
    load_private_key,
    read_file,
    read_optional,
    same_public_key,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import (
    KEY_TYPES,
    PKIError,
    parse_backdate,
    parse_renew_window,
    validate_device_id,
    validate_hostname,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_profiles import (
    Request,
    build_certificate,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_renew import (
    renewal_reasons,
)

# ---------------------------------------------------------------------------------------
# Files


def pkcs12_bytes(name, key, cert, cas, passphrase):
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, cas or None, encryption)


def pkcs12_matches(data, passphrase, key, cert, cas):
    """Whether an existing PKCS#12 holds exactly ``key``, ``cert`` and ``cas`` (its bytes are never stable)."""
    try:
        loaded = pkcs12.load_pkcs12(data, passphrase.encode("utf-8") if passphrase else None)
    except (ValueError, TypeError):
        return False
    if loaded.key is None or loaded.cert is None:
        return False
    if not same_public_key(loaded.key.public_key(), key.public_key()):
        return False
    if loaded.cert.certificate != cert:
        return False
    return [c.certificate for c in loaded.additional_certs] == list(cas)


def plan_write(plan, path, content, mode, what, order):
    """Record one file in the ``WritePlan``; its refusals become the PKI's own error."""
    try:
        return plan.write(path, content, mode, what=what, order=order)
    except WriteError as exc:
        raise PKIError(str(exc)) from None


def plan_claim(plan, path, what):
    if not path:
        raise PKIError(f"{what}: a path is empty; give the file's path")
    try:
        plan.claim(path, what)
    except WriteError as exc:
        raise PKIError(str(exc)) from None


def apply_plan(plan, check_mode):
    """Check every target, then write (nothing in check mode); a failure keeps ``changed``."""
    try:
        plan.apply(check_mode=check_mode)
    except WriteError as exc:
        raise PKIError(str(exc), changed=exc.changed) from None


# Write order: every key before the certificate that needs it, the certificate before the files
# made from it, so a run killed or refused halfway never leaves a certificate without its key.
ORDER_KEY = 0
ORDER_CERT = 1
ORDER_DERIVED = 2


# ---------------------------------------------------------------------------------------
# Planning one certificate


def plan_issue(spec, issuer, now, plan):
    """Decide and prepare one certificate; returns a result dict that holds no key material.

    ``spec`` keys: profile, common_name, dns_names, validity_days, key_type, path, key_path,
    full_chain_path, full_chain_include_root, csr_path, pkcs12_path, pkcs12_passphrase,
    key_passphrase, renew_window, gateway_hostname, device_id, path_length.
    ``issuer`` is an ``Issuer`` or None for a self-signed root CA.
    """
    path = spec["path"]
    label = f"certificate '{path}'"
    wanted = Request(
        spec["profile"],
        spec["common_name"],
        spec.get("dns_names"),
        spec.get("validity_days", 365),
        spec.get("path_length"),
    )
    wanted.check_end(now)
    backdate = parse_backdate(spec.get("backdate_minutes"))
    if spec.get("device_id") is not None:
        validate_device_id(spec["device_id"])
    if wanted.profile == "edge_ca":
        if spec.get("gateway_hostname"):
            validate_hostname(spec["gateway_hostname"])
        check_edge_ca_name(wanted.common_name, spec.get("gateway_hostname"), spec.get("device_id"))
    window = parse_renew_window(spec.get("renew_window"))
    if issuer is not None:
        check_issuer(issuer, wanted, now)
    elif wanted.profile != "root_ca":
        raise PKIError(f"{label}: the {wanted.profile} profile needs an issuer; give the issuing CA's cert and key")
    key_type = spec.get("key_type") or "ecdsa-p256"
    if key_type not in KEY_TYPES:
        raise PKIError(f"key type '{key_type}' is not supported; choose one of {', '.join(KEY_TYPES)}")

    csr_path = spec.get("csr_path")
    key_path = spec.get("key_path")
    passphrase = spec.get("key_passphrase")
    plan_claim(plan, path, label)
    reasons = []
    new_key = None
    key = None
    if csr_path:
        csr = load_csr(read_file(csr_path, "certificate signing request"), f"certificate signing request '{csr_path}'")
        public_key = csr.public_key()
        if key_type_of(public_key) not in KEY_TYPES:
            raise PKIError(
                f"the key of '{csr_path}' is not one of {', '.join(KEY_TYPES)}; make the device key an ECDSA P-256 "
                "or RSA 2048/3072/4096 key"
            )
    else:
        if not key_path:
            raise PKIError(f"{label}: give key_path (or csr_path when the device keeps its own key)")
        plan_claim(plan, key_path, label)
        key_bytes = read_optional(key_path)
        if key_bytes is not None:
            key = load_private_key(
                key_bytes,
                f"existing key '{key_path}' (delete it to have a new key generated)",
                passphrase,
                encrypted_hint=spec.get("encrypted_key_hint"),
            )
            if key_type_of(key.public_key()) != key_type:
                reasons.append(f"the key type changed to {key_type}")
                key = None
        else:
            reasons.append("no key yet")
        if key is None:
            key = new_key = generate_key(key_type)
        public_key = key.public_key()

    cert_bytes = read_optional(path)
    cert = None
    if cert_bytes is None:
        reasons.append("no certificate yet")
    else:
        existing = load_certificate(cert_bytes, f"existing {label} (delete it to have it reissued)")
        if issuer is None:
            reasons.extend(renewal_reasons(existing, now, window, wanted=wanted, key=public_key))
            if not is_self_signed(existing) and not reasons:
                reasons.append("it is not self-signed any more")
        else:
            reasons.extend(renewal_reasons(existing, now, window, wanted=wanted, issuer=issuer.cert, key=public_key))
        if not reasons:
            cert = existing
    # Key generated but the certificate alone decides nothing more: keep reasons unique.
    reasons = list(dict.fromkeys(reasons))

    if cert is None:
        signer_cert = issuer.cert if issuer else None
        signer_key = issuer.key if issuer else key
        cert = build_certificate(wanted, public_key, signer_cert, signer_key, now, backdate=backdate)
    pem = cert_to_pem(cert)
    changed = False
    if new_key is not None:
        changed = plan_write(plan, key_path, key_to_pem(new_key, passphrase), 0o600, f"the key of {label}", ORDER_KEY)
    elif key_path and not csr_path:
        changed = plan_write(plan, key_path, key_bytes, 0o600, f"the key of {label}", ORDER_KEY)
    changed = plan_write(plan, path, pem, 0o644, label, ORDER_CERT) or changed

    chain = issuer.chain_certs(spec.get("full_chain_include_root", False)) if issuer else []
    full_chain_path = spec.get("full_chain_path")
    if full_chain_path:
        plan_claim(plan, full_chain_path, label)
        content = b"".join(cert_to_pem(c) for c in [cert, *chain])
        changed = (
            plan_write(plan, full_chain_path, content, 0o644, f"the full chain of {label}", ORDER_DERIVED) or changed
        )

    pkcs12_path = spec.get("pkcs12_path")
    if pkcs12_path:
        if csr_path:
            raise PKIError(
                f"{label}: a PKCS#12 file needs the private key, which stays on the device when csr_path is used; "
                "drop pkcs12_path or let the controller generate the key"
            )
        plan_claim(plan, pkcs12_path, label)
        p12_pass = spec.get("pkcs12_passphrase") or ""
        existing_p12 = read_optional(pkcs12_path)
        if existing_p12 is None or reasons or not pkcs12_matches(existing_p12, p12_pass, key, cert, chain):
            content = pkcs12_bytes(wanted.common_name, key, cert, chain, p12_pass)
            changed = (
                plan_write(plan, pkcs12_path, content, 0o600, f"the PKCS#12 file of {label}", ORDER_DERIVED) or changed
            )
        else:
            what = f"the PKCS#12 file of {label}"
            changed = plan_write(plan, pkcs12_path, existing_p12, 0o600, what, ORDER_DERIVED) or changed

    result = {"path": path, "changed": changed, "reissued": bool(reasons), "reasons": reasons}
    result.update(cert_info(cert, now))
    result["profile"] = wanted.profile
    return result


def diff_entry(result, before):
    """Certificate metadata for a diff: never key material."""
    keys = ("subject", "issuer", "serial", "not_before", "not_after", "thumbprint_sha256")
    after = {k: result[k] for k in keys}
    return before, after


# What a diff shows of a certificate: metadata only.
_DIFF_KEYS = ("subject", "serial", "not_before", "not_after", "thumbprint_sha256")


def existing_info(path):
    """Metadata of the certificate now at ``path`` (for diffs), or None."""
    data = read_optional(path)
    if data is None:
        return None
    try:
        cert = load_certificate(data, path)
    except PKIError:
        return None
    info = cert_info(cert)
    return {k: info[k] for k in _DIFF_KEYS}
