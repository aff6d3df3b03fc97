# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The PKI backend with real keys and real ``openssl`` as the oracle; time is passed in, never slept."""

from __future__ import annotations

import datetime
import os
import subprocess

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization

from ansible_collections.edgeops.gateway.plugins.module_utils import (
    _io,
    _pki_issue,
    _pki_issuer,
    _pki_load,
    _pki_names,
    _pki_profiles,
    _pki_renew,
    _pki_report,
)

NOW = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=datetime.UTC)
DAY = datetime.timedelta(days=1)


class FakeModule:
    """Just what the backends use of AnsibleModule: params, check mode, diff and atomic_move."""

    def __init__(self, params, check_mode=False, diff=True):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff

    def atomic_move(self, src, dest, keep_dest_attrs=True):
        os.rename(src, dest)


def openssl(*args, input_=None):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, check=False, input=input_)


def verify(*args, at=NOW):
    """``openssl verify`` at the test's own moment (the certificates are made for ``NOW``, not the wall clock)."""
    return openssl("verify", "-attime", str(int((at + datetime.timedelta(hours=1)).timestamp())), *args)


def text_of(path):
    out = openssl("x509", "-in", str(path), "-noout", "-text")
    assert out.returncode == 0, out.stderr
    return out.stdout


def issue(plan_dir, issuer, now=NOW, **spec):
    plan = _io.WritePlan()
    spec.setdefault("validity_days", 365)
    result = _pki_issue.plan_issue(spec, issuer, now, plan)
    plan.apply()
    return result, plan


def make_root(tmp_path, now=NOW, days=3650, key_type="ecdsa-p256", name="root-ca"):
    result, _ignored = issue(
        tmp_path,
        None,
        now,
        profile="root_ca",
        common_name="site-a root CA",
        validity_days=days,
        key_type=key_type,
        path=str(tmp_path / f"{name}.pem"),
        key_path=str(tmp_path / f"{name}.key.pem"),
    )
    return _pki_issuer.Issuer.from_files(str(tmp_path / f"{name}.pem"), str(tmp_path / f"{name}.key.pem")), result


# ---------------------------------------------------------------------------------------------------------------
# Renewal decision: a pure function of the certificate and ``now``


def _cert(tmp_path, days, now=NOW):
    root, _ignored = make_root(tmp_path, now)
    wanted = _pki_profiles.Request("downstream_device", "dev1", validity_days=days)
    key = _pki_load.generate_key("ecdsa-p256")
    return _pki_profiles.build_certificate(wanted, key.public_key(), root.cert, root.key, now), root, key, wanted


def test_renewal_default_window_is_the_last_third(tmp_path):
    cert, _root, _key, _wanted = _cert(tmp_path, 90)
    window = _pki_names.parse_renew_window(None)
    # 90 days (+5 min backdate): the last third starts about 60 days in.
    assert _pki_renew.expiry_reasons(cert, NOW + 59 * DAY, window) == []
    reasons = _pki_renew.expiry_reasons(cert, NOW + 61 * DAY, window)
    assert len(reasons) == 1
    assert "inside its renew window" in reasons[0]
    assert "expired" in _pki_renew.expiry_reasons(cert, NOW + 91 * DAY, window)[0]


def test_renewal_window_in_days_and_percent(tmp_path):
    cert, _root, _key, _wanted = _cert(tmp_path, 100)
    assert _pki_renew.expiry_reasons(cert, NOW + 69 * DAY, _pki_names.parse_renew_window("30d")) == []
    assert _pki_renew.expiry_reasons(cert, NOW + 71 * DAY, _pki_names.parse_renew_window("30d"))
    assert _pki_renew.expiry_reasons(cert, NOW + 89 * DAY, _pki_names.parse_renew_window("10%")) == []
    assert _pki_renew.expiry_reasons(cert, NOW + 91 * DAY, _pki_names.parse_renew_window("10%"))


