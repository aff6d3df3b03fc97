# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The standard-library DER reader against ``cryptography``, on real certificates."""

from __future__ import annotations

import datetime
import os
import sys

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtensionOID, NameOID

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tls_lab import DAY, NOW, issue

from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import (
    Certificate,
    X509Error,
    certificates_from_pem,
    has_private_key,
    pem_certificate_bodies,
)

DER = serialization.Encoding.DER

# cryptography prints attributes it has no short name for as dotted OIDs.
_SHORT = {
    "1.2.840.113549.1.9.1=": "emailAddress=",
    "2.5.4.5=": "serialNumber=",
    "2.5.4.9=": "street=",
    "2.5.4.12=": "title=",
    "2.5.4.46=": "dnQualifier=",
}


def _rfc4514(name):
    text = name.rfc4514_string()
    for dotted, short in _SHORT.items():
        text = text.replace(dotted, short)
    return text


def _ext(cert, oid):
    try:
        return cert.extensions.get_extension_for_oid(oid).value
    except x509.ExtensionNotFound:
        return None


def assert_same(ours, ref):
    assert ours.subject == _rfc4514(ref.subject)
    assert ours.issuer == _rfc4514(ref.issuer)
    assert ours.not_before == ref.not_valid_before_utc
    assert ours.not_after == ref.not_valid_after_utc
    basic = _ext(ref, ExtensionOID.BASIC_CONSTRAINTS)
    assert ours.is_ca == bool(basic and basic.ca)
    assert ours.path_len == (basic.path_length if basic else None)
    ski = _ext(ref, ExtensionOID.SUBJECT_KEY_IDENTIFIER)
    assert ours.ski == (ski.digest.hex().upper() if ski else None)
    aki = _ext(ref, ExtensionOID.AUTHORITY_KEY_IDENTIFIER)
    assert ours.aki == (aki.key_identifier.hex().upper() if aki and aki.key_identifier else None)
    san = _ext(ref, ExtensionOID.SUBJECT_ALTERNATIVE_NAME)
    assert ours.san_dns == (san.get_values_for_type(x509.DNSName) if san else [])
    assert ours.san_ip == ([str(ip) for ip in san.get_values_for_type(x509.IPAddress)] if san else [])


def test_generated_certificates_match_cryptography():
    root = issue("Site Root CA", ca=True)
    edge = issue("gw1.ca", root, ca=True, path_len=0)
    leaf = issue("gw1.site-a.lab", edge, sans=["gw1.site-a.lab", "edgeHub", "192.0.2.10", "2001:db8::1"])
    old = issue("old", root, not_before=NOW - 400 * DAY, not_after=NOW - DAY, key_ids=False)
    far = issue("far", root, not_after=datetime.datetime(2060, 1, 1, tzinfo=datetime.UTC))  # GeneralizedTime
    for made in (root, edge, leaf, old, far):
        ours = Certificate(made.cert.public_bytes(DER))
        assert_same(ours, made.cert)
        assert ours.sha256 == made.sha256
    parsed = certificates_from_pem(leaf.pem + edge.pem)
    assert [c.subject for c in parsed] == ["CN=gw1.site-a.lab", "CN=gw1.ca"]
    assert parsed[0].to_dict()["san"] == ["DNS:gw1.site-a.lab", "DNS:edgeHub", "IP:192.0.2.10", "IP:2001:db8::1"]
    assert parsed[1].issued(parsed[0]) and not parsed[0].issued(parsed[1])
    assert Certificate(root.cert.public_bytes(DER)).self_signed


