# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Real certificates for the ca_trust tests, built with ``cryptography`` (controller side only).

Also writes a stand-in for a distribution's update command: a script that concatenates every anchor into a bundle,
as update-ca-certificates / update-ca-trust do, and counts its runs, so tests can assert that a second run did not
re-run it.
"""

from __future__ import annotations

import os
import stat
import textwrap

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

# One certificate holder and one clock for both labs.
from tls_lab import DAY, NOW, Cert


def make_cert(
    cn,
    *,
    issuer=None,
    ca=True,
    key_cert_sign=True,
    not_before=None,
    not_after=None,
    path_length=None,
    basic_constraints=True,
):
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name(
        [x509.NameAttribute(NameOID.COMMON_NAME, cn), x509.NameAttribute(NameOID.ORGANIZATION_NAME, "edgeops test")]
    )
    signer_name = issuer.cert.subject if issuer else subject
    signer_key = issuer.key if issuer else key
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(signer_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(not_before or NOW - DAY)
        .not_valid_after(not_after or NOW + 365 * DAY)
    )
    if basic_constraints:
        builder = builder.add_extension(
            x509.BasicConstraints(ca=ca, path_length=path_length if ca else None), critical=True
        )
    builder = builder.add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=ca and key_cert_sign,
            crl_sign=ca and key_cert_sign,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    return Cert(builder.sign(signer_key, hashes.SHA256()), key)


def fake_update_command(directory, anchor_dir, bundle, base_bundle=b""):
    """A script that rebuilds ``bundle`` from ``base_bundle`` plus every file in ``anchor_dir``; counts its runs."""
    base = os.path.join(directory, "base-bundle.pem")
    with open(base, "wb") as handle:
        handle.write(base_bundle)
    runs = os.path.join(directory, "update-runs.log")
    script = os.path.join(directory, "fake-update-ca")
    with open(script, "w") as handle:
        handle.write(
            textwrap.dedent(
                f"""\
                #!/usr/bin/env bash
                set -euo pipefail
                echo run >> '{runs}'
                tmp='{bundle}.new'
                cat '{base}' > "$tmp"
                find '{anchor_dir}' -type f ! -name '.*' -print0 | sort -z | xargs -0 -r cat >> "$tmp"
                mv "$tmp" '{bundle}'
                echo "Updating certificates... done."
                """
            )
        )
    os.chmod(script, stat.S_IRWXU)
    return script, runs


def update_runs(runs_log):
    if not os.path.exists(runs_log):
        return 0
    with open(runs_log) as handle:
        return len(handle.read().split())