def test_renewal_reasons_cover_key_issuer_and_profile(tmp_path):
    cert, root, key, wanted = _cert(tmp_path, 365)
    window = _pki_names.parse_renew_window(None)
    assert _pki_renew.renewal_reasons(cert, NOW, window, wanted=wanted, issuer=root.cert, key=key.public_key()) == []
    other_key = _pki_load.generate_key("ecdsa-p256")
    assert _pki_renew.renewal_reasons(cert, NOW, window, key=other_key.public_key()) == [
        "the certificate does not match its key"
    ]
    (tmp_path / "other").mkdir()
    other_root, _ignored = make_root(tmp_path / "other", NOW)
    assert "the issuer changed" in _pki_renew.renewal_reasons(cert, NOW, window, issuer=other_root.cert)[0]
    server = _pki_profiles.Request("gateway_server", "dev1", validity_days=365)
    reasons = _pki_renew.renewal_reasons(cert, NOW, window, wanted=server)
    assert any("DNS names changed" in r for r in reasons)
    assert any("extended key usage" in r for r in reasons)
    renamed = _pki_profiles.Request("downstream_device", "dev9", validity_days=365)
    assert any("subject changed" in r for r in _pki_renew.renewal_reasons(cert, NOW, window, wanted=renamed))


@pytest.mark.parametrize("value", ["soon", "100%", "-5d", "5 weeks", "30"])
def test_renew_window_rejects_nonsense(value):
    with pytest.raises(_pki_names.PKIError, match="renew window"):
        _pki_names.parse_renew_window(value)


# ---------------------------------------------------------------------------------------------------------------
# Profiles: openssl shows the promised extensions and verifies every chain


def _site(tmp_path, key_type="ecdsa-p256"):
    root, _ignored = make_root(tmp_path, key_type=key_type)
    gw = tmp_path / "gateways" / "gw1"
    edge, _ignored = issue(
        tmp_path,
        root,
        profile="edge_ca",
        common_name="gw1.site-a.lab.ca",
        gateway_hostname="gw1.site-a.lab",
        device_id="gw1",
        key_type=key_type,
        path=str(gw / "edge-ca.pem"),
        key_path=str(gw / "edge-ca.key.pem"),
        full_chain_path=str(gw / "edge-ca-full-chain.pem"),
        full_chain_include_root=True,
    )
    edge_issuer = _pki_issuer.Issuer.from_files(
        str(gw / "edge-ca.pem"), str(gw / "edge-ca.key.pem"), chain_paths=[str(tmp_path / "root-ca.pem")]
    )
    server, _ignored = issue(
        tmp_path,
        edge_issuer,
        profile="gateway_server",
        common_name="gw1.site-a.lab",
        dns_names=["edgehub"],
        key_type=key_type,
        validity_days=90,
        path=str(gw / "server.pem"),
        key_path=str(gw / "server.key.pem"),
        full_chain_path=str(gw / "server-full-chain.pem"),
    )
    identity, _ignored = issue(
        tmp_path,
        root,
        profile="device_identity",
        common_name="gw1",
        key_type=key_type,
        path=str(gw / "identity.pem"),
        key_path=str(gw / "identity.key.pem"),
    )
    dev = tmp_path / "devices" / "dev1"
    device, _ignored = issue(
        tmp_path,
        root,
        profile="downstream_device",
        common_name="dev1",
        key_type=key_type,
        path=str(dev / "device.pem"),
        key_path=str(dev / "device.key.pem"),
        full_chain_path=str(dev / "device-full-chain.pem"),
        pkcs12_path=str(dev / "device.pfx"),
        pkcs12_passphrase="pfx-secret",
    )
    return {"root": root, "edge": edge, "server": server, "identity": identity, "device": device}


