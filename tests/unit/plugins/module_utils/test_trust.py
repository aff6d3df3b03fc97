# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The host-independent logic of ca_trust: parsing, refusing, store layouts, planning, and the openssl proof."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trust_lab import DAY, NOW, make_cert

from ansible_collections.edgeops.gateway.plugins.module_utils import _trust
from ansible_collections.edgeops.gateway.plugins.module_utils._trust import TrustError


@pytest.fixture(scope="module")
def root():
    return make_cert("edgeops test root CA")


@pytest.fixture(scope="module")
def intermediate(root):
    return make_cert("edgeops test intermediate CA", issuer=root, path_length=0)


# ---------------------------------------------------------------------------------------------------------------
# Parsing
# ---------------------------------------------------------------------------------------------------------------


def test_pem_is_parsed_like_cryptography_reads_it(root):
    (cert,) = _trust.load_certificates(root.pem, "root")
    assert cert.sha256 == root.sha256
    assert cert.sha1 == root.sha1
    assert _trust.subject_of(cert) == "CN=edgeops test root CA, O=edgeops test"
    assert cert.self_issued_exact
    assert cert.is_ca
    assert cert.key_cert_sign is True
    assert cert.not_after == root.cert.not_valid_after_utc.replace(microsecond=0)
    assert cert.not_before == root.cert.not_valid_before_utc.replace(microsecond=0)
    # The PEM written to the store decodes to the same certificate.
    assert x509.load_pem_x509_certificate(cert.pem().encode()).fingerprint(root.cert.signature_hash_algorithm) == (
        root.cert.fingerprint(root.cert.signature_hash_algorithm)
    )


def test_der_input_is_accepted(root):
    (cert,) = _trust.load_certificates(root.der, "root.der")
    assert cert.sha256 == root.sha256


def test_generalized_time_after_2049_is_read():
    far = make_cert("long-lived root", not_after=NOW.replace(year=2060))
    (cert,) = _trust.load_certificates(far.pem, "far")
    assert cert.not_after.year == 2060


def test_pem_with_text_and_several_certificates(root, intermediate):
    data = b"subject=whatever\n" + intermediate.pem + b"\n# comment\n" + root.pem
    certs = _trust.load_certificates(data, "chain.pem")
    assert [c.sha256 for c in certs] == [intermediate.sha256, root.sha256]
    assert certs[0].path_len == 0
    assert not certs[0].self_issued_exact


