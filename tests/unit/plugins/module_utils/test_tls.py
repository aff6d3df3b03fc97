# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The handshake check against real TLS servers on 127.0.0.1, one real broken chain per diagnosis.

Every case is also run through ``openssl s_client -verify_return_error -verify_hostname`` with
the same trust, and the test asserts that both agree on success or failure.
"""

from __future__ import annotations

import datetime
import glob
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tls_lab import DAY, NOW, TlsServer, issue, s_client, write

from ansible_collections.edgeops.gateway.plugins.module_utils import _tls
from ansible_collections.edgeops.gateway.plugins.module_utils._tls import TlsCheckError, check_handshake

TLS12 = ssl.TLSVersion.TLSv1_2


@pytest.fixture(scope="module")
def pki():
    """One site's PKI: root -> intermediate -> Edge CA -> server (localhost), plus strangers."""
    root = issue("Site Root CA", ca=True)
    inter = issue("Site Intermediate CA", root, ca=True)
    edge = issue("gw1.ca", inter, ca=True, path_len=0)
    server = issue("localhost", edge, sans=["localhost"])
    other_root = issue("Other Root CA", ca=True)
    device = issue("dev1", edge, client=True)
    stranger = issue("dev1", issue("Stranger CA", ca=True), client=True)
    return {
        "root": root,
        "inter": inter,
        "edge": edge,
        "server": server,
        "other_root": other_root,
        "device": device,
        "stranger": stranger,
    }


def run_both(tmp_path, chain, key, trust, hostname="localhost", client=None, **server_kw):
    """Run the module logic and s_client against the same real server; return (result|error, s_client ok)."""
    ca_file = write(tmp_path / "trust.pem", *trust)
    cert = key_file = None
    if client is not None:
        cert = write(tmp_path / "client.pem", client)
        key_file = write(tmp_path / "client.key", client.key_pem)
    with TlsServer(tmp_path, chain, key, **server_kw) as server:
        try:
            outcome = check_handshake(
                hostname,
                port=server.port,
                address="127.0.0.1",
                ca_file=ca_file,
                client_cert=cert,
                client_key=key_file,
                timeout=5,
                retries=0,
            )
        except TlsCheckError as exc:
            outcome = exc
        linger = 1.0 if server_kw.get("client_ca") else 0.0
        ok, output = s_client(server.port, ca_file, hostname=hostname, cert=cert, key=key_file, linger=linger)
    return outcome, ok, output


def assert_fails(outcome, ok, output, diagnosis):
    assert isinstance(outcome, TlsCheckError), f"expected {diagnosis}, the check passed: {outcome}"
    assert outcome.diagnosis == diagnosis, outcome.msg
    assert outcome.hint and outcome.hint in outcome.msg
    assert outcome.result["diagnosis"] == diagnosis
    assert not ok, f"s_client accepted what the check refused ({diagnosis}):\n{output}"


def assert_passes(outcome, ok, output):
    assert not isinstance(outcome, TlsCheckError), outcome.msg if isinstance(outcome, TlsCheckError) else ""
    assert ok, f"s_client refused what the check accepted:\n{output}"


@pytest.mark.parametrize("max_version", [None, TLS12], ids=["tls1.3", "tls1.2"])
def test_full_chain_passes(tmp_path, pki, max_version):
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(tmp_path, chain, pki["server"], [pki["root"]], max_version=max_version)
    assert_passes(outcome, ok, output)
    assert outcome["tls_version"] == ("TLSv1.2" if max_version else "TLSv1.3")
    assert outcome["cipher"]
    assert outcome["address"] == "127.0.0.1"
    assert outcome["diagnosis"] is None
    assert [c["sha256"] for c in outcome["presented_chain"]] == [c.sha256 for c in chain]
    assert [c["subject"] for c in outcome["verified_chain"]] == [
        "CN=localhost",
        "CN=gw1.ca",
        "CN=Site Intermediate CA",
        "CN=Site Root CA",
    ]
    assert outcome["verified_chain"][-1]["sha256"] == pki["root"].sha256
    assert outcome["presented_chain"][0]["issuer"] == "CN=gw1.ca"
    assert outcome["presented_chain"][0]["san"] == ["DNS:localhost"]
    assert outcome["days_to_expiry"] in (28, 29)
    assert outcome["handshake_time"] > 0
    assert outcome["warnings"] == [] and outcome["findings"] == []