@pytest.mark.parametrize("key_type", ["ecdsa-p256", "rsa-2048"])
def test_every_chain_verifies_with_openssl(tmp_path, key_type):
    _site(tmp_path, key_type)
    root = str(tmp_path / "root-ca.pem")
    gw = tmp_path / "gateways" / "gw1"
    checks = [
        ["-CAfile", root, str(gw / "edge-ca.pem")],
        ["-CAfile", root, "-untrusted", str(gw / "edge-ca.pem"), "-purpose", "sslserver", str(gw / "server.pem")],
        ["-CAfile", root, "-untrusted", str(gw / "server-full-chain.pem"), str(gw / "server.pem")],
        ["-CAfile", root, "-purpose", "sslclient", str(gw / "identity.pem")],
        ["-CAfile", root, "-purpose", "sslclient", str(tmp_path / "devices" / "dev1" / "device.pem")],
    ]
    for args in checks:
        out = verify("-x509_strict", *args)
        assert out.returncode == 0, (args, out.stdout, out.stderr)
        assert out.stdout.strip().endswith(": OK")
    # The server's full chain is server + Edge CA (root left out), the Edge CA's includes the root.
    assert (gw / "server-full-chain.pem").read_text().count("BEGIN CERTIFICATE") == 2
    assert (gw / "edge-ca-full-chain.pem").read_text().count("BEGIN CERTIFICATE") == 2


def test_openssl_shows_the_profile_extensions(tmp_path):
    _site(tmp_path)
    gw = tmp_path / "gateways" / "gw1"
    root = text_of(tmp_path / "root-ca.pem")
    assert "X509v3 Basic Constraints: critical\n                CA:TRUE\n" in root
    assert "Certificate Sign, CRL Sign" in root
    edge = text_of(gw / "edge-ca.pem")
    assert "X509v3 Basic Constraints: critical\n                CA:TRUE, pathlen:0" in edge
    assert "X509v3 Key Usage: critical\n                Digital Signature, Certificate Sign\n" in edge
    server = text_of(gw / "server.pem")
    assert "Subject: CN = gw1.site-a.lab" in server
    assert "DNS:gw1.site-a.lab, DNS:edgehub" in server
    assert "TLS Web Server Authentication" in server
    assert "CA:FALSE" in server
    for path in (gw / "identity.pem", tmp_path / "devices" / "dev1" / "device.pem"):
        leaf = text_of(path)
        assert "TLS Web Client Authentication" in leaf
        assert "TLS Web Server Authentication" not in leaf
    assert "Subject: CN = dev1" in text_of(tmp_path / "devices" / "dev1" / "device.pem")
    for path in (tmp_path / "root-ca.pem", gw / "edge-ca.pem", gw / "server.pem", gw / "identity.pem"):
        body = text_of(path)
        assert "X509v3 Subject Key Identifier" in body
        assert "X509v3 Authority Key Identifier" in body


def test_rsa_leaf_has_key_encipherment_ecdsa_does_not(tmp_path):
    (tmp_path / "ec").mkdir()
    (tmp_path / "rsa").mkdir()
    _site(tmp_path / "ec")
    _site(tmp_path / "rsa", "rsa-2048")
    assert "Key Encipherment" not in text_of(tmp_path / "ec" / "gateways" / "gw1" / "server.pem")
    assert "Digital Signature, Key Encipherment" in text_of(tmp_path / "rsa" / "gateways" / "gw1" / "server.pem")


def test_thumbprints_equal_openssl_fingerprints(tmp_path):
    site = _site(tmp_path)
    for name, path in (
        ("root", tmp_path / "root-ca.pem"),
        ("server", tmp_path / "gateways" / "gw1" / "server.pem"),
        ("identity", tmp_path / "gateways" / "gw1" / "identity.pem"),
    ):
        info = _pki_load.cert_info(_pki_load.load_certificate(path.read_bytes(), str(path)), NOW)
        for algo, key in (("-sha256", "thumbprint_sha256"), ("-sha1", "thumbprint_sha1")):
            out = openssl("x509", "-in", str(path), "-noout", "-fingerprint", algo)
            assert out.returncode == 0
            expected = out.stdout.strip().split("=", 1)[1].replace(":", "")
            assert info[key] == expected, name
            assert info[key] == info[key].upper()
            assert ":" not in info[key]
    assert site["identity"]["thumbprint_sha1"] and len(site["identity"]["thumbprint_sha256"]) == 64


