# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Trust for Java: one CA as a trusted certificate entry of a keystore, managed with ``keytool``.

Private to the collection. The entry is identified by its alias and its SHA-256 fingerprint: the
same certificate under the alias changes nothing; another one under the alias is replaced. The
keystore password reaches keytool through the environment (``-storepass:env``), never its
command line. keytool writes the keystore itself (it owns the format); everything is checked
before it runs.
"""

from __future__ import annotations

import os
import re

from ansible_collections.edgeops.gateway.plugins.module_utils._runtime_trust import RuntimeTrustError

PASS_VAR = "EDGEOPS_KEYSTORE_PASS"  # noqa: S105 - the name of a variable, not a password
_SHA256_RE = re.compile(r"^\s*SHA-?256:\s*([0-9A-Fa-f:]+)\s*$", re.MULTILINE)
_OWNER_RE = re.compile(r"^\s*Owner:\s*(.+)$", re.MULTILINE)


def find_java(get_bin_path, java=None, keytool=None):
    """(java, keytool) paths; keytool beside the JRE's java when both come from one install."""
    java = java or get_bin_path("java")
    if keytool is None and java:
        candidate = os.path.join(os.path.dirname(os.path.realpath(java)), "keytool")
        if os.access(candidate, os.X_OK):
            keytool = candidate
    keytool = keytool or get_bin_path("keytool")
    return java, keytool


def jre_cacerts(java):
    """The ``cacerts`` file of the JRE that ``java`` belongs to (Java 9+ and Java 8 layouts)."""
    home = os.path.dirname(os.path.dirname(os.path.realpath(java)))
    for relative in ("lib/security/cacerts", "jre/lib/security/cacerts"):
        path = os.path.join(home, relative)
        if os.path.lexists(path):
            return path
    raise RuntimeTrustError(
        f"the JRE at {home} (from {java}) has no lib/security/cacerts; give the keystore path in keystore"
    )


def _run(run_command, keytool, args, password, data=None):
    return run_command(
        [keytool, *args, "-storepass:env", PASS_VAR],
        environ_update={PASS_VAR: password},
        data=data,
        binary_data=data is None,
    )


def _keytool_problem(keystore, out, err):
    text = (err or "") + (out or "")
    if "password was incorrect" in text or "keystore was tampered with" in text:
        return f"keytool refused the password of {keystore}: give the keystore's password in keystore_password"
    if "Invalid keystore format" in text or "Unrecognized keystore format" in text:
        return f"{keystore} is not a keystore keytool can read; give the path of a JKS or PKCS12 keystore"
    last = (text.strip().splitlines() or ["no output"])[-1]
    return f"keytool failed on {keystore}: {last}"


def entry(run_command, keytool, keystore, password, alias):
    """The fingerprint and owner of ``alias`` in ``keystore``, or None when the alias (or keystore) is absent."""
    if not os.path.exists(keystore):
        return None
    rc, out, err = _run(run_command, keytool, ["-list", "-v", "-keystore", keystore, "-alias", alias], password)
    if rc != 0:
        if "does not exist" in (out + err):
            return None
        raise RuntimeTrustError(_keytool_problem(keystore, out, err))
    match = _SHA256_RE.search(out)
    if not match:
        raise RuntimeTrustError(f"keytool listed the alias '{alias}' of {keystore} without a SHA-256 fingerprint")
    owner = _OWNER_RE.search(out)
    return {"fingerprint": match.group(1).replace(":", "").upper(), "subject": owner.group(1).strip() if owner else ""}


def check_writable(keystore):
    real = os.path.realpath(keystore)
    target = real if os.path.exists(real) else os.path.dirname(real)
    if not os.path.isdir(os.path.dirname(real)):
        return f"the folder of the keystore {keystore} does not exist; create it or give another keystore path"
    if not os.access(target, os.W_OK):
        return f"the keystore {keystore} is not writable; run as a user who may change it (become: true)"
    return None


def plan_java(run_command, keytool, keystore, password, alias, state, certs, warnings):
    """What to do: returns (action, before, after); action is None, 'import', 'replace' or 'delete'."""
    if state == "present" and len(certs) != 1:
        raise RuntimeTrustError(
            f"the CA input holds {len(certs)} certificates; a keystore alias holds one: give the root CA alone"
        )
    current = entry(run_command, keytool, keystore, password, alias)
    before = f"{keystore} alias {alias}: {current['fingerprint']}\n" if current else ""
    if state == "present":
        cert = certs[0]
        after = f"{keystore} alias {alias}: {cert.sha256}\n"
        if current and current["fingerprint"] == cert.sha256:
            return None, before, after
        action = "replace" if current else "import"
    else:
        if not current:
            return None, before, before
        if certs and current["fingerprint"] not in {c.sha256 for c in certs}:
            warnings.append(
                f"the alias '{alias}' of {keystore} holds another certificate ({current['fingerprint']}); left as it is"
            )
            return None, before, before
        action, after = "delete", ""
    problem = check_writable(keystore)
    if problem:
        raise RuntimeTrustError(problem)
    return action, before, after


def apply_java(run_command, keytool, keystore, password, alias, action, certs):
    if action in ("replace", "delete"):
        rc, out, err = _run(run_command, keytool, ["-delete", "-keystore", keystore, "-alias", alias], password)
        if rc != 0:
            raise RuntimeTrustError(_keytool_problem(keystore, out, err))
    if action in ("import", "replace"):
        args = ["-importcert", "-noprompt", "-trustcacerts", "-keystore", keystore, "-alias", alias]
        rc, out, err = _run(run_command, keytool, args, password, data=certs[0].pem())
        if rc != 0:
            raise RuntimeTrustError(_keytool_problem(keystore, out, err), changed=action == "replace")


def prove_java(run_command, keytool, keystore, password, alias, state, certs):
    current = entry(run_command, keytool, keystore, password, alias)
    if state == "present":
        ok = bool(current) and current["fingerprint"] == certs[0].sha256
    else:
        ok = not current or (bool(certs) and current["fingerprint"] not in {c.sha256 for c in certs})
    return {"keystore_contains": bool(current), "fingerprint": current["fingerprint"] if current else None, "ok": ok}
