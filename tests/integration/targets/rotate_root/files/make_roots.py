"""Write the CA files the rotate_root target imports: good ones and ones the rotation must refuse.

Usage: make_roots.py DIR. Real certificates made with the cryptography library.
"""

from __future__ import annotations

import datetime
import sys
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

NOW = datetime.datetime.now(datetime.UTC)
DAY = datetime.timedelta(days=1)


def name(cn):
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def make(cn, issuer=None, ca=True, start=NOW - DAY, end=NOW + 3650 * DAY, path_len=None):
    key = ec.generate_private_key(ec.SECP256R1())
    issuer_cert, issuer_key = issuer if issuer else (None, key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name(cn))
        .issuer_name(issuer_cert.subject if issuer_cert else name(cn))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(False, False, False, False, False, True, True, False, False), critical=True
        )
    if issuer_cert:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    return builder.sign(issuer_key, hashes.SHA256()), key


def write(directory, stem, cert, key):
    (directory / f"{stem}.pem").write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path = directory / f"{stem}.key.pem"
    key_path.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    key_path.chmod(0o600)


def main():
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    root, root_key = make("Company root CA 2027")
    write(out, "new-root", root, root_key)
    inter, inter_key = make("Company issuing CA 2027", issuer=(root, root_key), path_len=1)
    write(out, "new-intermediate", inter, inter_key)
    leaf, leaf_key = make("not-a-ca.example", issuer=(root, root_key), ca=False)
    write(out, "leaf", leaf, leaf_key)
    expired, expired_key = make("Company root CA 2019", start=NOW - 800 * DAY, end=NOW - DAY)
    write(out, "expired-root", expired, expired_key)
    other, other_key = make("Another root CA")
    write(out, "other-root", other, other_key)
    stray, stray_key = make("Issuing CA of another root", issuer=(other, other_key), path_len=1)
    write(out, "stray-intermediate", stray, stray_key)


if __name__ == "__main__":
    main()
