# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Logic of the ca_trust module: put a CA certificate into the OS trust store or take it out.

This file runs on target hosts (downstream devices): it uses the Python standard library only and must stay
Python 3.8 compatible (no ``match``, no ``X | Y`` unions evaluated at runtime). Certificates are read with
the collection's DER reader in ``_x509`` (fingerprints, names, validity, basicConstraints, keyUsage); the ``openssl``
CLI is only used to prove the result with the system's default verification paths.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import tempfile
from contextlib import contextmanager

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan, read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import (
    ATTRIBUTE_NAMES,
    CERTIFICATE_LABELS,
    MAX_INPUT_BYTES,
    Certificate,
    X509Error,
    decode_pem_body,
    pem_scan,
)


class TrustError(Exception):
    """A ca_trust failure; the message says what failed and how to fix it.

    ``changed`` is true when the store was already changed before the failure.
    """

    def __init__(self, message, changed=False):
        super().__init__(message)
        self.changed = changed


# --------------------------------------------------------------------------------------------------------------
# Certificates (read by the collection's DER reader, ``_x509``; this section only decides and describes)
# --------------------------------------------------------------------------------------------------------------


def display_name(rdns):
    """How ca_trust shows names: attributes in DER order, ", "-separated (its results and messages use this form)."""
    return ", ".join(f"{ATTRIBUTE_NAMES.get(oid, oid)}={value}" for rdn in rdns for oid, value in rdn)


def subject_of(cert):
    return display_name(cert.subject_rdns)


def issuer_of(cert):
    return display_name(cert.issuer_rdns)


def _iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def summary(cert):
    return {
        "fingerprint": cert.sha256,
        "thumbprint": cert.sha1,
        "subject": subject_of(cert),
        "issuer": issuer_of(cert),
        "not_before": _iso(cert.not_before),
        "not_after": _iso(cert.not_after),
        "is_ca": cert.is_ca,
        "self_signed": cert.self_issued_exact,
    }


def read_input_file(path, what):
    """The bytes of ``path``, read up to the reader's size bound (a larger file is refused, not read whole)."""
    with open(path, "rb") as handle:
        data = handle.read(MAX_INPUT_BYTES + 1)
    if len(data) > MAX_INPUT_BYTES:
        raise TrustError(
            f"{what} is larger than {MAX_INPUT_BYTES // (1024 * 1024)} MiB, far more than a CA certificate or a CA "
            "bundle; give the CA certificate itself, e.g. the site's root-ca.pem."
        )
    return data


def _certificate(der, source):
    try:
        return Certificate(der)
    except X509Error as exc:
        raise TrustError(
            f"{source} is PEM/DER-framed but not a valid X.509 certificate ({exc}). "
            "Give the CA certificate itself, e.g. the site's root-ca.pem."
        ) from None


def load_certificates(data, source):
    """Return the certificates in ``data`` (PEM with one or more certificates, or one DER certificate).

    Refuses anything holding a private key without ever echoing it.
    """
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogateescape")
    try:
        blocks, unterminated = pem_scan(data)
    except X509Error as exc:
        raise TrustError(f"{source}: {exc}.") from None
    if any(label.endswith(b"PRIVATE KEY") for label, _body in blocks) or any(
        label.endswith(b"PRIVATE KEY") for label in unterminated
    ):
        raise TrustError(
            f"{source} contains a PRIVATE KEY. A trust store takes only the CA certificate: give the certificate file "
            "(e.g. root-ca.pem, not root-ca.key.pem). The key was not written anywhere; if it left its safe place "
            "by mistake, treat it as exposed."
        )
    bodies = [body for label, body in blocks if label in CERTIFICATE_LABELS]
    if bodies:
        certs = []
        for body in bodies:
            try:
                der = decode_pem_body(body)
            except X509Error:
                raise TrustError(
                    f"{source} has a CERTIFICATE block whose base64 body is damaged. Export the CA certificate again "
                    "in PEM form."
                ) from None
            certs.append(_certificate(der, source))
        return certs
    if any(label in CERTIFICATE_LABELS for label in unterminated):
        raise TrustError(
            f"{source} has a -----BEGIN CERTIFICATE----- line without its -----END CERTIFICATE----- line: the file "
            "is truncated. Copy or export the CA certificate again."
        )
    other = [label for label, _body in blocks] + unterminated
    if other:
        raise TrustError(
            "{} holds a PEM '{}' block, not a CERTIFICATE. Give the CA certificate in PEM "
            "(-----BEGIN CERTIFICATE-----) or DER form.".format(source, other[0].decode("ascii", "replace"))
        )
    if data[:1] == b"\x30":
        try:
            return [Certificate(data)]
        except X509Error:
            pass
    raise TrustError(
        f"{source} is not a certificate: it holds neither a PEM CERTIFICATE block nor a DER certificate. "
        "Give the CA certificate, e.g. the site's root-ca.pem."
    )