def test_matches_openssl_fingerprint(root, tmp_path):
    path = tmp_path / "root.pem"
    path.write_bytes(root.pem)
    out = subprocess.run(
        ["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", str(path)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert out.strip().split("=", 1)[1].replace(":", "") == _trust.load_certificates(root.pem, "root")[0].sha256


@pytest.mark.parametrize(
    "marker",
    ["PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "OPENSSH PRIVATE KEY"],
)
def test_private_key_is_refused_and_never_echoed(root, marker):
    body = "MHcCAQEEIKEYMATERIALTHATMUSTNOTLEAK0123456789abcdef"
    data = f"-----BEGIN {marker}-----\n{body}\n-----END {marker}-----\n".encode() + root.pem
    with pytest.raises(TrustError) as info:
        _trust.load_certificates(data, "src 'root-ca.key.pem'")
    message = str(info.value)
    assert "PRIVATE KEY" in message
    assert "not root-ca.key.pem" in message
    assert body not in message


def test_real_private_key_is_refused(root):
    with pytest.raises(TrustError) as info:
        _trust.load_certificates(root.key_pem, "content")
    assert root.key_pem.decode().splitlines()[1] not in str(info.value)


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"hello, not a certificate\n", "is not a certificate"),
        (b"", "is not a certificate"),
        (b"-----BEGIN CERTIFICATE REQUEST-----\nMIIB\n-----END CERTIFICATE REQUEST-----\n", "not a CERTIFICATE"),
        (b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n", "base64 body is damaged"),
        (b"-----BEGIN CERTIFICATE-----\nMAMCAQE=\n-----END CERTIFICATE-----\n", "not a valid X.509 certificate"),
        (b"\x30\x03\x02\x01\x01", "is not a certificate"),
    ],
)
def test_garbage_is_refused_with_a_hint(data, expected):
    with pytest.raises(TrustError) as info:
        _trust.load_certificates(data, "src 'x.pem'")
    assert expected in str(info.value)
    assert "Give" in str(info.value) or "Export" in str(info.value)


def test_truncated_certificate_is_refused(root):
    with pytest.raises(TrustError, match="not a certificate"):
        _trust.load_certificates(root.der[:-20], "cut.der")


# ---------------------------------------------------------------------------------------------------------------
# Selecting and refusing
# ---------------------------------------------------------------------------------------------------------------


def test_multiple_certificates_fail_by_default_and_list_them(root, intermediate):
    certs = _trust.load_certificates(intermediate.pem + root.pem, "chain")
    with pytest.raises(TrustError) as info:
        _trust.select_certificate(certs, "fail", "chain.pem")
    assert "2 certificates" in str(info.value)
    assert "multiple=root" in str(info.value)
    assert "edgeops test intermediate CA" in str(info.value)


def test_multiple_root_takes_the_self_signed_one(root, intermediate):
    certs = _trust.load_certificates(intermediate.pem + root.pem, "chain")
    assert _trust.select_certificate(certs, "root", "chain").sha256 == root.sha256
    assert _trust.select_certificate(certs, "first", "chain").sha256 == intermediate.sha256


def test_multiple_root_needs_exactly_one_root(root, intermediate):
    other = make_cert("another root")
    with pytest.raises(TrustError, match="exactly one"):
        _trust.select_certificate(_trust.load_certificates(root.pem + other.pem, "x"), "root", "x")
    with pytest.raises(TrustError, match="exactly one"):
        _trust.select_certificate(_trust.load_certificates(intermediate.pem + intermediate.pem, "x"), "root", "x")


def test_expired_ca_is_refused_by_the_controller_clock_even_when_forced():
    old = make_cert("expired root", not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    (cert,) = _trust.load_certificates(old.pem, "old")
    with pytest.raises(TrustError) as info:
        _trust.refuse_expired(cert)
    message = str(info.value)
    assert "is expired: its notAfter is" in message
    assert "the controller's clock says" in message
    assert "Renew the CA" in message
    _trust.refuse_expired(cert, now=NOW - 2 * DAY)  # valid by that clock: no refusal


def test_device_clock_outside_the_validity_installs_with_a_warning():
    (cert,) = _trust.load_certificates(make_cert("fresh root", not_before=NOW + DAY).pem, "x")
    found, clock_off = _trust.check_anchor(cert, allow_non_ca=False, now=NOW)
    assert clock_off
    (warning,) = found
    assert "the device clock is behind the CA's notBefore" in warning
    assert _trust._utc_text(NOW) in warning
    assert _trust._utc_text(cert.not_before) in warning
    assert "NTP" in warning
    later = NOW + 400 * DAY
    (expired,) = _trust.load_certificates(make_cert("root", not_after=NOW + 365 * DAY).pem, "x")
    found, clock_off = _trust.check_anchor(expired, allow_non_ca=False, now=later)
    assert clock_off
    assert "the device clock is past the CA's notAfter" in found[0]
    assert "the device clock is ahead" in found[0]
    assert "renew" not in found[0]
    # src read on the host (remote_src): the controller never saw the CA, so both causes are named.
    found, _clock_off = _trust.check_anchor(expired, allow_non_ca=False, now=later, checked_on_controller=False)
    assert "Either the CA is expired" in found[0]
    assert "device clock is ahead" in found[0]


def test_leaf_is_refused_unless_allowed():
    leaf = make_cert("gw1.site-a.lab", ca=False)
    (cert,) = _trust.load_certificates(leaf.pem, "leaf")
    with pytest.raises(TrustError) as info:
        _trust.check_anchor(cert, allow_non_ca=False)
    assert "not a CA" in str(info.value)
    assert "allow_non_ca=true" in str(info.value)
    warnings, _clock_off = _trust.check_anchor(cert, allow_non_ca=True)
    assert any("allow_non_ca=true" in w for w in warnings)


def test_certificate_without_basic_constraints_is_not_a_ca():
    (cert,) = _trust.load_certificates(make_cert("v1-ish", basic_constraints=False, ca=False).pem, "x")
    assert not cert.is_ca
    with pytest.raises(TrustError, match="no basicConstraints CA:TRUE"):
        _trust.check_anchor(cert, allow_non_ca=False)


def test_ca_without_key_cert_sign_is_refused():
    (cert,) = _trust.load_certificates(make_cert("odd CA", key_cert_sign=False).pem, "x")
    assert cert.is_ca
    assert cert.key_cert_sign is False
    with pytest.raises(TrustError, match="keyUsage without keyCertSign"):
        _trust.check_anchor(cert, allow_non_ca=False)


def test_future_and_intermediate_certificates_only_warn(root, intermediate):
    (future,) = _trust.load_certificates(make_cert("future root", not_before=NOW + DAY).pem, "x")
    assert any("clock" in w for w in _trust.check_anchor(future, allow_non_ca=False)[0])
    (inter,) = _trust.load_certificates(intermediate.pem, "x")
    assert any("not self-signed" in w for w in _trust.check_anchor(inter, allow_non_ca=False)[0])
    (good,) = _trust.load_certificates(root.pem, "x")
    assert _trust.check_anchor(good, allow_non_ca=False) == ([], False)


def test_fingerprint_and_name_validation(root):
    colons = ":".join(root.sha256[i : i + 2] for i in range(0, 64, 2)).lower()
    assert _trust.normalize_fingerprint(colons) == root.sha256
    for bad in ("abc", root.sha1, root.sha256 + "00", "Z" * 64):
        with pytest.raises(TrustError, match="64 hex digits"):
            _trust.normalize_fingerprint(bad)
    assert _trust.validate_name("edgeops-site-a-root-ca") == "edgeops-site-a-root-ca"
    for bad in ("../etc/passwd", "a/b", ".hidden", "root.crt", "", "x" * 200, "with space"):
        with pytest.raises(TrustError, match=r"leave out the \.crt suffix"):
            _trust.validate_name(bad)


# ---------------------------------------------------------------------------------------------------------------
# Layouts
# ---------------------------------------------------------------------------------------------------------------


def _which(*present):
    return lambda name: f"/usr/sbin/{name}" if name in present else None


def _isdir(*present):
    return lambda path: path in present


def test_detects_debian_and_rhel():
    debian = _trust.detect_family(_isdir("/usr/local/share/ca-certificates"), _which("update-ca-certificates"))
    assert debian == "debian"
    rhel = _trust.detect_family(_isdir("/etc/pki/ca-trust/source/anchors"), _which("update-ca-trust"))
    assert rhel == "rhel"
    # update-ca-certificates without the directory is not enough.
    with pytest.raises(TrustError, match="set family, anchor_dir, update_command and bundle_path"):
        _trust.detect_family(_isdir(), _which("update-ca-certificates"))


def test_rhel_layout_defaults_and_overrides():
    layout = _trust.resolve_layout("rhel")
    assert layout.anchor_dir == "/etc/pki/ca-trust/source/anchors"
    assert layout.update_command == ["update-ca-trust", "extract"]
    assert layout.bundle_path == "/etc/pki/tls/certs/ca-bundle.crt"
    assert layout.counts("/etc/pki/ca-trust/source/anchors/x.pem")
    layout = _trust.resolve_layout("debian", bundle_path="/tmp/b.pem")
    assert layout.bundle_path == "/tmp/b.pem"
    assert layout.update_command == ["update-ca-certificates"]
    assert not layout.counts("/usr/local/share/ca-certificates/x.pem")
    custom = _trust.resolve_layout("auto", "/a", ["trust", "extract-compat"], "/b", isdir=_isdir(), which=_which())
    assert (custom.family, custom.anchor_dir, custom.update_command, custom.bundle_path) == (
        "custom",
        "/a",
        ["trust", "extract-compat"],
        "/b",
    )


def test_this_controller_is_detected_as_debian():
    # The controller is Debian 12, like the lab: detection with the real filesystem and PATH.
    if not os.path.isdir("/usr/local/share/ca-certificates"):
        pytest.skip("not a Debian-family controller")
    import shutil

    assert _trust.detect_family(os.path.isdir, shutil.which) == "debian"


# ---------------------------------------------------------------------------------------------------------------
# Reading the store and planning
# ---------------------------------------------------------------------------------------------------------------


def _layout(tmp_path, family="debian"):
    anchors = tmp_path / "anchors"
    anchors.mkdir(exist_ok=True)
    return _trust.resolve_layout(family, str(anchors), ["true"], str(tmp_path / "bundle.pem"))


def test_scan_respects_what_the_update_command_reads(tmp_path, root, intermediate):
    debian = _layout(tmp_path)
    anchors = Path(debian.anchor_dir)
    (anchors / "a.crt").write_bytes(root.pem)
    (anchors / "b.pem").write_bytes(intermediate.pem)
    (anchors / "sub").mkdir()
    (anchors / "sub" / "c.crt").write_bytes(intermediate.pem)
    (anchors / ".ca_trust-x.tmp").write_bytes(root.pem)
    (anchors / "broken.crt").write_bytes(b"junk")
    found = {os.path.relpath(a.path, debian.anchor_dir): a for a in _trust.scan_anchors(debian)}
    assert sorted(found) == ["a.crt", "broken.crt", "sub/c.crt"]
    assert found["a.crt"].fingerprints == [root.sha256]
    assert found["broken.crt"].error
    rhel = _trust.resolve_layout("rhel", debian.anchor_dir, ["true"], debian.bundle_path)
    assert sorted(os.path.relpath(a.path, rhel.anchor_dir) for a in _trust.scan_anchors(rhel)) == [
        "a.crt",
        "b.pem",
        "broken.crt",
        "sub/c.crt",
    ]


def test_bundle_fingerprints_read_p11kit_style_bundles(tmp_path, root, intermediate):
    bundle = tmp_path / "ca-bundle.crt"
    bundle.write_bytes(b"# edgeops test root CA\n" + root.pem + b"\n# Intermediate\n" + intermediate.pem)
    assert _trust.bundle_fingerprints(str(bundle)) == {root.sha256, intermediate.sha256}
    assert _trust.bundle_fingerprints(str(tmp_path / "missing")) == set()


def test_plan_present_new_same_ca_other_name_and_replacement(tmp_path, root):
    layout = _layout(tmp_path)
    (cert,) = _trust.load_certificates(root.pem, "root")
    plan = _trust.plan_present(layout, cert, "site-root", [], in_bundle=False)
    assert plan.changed
    assert plan.write_path == os.path.join(layout.anchor_dir, "site-root.crt")
    assert plan.diff() == {"before": "", "after": f"{plan.write_path}: {root.sha256} ({_trust.subject_of(cert)})\n"}

    Path(layout.anchor_dir, "old-name.crt").write_bytes(root.pem)
    anchors = _trust.scan_anchors(layout)
    same = _trust.plan_present(layout, cert, "site-root", anchors, in_bundle=True)
    assert not same.changed
    assert same.path.endswith("old-name.crt")
    assert any("already trusted" in w for w in same.warnings)
    stale = _trust.plan_present(layout, cert, "site-root", anchors, in_bundle=False)
    assert stale.changed
    assert stale.run_update
    assert stale.write_path is None

    other = make_cert("other root")
    Path(layout.anchor_dir, "old-name.crt").unlink()
    Path(layout.anchor_dir, "site-root.crt").write_bytes(other.pem)
    replace = _trust.plan_present(layout, cert, "site-root", _trust.scan_anchors(layout), in_bundle=False)
    assert replace.replaced == [{"path": replace.write_path, "fingerprint": other.sha256}]
    assert other.sha256 in replace.diff()["before"]
    assert root.sha256 in replace.diff()["after"]


def test_plan_present_default_name(tmp_path, root):
    (cert,) = _trust.load_certificates(root.pem, "root")
    plan = _trust.plan_present(_layout(tmp_path), cert, None, [], in_bundle=False)
    assert os.path.basename(plan.write_path) == f"ca-{root.sha256[:16].lower()}.crt"


def test_plan_absent(tmp_path, root, intermediate):
    layout = _layout(tmp_path, family="rhel")
    Path(layout.anchor_dir, "one.crt").write_bytes(root.pem)
    Path(layout.anchor_dir, "two.pem").write_bytes(root.pem)
    Path(layout.anchor_dir, "other.crt").write_bytes(intermediate.pem)
    anchors = _trust.scan_anchors(layout)
    plan = _trust.plan_absent(layout, root.sha256, None, anchors, in_bundle=True)
    assert sorted(os.path.basename(p) for p in plan.remove_paths) == ["one.crt", "two.pem"]
    assert plan.run_update
    assert plan.diff()["after"] == ""
    by_name = _trust.plan_absent(layout, None, "other", anchors, in_bundle=False)
    assert [os.path.basename(p) for p in by_name.remove_paths] == ["other.crt"]
    nothing = _trust.plan_absent(layout, make_cert("unknown").sha256, None, anchors, in_bundle=False)
    assert not nothing.changed
    foreign = _trust.plan_absent(layout, make_cert("distro CA").sha256, None, anchors, in_bundle=True)
    assert not foreign.changed
    assert any("another source" in w for w in foreign.warnings)


def test_plan_absent_refuses_to_edit_multi_certificate_files(tmp_path, root, intermediate):
    layout = _layout(tmp_path)
    Path(layout.anchor_dir, "chain.crt").write_bytes(intermediate.pem + root.pem)
    with pytest.raises(TrustError, match="does not edit multi-certificate files"):
        _trust.plan_absent(layout, root.sha256, None, _trust.scan_anchors(layout), in_bundle=True)


# ---------------------------------------------------------------------------------------------------------------
# The openssl proof, against this controller's real default store (read only)
# ---------------------------------------------------------------------------------------------------------------


class _Runner:
    """Just enough of AnsibleModule for openssl_verify: real binaries, real processes."""

    def get_bin_path(self, name):
        import shutil

        return shutil.which(name)

    def run_command(self, args):
        proc = subprocess.run(args, capture_output=True, text=True, check=False)
        return proc.returncode, proc.stdout, proc.stderr


def _system_root(tmp_path):
    for block in Path("/etc/ssl/certs/ca-certificates.crt").read_bytes().split(b"-----END CERTIFICATE-----"):
        if b"-----BEGIN CERTIFICATE-----" not in block:
            continue
        (cert,) = _trust.load_certificates(block + b"-----END CERTIFICATE-----\n", "system")
        if cert.self_issued_exact and cert.not_after > _trust.utcnow():
            path = tmp_path / "system-root.pem"
            path.write_text(cert.pem())
            return path
    pytest.skip("no usable root in this controller's system bundle")


def test_openssl_verify_uses_the_system_defaults(tmp_path, root, monkeypatch):
    if not Path("/etc/ssl/certs/ca-certificates.crt").exists():
        pytest.skip("controller has no Debian-style system bundle")
    ours = tmp_path / "ours.pem"
    ours.write_bytes(root.pem)
    ok, _message = _trust.openssl_verify(_Runner(), str(_system_root(tmp_path)), partial_chain=False)
    assert ok
    ok, message = _trust.openssl_verify(_Runner(), str(ours), partial_chain=False)
    assert not ok
    assert "self-signed" in message or "unable to get" in message
    # SSL_CERT_FILE would make OpenSSL trust our root: the proof must not inherit it.
    monkeypatch.setenv("SSL_CERT_FILE", str(ours))
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    assert subprocess.run(["openssl", "verify", str(ours)], capture_output=True, check=False).returncode == 0
    ok, _message = _trust.openssl_verify(_Runner(), str(ours), partial_chain=False)
    assert not ok
    assert os.environ["SSL_CERT_FILE"] == str(ours)  # restored afterwards


def test_os_store_environment_restores_variables(monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", "/x")
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with _trust.os_store_environment():
        assert "SSL_CERT_FILE" not in os.environ
    assert os.environ["SSL_CERT_FILE"] == "/x"
    assert "SSL_CERT_DIR" not in os.environ


# ---------------------------------------------------------------------------------------------------------------
# Target-side code must run on the Python of older devices
# ---------------------------------------------------------------------------------------------------------------

TARGET_FILES = (
    "plugins/module_utils/_trust.py",
    "plugins/modules/ca_trust.py",
    "plugins/module_utils/_x509.py",
    "plugins/module_utils/_io.py",
)
COLLECTION = Path(_trust.__file__).resolve().parents[2]


@pytest.mark.parametrize("relative", TARGET_FILES)
def test_target_code_is_python_38_syntax(relative):
    import ast

    source = (COLLECTION / relative).read_text()
    ast.parse(source, filename=relative, feature_version=(3, 8))
    tree = ast.parse(source)
    imported = {
        alias.name.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom)
        for alias in (node.names if isinstance(node, ast.Import) else [ast.alias(node.module or "")])
    }
    assert "cryptography" not in imported


def test_module_utils_runs_on_python_38_when_available(tmp_path, root):
    import shutil

    candidates = [shutil.which("python3.8"), *sorted(Path("~/.pyenv/versions").expanduser().glob("3.8*/bin/python"))]
    working = [
        str(c)
        for c in candidates
        if c and os.path.exists(c) and subprocess.run([c, "-V"], capture_output=True, check=False).returncode == 0
    ]
    if not working:
        pytest.skip("no Python 3.8 interpreter on this machine")
    python = working[0]
    (tmp_path / "root.pem").write_bytes(root.pem)
    # _trust imports _x509 by its collection path, as Ansible ships them: give Python 3.8 that package tree.
    namespace = tmp_path / "collections" / "ansible_collections" / "edgeops"
    namespace.mkdir(parents=True)
    (namespace / "gateway").symlink_to(COLLECTION, target_is_directory=True)
    script = (
        "import os, sys\n"
        f"sys.path.insert(0, {str(tmp_path / 'collections')!r})\n"
        "import ansible_collections.edgeops.gateway.plugins.module_utils._trust as m\n"
        f"assert os.path.realpath(m.__file__) == {str(COLLECTION / TARGET_FILES[0])!r}, m.__file__\n"
        f"c = m.load_certificates(open({str(tmp_path / 'root.pem')!r}, 'rb').read(), 'root')[0]\n"
        "import ansible_collections.edgeops.gateway.plugins.module_utils._io as io\n"
        "assert io.parse_mode('0644', 'x') == 0o644, 'parse_mode'\n"
        "print(sys.version_info[:2], c.sha256, m.check_anchor(c, False))\n"
    )
    out = subprocess.run([python, "-c", script], capture_output=True, text=True, check=True).stdout
    assert out.startswith("(3, 8)")
    assert root.sha256 in out
