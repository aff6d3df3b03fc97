# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Test certificates for the gateway scenario, in the collection's PKI layout.

root -> intermediate -> Edge CA (per gateway, CN <gw>.ca, pathlen 0) -> server (CN/SAN = gateway)
and device leaves (clientAuth); plus broken/server.key.pem, a key that matches no certificate.
Usage: python3 make_test_pki.py <pki dir> --gateway <name> ... --device <name> ...
"""

from __future__ import annotations

import argparse
import datetime
import os
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID


def key_pem(key):
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def cert_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


def issue(cn, key, issuer=None, issuer_key=None, ca=False, pathlen=None, eku=None, san=None):
    now = datetime.datetime.now(datetime.UTC)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=30))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=pathlen), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        usage = dict(digital_signature=True, key_cert_sign=True, crl_sign=True, content_commitment=False)
    else:
        usage = dict(digital_signature=True, key_cert_sign=False, crl_sign=False, content_commitment=False)
    builder = builder.add_extension(
        x509.KeyUsage(
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            encipher_only=False,
            decipher_only=False,
            **usage,
        ),
        critical=True,
    )
    if issuer is not None:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_key.public_key()), critical=False
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if san:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(n) for n in san]), critical=False)
    return builder.sign(issuer_key or key, hashes.SHA256())


def write(path, data, mode):
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    path.write_bytes(data)
    os.chmod(path, mode)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("pki")
    parser.add_argument("--gateway", action="append", default=[])
    parser.add_argument("--device", action="append", default=[], help="<device>=<gateway>")
    args = parser.parse_args()
    pki = Path(args.pki)
    pki.mkdir(parents=True, exist_ok=True, mode=0o700)

    def new_key():
        return ec.generate_private_key(ec.SECP256R1())

    root_key = new_key()
    root = issue("edgeops test root", root_key, ca=True)
    inter_key = new_key()
    inter = issue("edgeops test intermediate", inter_key, root, root_key, ca=True, pathlen=1)
    write(pki / "root-ca.pem", cert_pem(root), 0o644)
    write(pki / "root-ca.key.pem", key_pem(root_key), 0o600)
    write(pki / "intermediate-ca.pem", cert_pem(inter), 0o644)
    write(pki / "intermediate-ca.key.pem", key_pem(inter_key), 0o600)
    edge = {}
    for gw in args.gateway:
        d = pki / "gateways" / gw
        ca_key = new_key()
        ca = issue(f"{gw}.ca", ca_key, inter, inter_key, ca=True, pathlen=0)
        srv_key = new_key()
        srv = issue(gw, srv_key, ca, ca_key, eku=[ExtendedKeyUsageOID.SERVER_AUTH], san=[gw])
        id_key = new_key()
        ident = issue(gw, id_key, inter, inter_key, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
        write(d / "edge-ca.pem", cert_pem(ca), 0o644)
        write(d / "edge-ca.key.pem", key_pem(ca_key), 0o600)
        write(d / "edge-ca-full-chain.pem", cert_pem(ca) + cert_pem(inter) + cert_pem(root), 0o644)
        write(d / "server.pem", cert_pem(srv), 0o644)
        write(d / "server.key.pem", key_pem(srv_key), 0o600)
        write(d / "server-full-chain.pem", cert_pem(srv) + cert_pem(ca) + cert_pem(inter), 0o644)
        write(d / "identity.pem", cert_pem(ident), 0o644)
        write(d / "identity-full-chain.pem", cert_pem(ident) + cert_pem(inter), 0o644)
        write(d / "identity.key.pem", key_pem(id_key), 0o600)
        edge[gw] = (ca, ca_key)
    for spec in args.device:
        dev, _sep, gw = spec.partition("=")
        ca, ca_key = edge[gw]
        d = pki / "devices" / dev
        dev_key = new_key()
        cert = issue(dev, dev_key, ca, ca_key, eku=[ExtendedKeyUsageOID.CLIENT_AUTH])
        write(d / "device.pem", cert_pem(cert), 0o644)
        write(d / "device.key.pem", key_pem(dev_key), 0o600)
        write(d / "device-full-chain.pem", cert_pem(cert) + cert_pem(ca) + cert_pem(inter), 0o644)
    write(pki / "broken" / "server.key.pem", key_pem(new_key()), 0o600)


if __name__ == "__main__":
    main()