MULTIPLE_CHOICES = ("fail", "root", "first")


def select_certificate(certs, multiple, source):
    """Pick the one certificate to trust when the input holds several (the ``multiple`` option)."""
    if len(certs) == 1:
        return certs[0]
    if multiple == "first":
        return certs[0]
    if multiple == "root":
        roots = [c for c in certs if c.self_issued_exact]
        if len(roots) == 1:
            return roots[0]
        raise TrustError(
            f"{source} holds {len(certs)} certificates and {len(roots)} of them are self-signed roots; "
            "multiple=root needs exactly one. Split the file, or use multiple=first."
        )
    raise TrustError(
        "{} holds {} certificates ({}). Trust one deliberately: set multiple=root to take the self-signed root "
        "and ignore the intermediates, multiple=first to take the first one, or split the file and call the "
        "module once per certificate.".format(
            source, len(certs), "; ".join(subject_of(c) or "(empty subject)" for c in certs)
        )
    )


def utcnow():
    return datetime.datetime.now(datetime.timezone.utc)  # noqa: UP017 - Python 3.8 on targets


def _utc_text(moment):
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


_CLOCK_FIX = (
    "set the device clock (date -s, or hwclock --hctosys where the device has a clock chip) or enable NTP "
    "(timedatectl set-ntp true, or the distribution's chrony/ntpd)"
)


def check_anchor(cert, allow_non_ca, now=None, checked_on_controller=True):
    """Refuse certificates that must not become trust anchors; return ``(warnings, clock_off)``.

    ``clock_off`` is true when this host's clock lies outside the CA's validity: the anchor is still installed (the
    store is right, the clock is wrong), and the proof then verifies with the time check off. A CA that is expired
    by the controller's clock never gets here: the action plugin refuses it before the host is touched. So with
    ``checked_on_controller`` (the certificate came through the controller) a host clock past notAfter is the host's
    clock; without it (``remote_src``) the message names both causes.
    """
    now = now or utcnow()
    warnings = []
    subject = subject_of(cert)
    if not cert.can_sign_certificates:
        why = "has no basicConstraints CA:TRUE" if not cert.is_ca else "has keyUsage without keyCertSign"
        if not allow_non_ca:
            raise TrustError(
                f"the certificate '{subject}' (SHA-256 {cert.sha256}) {why}: it is a leaf, not a CA, so it "
                "cannot anchor a chain. Give the site's root CA (root-ca.pem) instead, or set allow_non_ca=true to "
                "trust this exact certificate on purpose."
            )
        warnings.append(f"installing '{subject}', which {why}, because allow_non_ca=true")
    clock_off = False
    if cert.not_before > now:
        clock_off = True
        warnings.append(
            f"the device clock is behind the CA's notBefore: the device says {_utc_text(now)}, the CA '{subject}' is "
            f"valid from {_utc_text(cert.not_before)}. The anchor is installed and the bundle rebuilt, but TLS "
            f"clients on this device reject the chain until the clock is right: {_CLOCK_FIX}."
        )
    elif cert.not_after <= now:
        clock_off = True
        if checked_on_controller:
            cause = f"The controller's clock found the CA valid, so the device clock is ahead: {_CLOCK_FIX}."
        else:
            cause = (
                "Either the CA is expired (then renew it: re-run the PKI role and install the new certificate) or "
                f"the device clock is ahead ({_CLOCK_FIX}); compare with the controller's clock to tell which."
            )
        warnings.append(
            f"the device clock is past the CA's notAfter: the device says {_utc_text(now)}, the CA '{subject}' is "
            f"valid until {_utc_text(cert.not_after)}. The anchor is installed and the bundle rebuilt, but TLS "
            f"clients on this device reject the chain while this lasts. {cause}"
        )
    if not cert.self_issued_exact:
        warnings.append(
            f"the certificate '{subject}' is not self-signed (issuer '{issuer_of(cert)}'); OpenSSL clients "
            "trust it only with partial-chain verification, so prefer installing the root"
        )
    return warnings, clock_off