def test_untrusted_root_wrong_root(tmp_path, pki):
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(tmp_path, chain, pki["server"], [pki["other_root"]])
    assert_fails(outcome, ok, output, "untrusted_root")
    assert outcome.result["verify_code"] == 20
    assert "Site Root CA" in outcome.hint
    assert len(outcome.result["presented_chain"]) == 3


def test_untrusted_root_presented_root(tmp_path, pki):
    chain = [pki["server"], pki["edge"], pki["inter"], pki["root"]]
    outcome, ok, output = run_both(tmp_path, chain, pki["server"], [pki["other_root"]])
    assert_fails(outcome, ok, output, "untrusted_root")
    assert outcome.result["verify_code"] == 19
    assert "root 'CN=Site Root CA'" in outcome.hint


def test_untrusted_root_self_signed_server(tmp_path, pki):
    lonely = issue("localhost", sans=["localhost"])
    outcome, ok, output = run_both(tmp_path, [lonely], lonely, [pki["root"]])
    assert_fails(outcome, ok, output, "untrusted_root")
    assert outcome.result["verify_code"] == 18


def test_missing_intermediate_leaf_only(tmp_path, pki):
    outcome, ok, output = run_both(tmp_path, [pki["server"]], pki["server"], [pki["root"]])
    assert_fails(outcome, ok, output, "missing_intermediate")
    assert "CN=gw1.ca" in outcome.hint


def test_missing_intermediate_gap_in_chain(tmp_path, pki):
    # The Edge CA and the root are sent, the intermediate between them is not.
    chain = [pki["server"], pki["edge"], pki["root"]]
    outcome, ok, output = run_both(tmp_path, chain, pki["server"], [pki["root"]])
    assert_fails(outcome, ok, output, "missing_intermediate")
    assert "Site Intermediate CA" in outcome.hint


def test_hostname_mismatch(tmp_path, pki):
    wrong = issue("gw2.site.invalid", pki["edge"], sans=["gw2.site.invalid"])
    outcome, ok, output = run_both(tmp_path, [wrong, pki["edge"], pki["inter"]], wrong, [pki["root"]])
    assert_fails(outcome, ok, output, "hostname_mismatch")
    assert "gw2.site.invalid" in outcome.hint and "'localhost'" in outcome.hint


def test_hostname_san_wins_over_cn(tmp_path, pki):
    # CN says localhost, but the SAN does not: SAN decides, as RFC 6125 and OpenSSL do.
    wrong = issue("localhost", pki["edge"], sans=["gw2.site.invalid"])
    outcome, ok, output = run_both(tmp_path, [wrong, pki["edge"], pki["inter"]], wrong, [pki["root"]])
    assert_fails(outcome, ok, output, "hostname_mismatch")


def test_hostname_cn_when_no_san(tmp_path, pki):
    cn_only = issue("localhost", pki["edge"])
    outcome, ok, output = run_both(tmp_path, [cn_only, pki["edge"], pki["inter"]], cn_only, [pki["root"]])
    assert_passes(outcome, ok, output)
    assert outcome["presented_chain"][0]["san"] == []


def test_expired_server_certificate(tmp_path, pki):
    old = issue("localhost", pki["edge"], sans=["localhost"], not_before=NOW - 40 * DAY, not_after=NOW - DAY)
    outcome, ok, output = run_both(tmp_path, [old, pki["edge"], pki["inter"]], old, [pki["root"]])
    assert_fails(outcome, ok, output, "expired")
    assert outcome.result["verify_code"] == 10
    assert "'CN=localhost' expired on" in outcome.hint


def test_expired_intermediate_is_named(tmp_path, pki):
    old_edge = issue("gw1.ca", pki["inter"], ca=True, not_before=NOW - 40 * DAY, not_after=NOW - DAY)
    server = issue("localhost", old_edge, sans=["localhost"], not_before=NOW - 2 * DAY)
    outcome, ok, output = run_both(tmp_path, [server, old_edge, pki["inter"]], server, [pki["root"]])
    assert_fails(outcome, ok, output, "expired")
    assert "'CN=gw1.ca' expired on" in outcome.hint


