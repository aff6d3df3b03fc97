# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The files config.toml points at are read before it is written (certificates, keys, the Edge CA chain)."""

from __future__ import annotations

import os
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import NameOID

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tls_lab import DAY, NOW, Cert, issue, write

from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_files import (
    MAX_FILE_BYTES,
    FileCheckError,
    check_files,
)

HOST = "gw1.site-a.example"


def rsa_cert(cn):
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .sign(key, hashes.SHA256())
    )
    return Cert(cert, key)


def key_file(path, cert, fmt=serialization.PrivateFormat.PKCS8, encryption=None):
    path.write_bytes(
        cert.key.private_bytes(serialization.Encoding.PEM, fmt, encryption or serialization.NoEncryption())
    )
    return str(path)


@pytest.fixture
def site(tmp_path):
    root = issue("site-a root", ca=True)
    intermediate = issue("site-a intermediate", issuer=root, ca=True, path_len=1)
    edge_ca = issue(HOST + ".ca", issuer=intermediate, ca=True, path_len=0)
    identity = issue("gw1", issuer=intermediate, client=True)
    params = {
        "hostname": HOST,
        "trust_bundle_cert": write(tmp_path / "root.pem", root),
        "edge_ca_cert": write(tmp_path / "edge-ca-chain.pem", edge_ca, intermediate, root),
        "edge_ca_pk": key_file(tmp_path / "edge-ca.key", edge_ca),
        "identity_cert": write(tmp_path / "identity.pem", identity),
        "identity_pk": key_file(tmp_path / "identity.key", identity),
    }
    return {"params": params, "root": root, "intermediate": intermediate, "edge_ca": edge_ca, "identity": identity}


def refused(params, *fragments):
    with pytest.raises(FileCheckError) as info:
        check_files(params, lambda _path: True)
    for fragment in fragments:
        assert fragment in str(info.value)
    assert "PRIVATE KEY-----\n" not in str(info.value)
    return str(info.value)


def test_a_consistent_site_passes(site):
    check_files(site["params"], lambda _path: True)


def test_chain_without_the_root_still_chains_to_the_bundle(site, tmp_path):
    params = dict(site["params"], edge_ca_cert=write(tmp_path / "c.pem", site["edge_ca"], site["intermediate"]))
    check_files(params, lambda _path: True)


def test_missing_files_are_left_to_the_missing_file_check(site):
    check_files(dict(site["params"], identity_cert="/nonexistent"), lambda path: path != "/nonexistent")


def test_empty_identity_certificate_is_refused(site, tmp_path):
    (tmp_path / "identity.pem").write_bytes(b"")
    refused(site["params"], "identity_cert", "is empty", "deploy the certificate file")


def test_swapped_edge_ca_cert_and_key_are_refused(site):
    params = dict(site["params"], edge_ca_cert=site["params"]["edge_ca_pk"], edge_ca_pk=site["params"]["edge_ca_cert"])
    refused(params, "edge_ca_cert", "holds no PEM certificate")


def test_a_key_of_another_certificate_is_refused(site, tmp_path):
    params = dict(site["params"], identity_pk=site["params"]["edge_ca_pk"])
    refused(params, "identity_pk", "is not the key of identity_cert", "may be swapped")


@pytest.mark.parametrize("fmt", [serialization.PrivateFormat.PKCS8, serialization.PrivateFormat.TraditionalOpenSSL])
def test_rsa_and_ec_keys_are_compared_in_both_pem_forms(site, tmp_path, fmt):
    mine = rsa_cert("gw1")
    params = dict(
        site["params"],
        identity_cert=write(tmp_path / "rsa.pem", mine),
        identity_pk=key_file(tmp_path / "rsa.key", mine, fmt),
    )
    check_files(params, lambda _path: True)
    params["identity_pk"] = key_file(tmp_path / "other.key", rsa_cert("other"), fmt)
    refused(params, "is not the key of identity_cert")
    params["edge_ca_pk"] = key_file(tmp_path / "ec.key", site["edge_ca"], fmt)
    params["identity_pk"] = key_file(tmp_path / "rsa.key", mine, fmt)
    check_files(params, lambda _path: True)
    params["edge_ca_pk"] = key_file(tmp_path / "ec2.key", site["identity"], fmt)
    refused(params, "is not the key of edge_ca_cert")


def test_an_encrypted_key_is_refused(site, tmp_path):
    params = dict(
        site["params"],
        identity_pk=key_file(
            tmp_path / "enc.key",
            site["identity"],
            encryption=serialization.BestAvailableEncryption(b"passphrase"),
        ),
    )
    refused(params, "is encrypted", "without a passphrase")


def test_a_garbage_trust_bundle_is_refused(site, tmp_path):
    (tmp_path / "root.pem").write_bytes(b"\x00\xffgarbage" * 10000)
    refused(site["params"], "trust_bundle_cert", "holds no PEM certificate")


def test_an_oversized_file_is_refused_without_reading_it_all(site, tmp_path):
    (tmp_path / "root.pem").write_bytes(b"A" * (MAX_FILE_BYTES + 10))
    refused(site["params"], "trust_bundle_cert", "larger than 1024 KiB")


def test_an_edge_ca_that_is_not_a_ca_is_refused(site, tmp_path):
    params = dict(site["params"], edge_ca_cert=write(tmp_path / "leaf.pem", site["identity"], site["intermediate"]))
    refused(params, "is not a CA certificate", "edge_ca profile")


@pytest.mark.parametrize("path_len", [None, 1])
def test_an_edge_ca_without_pathlen_zero_is_refused(site, tmp_path, path_len):
    edge_ca = issue(HOST + ".ca", issuer=site["intermediate"], ca=True, path_len=path_len)
    params = dict(site["params"], edge_ca_cert=write(tmp_path / "e.pem", edge_ca, site["intermediate"]))
    params["edge_ca_pk"] = key_file(tmp_path / "e.key", edge_ca)
    refused(params, "pathlen:0")


def test_an_edge_ca_named_like_the_gateway_is_refused(site, tmp_path):
    edge_ca = issue(HOST, issuer=site["intermediate"], ca=True, path_len=0)
    params = dict(site["params"], edge_ca_cert=write(tmp_path / "e.pem", edge_ca, site["intermediate"]))
    refused(params, "equals the gateway hostname", f"'{HOST}.ca'")


def test_an_edge_ca_of_another_root_is_refused(site, tmp_path):
    other_root = issue("other root", ca=True)
    params = dict(site["params"], trust_bundle_cert=write(tmp_path / "other.pem", other_root))
    refused(params, "does not chain to the trust bundle", "site-a")


def test_a_chain_out_of_order_is_refused(site, tmp_path):
    chain = write(tmp_path / "c.pem", site["edge_ca"], site["root"], site["intermediate"])
    refused(dict(site["params"], edge_ca_cert=chain), "did not issue", "in order")