def test_names_are_escaped_and_compared_like_openssl():
    key_name = x509.Name(
        [
            x509.NameAttribute(NameOID.COUNTRY_NAME, "DE"),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "Edge, Ops + Co"),
            x509.NameAttribute(NameOID.COMMON_NAME, " gw1 "),
        ]
    )
    made = issue("placeholder", ca=True)
    cert = (
        x509.CertificateBuilder()
        .subject_name(key_name)
        .issuer_name(key_name)
        .public_key(made.key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .sign(made.key, hashes.SHA256())
    )
    ours = Certificate(cert.public_bytes(DER))
    assert ours.subject == cert.subject.rfc4514_string() == "CN=\\ gw1\\ ,O=Edge\\, Ops \\+ Co,C=DE"
    upper = issue("SITE ROOT CA", ca=True)
    lower = issue("site  root ca", ca=True)
    # OpenSSL's canonical comparison: case and inner whitespace do not matter.
    assert (
        Certificate(upper.cert.public_bytes(DER)).subject_key == Certificate(lower.cert.public_bytes(DER)).subject_key
    )


# Some distribution CAs have a non-positive serial number; cryptography warns about it.
@pytest.mark.filterwarnings("ignore::cryptography.utils.CryptographyDeprecationWarning")
def test_system_store_parses_like_cryptography():
    path = "/etc/ssl/certs/ca-certificates.crt"
    if not os.path.isfile(path):
        pytest.skip("no system CA bundle on this machine")
    with open(path, "rb") as handle:
        data = handle.read()
    ours = certificates_from_pem(data)
    refs = x509.load_pem_x509_certificates(data)
    assert len(ours) == len(refs) > 0
    for mine, ref in zip(ours, refs, strict=True):
        assert_same(mine, ref)


@pytest.mark.parametrize(
    "der",
    [b"", b"\x30", b"\x30\x05\x02\x01\x01", b"\x04\x03abc", b"\x30\x84\xff\xff\xff\xff"],
    ids=["empty", "truncated", "not-a-certificate", "octet-string", "huge-length"],
)
def test_garbage_is_refused(der):
    with pytest.raises(X509Error):
        Certificate(der)


def test_bad_base64_in_pem_is_refused():
    with pytest.raises(X509Error):
        certificates_from_pem(b"-----BEGIN CERTIFICATE-----\n!!!!\n-----END CERTIFICATE-----\n")


# ---------------------------------------------------------------------------------------------------------------
# What the trust store module (ca_trust, via _trust) reads with this reader
# ---------------------------------------------------------------------------------------------------------------


def _with_key_usage(made, key_cert_sign):
    usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=key_cert_sign,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )
    return (
        x509.CertificateBuilder()
        .subject_name(made.cert.subject)
        .issuer_name(made.cert.subject)
        .public_key(made.key.public_key())
        .serial_number(7)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(usage, critical=True)
        .sign(made.key, hashes.SHA256())
    )


def test_key_usage_thumbprints_names_and_pem_match_cryptography():
    made = issue("Trust Root CA", ca=True)
    without = Certificate(made.cert.public_bytes(DER))
    assert without.key_cert_sign is True
    assert without.can_sign_certificates
    assert without.sha1 == made.cert.fingerprint(hashes.SHA1()).hex().upper()
    assert without.subject_der == made.cert.subject.public_bytes() == without.issuer_der
    assert without.self_issued_exact
    assert without.subject_rdns == (((NameOID.COMMON_NAME.dotted_string, "Trust Root CA"),),)
    assert x509.load_pem_x509_certificate(without.pem().encode()) == made.cert
    for wanted in (True, False):
        ref = _with_key_usage(made, wanted)
        ours = Certificate(ref.public_bytes(DER))
        assert ours.key_cert_sign is wanted
        assert ours.can_sign_certificates is wanted
    leaf = Certificate(issue("leaf.lab", made).cert.public_bytes(DER))
    assert leaf.key_cert_sign is None  # no keyUsage extension
    assert not leaf.can_sign_certificates
    assert not leaf.self_issued_exact
    assert leaf.issuer_der == without.subject_der


def test_extension_value_must_be_an_octet_string():
    der = bytearray(issue("Root", ca=True).cert.public_bytes(DER))
    # basicConstraints: OID 2.5.29.19, [critical BOOLEAN,] then the OCTET STRING (0x04) holding the value.
    oid = bytes.fromhex("0603551d13")
    at = der.index(oid) + len(oid)
    at += 3 if der[at] == 0x01 else 0
    assert der[at] == 0x04
    der[at] = 0x03
    with pytest.raises(X509Error, match="OCTET STRING"):
        Certificate(bytes(der))


def test_malformed_inner_structure_is_an_x509_error():
    der = bytearray(issue("Root", ca=True).cert.public_bytes(DER))
    oid = bytes.fromhex("0603551d13")
    at = der.index(oid)
    # Turn the extension's OID tag into a NULL: the reader must refuse it as X509Error, never IndexError.
    der[at] = 0x05
    with pytest.raises(X509Error):
        Certificate(bytes(der))


def test_private_keys_and_pem_bodies_are_found():
    made = issue("Root", ca=True)
    assert has_private_key(made.key_pem)
    assert has_private_key(b"x\n-----BEGIN EC PRIVATE KEY-----\nAAAA\n-----END EC PRIVATE KEY-----\n")
    assert not has_private_key(made.pem)
    bodies = pem_certificate_bodies(made.pem + b"junk\n" + made.pem)
    assert len(bodies) == 2
    assert bodies[0] == bodies[1]
    assert pem_certificate_bodies(b"-----BEGIN CERTIFICATE----------END CERTIFICATE-----") == [b""]