def test_not_yet_valid_server_certificate(tmp_path, pki):
    future = issue("localhost", pki["edge"], sans=["localhost"], not_before=NOW + 2 * DAY, not_after=NOW + 30 * DAY)
    outcome, ok, output = run_both(tmp_path, [future, pki["edge"], pki["inter"]], future, [pki["root"]])
    assert_fails(outcome, ok, output, "not_yet_valid")
    assert outcome.result["verify_code"] == 9
    assert "clock" in outcome.hint


def test_ca_name_loop_fails_where_clients_chain_by_name(tmp_path):
    # No key identifiers: the server certificate looks self-signed to a name-chaining client.
    ca = issue("localhost", ca=True, key_ids=False)
    server = issue("localhost", ca, sans=["localhost"], key_ids=False)
    outcome, ok, output = run_both(tmp_path, [server, ca], server, [ca])
    assert_fails(outcome, ok, output, "ca_name_loop")
    assert "share the name 'CN=localhost'" in outcome.hint


def test_ca_name_loop_warns_when_handshake_succeeds(tmp_path):
    ca = issue("localhost", ca=True)
    server = issue("localhost", ca, sans=["localhost"])
    outcome, ok, output = run_both(tmp_path, [server, ca], server, [ca])
    assert_passes(outcome, ok, output)
    assert outcome["findings"] == ["ca_name_loop"]
    assert any("ca_name_loop" in w for w in outcome["warnings"])