def test_pkcs12_opens_with_openssl_and_holds_the_chain(tmp_path):
    _site(tmp_path)
    pfx = tmp_path / "devices" / "dev1" / "device.pfx"
    assert oct(os.stat(pfx).st_mode & 0o777) == "0o600"
    out = openssl("pkcs12", "-in", str(pfx), "-passin", "pass:pfx-secret", "-nokeys")
    assert out.returncode == 0, out.stderr
    assert "subject=CN = dev1" in out.stdout
    assert "subject=CN = site-a root CA" not in out.stdout  # root left out by default
    assert out.stdout.count("BEGIN CERTIFICATE") == 1
    wrong = openssl("pkcs12", "-in", str(pfx), "-passin", "pass:wrong", "-nokeys")
    assert wrong.returncode != 0


def test_modes_are_private(tmp_path):
    _site(tmp_path)
    dev = tmp_path / "devices" / "dev1"
    assert stat_mode(dev) == 0o700
    assert stat_mode(tmp_path / "devices") == 0o700
    assert stat_mode(dev / "device.key.pem") == 0o600
    assert stat_mode(tmp_path / "root-ca.key.pem") == 0o600
    assert stat_mode(dev / "device.pem") == 0o644


def stat_mode(path):
    return os.stat(path).st_mode & 0o777


# ---------------------------------------------------------------------------------------------------------------
# Idempotence and reissue triggers


def _device_spec(tmp_path, **extra):
    dev = tmp_path / "devices" / "dev1"
    spec = {
        "profile": "downstream_device",
        "common_name": "dev1",
        "path": str(dev / "device.pem"),
        "key_path": str(dev / "device.key.pem"),
        "full_chain_path": str(dev / "device-full-chain.pem"),
    }
    spec.update(extra)
    return spec


def test_second_plan_writes_nothing(tmp_path):
    root, _ignored = make_root(tmp_path)
    first, plan = issue(tmp_path, root, **_device_spec(tmp_path))
    assert first["changed"] and plan.entries
    second, plan = issue(tmp_path, root, **_device_spec(tmp_path))
    assert not second["changed"]
    assert plan.entries == [] and plan.directories == {} and plan.done == []
    assert second["serial"] == first["serial"]


def test_inside_the_renew_window_is_reissued_with_the_same_key(tmp_path):
    root, _ignored = make_root(tmp_path)
    first, _ignored = issue(tmp_path, root, **_device_spec(tmp_path, validity_days=90))
    key_before = (tmp_path / "devices" / "dev1" / "device.key.pem").read_bytes()
    outside, _ignored = issue(tmp_path, root, NOW + 50 * DAY, **_device_spec(tmp_path, validity_days=90))
    assert not outside["changed"]
    inside, plan = issue(tmp_path, root, NOW + 70 * DAY, **_device_spec(tmp_path, validity_days=90))
    assert inside["changed"] and inside["reissued"]
    assert "inside its renew window" in inside["reasons"][0]
    assert inside["serial"] != first["serial"]
    assert (tmp_path / "devices" / "dev1" / "device.key.pem").read_bytes() == key_before
    assert plan.done == [_device_spec(tmp_path)["path"], _device_spec(tmp_path)["full_chain_path"]]