# ---------------------------------------------------------------------------------------------------------------
# Bounds: linear PEM scanning, size and element-count limits, OIDs with a large second arc
# ---------------------------------------------------------------------------------------------------------------


def _cert_with_oid(dotted):
    """A certificate whose subject attribute type is ``dotted``, encoded by cryptography (the reference encoder)."""
    made = issue("oid", ca=True)
    name = x509.Name([x509.NameAttribute(x509.ObjectIdentifier(dotted), "v")])
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(made.key.public_key())
        .serial_number(1)
        .not_valid_before(NOW - DAY)
        .not_valid_after(NOW + DAY)
        .sign(made.key, hashes.SHA256())
    )
    return cert


@pytest.mark.parametrize("dotted", ["2.999.1", "2.48.5", "2.47.1", "1.39.7", "0.9.2342.19200300.100.1.1", "2.5.4.3"])
def test_oids_read_as_cryptography_writes_them(dotted):
    cert = _cert_with_oid(dotted)
    ours = Certificate(cert.public_bytes(DER))
    assert ours.subject_rdns[0][0][0] == dotted == next(iter(cert.subject)).oid.dotted_string


def test_oid_content_octets_decode_per_x690():
    from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import _oid

    assert _oid(bytes.fromhex("883701")) == "2.999.1"
    assert _oid(bytes.fromhex("2a864886f70d")) == "1.2.840.113549"
    for bad in (b"", b"\x88", b"\x80\x01", b"\x01" * 200):
        with pytest.raises(X509Error):
            _oid(bad)


def test_pem_scan_pairs_begin_and_end_lines():
    from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import pem_scan

    made = issue("Root", ca=True)
    data = b"-----BEGIN CERTIFICATE-----\nAAAA\n" + made.pem + b"-----BEGIN PRIVATE KEY-----\nAAAA\n"
    blocks, unterminated = pem_scan(data)
    # A BEGIN line without its END is not paired with a later block's END of another label, nor swallowed.
    assert [label for label, _body in blocks] == [b"CERTIFICATE"]
    assert unterminated == [b"CERTIFICATE", b"PRIVATE KEY"]
    assert certificates_from_pem(data)[0].sha256 == made.sha256
    assert has_private_key(data)


def test_many_begin_lines_without_end_are_scanned_once():
    # The former pattern rescanned to the end of the input for every BEGIN line (about 30 s for 257 KiB); this
    # input is 8 times that. A quadratic scan makes this test take minutes; the figures are in tests/bench/x509_reader.
    from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import pem_scan

    line = b"-----BEGIN CERTIFICATE-----\n"
    data = line * (2 * 1024 * 1024 // len(line))
    blocks, unterminated = pem_scan(data)
    assert blocks == []
    assert len(unterminated) == data.count(line)
    assert certificates_from_pem(data) == []


def test_input_size_is_bounded():
    from ansible_collections.edgeops.gateway.plugins.module_utils import _x509

    big = b" " * (_x509.MAX_INPUT_BYTES + 1)
    with pytest.raises(X509Error, match="at most 32 MiB"):
        certificates_from_pem(big)
    with pytest.raises(X509Error, match="at most 32 MiB"):
        has_private_key(big)
    der = (
        b"\x30\x84"
        + (_x509.MAX_CERTIFICATE_BYTES).to_bytes(4, "big")
        + b"\x05\x00" * (_x509.MAX_CERTIFICATE_BYTES // 2)
    )
    with pytest.raises(X509Error, match="at most 1024 KiB per certificate"):
        Certificate(der)


def test_element_count_is_bounded():
    # A certificate-shaped SEQUENCE whose tbsCertificate holds 200,000 NULLs (600 KiB, under the size bound).
    from ansible_collections.edgeops.gateway.plugins.module_utils import _x509

    def seq(body):
        return b"\x30\x83" + len(body).to_bytes(3, "big") + body

    tbs = seq(b"\x05\x00" * 200000)
    der = seq(tbs + b"\x30\x00" + b"\x03\x01\x00")
    assert len(der) < _x509.MAX_CERTIFICATE_BYTES
    with pytest.raises(X509Error, match=f"more than {_x509.MAX_ELEMENTS} DER elements"):
        Certificate(der)


def test_truncated_pem_is_not_a_certificate():
    made = issue("Root", ca=True)
    cut = made.pem[: len(made.pem) // 2]
    assert certificates_from_pem(cut) == []
    with pytest.raises(X509Error):
        certificates_from_pem(made.pem.replace(b"\n", b"\n!", 3))