def test_other_verification_failure_names_openssl_reason(tmp_path, pki):
    # A client certificate served as server certificate: OpenSSL refuses its purpose (code 26).
    # No diagnosis of the list fits; tls_protocol_error carries OpenSSL's own reason.
    wrong_purpose = issue("localhost", pki["edge"], sans=["localhost"], client=True)
    chain = [wrong_purpose, pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(tmp_path, chain, wrong_purpose, [pki["root"]])
    assert_fails(outcome, ok, output, "tls_protocol_error")
    assert outcome.result["verify_code"] == 26
    assert "certificate purpose (OpenSSL verify code 26)" in outcome.hint


def test_expiry_warning_within_threshold(tmp_path, pki):
    soon = issue("localhost", pki["edge"], sans=["localhost"], not_after=NOW + 3 * DAY)
    outcome, ok, output = run_both(tmp_path, [soon, pki["edge"], pki["inter"]], soon, [pki["root"]])
    assert_passes(outcome, ok, output)
    assert outcome["days_to_expiry"] in (2, 3)
    assert outcome["findings"] == ["expires_soon"]
    assert "'CN=localhost'" in outcome["warnings"][0]
    assert outcome["first_expiry"]["subject"] == "CN=localhost"


@pytest.mark.parametrize("max_version", [None, TLS12], ids=["tls1.3", "tls1.2"])
def test_client_cert_required_without_one(tmp_path, pki, max_version):
    client_ca = write(tmp_path / "client-ca.pem", pki["root"], pki["inter"], pki["edge"])
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(
        tmp_path, chain, pki["server"], [pki["root"]], client_ca=client_ca, max_version=max_version
    )
    assert_fails(outcome, ok, output, "client_cert_required")


@pytest.mark.parametrize("max_version", [None, TLS12], ids=["tls1.3", "tls1.2"])
def test_client_cert_rejected_wrong_one(tmp_path, pki, max_version):
    client_ca = write(tmp_path / "client-ca.pem", pki["root"], pki["inter"], pki["edge"])
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(
        tmp_path,
        chain,
        pki["server"],
        [pki["root"]],
        client=pki["stranger"],
        client_ca=client_ca,
        max_version=max_version,
    )
    assert_fails(outcome, ok, output, "client_cert_rejected")
    assert "unknown_ca" in outcome.hint
    # The presented chain was already received and is reported with the failure.
    assert len(outcome.result["presented_chain"]) == 3


@pytest.mark.parametrize("max_version", [None, TLS12], ids=["tls1.3", "tls1.2"])
def test_client_cert_accepted_right_one(tmp_path, pki, max_version):
    client_ca = write(tmp_path / "client-ca.pem", pki["root"], pki["inter"], pki["edge"])
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(
        tmp_path,
        chain,
        pki["server"],
        [pki["root"]],
        client=pki["device"],
        client_ca=client_ca,
        max_version=max_version,
    )
    assert_passes(outcome, ok, output)


def test_tls_protocol_error_plain_server(tmp_path, pki):
    outcome, ok, output = run_both(tmp_path, [pki["server"]], pki["server"], [pki["root"]], plain=True)
    assert_fails(outcome, ok, output, "tls_protocol_error")
    assert "WRONG_VERSION_NUMBER" in outcome.hint


def _closed_port():
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


def test_connection_refused_closed_port(tmp_path, pki):
    port = _closed_port()
    ca_file = write(tmp_path / "trust.pem", pki["root"])
    with pytest.raises(TlsCheckError) as err:
        check_handshake("localhost", port=port, address="127.0.0.1", ca_file=ca_file, retries=0)
    assert err.value.diagnosis == "connection_refused"
    ok, output = s_client(port, ca_file, hostname="localhost")
    assert not ok, output


def test_retries_then_gives_up(tmp_path, pki):
    slept = []
    ca_file = write(tmp_path / "trust.pem", pki["root"])
    with pytest.raises(TlsCheckError) as err:
        check_handshake(
            "localhost", port=_closed_port(), ca_file=ca_file, retries=2, retry_delay=0.5, sleep=slept.append
        )
    assert err.value.result["attempts"] == 3
    assert slept == [0.5, 0.5]


def test_timeout_server_never_speaks_tls(tmp_path, pki):
    # A listener that accepts TCP (kernel backlog) but never answers the ClientHello.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(4)
    port = silent.getsockname()[1]
    ca_file = write(tmp_path / "trust.pem", pki["root"])
    try:
        with pytest.raises(TlsCheckError) as err:
            check_handshake("localhost", port=port, address="127.0.0.1", ca_file=ca_file, timeout=1, retries=0)
        assert err.value.diagnosis == "timeout"
        try:
            ok, output = s_client(port, ca_file, hostname="localhost", timeout=3)
        except subprocess.TimeoutExpired:
            ok, output = False, "s_client did not finish either"
        assert not ok, output
    finally:
        silent.close()


def test_dns_failure_unresolvable_name(tmp_path, pki):
    ca_file = write(tmp_path / "trust.pem", pki["root"])
    with pytest.raises(TlsCheckError) as err:
        check_handshake("gw1.edgeops-test.invalid", port=8883, ca_file=ca_file, timeout=5, retries=0)
    assert err.value.diagnosis == "dns_failure"
    assert "does not resolve" in err.value.hint
    proc = subprocess.run(
        [
            "openssl",
            "s_client",
            "-connect",
            "gw1.edgeops-test.invalid:8883",
            "-verify_return_error",
            "-CAfile",
            ca_file,
        ],
        input=b"",
        capture_output=True,
        timeout=30,
        check=False,
    )
    assert proc.returncode != 0


def test_address_to_dial_keeps_hostname_for_sni_and_verification(tmp_path, pki):
    named = issue("gw1.site-a.invalid", pki["edge"], sans=["gw1.site-a.invalid"])
    outcome, ok, output = run_both(
        tmp_path, [named, pki["edge"], pki["inter"]], named, [pki["root"]], hostname="gw1.site-a.invalid"
    )
    assert_passes(outcome, ok, output)
    assert outcome["hostname"] == "gw1.site-a.invalid" and outcome["address"] == "127.0.0.1"


def test_system_store_ignores_ssl_cert_file(tmp_path, pki, monkeypatch):
    """The default trust is OpenSSL's compiled-in store; SSL_CERT_FILE must not sneak the root in."""
    trusted = write(tmp_path / "root.pem", pki["root"])
    monkeypatch.setenv("SSL_CERT_FILE", trusted)
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path))
    chain = [pki["server"], pki["edge"], pki["inter"]]
    with TlsServer(tmp_path, chain, pki["server"]) as server:
        with pytest.raises(TlsCheckError) as err:
            check_handshake("localhost", port=server.port, retries=0)
        assert err.value.diagnosis == "untrusted_root"
        assert err.value.result["trust"] == "system"
        assert "system trust store" in err.value.hint