def refuse_expired(cert, now=None, clock="the controller's clock"):
    """Refuse a CA whose notAfter is past by ``clock`` (the controller's, where the action plugin reads the input)."""
    now = now or utcnow()
    if cert.not_after <= now:
        raise TrustError(
            f"the CA '{subject_of(cert)}' (SHA-256 {cert.sha256}) is expired: its notAfter is "
            f"{_utc_text(cert.not_after)} and {clock} says {_utc_text(now)}; an expired CA verifies nothing. "
            "Renew the CA (re-run the PKI role) and install the new certificate. Nothing was sent to the host."
        )


_FINGERPRINT_RE = re.compile(r"^[0-9A-F]{64}$")


def normalize_fingerprint(value):
    text = re.sub(r"[\s:]", "", value or "").upper()
    if not _FINGERPRINT_RE.match(text):
        raise TrustError(
            f"fingerprint '{value}' is not a SHA-256 fingerprint. Give 64 hex digits, with or without colons, e.g. the "
            "output of 'openssl x509 -noout -fingerprint -sha256 -in root-ca.pem'."
        )
    return text


_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$")


def validate_name(name):
    if name is None:
        return None
    if not _NAME_RE.match(name) or name.endswith(".crt"):
        raise TrustError(
            f"name '{name}' is not usable as a trust store file name. Use letters, digits, '.', '_' and '-' only, "
            "start with a letter or digit, and leave out the .crt suffix (e.g. 'edgeops-site-a-root-ca')."
        )
    return name


def default_name(cert):
    return f"ca-{cert.sha256[:16].lower()}"


# --------------------------------------------------------------------------------------------------------------
# Store layouts
# --------------------------------------------------------------------------------------------------------------

FAMILIES = {
    # Debian, Ubuntu (and Alpine): update-ca-certificates reads *.crt below /usr/local/share/ca-certificates.
    "debian": {
        "anchor_dir": "/usr/local/share/ca-certificates",
        "update_command": ["update-ca-certificates"],
        "bundle_path": "/etc/ssl/certs/ca-certificates.crt",
        "suffixes": (".crt",),
    },
    # RHEL, CentOS Stream, Rocky, Alma, Fedora: p11-kit reads every file below source/anchors.
    "rhel": {
        "anchor_dir": "/etc/pki/ca-trust/source/anchors",
        "update_command": ["update-ca-trust", "extract"],
        "bundle_path": "/etc/pki/tls/certs/ca-bundle.crt",
        "suffixes": None,
    },
}
ANCHOR_SUFFIX = ".crt"


def detect_family(isdir, which):
    """Decide which trust store tooling the host has. ``isdir`` and ``which`` are injected for tests."""
    if which("update-ca-trust") and isdir(FAMILIES["rhel"]["anchor_dir"]):
        return "rhel"
    if which("update-ca-certificates") and isdir(FAMILIES["debian"]["anchor_dir"]):
        return "debian"
    raise TrustError(
        "no supported OS trust store was found: neither update-ca-certificates with /usr/local/share/ca-certificates "
        "(Debian/Ubuntu) nor update-ca-trust with /etc/pki/ca-trust/source/anchors (RHEL family). Install the "
        "'ca-certificates' package, or set family, anchor_dir, update_command and bundle_path for this distribution."
    )


class StoreLayout:
    def __init__(self, family, anchor_dir, update_command, bundle_path, suffixes):
        self.family = family
        self.anchor_dir = anchor_dir
        self.update_command = list(update_command)
        self.bundle_path = bundle_path
        self.suffixes = suffixes

    def path_for(self, name):
        return os.path.join(self.anchor_dir, name + ANCHOR_SUFFIX)

    def counts(self, path):
        """Whether the update command reads this file."""
        return self.suffixes is None or path.endswith(tuple(self.suffixes))


