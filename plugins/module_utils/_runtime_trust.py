# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trust for runtimes that ignore the OS store: Node.js and application CA bundle files.

Private to the collection. The CA arrives as PEM text; it is checked (certificates only, no
private key, CA certificates, not expired) before anything is written. Files are written
through :class:`_io.WritePlan`. The Java keystore target lives in ``_java_trust.py``.
"""

from __future__ import annotations

import datetime
import os
import re

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import (
    X509Error,
    certificates_from_pem,
    has_private_key,
)

UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC is Python 3.11+, targets run 3.8+
RUNTIMES = ("node", "java", "bundle")
DEFAULT_DIR = "/usr/local/share/edgeops/ca"
ENVIRONMENT_FILE = "/etc/environment"
SYSTEMD_DIR = "/etc/systemd/system"
UNIT_DIRS = ("/etc/systemd/system", "/run/systemd/system", "/lib/systemd/system", "/usr/lib/systemd/system")
NODE_VAR = "NODE_EXTRA_CA_CERTS"
_SERVICE_RE = re.compile(r"^[A-Za-z0-9:_.\\@-]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")


class RuntimeTrustError(Exception):
    """Bad input or a failed change; ``changed`` says whether something was changed first."""

    def __init__(self, msg, changed=False):
        super().__init__(msg)
        self.changed = changed


def load_certificates(content, allow_non_ca=False, now=None):
    """The certificates of ``content`` (PEM text), refused with a message that says how to fix it."""
    data = content.encode("utf-8") if isinstance(content, str) else bytes(content)
    if has_private_key(data):
        raise RuntimeTrustError(
            "the CA input contains a private key; give the CA certificate only (the key was not written anywhere)"
        )
    try:
        certs = certificates_from_pem(data)
    except X509Error as exc:
        raise RuntimeTrustError(
            f"the CA input is not a valid PEM certificate ({exc}); give the CA file in PEM"
        ) from None
    if not certs:
        raise RuntimeTrustError("the CA input holds no PEM certificate; give the CA file in PEM (BEGIN CERTIFICATE)")
    now = now or datetime.datetime.now(UTC)
    for cert in certs:
        if not allow_non_ca and not cert.can_sign_certificates:
            raise RuntimeTrustError(
                f"'{cert.subject}' is not a CA certificate; give the site's root CA (set allow_non_ca only to "
                "trust a self-signed server certificate)"
            )
        if cert.not_after < now:
            raise RuntimeTrustError(
                f"'{cert.subject}' expired on {cert.not_after:%Y-%m-%d}; it cannot be a trust anchor: "
                "give the current root CA"
            )
    return certs


def check_name(name):
    if not _NAME_RE.match(name or ""):
        raise RuntimeTrustError(
            f"name '{name}' is not usable as a file name or alias; use letters, digits, '.', '_' and '-' "
            "(for example 'edgeops-site-a-root-ca')"
        )


def bundle_bytes(certs):
    return "".join(cert.pem() for cert in certs).encode("ascii")


def fingerprints_in(path):
    """SHA-256 fingerprints of the certificates in ``path`` (empty when missing or unreadable)."""
    data = read_bytes(path)
    if not data:
        return []
    try:
        return [cert.sha256 for cert in certificates_from_pem(data)]
    except X509Error:
        return []


def _describe(path, certs):
    if not certs:
        return ""
    return "".join(f"{path}: {c.sha256} {c.subject}\n" for c in certs)


# -- bundle -----------------------------------------------------------------------------


def plan_bundle(plan, state, path, certs, mode="0644", owner=None, group=None):
    """Record the CA bundle file; returns (before, after) diff text."""
    current = fingerprints_in(path)
    if state == "present":
        before = "".join(f"{path}: {fp}\n" for fp in current)
        plan.write(path, bundle_bytes(certs), mode, owner=owner, group=group, what="the CA bundle", dir_mode=0o755)
        return before, _describe(path, certs)
    wanted = {c.sha256 for c in certs}
    before = "".join(f"{path}: {fp}\n" for fp in current)
    if not os.path.lexists(path):
        return before, before
    if certs and current and not wanted & set(current):
        # A file of the same path holding other certificates is not ours to remove.
        return before, before
    plan.remove(path, what="the CA bundle")
    return before, ""


def prove_bundle(state, path, certs):
    present = fingerprints_in(path)
    wanted = [c.sha256 for c in certs]
    if state == "present":
        ok = present == wanted
    else:
        ok = not set(wanted) & set(present)
    return {"bundle_contains": bool(set(wanted) & set(present)), "ok": ok}


# -- Node.js ----------------------------------------------------------------------------


def _read_text(path):
    data = read_bytes(path)
    return data.decode("utf-8", "replace") if data is not None else None


def environment_lines(text, ca_path, state):
    """/etc/environment with NODE_EXTRA_CA_CERTS set to ``ca_path`` (present) or without it (absent).

    Node.js reads one extra CA file only; another value is refused rather than overwritten.
    """
    lines = (text or "").splitlines()
    kept = []
    found = False
    for line in lines:
        key, sep, value = line.partition("=")
        if sep and key.strip() in (NODE_VAR, "export " + NODE_VAR):
            value = value.strip().strip("'\"")
            if value != ca_path:
                raise RuntimeTrustError(
                    f"{ENVIRONMENT_FILE} already sets {NODE_VAR}={value}, another file; Node.js reads one extra CA "
                    f"file only: put both CAs into one bundle and give its path, or remove that line first"
                )
            if state == "present" and not found:
                kept.append(f"{NODE_VAR}={ca_path}")
            found = True
            continue
        kept.append(line)
    if state == "present" and not found:
        kept.append(f"{NODE_VAR}={ca_path}")
    return ("\n".join(kept) + "\n") if kept else ""


def dropin_path(service, dropin_name):
    unit = service if "." in service else service + ".service"
    return os.path.join(SYSTEMD_DIR, unit + ".d", dropin_name + ".conf"), unit


def dropin_text(ca_path):
    return (
        "# Managed by edgeops.gateway runtime_trust: Node.js reads this CA besides its bundled roots.\n"
        f'[Service]\nEnvironment="{NODE_VAR}={ca_path}"\n'
    ).encode()


def unit_known(unit):
    return any(os.path.exists(os.path.join(d, unit)) for d in UNIT_DIRS)


def plan_node(plan, state, ca_path, certs, services, environment, dropin_name, warnings):
    """Record the CA file, the drop-ins and /etc/environment; returns (before, after, units)."""
    before, after = [], []
    units = []
    for service in services:
        if not _SERVICE_RE.match(service):
            raise RuntimeTrustError(f"'{service}' is not a systemd unit name; give names like 'telemetry-agent'")
        path, unit = dropin_path(service, dropin_name)
        units.append(unit)
        current = _read_text(path)
        if current is not None:
            before.append(f"{path}:\n{current}")
        if state == "present":
            if not unit_known(unit):
                warnings.append(f"the unit {unit} was not found on this host; its drop-in applies once it is installed")
            text = dropin_text(ca_path)
            plan.write(path, text, 0o644, what=f"the drop-in of {unit}", dir_mode=0o755, order=2)
            after.append(f"{path}:\n{text.decode()}")
        else:
            plan.remove(path, what=f"the drop-in of {unit}", order=0)
    if environment:
        current = _read_text(ENVIRONMENT_FILE)
        wanted = environment_lines(current, ca_path, state)
        before.append(f"{ENVIRONMENT_FILE}:\n{current or ''}")
        after.append(f"{ENVIRONMENT_FILE}:\n{wanted}")
        if current != wanted and not (current is None and wanted == ""):
            mode = (os.stat(ENVIRONMENT_FILE).st_mode & 0o7777) if current is not None else 0o644
            plan.write(ENVIRONMENT_FILE, wanted.encode("utf-8"), mode, what=ENVIRONMENT_FILE, order=2)
    b, a = plan_bundle(plan, state, ca_path, certs)
    return "".join(before) + b, "".join(after) + a, units


def node_proof_script():
    # Reads the CA file as Node.js would for NODE_EXTRA_CA_CERTS and builds a TLS context, which makes
    # Node load the extra certificates (it warns "Ignoring extra certs from ..." on stderr when it cannot).
    return (
        "const fs=require('fs'),crypto=require('crypto'),tls=require('tls');"
        "const pem=fs.readFileSync(process.env.NODE_EXTRA_CA_CERTS,'utf8');"
        "const blocks=pem.match(/-----BEGIN CERTIFICATE-----[^-]+-----END CERTIFICATE-----/g)||[];"
        "tls.createSecureContext();"
        "console.log(JSON.stringify(blocks.map(b=>new crypto.X509Certificate(b).fingerprint256.replace(/:/g,''))));"
    )


def prove_node(run_command, node, ca_path, certs):
    """Run Node.js with NODE_EXTRA_CA_CERTS=ca_path; returns the proof dict."""
    import json  # noqa: PLC0415

    env = {NODE_VAR: ca_path}
    rc, out, err = run_command([node, "-e", node_proof_script()], environ_update=env)
    proof = {"node": node, "node_loads_ca": False, "rc": rc}
    if rc != 0 or "Ignoring extra certs" in err:
        proof["stderr"] = err.strip()[-400:]
        return proof
    try:
        loaded = json.loads(out.strip().splitlines()[-1])
    except (ValueError, IndexError):
        proof["stdout"] = out.strip()[-400:]
        return proof
    proof["node_loads_ca"] = [c.sha256 for c in certs] == [fp.upper() for fp in loaded]
    return proof


def apply_plan(plan, check_mode):
    try:
        plan.apply(check_mode=check_mode)
    except WriteError as exc:
        raise RuntimeTrustError(str(exc), changed=exc.changed) from None