def test_system_store_as_hashed_directory(tmp_path, pki):
    """A store laid out like /etc/ssl/certs (hashed links, no bundle file) is used and inspected."""
    store = tmp_path / "certs"
    store.mkdir()
    write(store / "site-root.pem", pki["root"])
    subprocess.run(["openssl", "rehash", str(store)], check=True, capture_output=True)
    chain = [pki["server"], pki["edge"], pki["inter"]]
    with TlsServer(tmp_path, chain, pki["server"]) as server:
        result = check_handshake("localhost", port=server.port, retries=0, trust_paths=(None, str(store)))
        assert result["verified_chain"][-1]["sha256"] == pki["root"].sha256
    with TlsServer(tmp_path, [pki["server"]], pki["server"]) as server:
        with pytest.raises(TlsCheckError) as err:
            check_handshake("localhost", port=server.port, retries=0, trust_paths=(None, str(store)))
        assert err.value.diagnosis == "missing_intermediate"


def test_chain_without_message_callback(tmp_path, pki, monkeypatch):
    """Where the handshake messages cannot be observed, the chain still comes from the SSL object."""
    monkeypatch.setattr(_tls._Recorder, "__call__", lambda *args: None)
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(tmp_path, chain, pki["server"], [pki["other_root"]])
    assert_fails(outcome, ok, output, "untrusted_root")
    assert len(outcome.result["presented_chain"]) == 3


def test_verified_chain_rebuilt_without_openssl_chain(tmp_path, pki, monkeypatch):
    """Python < 3.10 has no verified chain: it is rebuilt from the presented chain and the anchors."""
    monkeypatch.setattr(_tls, "_verified_chain", _rebuild_only)
    chain = [pki["server"], pki["edge"], pki["inter"]]
    outcome, ok, output = run_both(tmp_path, chain, pki["server"], [pki["other_root"], pki["root"]])
    assert_passes(outcome, ok, output)
    assert [c["sha256"] for c in outcome["verified_chain"]] == [c.sha256 for c in [*chain, pki["root"]]]


_real_verified_chain = _tls._verified_chain


def _rebuild_only(tls, presented, anchors_loader):
    class _NoChain:
        _sslobj = None

    return _real_verified_chain(_NoChain(), presented, anchors_loader)


def test_bad_inputs_fail_before_connecting(tmp_path, pki):
    empty = tmp_path / "empty.pem"
    empty.write_text("not a certificate\n")
    with pytest.raises(TlsCheckError) as err:
        check_handshake("localhost", ca_file=str(empty))
    assert err.value.diagnosis is None and "holds no PEM certificate" in err.value.msg
    cert = write(tmp_path / "c.pem", pki["device"])
    wrong_key = write(tmp_path / "k.pem", pki["stranger"].key_pem)
    with pytest.raises(TlsCheckError) as err:
        check_handshake("localhost", client_cert=cert, client_key=wrong_key)
    assert "key belongs to the certificate" in err.value.msg
    assert "PRIVATE KEY" not in err.value.msg
    with pytest.raises(TlsCheckError) as err:
        check_handshake("mqtts://gw1:8883")
    assert "no scheme, no port" in err.value.msg
    with pytest.raises(TlsCheckError):
        check_handshake("localhost", port=70000)


def test_expired_is_judged_by_the_device_clock(tmp_path, pki):
    """The hint reports the device's own time: a wrong clock is the usual cause of not_yet_valid."""
    future = issue("localhost", pki["edge"], sans=["localhost"], not_before=NOW + DAY)
    with TlsServer(tmp_path, [future, pki["edge"], pki["inter"]], future) as server:
        with pytest.raises(TlsCheckError) as err:
            check_handshake(
                "localhost",
                port=server.port,
                ca_file=write(tmp_path / "t.pem", pki["root"]),
                retries=0,
                now_fn=lambda: datetime.datetime(2026, 1, 2, 3, 4, tzinfo=datetime.UTC),
            )
    assert "2026-01-02 03:04 UTC" in err.value.hint


_TARGET_SCRIPT = r"""
import json, sys
from ansible_collections.edgeops.gateway.plugins.module_utils._tls import TlsCheckError, check_handshake
out = []
for port, ca_file, client in json.loads(sys.argv[1]):
    kwargs = {"port": port, "ca_file": ca_file, "retries": 0, "timeout": 5}
    if client:
        kwargs.update(client_cert=client[0], client_key=client[1])
    try:
        result = check_handshake("localhost", **kwargs)
        out.append({"diagnosis": None, "verified": [c["sha256"] for c in result["verified_chain"]],
                    "version": result["tls_version"]})
    except TlsCheckError as exc:
        out.append({"diagnosis": exc.diagnosis, "presented": len(exc.result.get("presented_chain", []))})
print(json.dumps(out))
"""