def test_replaced_key_issuer_or_name_reissues(tmp_path):
    root, _ignored = make_root(tmp_path)
    issue(tmp_path, root, **_device_spec(tmp_path))
    key_path = tmp_path / "devices" / "dev1" / "device.key.pem"
    key_path.write_bytes(_pki_load.key_to_pem(_pki_load.generate_key("ecdsa-p256")))
    result, _ignored = issue(tmp_path, root, **_device_spec(tmp_path))
    assert result["reasons"] == ["the certificate does not match its key"]
    (tmp_path / "r2").mkdir()
    root2, _ignored = make_root(tmp_path / "r2")
    result, _ignored = issue(tmp_path, root2, **_device_spec(tmp_path))
    assert result["reasons"][0].startswith("the issuer changed")
    result, _ignored = issue(tmp_path, root2, **_device_spec(tmp_path, common_name="dev1-renamed"))
    assert result["reasons"][0].startswith("the subject changed")
    result, _ignored = issue(tmp_path, root2, **_device_spec(tmp_path, common_name="dev1-renamed", key_type="rsa-2048"))
    assert "the key type changed to rsa-2048" in result["reasons"]
    assert result["key_type"] == "rsa-2048"


def test_renewed_root_keeps_its_key_and_old_leaves_still_verify(tmp_path):
    root, first = make_root(tmp_path, days=30)
    issue(tmp_path, root, **_device_spec(tmp_path, validity_days=28))
    later = NOW + 25 * DAY
    root2, renewed = make_root(tmp_path, now=later, days=30)
    assert renewed["reissued"] and renewed["serial"] != first["serial"]
    assert _pki_load.same_public_key(root.cert.public_key(), root2.cert.public_key())
    out = verify("-CAfile", str(tmp_path / "root-ca.pem"), str(tmp_path / "devices" / "dev1" / "device.pem"), at=later)
    assert out.returncode == 0, out.stderr


# ---------------------------------------------------------------------------------------------------------------
# CSR signing: the device keeps its key


def test_signs_a_csr_made_by_openssl(tmp_path):
    root, _ignored = make_root(tmp_path)
    dev = tmp_path / "devices" / "dev1"
    dev.mkdir(parents=True)
    out = openssl(
        "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
        "-keyout", str(tmp_path / "device-side.key"), "-out", str(dev / "device.csr"), "-subj", "/CN=whatever",
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    spec = _device_spec(tmp_path, csr_path=str(dev / "device.csr"))
    del spec["key_path"]
    result, _ignored = issue(tmp_path, root, **spec)
    assert result["changed"] and result["subject"] == "CN=dev1"
    assert not (dev / "device.key.pem").exists()
    checked = verify("-CAfile", str(tmp_path / "root-ca.pem"), str(dev / "device.pem"))
    assert checked.returncode == 0, checked.stderr
    # The certificate carries the device's public key.
    cert_pub = openssl("x509", "-in", str(dev / "device.pem"), "-noout", "-pubkey").stdout
    key_pub = openssl("pkey", "-in", str(tmp_path / "device-side.key"), "-pubout").stdout
    assert cert_pub == key_pub
    again, _ignored = issue(tmp_path, root, **spec)
    assert not again["changed"]


def test_csr_with_a_broken_signature_is_refused(tmp_path):
    root, _ignored = make_root(tmp_path)
    key = _pki_load.generate_key("ecdsa-p256")
    other = _pki_load.generate_key("ecdsa-p256")
    csr = (
        x509.CertificateSigningRequestBuilder()
        .subject_name(x509.Name([]))
        .sign(key, hashes.SHA256())
        .public_bytes(serialization.Encoding.DER)
    )
    # Swap the public key inside the request: the signature no longer matches it.
    old = key.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    new = other.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)
    tampered = x509.load_der_x509_csr(csr.replace(old, new)).public_bytes(serialization.Encoding.PEM)
    path = tmp_path / "bad.csr"
    path.write_bytes(tampered)
    spec = _device_spec(tmp_path, csr_path=str(path))
    del spec["key_path"]
    with pytest.raises(_pki_names.PKIError, match="does not prove possession"):
        issue(tmp_path, root, **spec)
    assert not (tmp_path / "devices").exists()


# ---------------------------------------------------------------------------------------------------------------
# Guards: message says how to fix, and nothing is written


def _assert_guard(tmp_path, issuer, match, now=NOW, **spec):
    before = sorted(p for p in tmp_path.rglob("*"))
    with pytest.raises(_pki_names.PKIError, match=match):
        issue(tmp_path, issuer, now, **spec)
    assert sorted(p for p in tmp_path.rglob("*")) == before


