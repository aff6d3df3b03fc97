# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The backends of pki_cert and pki_ca: each takes the AnsibleModule, raises PKIError, returns the result.

Private to the collection. Everything runs on the controller with ``cryptography``; files are
written only through ``_io.WritePlan``: every target checked first, keys before certificates.
"""

from __future__ import annotations

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WritePlan

# ---------------------------------------------------------------------------------------
# Files
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_issue import (
    _DIFF_KEYS,
    ORDER_CERT,
    ORDER_KEY,
    apply_plan,
    existing_info,
    plan_claim,
    plan_issue,
    plan_write,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_issuer import (
    Issuer,
    check_key_matches,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    cert_info,
    cert_to_pem,
    is_ca,
    is_self_signed,
    iso,
    load_certificate,
    load_private_key,
    load_single_certificate,
    not_after,
    read_file,
    read_optional,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import (
    PKIError,
    utcnow,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_renew import (
    issued_by,
)

# ---------------------------------------------------------------------------------------
# Module backends: each takes the AnsibleModule, raises PKIError, returns the result dict.


def _default_paths(entry):
    path = entry["path"]
    stem = path[:-4] if path.endswith(".pem") else path
    if not entry.get("csr_path") and not entry.get("key_path"):
        entry["key_path"] = f"{stem}.key.pem"
    if entry.get("full_chain", True) and not entry.get("full_chain_path"):
        entry["full_chain_path"] = f"{stem}-full-chain.pem"
    if not entry.get("full_chain", True):
        entry["full_chain_path"] = None
    return entry


def _diff_after(result, check_mode):
    if result["reissued"] and check_mode:
        return {"subject": result["subject"], "state": "would be (re)issued"}
    return {k: result[k] for k in _DIFF_KEYS}


def _finish(module, plan, results, befores, now):
    """Write the plan (unless check mode) and build the module result with a metadata-only diff."""
    changed = any(r["changed"] for r in results)
    apply_plan(plan, module.check_mode)
    if module.check_mode:
        for result in results:
            if result["reissued"]:
                # The certificate shown was made in memory only: nothing with its serial exists.
                for key in ("serial", "thumbprint_sha256", "thumbprint_sha1", "not_before", "not_after"):
                    result[key] = None
                result["days_left"] = None
    out = {"changed": changed, "certificates": results, "now": iso(now)}
    if module._diff:
        before = {r["path"]: befores[r["path"]] for r in results if r["changed"]}
        after = {r["path"]: _diff_after(r, module.check_mode) for r in results if r["changed"]}
        out["diff"] = {"before": before, "after": after}
    return out


# What pki_cert returns per certificate: a site's devices come back in one result, so it stays lean
# (the issuer is the same for all and is returned once).
CERT_RESULT_KEYS = (
    "path",
    "changed",
    "reissued",
    "reasons",
    "subject",
    "dns_names",
    "serial",
    "not_before",
    "not_after",
    "days_left",
    "thumbprint_sha256",
    "thumbprint_sha1",
)


def run_cert(module, now=None):
    """Backend of the pki_cert module: issue many certificates from one issuer."""
    params = module.params
    now = now or utcnow()
    issuer = Issuer.from_files(
        params["issuer_cert"], params["issuer_key"], params["issuer_key_passphrase"], params["issuer_chain"] or ()
    )
    plan = WritePlan()
    results = []
    befores = {}
    for index, raw in enumerate(params["certificates"]):
        entry = {k: v for k, v in raw.items() if v is not None}
        for option in (
            "profile",
            "key_type",
            "validity_days",
            "renew_window",
            "full_chain_include_root",
            "backdate_minutes",
        ):
            entry.setdefault(option, params[option])
        entry["encrypted_key_hint"] = (
            "pki_cert keeps device keys unencrypted and has no passphrase option for them. Decrypt it in place "
            "(openssl pkey -in KEY -out KEY) or delete it to have a new key generated"
        )
        if not entry.get("common_name"):
            raise PKIError(f"certificates[{index}] ({entry['path']}) has no common_name; give one")
        _default_paths(entry)
        try:
            result = plan_issue(entry, issuer, now, plan)
        except PKIError as exc:
            raise PKIError(f"certificates[{index}] ({entry['path']}): {exc}") from exc
        befores[entry["path"]] = existing_info(entry["path"]) if result["changed"] else None
        results.append({k: result[k] for k in CERT_RESULT_KEYS})
    out = _finish(module, plan, results, befores, now)
    out["issuer"] = issuer.cert.subject.rfc4514_string()
    return out


def run_ca(module, now=None):
    """Backend of the pki_ca module: generate a root or intermediate CA, or import the user's own."""
    params = module.params
    now = now or utcnow()
    plan = WritePlan()
    path = params["path"]
    if params["import_cert"]:
        result = plan_import(params, now, plan)
    else:
        issuer = None
        if params["type"] == "intermediate":
            if not params["issuer_key"]:
                raise PKIError("a generated intermediate CA is signed with its issuer's key; give issuer_key")
            issuer = Issuer.from_files(
                params["issuer_cert"],
                params["issuer_key"],
                params["issuer_key_passphrase"],
                params["issuer_chain"] or (),
            )
        entry = {
            "profile": "root_ca" if params["type"] == "root" else "intermediate_ca",
            "common_name": params["common_name"],
            "validity_days": params["validity_days"],
            "key_type": params["key_type"],
            "renew_window": params["renew_window"],
            "path": path,
            "key_path": params["key_path"],
            "key_passphrase": params["key_passphrase"],
            "path_length": params["path_length"],
            "backdate_minutes": params["backdate_minutes"],
            "encrypted_key_hint": "give its passphrase as key_passphrase",
            "full_chain_path": params["full_chain_path"],
            "full_chain_include_root": params["full_chain_include_root"],
        }
        result = plan_issue(entry, issuer, now, plan)
    befores = {path: existing_info(path) if result["changed"] else None}
    out = _finish(module, plan, [result], befores, now)
    certificate = out.pop("certificates")[0]
    out.update(certificate)
    out["changed"] = certificate["changed"]
    return out