def resolve_layout(family, anchor_dir=None, update_command=None, bundle_path=None, *, isdir=None, which=None):
    isdir = isdir or os.path.isdir
    if family == "auto":
        if anchor_dir and update_command and bundle_path:
            return StoreLayout("custom", anchor_dir, update_command, bundle_path, None)
        family = detect_family(isdir, which)
    defaults = FAMILIES[family]
    return StoreLayout(
        family,
        anchor_dir or defaults["anchor_dir"],
        update_command or defaults["update_command"],
        bundle_path or defaults["bundle_path"],
        defaults["suffixes"],
    )


# --------------------------------------------------------------------------------------------------------------
# Reading the store
# --------------------------------------------------------------------------------------------------------------


class AnchorFile:
    def __init__(self, path, fingerprints, subjects, error=None):
        self.path = path
        self.fingerprints = fingerprints
        self.subjects = subjects
        self.error = error

    def describe(self):
        if self.error:
            return f"{self.path}: (unreadable: {self.error})"
        entries = [f"{fp} ({subject})" for fp, subject in zip(self.fingerprints, self.subjects)]  # noqa: B905 - py3.8
        return f"{self.path}: {', '.join(entries)}"


def read_anchor(path):
    try:
        certs = load_certificates(read_input_file(path, path), path)
    except OSError as exc:
        return AnchorFile(path, [], [], error=exc.strerror or str(exc))
    except TrustError as exc:
        return AnchorFile(path, [], [], error=str(exc).split(". ", maxsplit=1)[0])
    return AnchorFile(path, [c.sha256 for c in certs], [subject_of(c) for c in certs])


def scan_anchors(layout):
    """Every file below the anchor directory that the update command reads, with its fingerprints."""
    found = []
    if not os.path.isdir(layout.anchor_dir):
        return found
    for root, dirs, files in os.walk(layout.anchor_dir):
        dirs.sort()
        for name in sorted(files):
            path = os.path.join(root, name)
            if name.startswith(".") or not layout.counts(path) or not os.path.isfile(path):
                continue
            found.append(read_anchor(path))
    return found


def bundle_fingerprints(path):
    """SHA-256 fingerprints of every certificate in a PEM bundle (empty when the bundle does not exist)."""
    try:
        data = read_input_file(path, f"the bundle {path}")
    except OSError:
        return set()
    result = set()
    for label, body in pem_scan(data)[0]:
        if label not in CERTIFICATE_LABELS:
            continue
        try:
            der = decode_pem_body(body)
        except X509Error:
            continue
        result.add(hashlib.sha256(der).hexdigest().upper())
    return result


# --------------------------------------------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------------------------------------------


class Plan:
    def __init__(self):
        self.write_path = None
        self.remove_paths = []
        self.replaced = []
        self.run_update = False
        self.path = None
        self.before = []
        self.after = []
        self.warnings = []

    @property
    def changed(self):
        return bool(self.write_path or self.remove_paths or self.run_update)

    def diff(self):
        def render(lines):
            return "".join(line + "\n" for line in lines)

        return {"before": render(self.before), "after": render(self.after)}


def _line(path, fingerprint, subject):
    return f"{path}: {fingerprint} ({subject})"


def plan_present(layout, cert, name, anchors, in_bundle):
    plan = Plan()
    holders = [a for a in anchors if cert.sha256 in a.fingerprints]
    target = layout.path_for(name) if name else None
    occupant = None
    for anchor in anchors:
        if anchor.path == target:
            occupant = anchor
    if holders:
        # Identity is the fingerprint: the CA is already an anchor, under whatever name.
        plan.path = holders[0].path
        for holder in holders:
            plan.before.append(holder.describe())
        plan.after = list(plan.before)
        if name and target != plan.path:
            plan.warnings.append(
                f"the certificate (SHA-256 {cert.sha256}) is already trusted as {plan.path}; "
                f"not installing it again as {target}"
            )
        if not in_bundle:
            plan.run_update = True
            plan.after.append(f"{layout.bundle_path}: now contains {cert.sha256}")
            plan.before.append(f"{layout.bundle_path}: missing {cert.sha256}")
        return plan
    target = target or layout.path_for(default_name(cert))
    if occupant is None and os.path.lexists(target):
        occupant = read_anchor(target)
    if occupant is not None:
        plan.before.append(occupant.describe())
        for fingerprint in occupant.fingerprints:
            plan.replaced.append({"path": target, "fingerprint": fingerprint})
        if occupant.error:
            plan.replaced.append({"path": target, "fingerprint": None})
    plan.write_path = target
    plan.path = target
    plan.run_update = True
    plan.after.append(_line(target, cert.sha256, subject_of(cert)))
    return plan