@pytest.mark.parametrize(
    ("name", "match"),
    [
        ("GW1.site-a.lab", "not lowercase.*Use 'gw1.site-a.lab'"),
        ("g" * 61 + ".lab", "at most 64"),
        ("gw_1.site-a.lab", "not a valid RFC 1035 name"),
        ("1gw.site-a.lab", "must start with a letter"),
        ("gw1-.lab", "end with a letter or digit"),
    ],
)
def test_gateway_hostname_guards(tmp_path, name, match):
    root, _ignored = make_root(tmp_path)
    spec = _device_spec(tmp_path, profile="gateway_server", common_name=name)
    _assert_guard(tmp_path, root, match, **spec)


@pytest.mark.parametrize("other", ["gateway_hostname", "device_id"])
def test_edge_ca_named_like_its_gateway_is_refused(tmp_path, other):
    root, _ignored = make_root(tmp_path)
    spec = _device_spec(tmp_path, profile="edge_ca", common_name="gw1.site-a.lab")
    spec[other] = "gw1.site-a.lab"
    _assert_guard(tmp_path, root, "IoT Edge rejects this chain.*such as 'gw1.site-a.lab.ca'", **spec)


def test_issuer_that_is_not_a_ca_is_refused(tmp_path):
    root, _ignored = make_root(tmp_path)
    issue(tmp_path, root, **_device_spec(tmp_path, path=str(tmp_path / "leaf.pem"), key_path=str(tmp_path / "l.key")))
    leaf = _pki_issuer.Issuer.from_files(str(tmp_path / "leaf.pem"), str(tmp_path / "l.key"))
    _assert_guard(
        tmp_path, leaf, "is not a CA certificate.*Use the root, intermediate or Edge CA", **_device_spec(tmp_path)
    )


def test_expired_issuer_is_refused(tmp_path):
    root, _ignored = make_root(tmp_path, days=10)
    _assert_guard(tmp_path, root, "expired on .*renew the CA first", NOW + 11 * DAY, **_device_spec(tmp_path))


def test_validity_beyond_the_issuer_is_refused(tmp_path):
    root, _ignored = make_root(tmp_path, days=100)
    _assert_guard(
        tmp_path, root, "after its issuer .* Ask for at most 100 days", **_device_spec(tmp_path, validity_days=365)
    )


def test_issuer_key_that_does_not_match_is_refused(tmp_path):
    make_root(tmp_path)
    (tmp_path / "other").mkdir()
    make_root(tmp_path / "other")
    with pytest.raises(_pki_names.PKIError, match=r"does not match .*Point both options at the same key pair"):
        _pki_issuer.Issuer.from_files(str(tmp_path / "root-ca.pem"), str(tmp_path / "other" / "root-ca.key.pem"))


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "holds no PEM certificate"),
        (b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "content is damaged"),
        (b"-----BEGIN CERTIFICATE-----\nMIIB\n", "is cut short: it has 1 '-----BEGIN CERTIFICATE-----' line"),
        (b"-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n", "nothing between its BEGIN and END"),
    ],
)
def test_malformed_issuer_certificate_is_refused(tmp_path, content, match):
    make_root(tmp_path)
    (tmp_path / "root-ca.pem").write_bytes(content)
    with pytest.raises(_pki_names.PKIError, match=match) as info:
        _pki_issuer.Issuer.from_files(str(tmp_path / "root-ca.pem"), str(tmp_path / "root-ca.key.pem"))
    assert "ParseError" not in str(info.value) and "MalformedFraming" not in str(info.value)
    assert "not a CERTIFICATE" not in str(info.value)


def test_malformed_existing_key_is_refused_not_overwritten(tmp_path):
    root, _ignored = make_root(tmp_path)
    dev = tmp_path / "devices" / "dev1"
    dev.mkdir(parents=True)
    (dev / "device.key.pem").write_bytes(b"garbage")
    _assert_guard(tmp_path, root, "not a well-formed PEM private key", **_device_spec(tmp_path))
    assert (dev / "device.key.pem").read_bytes() == b"garbage"