def plan_import(params, now, plan):
    """Copy the user's own CA certificate (and key) into the PKI after checking them."""
    path, key_path = params["path"], params["key_path"]
    source = f"imported CA certificate '{params['import_cert']}'"
    data = read_file(params["import_cert"], "CA certificate to import")
    cert = load_single_certificate(
        data,
        source,
        "import_cert takes the one CA certificate to import; split the file and import each CA with its own "
        "pki_ca task (the root with type=root, then each intermediate with type=intermediate and issuer_cert)",
    )
    if not is_ca(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not a CA certificate (basicConstraints CA:TRUE is "
            "missing); import the CA that issues your certificates, not a leaf"
        )
    if now >= not_after(cert):
        raise PKIError(f"{source} expired on {iso(not_after(cert))}; import a valid CA certificate")
    if params["type"] == "root" and not is_self_signed(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not self-signed, so it is not a root CA; "
            "import it with type=intermediate and import its root separately"
        )
    if params["type"] == "intermediate" and not params["import_key"]:
        raise PKIError(
            f"{source}: an intermediate CA is imported to sign the site's certificates, so its key is needed; "
            "give import_key"
        )
    key_bytes = None
    if params["import_key"]:
        key_bytes = read_file(params["import_key"], "CA key to import")
        key = load_private_key(key_bytes, f"imported CA key '{params['import_key']}'", params["key_passphrase"])
        check_key_matches(cert, key, f"imported CA key '{params['import_key']}'", source)
    if params["issuer_cert"]:
        parent = load_certificate(read_file(params["issuer_cert"], "issuer certificate"), "issuer certificate")
        if not issued_by(cert, parent):
            raise PKIError(
                f"{source} was not issued by {parent.subject.rfc4514_string()} ('{params['issuer_cert']}'); "
                "import the CA certificate that the given issuer signed, or point issuer_cert at its real issuer"
            )
    plan_claim(plan, path, source)
    pem = cert_to_pem(cert)
    existing = read_optional(path)
    changed = False
    if key_bytes is not None:
        if not key_path:
            raise PKIError(f"{source}: give key_path, where the imported key is kept")
        plan_claim(plan, key_path, source)
        changed = plan_write(plan, key_path, key_bytes, 0o600, f"the key of {source}", ORDER_KEY)
    changed = plan_write(plan, path, pem, 0o644, source, ORDER_CERT) or changed
    reissued = existing != pem
    result = {"path": path, "changed": changed, "reissued": False, "imported": reissued, "reasons": []}
    if reissued:
        result["reasons"] = ["imported the given CA certificate"]
    result.update(cert_info(cert, now))
    result["profile"] = "root_ca" if params["type"] == "root" else "intermediate_ca"
    return result