def plan_absent(layout, fingerprint, name, anchors, in_bundle):
    plan = Plan()
    if fingerprint:
        for anchor in anchors:
            if fingerprint not in anchor.fingerprints:
                continue
            if len(anchor.fingerprints) > 1:
                raise TrustError(
                    f"{anchor.path} holds {len(anchor.fingerprints)} certificates, including the one to remove "
                    f"(SHA-256 {fingerprint}); the module does not edit multi-certificate files. Split that file "
                    "into one certificate per file, or remove it by hand."
                )
            plan.before.append(anchor.describe())
            plan.remove_paths.append(anchor.path)
        if not plan.remove_paths and in_bundle:
            plan.warnings.append(
                f"no file below {layout.anchor_dir} holds the certificate (SHA-256 {fingerprint}), but "
                f"{layout.bundle_path} still contains it: it comes from another source (the distribution's CA list "
                "or another tool), which this module does not manage"
            )
    else:
        target = layout.path_for(name)
        if os.path.lexists(target):
            anchor = read_anchor(target)
            plan.before.append(anchor.describe())
            plan.remove_paths.append(target)
    plan.run_update = bool(plan.remove_paths)
    return plan


# --------------------------------------------------------------------------------------------------------------
# Applying and proving
# --------------------------------------------------------------------------------------------------------------

_CLIENT_ENV_OVERRIDES = ("SSL_CERT_FILE", "SSL_CERT_DIR")


@contextmanager
def os_store_environment():
    """Hide SSL_CERT_FILE / SSL_CERT_DIR: they override OpenSSL's default store and would fake the proof."""
    saved = {}
    for key in _CLIENT_ENV_OVERRIDES:
        if key in os.environ:
            saved[key] = os.environ.pop(key)
    try:
        yield
    finally:
        os.environ.update(saved)


def plan_writes(layout, plan, cert):
    """The file changes of ``plan`` as one checked, ordered write plan: removals first, then the new anchor."""
    writes = WritePlan()
    owner = group = 0 if os.geteuid() == 0 else None
    try:
        for path in plan.remove_paths:
            writes.remove(path, what="the anchor", order=0)
        if plan.write_path:
            writes.write(
                plan.write_path,
                cert.pem().encode("ascii"),
                0o644,
                owner=owner,
                group=group,
                what="the anchor",
                order=1,
                dir_mode=0o755,
            )
    except WriteError as exc:
        raise TrustError(f"{exc}. Set anchor_dir to the folder the update command reads.") from None
    return writes


def find_update_command(module, layout):
    """The executable of the update command; refuses a missing or non-executable one before anything is written."""
    command = layout.update_command[0] if layout.update_command else ""
    how = (
        "Install the 'ca-certificates' package, or set update_command for this distribution."
        if layout.family != "custom" and layout.update_command == FAMILIES.get(layout.family, {}).get("update_command")
        else "Give the command that rebuilds the bundle as update_command (a list: the program, then its arguments)."
    )
    if not command:
        raise TrustError(f"update_command is empty. {how}")
    if os.sep in command:
        if not os.path.isfile(command):
            raise TrustError(f"the trust store update command '{command}' does not exist on the host. {how}")
        if not os.access(command, os.X_OK):
            raise TrustError(
                f"the trust store update command '{command}' is not executable (chmod +x it, or give the "
                f"interpreter as the first element of update_command). {how}"
            )
        return command
    executable = module.get_bin_path(command)
    if not executable:
        raise TrustError(f"the trust store update command '{command}' was not found on the host's PATH. {how}")
    return executable


