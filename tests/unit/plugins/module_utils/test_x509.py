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
