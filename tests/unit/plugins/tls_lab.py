# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real certificates and real TLS servers on 127.0.0.1 for the handshake tests.

Certificates are built with ``cryptography`` (controller side); every broken chain is a real
one (wrong root, missing intermediate, expired, ...), and times are set through validity.
The servers are Python ``ssl`` servers (OpenSSL underneath) in threads.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
import socket
import ssl
import subprocess
import threading

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

UTC = datetime.UTC
NOW = datetime.datetime.now(UTC)
DAY = datetime.timedelta(days=1)


class Cert:
    """A certificate with its key."""

    def __init__(self, cert, key):
        self.cert = cert
        self.key = key

    @property
    def pem(self):
        return self.cert.public_bytes(serialization.Encoding.PEM)

    @property
    def der(self):
        return self.cert.public_bytes(serialization.Encoding.DER)

    @property
    def key_pem(self):
        return self.key.private_bytes(
            serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
        )

    @property
    def sha256(self):
        return self.cert.fingerprint(hashes.SHA256()).hex().upper()

    @property
    def sha1(self):
        return self.cert.fingerprint(hashes.SHA1()).hex().upper()


def issue(
    cn,
    issuer=None,
    ca=False,
    sans=None,
    not_before=None,
    not_after=None,
    key_ids=True,
    client=False,
    path_len=None,
):
    """Issue a certificate named ``cn`` by ``issuer`` (a Cert) or self-signed when None."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(issuer.cert.subject if issuer else name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + 30 * DAY)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=path_len if ca else None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
    else:
        usage = ExtendedKeyUsageOID.CLIENT_AUTH if client else ExtendedKeyUsageOID.SERVER_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
    if sans:
        entries = []
        for san in sans:
            try:
                entries.append(x509.IPAddress(ipaddress.ip_address(san)))
            except ValueError:
                entries.append(x509.DNSName(san))
        builder = builder.add_extension(x509.SubjectAlternativeName(entries), critical=False)
    if key_ids:
        builder = builder.add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        signer_public = (issuer.key if issuer else key).public_key()
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signer_public), critical=False
        )
    cert = builder.sign((issuer.key if issuer else key), hashes.SHA256())
    return Cert(cert, key)


def write(path, *items):
    """Write the PEM of certificates (Cert) and raw bytes to ``path``; return the path as str."""
    with open(path, "wb") as handle:
        for item in items:
            handle.write(item.pem if isinstance(item, Cert) else item)
    return str(path)


class TlsServer:
    """A TLS server on 127.0.0.1 serving ``chain`` (leaf first) in a thread.

    ``client_ca``: a CA file; when set, the server requires a client certificate from it.
    ``max_version``: e.g. ``ssl.TLSVersion.TLSv1_2`` to force TLS 1.2.
    """

    def __init__(self, tmp_path, chain, key, client_ca=None, max_version=None, plain=False):
        self.context = None
        if not plain:
            cert_file = write(tmp_path / "server-chain.pem", *chain)
            key_file = write(tmp_path / "server-key.pem", key.key_pem)
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.minimum_version = ssl.TLSVersion.TLSv1_2
            if max_version:
                context.maximum_version = max_version
            context.load_cert_chain(cert_file, key_file)
            if client_ca:
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(cafile=client_ca)
            self.context = context
        self.listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(16)
        self.listener.settimeout(0.2)
        self.port = self.listener.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join(5)
        self.listener.close()

    def _serve(self):
        while not self._stop.is_set():
            try:
                conn, _addr = self.listener.accept()
            except OSError:
                continue
            threading.Thread(target=self._handle, args=(conn,), daemon=True).start()

    def _handle(self, conn):
        conn.settimeout(5)
        try:
            if self.context is None:
                conn.sendall(b"220 not a TLS server\r\n")
                conn.recv(1024)
                return
            with self.context.wrap_socket(conn, server_side=True) as tls:
                # Like an MQTT broker: wait for the client to speak or leave.
                tls.recv(1024)
        except (OSError, ssl.SSLError):
            pass
        finally:
            conn.close()


def s_client(port, ca_file, hostname=None, cert=None, key=None, servername=None, timeout=30, linger=0.0):
    """Run ``openssl s_client -verify_return_error`` like an operator would; return (ok, output).

    ``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` are removed so only ``ca_file`` is trusted. ``linger``:
    seconds to stay connected before closing stdin.
    """
    args = [
        "openssl",
        "s_client",
        "-connect",
        f"127.0.0.1:{port}",
        "-verify_return_error",
        "-CAfile",
        ca_file,
        "-no-CApath",
        "-servername",
        servername or hostname or "localhost",
    ]
    if hostname:
        args += ["-verify_hostname", hostname]
    if cert:
        args += ["-cert", cert, "-key", key]
    env = {k: v for k, v in os.environ.items() if k not in ("SSL_CERT_FILE", "SSL_CERT_DIR")}
    proc = subprocess.Popen(args, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    # Stay connected a moment, as an operator's session does: with TLS 1.3 the server's verdict
    # on a client certificate (an alert) arrives after the handshake.
    try:
        proc.wait(linger)
    except subprocess.TimeoutExpired:
        pass
    try:
        output, _err = proc.communicate(b"", timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.communicate()
        raise
    output = output.decode("utf-8", "replace")
    ok = proc.returncode == 0 and "Verify return code: 0 (ok)" in output and " alert " not in output
    return ok, output