def find_openssl(module):
    openssl = module.get_bin_path("openssl")
    if not openssl:
        raise TrustError(
            "openssl was not found on the host, so the result cannot be proven. Install the 'openssl' package, "
            "or set verify=false."
        )
    return openssl


def preflight(module, layout, plan, writes, *, verify):
    """Everything a change needs, checked before the first write (also in check mode): the folder, the target
    files, the update command and, for the proof, openssl. Returns the update command's executable."""
    try:
        writes.check()
    except WriteError as exc:
        raise TrustError(f"{exc}. Set anchor_dir to a writable folder the update command reads.") from None
    executable = find_update_command(module, layout) if plan.run_update else None
    if verify:
        find_openssl(module)
    return executable


def run_update(module, layout, executable):
    rc, out, err = module.run_command([executable, *layout.update_command[1:]])
    if rc != 0:
        raise TrustError(
            "'{}' failed with exit code {}: {}. The anchor files were changed; fix the cause and run the task "
            "again (it re-runs the update when the bundle is stale).".format(
                " ".join(layout.update_command), rc, (err or out).strip()
            )
        )
    return out


def openssl_verify(module, path, partial_chain, no_check_time=False):
    """Verify ``path`` with OpenSSL's default store and no environment overrides; return (ok, message)."""
    args = [find_openssl(module), "verify"]
    if partial_chain:
        args.append("-partial_chain")
    if no_check_time:
        args.append("-no_check_time")
    args.append(path)
    with os_store_environment():
        rc, out, err = module.run_command(args)
    return rc == 0, (out + err).strip()


def _pem_file(module, cert):
    with tempfile.NamedTemporaryFile("w", suffix=".pem", dir=module.tmpdir, delete=False) as handle:
        handle.write(cert.pem())
    return handle.name


def prove_present(module, layout, cert, verify, clock_off=False):
    proof = {"bundle_contains": cert.sha256 in bundle_fingerprints(layout.bundle_path)}
    if not proof["bundle_contains"]:
        raise TrustError(
            f"'{' '.join(layout.update_command)}' ran but {layout.bundle_path} does not contain the certificate "  # noqa: S608 - a message, not SQL
            f"(SHA-256 {cert.sha256}). The update command does not read {layout.anchor_dir}: set anchor_dir, "
            "update_command and bundle_path to match this distribution."
        )
    if verify:
        # With the device clock outside the CA's validity, OpenSSL would reject any chain for the time alone; the
        # time check is left out so that the proof still shows the anchor is the one OpenSSL's store holds.
        ok, message = openssl_verify(module, _pem_file(module, cert), not cert.self_issued_exact, clock_off)
        proof["openssl_verify"] = ok
        proof["time_checked"] = not clock_off
        if not ok:
            raise TrustError(
                f"the certificate is in {layout.bundle_path} but 'openssl verify' with the system defaults still "
                f"rejects it: {message}. "
                f"Check that {layout.bundle_path} is the bundle OpenSSL reads on this host (openssl version -d)."
            )
    return proof


def prove_absent(module, layout, fingerprint, cert, *, verify, warnings):
    proof = {"bundle_contains": fingerprint in bundle_fingerprints(layout.bundle_path)}
    if proof["bundle_contains"]:
        warnings.append(
            f"{layout.bundle_path} still contains the certificate (SHA-256 {fingerprint}) after its anchor file "
            "was removed: another source (the distribution's CA list or another tool) trusts it"
        )
    if verify and cert is not None:
        ok, _message = openssl_verify(module, _pem_file(module, cert), not cert.self_issued_exact, True)
        proof["openssl_verify"] = ok
        if ok:
            warnings.append(
                f"'openssl verify' with the system defaults still accepts the certificate (SHA-256 {fingerprint})"
            )
    return proof


def apply_plan(module, layout, plan, writes, executable):
    """Carry out a checked plan (not in check mode); return the update command's output or None.

    A failure raises TrustError whose ``changed`` says whether the store was changed before it.
    """
    bundle_before = read_bytes(layout.bundle_path)
    try:
        writes.apply()
    except WriteError as exc:
        raise TrustError(f"{exc}. The update command did not run.", changed=exc.changed) from None
    if not plan.run_update:
        return None
    try:
        return run_update(module, layout, executable)
    except TrustError as exc:
        exc.changed = bool(writes.done) or read_bytes(layout.bundle_path) != bundle_before
        raise