def _interpreter(version):
    """A Python of that version on this machine (pyenv or the system), or None."""
    found = sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{version}*/bin/python{version}")))
    exe = found[0] if found else shutil.which(f"python{version}")
    if exe and subprocess.run([exe, "-c", "import ssl"], capture_output=True, check=False).returncode == 0:
        return exe
    return None


@pytest.mark.parametrize("version", ["3.8", "3.9", "3.13"])
def test_runs_on_target_pythons(tmp_path, pki, version):
    """Devices run Python 3.8+: the same checks with that interpreter give the same diagnoses."""
    exe = _interpreter(version)
    if exe is None:
        pytest.skip(f"no Python {version} on this machine")
    chain = [pki["server"], pki["edge"], pki["inter"]]
    root = write(tmp_path / "root.pem", pki["root"])
    other = write(tmp_path / "other.pem", pki["other_root"])
    client_ca = write(tmp_path / "client-ca.pem", pki["root"], pki["inter"], pki["edge"])
    stranger = (write(tmp_path / "s.pem", pki["stranger"]), write(tmp_path / "s.key", pki["stranger"].key_pem))
    plain_dir, mtls_dir = tmp_path / "plain", tmp_path / "mtls"
    plain_dir.mkdir()
    mtls_dir.mkdir()
    # The directory holding ansible_collections/, as this test imports the collection from it.
    collections = _tls.__file__.rsplit(os.sep + "ansible_collections" + os.sep, 1)[0]
    with (
        TlsServer(plain_dir, chain, pki["server"]) as plain,
        TlsServer(mtls_dir, chain, pki["server"], client_ca=client_ca) as mtls,
    ):
        cases = [(plain.port, root, None), (plain.port, other, None), (mtls.port, root, stranger)]
        proc = subprocess.run(
            [exe, "-c", _TARGET_SCRIPT, json.dumps(cases)],
            capture_output=True,
            text=True,
            timeout=60,
            env=dict(os.environ, PYTHONPATH=collections),
            check=False,
        )
    assert proc.returncode == 0, proc.stderr
    passed, untrusted, rejected = json.loads(proc.stdout)
    assert passed["diagnosis"] is None and passed["version"] == "TLSv1.3"
    assert passed["verified"] == [c.sha256 for c in [*chain, pki["root"]]]
    assert untrusted == {"diagnosis": "untrusted_root", "presented": 3}
    assert rejected["diagnosis"] == "client_cert_rejected"


@pytest.mark.parametrize("option", ["timeout", "retry_delay"])
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_non_finite_seconds_are_refused_before_connecting(option, value, monkeypatch):
    monkeypatch.setattr(_tls, "_connect", lambda *a: pytest.fail("connected with a bad input"))
    with pytest.raises(TlsCheckError) as err:
        check_handshake("localhost", **{option: value})
    assert err.value.msg.startswith(f"{option} {value} is not a number of seconds")
    assert "finite number" in err.value.msg


@pytest.mark.parametrize("pkcs8", [True, False])
def test_encrypted_client_key_without_passphrase_names_the_key_and_the_option(tmp_path, pki, pkcs8):
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(pki["device"].key_pem, None)
    fmt = serialization.PrivateFormat.PKCS8 if pkcs8 else serialization.PrivateFormat.TraditionalOpenSSL
    encrypted = key.private_bytes(
        serialization.Encoding.PEM, fmt, serialization.BestAvailableEncryption(b"s3cret-pass")
    )
    cert = write(tmp_path / "c.pem", pki["device"])
    key_file = write(tmp_path / "k.pem", encrypted)
    with pytest.raises(TlsCheckError) as err:
        check_handshake("localhost", client_cert=cert, client_key=key_file)
    assert err.value.msg == (
        f"the client key {key_file} is encrypted and no passphrase was given: "
        "set client_key_passphrase, or give an unencrypted key"
    )
    assert "Errno" not in err.value.msg
    # With the passphrase, the same key loads.
    _tls.build_context(None, cert, key_file, "s3cret-pass", _tls.system_trust_paths())
    # A wrong passphrase is still a message, not a raw exception.
    with pytest.raises(TlsCheckError, match="passphrase"):
        check_handshake("localhost", client_cert=cert, client_key=key_file, client_key_passphrase="wrong")