def test_encrypted_issuer_key_needs_its_passphrase(tmp_path):
    plan = _io.WritePlan()
    _pki_issue.plan_issue(
        {
            "profile": "root_ca",
            "common_name": "root",
            "path": str(tmp_path / "root-ca.pem"),
            "key_path": str(tmp_path / "root-ca.key.pem"),
            "key_passphrase": "s3cret",
        },
        None,
        NOW,
        plan,
    )
    plan.apply()
    assert b"ENCRYPTED" in (tmp_path / "root-ca.key.pem").read_bytes()
    with pytest.raises(_pki_names.PKIError, match="is encrypted; give its passphrase"):
        _pki_issuer.Issuer.from_files(str(tmp_path / "root-ca.pem"), str(tmp_path / "root-ca.key.pem"))
    with pytest.raises(_pki_names.PKIError, match="passphrase is wrong"):
        _pki_issuer.Issuer.from_files(str(tmp_path / "root-ca.pem"), str(tmp_path / "root-ca.key.pem"), "nope")
    assert _pki_issuer.Issuer.from_files(str(tmp_path / "root-ca.pem"), str(tmp_path / "root-ca.key.pem"), "s3cret")


def test_edge_ca_cannot_issue_a_ca(tmp_path):
    site = _site(tmp_path)
    assert site["edge"]["is_ca"]
    gw = tmp_path / "gateways" / "gw1"
    edge = _pki_issuer.Issuer.from_files(str(gw / "edge-ca.pem"), str(gw / "edge-ca.key.pem"))
    spec = _device_spec(tmp_path, profile="intermediate_ca", common_name="sub", path=str(tmp_path / "sub.pem"))
    _assert_guard(tmp_path, edge, "pathlen 0 and cannot issue", **spec)


def test_common_name_over_64_is_refused(tmp_path):
    root, _ignored = make_root(tmp_path)
    _assert_guard(tmp_path, root, "X.509 allows at most 64", **_device_spec(tmp_path, common_name="d" * 65))


# ---------------------------------------------------------------------------------------------------------------
# Expiry report


def test_report_lists_days_left_and_what_renews(tmp_path):
    _site(tmp_path)
    window = _pki_names.parse_renew_window(None)
    now_report = _pki_report.report(str(tmp_path), NOW + DAY, window)
    paths = {e["relative_path"]: e for e in now_report["certificates"]}
    assert set(paths) == {
        "root-ca.pem",
        "gateways/gw1/edge-ca.pem",
        "gateways/gw1/server.pem",
        "gateways/gw1/identity.pem",
        "devices/dev1/device.pem",
    }
    assert now_report["renew"] == []
    assert paths["gateways/gw1/server.pem"]["days_left"] == 89
    later = _pki_report.report(str(tmp_path), NOW + 70 * DAY, window)
    assert later["renew"] == ["gateways/gw1/server.pem"]
    assert later["certificates"][0]["reasons"][0].startswith("inside its renew window")
    # A replaced key is reported too.
    key = tmp_path / "devices" / "dev1" / "device.key.pem"
    key.write_bytes(_pki_load.key_to_pem(_pki_load.generate_key("ecdsa-p256")))
    again = _pki_report.report(str(tmp_path), NOW + DAY, window)
    assert again["renew"] == ["devices/dev1/device.pem"]
    expired = _pki_report.report(str(tmp_path), NOW + 400 * DAY, window)
    assert "gateways/gw1/server.pem" in expired["expired"]
    assert "root-ca.pem" not in expired["expired"]


def test_report_on_a_missing_directory_says_what_to_do(tmp_path):
    with pytest.raises(_pki_names.PKIError, match="run the pki role first"):
        _pki_report.report(str(tmp_path / "nope"), NOW, _pki_names.parse_renew_window(None))