# --------------------------------------------------------------------------------------------------------------
# The module's flow
# --------------------------------------------------------------------------------------------------------------


def _read_input(params):
    if params["content"] is not None:
        return load_certificates(params["content"], "content")
    if params["src"]:
        path = params["src"]
        if not os.path.isfile(path):
            raise TrustError(
                f"src '{path}' is not a file on the managed host. Give the path of the CA certificate there, or set "
                "remote_src=false to read it on the controller."
            )
        try:
            data = read_input_file(path, f"src '{path}'")
        except OSError as exc:
            raise TrustError(f"cannot read src '{path}': {exc.strerror}. Check its permissions.") from None
        return load_certificates(data, f"src '{path}'")
    return []


def _removed_certificate(plan):
    if not plan.remove_paths:
        return None
    try:
        return load_certificates(read_input_file(plan.remove_paths[0], plan.remove_paths[0]), plan.remove_paths[0])[0]
    except (OSError, TrustError):
        return None


def run_ca_trust(module):
    """Bring the Linux trust store to the wanted state; return the module result."""
    params = module.params
    warnings = []
    if params["store_name"] != "Root" or params["store_location"] != "LocalMachine":
        warnings.append("store_name and store_location apply to Windows only; they are ignored on this host")
    name = validate_name(params["name"])
    certs = _read_input(params)
    cert = select_certificate(certs, params["multiple"], "the input") if certs else None
    layout = resolve_layout(
        params["family"],
        params["anchor_dir"],
        params["update_command"],
        params["bundle_path"],
        which=module.get_bin_path,
    )
    anchors = scan_anchors(layout)
    bundle = bundle_fingerprints(layout.bundle_path)

    clock_off = False
    if params["state"] == "present":
        # content reaches the module through the action plugin, which refused a CA expired by the controller's clock.
        found, clock_off = check_anchor(cert, params["allow_non_ca"], checked_on_controller=params["src"] is None)
        warnings.extend(found)
        fingerprint = cert.sha256
        plan = plan_present(layout, cert, name, anchors, fingerprint in bundle)
    else:
        fingerprint = cert.sha256 if cert else None
        if fingerprint is None and params["fingerprint"]:
            fingerprint = normalize_fingerprint(params["fingerprint"])
        plan = plan_absent(layout, fingerprint, name, anchors, fingerprint in bundle if fingerprint else False)
    warnings.extend(plan.warnings)
    removed_cert = cert if cert is not None else _removed_certificate(plan)
    writes = plan_writes(layout, plan, cert)
    executable = None
    if plan.changed:
        verify = params["verify"] and (params["state"] == "present" or removed_cert is not None)
        executable = preflight(module, layout, plan, writes, verify=verify)

    result = {
        "changed": plan.changed,
        "bundle_path": layout.bundle_path,
        "family": layout.family,
        "removed": list(plan.remove_paths),
        "replaced": list(plan.replaced),
        "store_updated": False,
        "proof": {},
    }
    if fingerprint:
        result["fingerprint"] = fingerprint
    if cert is not None:
        described = summary(cert)
        for key in ("thumbprint", "subject", "not_after"):
            result[key] = described[key]
    if params["state"] == "present":
        result["path"] = plan.path
    if module._diff:
        result["diff"] = plan.diff()

    if plan.changed and not module.check_mode:
        apply_plan(module, layout, plan, writes, executable)
        result["store_updated"] = plan.run_update
        try:
            if params["state"] == "present":
                result["proof"] = prove_present(module, layout, cert, params["verify"], clock_off)
            elif fingerprint or removed_cert is not None:
                result["proof"] = prove_absent(
                    module,
                    layout,
                    fingerprint or removed_cert.sha256,
                    removed_cert,
                    verify=params["verify"],
                    warnings=warnings,
                )
        except TrustError as exc:
            exc.changed = True
            for warning in warnings:
                module.warn(warning)
            raise
    for warning in warnings:
        module.warn(warning)
    return result
