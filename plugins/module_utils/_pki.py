# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller-side PKI of edgeops.gateway: profiles, keys, issuance, renewal decisions, guards.

Private to the collection. Everything here runs on the Ansible controller with the
``cryptography`` library; nothing in this file reads or writes files except through the
small helpers at the end, which the modules call with their ``AnsibleModule``.
"""

from __future__ import annotations

import datetime
import hashlib
import os
import re
import tempfile

try:
    from cryptography import x509
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec, rsa
    from cryptography.hazmat.primitives.serialization import pkcs12
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    HAS_CRYPTOGRAPHY = True
    CRYPTOGRAPHY_IMPORT_ERROR = None
except ImportError as exc:  # pragma: no cover - reported by the modules
    HAS_CRYPTOGRAPHY = False
    CRYPTOGRAPHY_IMPORT_ERROR = exc

from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import hostname_problem


class PKIError(Exception):
    """A request the PKI cannot fulfil; the message says what failed and how to fix it."""


KEY_TYPES = ("ecdsa-p256", "rsa-2048", "rsa-3072", "rsa-4096")
PROFILES = (
    "root_ca",
    "intermediate_ca",
    "edge_ca",
    "gateway_server",
    "device_identity",
    "downstream_device",
)
CA_PROFILES = ("root_ca", "intermediate_ca", "edge_ca")
# Certificates are backdated a little so that a host whose clock lags the controller's
# by a few minutes does not see them as "not yet valid".
BACKDATE = datetime.timedelta(minutes=5)
# X.509 upper bound for a common name (RFC 5280, ub-common-name).
MAX_CN_LENGTH = 64
_WINDOW_RE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(%|d)\s*$")


def utcnow():
    return datetime.datetime.now(datetime.UTC)


# ---------------------------------------------------------------------------------------
# Names


def validate_hostname(name, what="gateway hostname"):
    """Refuse a name IoT Edge would refuse as a gateway hostname (the collection's one rule, _hostname)."""
    problem = hostname_problem(name, f"the {what}", allow_ip=False)
    if problem:
        raise PKIError(problem)
    return name


def validate_common_name(name, what="common name"):
    if not isinstance(name, str) or not name.strip():
        raise PKIError(f"the {what} is empty; give every certificate a common name")
    if len(name) > MAX_CN_LENGTH:
        raise PKIError(
            f"the {what} '{name}' is {len(name)} characters long; X.509 allows at most {MAX_CN_LENGTH}. "
            "Use a shorter name (IoT Hub device ids used as certificate names must fit in 64 characters)"
        )
    return name


def parse_renew_window(value):
    """Parse a renew window: ``None``/empty (last third of the lifetime), ``N%`` of the lifetime or ``Nd`` days.

    Returns ``("fraction", float)`` or ``("days", float)``.
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return ("fraction", 1.0 / 3.0)
    match = _WINDOW_RE.match(str(value))
    if not match:
        raise PKIError(
            f"renew window '{value}' is not understood; use a percentage of the certificate's lifetime "
            "such as '33%', a number of days such as '30d', or leave it empty for the last third"
        )
    number = float(match.group(1))
    if match.group(2) == "%":
        if not 0 <= number < 100:
            raise PKIError(f"renew window '{value}' must be a percentage from 0 up to (not including) 100")
        return ("fraction", number / 100.0)
    return ("days", number)


# ---------------------------------------------------------------------------------------
# Loading


def _decode(data):
    return data if isinstance(data, bytes) else data.encode("utf-8")


def load_certificates(data, source):
    """All certificates of a PEM bundle, in file order; fails when there is none or one is malformed."""
    data = _decode(data)
    if b"-----BEGIN CERTIFICATE-----" not in data:
        raise PKIError(
            f"{source} holds no PEM certificate (no '-----BEGIN CERTIFICATE-----' block); "
            "point it at a PEM-encoded X.509 certificate (convert DER with 'openssl x509 -inform der')"
        )
    try:
        return x509.load_pem_x509_certificates(data)
    except ValueError as exc:
        raise PKIError(
            f"{source} is not a well-formed PEM certificate ({exc}); replace it with a valid PEM file"
        ) from exc


def load_certificate(data, source):
    return load_certificates(data, source)[0]


def load_private_key(data, source, passphrase=None):
    data = _decode(data)
    password = passphrase.encode("utf-8") if passphrase else None
    try:
        return serialization.load_pem_private_key(data, password=password)
    except TypeError as exc:
        if password is None:
            raise PKIError(f"{source} is encrypted; give its passphrase") from exc
        raise PKIError(f"{source} is not encrypted but a passphrase was given; drop the passphrase") from exc
    except ValueError as exc:
        if password is not None and b"ENCRYPTED" in data:
            raise PKIError(f"could not decrypt {source}: the passphrase is wrong; give the key's passphrase") from exc
        raise PKIError(
            f"{source} is not a well-formed PEM private key; point it at the PEM key that belongs to the certificate"
        ) from exc


def load_csr(data, source):
    data = _decode(data)
    try:
        csr = x509.load_pem_x509_csr(data)
    except ValueError as exc:
        raise PKIError(
            f"{source} is not a well-formed PEM certificate signing request; make it again on the device with "
            "'openssl req -new -key <key> -out <csr>'"
        ) from exc
    if not csr.is_signature_valid:
        raise PKIError(
            f"the signature of {source} does not verify, so it does not prove possession of its key; "
            "make the request again on the device"
        )
    return csr


def read_file(path, what):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError as exc:
        raise PKIError(f"{what} '{path}' does not exist; create it first or correct the path") from exc
    except OSError as exc:
        raise PKIError(f"cannot read {what} '{path}' ({exc.strerror}); check the path and its permissions") from exc


def read_optional(path):
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise PKIError(f"cannot read '{path}' ({exc.strerror}); check its permissions") from exc


# ---------------------------------------------------------------------------------------
# Keys


def generate_key(key_type):
    if key_type == "ecdsa-p256":
        return ec.generate_private_key(ec.SECP256R1())
    if key_type in ("rsa-2048", "rsa-3072", "rsa-4096"):
        return rsa.generate_private_key(public_exponent=65537, key_size=int(key_type.split("-")[1]))
    raise PKIError(f"key type '{key_type}' is not supported; choose one of {', '.join(KEY_TYPES)}")


def key_type_of(public_key):
    if isinstance(public_key, ec.EllipticCurvePublicKey) and isinstance(public_key.curve, ec.SECP256R1):
        return "ecdsa-p256"
    if isinstance(public_key, rsa.RSAPublicKey) and public_key.key_size in (2048, 3072, 4096):
        return f"rsa-{public_key.key_size}"
    return "other"


def _public_der(public_key):
    return public_key.public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def same_public_key(a, b):
    return _public_der(a) == _public_der(b)


def key_to_pem(key, passphrase=None):
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, encryption)


def cert_to_pem(cert):
    return cert.public_bytes(serialization.Encoding.PEM)


# ---------------------------------------------------------------------------------------
# Facts about certificates


def not_before(cert):
    return cert.not_valid_before_utc


def not_after(cert):
    return cert.not_valid_after_utc


def thumbprints(cert):
    """IoT Hub's thumbprint format: SHA-256 and SHA-1 of the DER, uppercase hex without colons."""
    der = cert.public_bytes(serialization.Encoding.DER)
    return {
        "thumbprint_sha256": hashlib.sha256(der).hexdigest().upper(),
        "thumbprint_sha1": hashlib.sha1(der).hexdigest().upper(),  # noqa: S324 - IoT Hub's format, not security
    }


def common_name(name):
    attrs = name.get_attributes_for_oid(NameOID.COMMON_NAME)
    return attrs[0].value if attrs else ""


_EXTENSIONS = {}


def _extension(cert, cls):
    """The value of ``cert``'s extension of class ``cls``, or None (one parse per certificate)."""
    key = id(cert)
    cached = _EXTENSIONS.get(key)
    if cached is None or cached[0] is not cert:
        cached = (cert, {type(ext.value): ext.value for ext in cert.extensions})
        if len(_EXTENSIONS) > 4096:
            _EXTENSIONS.clear()
        _EXTENSIONS[key] = cached
    return cached[1].get(cls)


def dns_names(cert):
    san = _extension(cert, x509.SubjectAlternativeName)
    return san.get_values_for_type(x509.DNSName) if san else []


def is_ca(cert):
    bc = _extension(cert, x509.BasicConstraints)
    return bool(bc and bc.ca)


def is_self_signed(cert):
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


def iso(moment):
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def cert_info(cert, now=None):
    """Metadata that is safe to show (results, diffs): never key material."""
    now = now or utcnow()
    info = {
        "subject": cert.subject.rfc4514_string(),
        "issuer": cert.issuer.rfc4514_string(),
        "common_name": common_name(cert.subject),
        "dns_names": dns_names(cert),
        "serial": format(cert.serial_number, "X"),
        "not_before": iso(not_before(cert)),
        "not_after": iso(not_after(cert)),
        "days_left": days_left(cert, now),
        "key_type": key_type_of(cert.public_key()),
        "is_ca": is_ca(cert),
    }
    info.update(thumbprints(cert))
    return info


def days_left(cert, now):
    return int((not_after(cert) - now).total_seconds() // 86400)


# ---------------------------------------------------------------------------------------
# Renewal decision (pure: time comes in as ``now``)


def renew_threshold(cert, window):
    """The moment from which ``cert`` counts as due for renewal under ``window`` (see parse_renew_window)."""
    kind, amount = window
    if kind == "fraction":
        lifetime = not_after(cert) - not_before(cert)
        return not_after(cert) - lifetime * amount
    return not_after(cert) - datetime.timedelta(days=amount)


def expiry_reasons(cert, now, window):
    """Reasons, from time alone, to reissue ``cert`` at ``now``: [] when it may stay."""
    if now >= not_after(cert):
        return [f"expired on {iso(not_after(cert))}"]
    threshold = renew_threshold(cert, window)
    if now >= threshold:
        return [f"inside its renew window since {iso(threshold)} (expires {iso(not_after(cert))})"]
    return []


def renewal_reasons(cert, now, window, *, wanted=None, issuer=None, key=None):
    """Every reason to reissue ``cert`` at ``now``; [] means it still matches the request.

    ``wanted`` is the request (see ``Request``), ``issuer`` the issuing certificate,
    ``key`` the public key the certificate must carry (of the private key or the CSR).
    """
    reasons = []
    if key is not None:
        if not same_public_key(cert.public_key(), key):
            reasons.append("the certificate does not match its key")
    if issuer is not None and not issued_by(cert, issuer):
        reasons.append(f"the issuer changed (now {issuer.subject.rfc4514_string()})")
    if wanted is not None:
        reasons.extend(profile_differences(cert, wanted))
    reasons.extend(expiry_reasons(cert, now, window))
    return reasons


def issued_by(cert, issuer):
    """Whether ``issuer`` (or a renewal of it with the same name and key) signed ``cert``."""
    if cert.issuer != issuer.subject:
        return False
    aki = _extension(cert, x509.AuthorityKeyIdentifier)
    ski = _extension(issuer, x509.SubjectKeyIdentifier)
    if aki and ski and aki.key_identifier:
        # Same name and the issuer's key identifier: this CA (or its renewal with the same key).
        return aki.key_identifier == ski.digest
    try:
        cert.verify_directly_issued_by(issuer)
    except (ValueError, TypeError, InvalidSignature):
        return False
    return True


# ---------------------------------------------------------------------------------------
# Profiles


class Request:
    """What one certificate should look like."""

    def __init__(self, profile, common_name_, dns_names_=None, validity_days=365, path_length=None):
        if profile not in PROFILES:
            raise PKIError(f"profile '{profile}' is unknown; choose one of {', '.join(PROFILES)}")
        self.profile = profile
        if profile == "gateway_server":
            validate_hostname(common_name_)
        self.common_name = validate_common_name(common_name_)
        names = list(dns_names_ or [])
        if profile == "gateway_server":
            names = [common_name_] + [n for n in names if n != common_name_]
        self.dns_names = names
        if not isinstance(validity_days, int) or validity_days < 1:
            raise PKIError(f"validity_days must be a positive number of days, got {validity_days!r}")
        self.validity_days = validity_days
        self.path_length = 0 if profile == "edge_ca" else path_length

    def key_usage(self, key_type):
        ca = self.profile in CA_PROFILES
        rsa_key = key_type.startswith("rsa")
        return {
            "digital_signature": True,
            "content_commitment": False,
            "key_encipherment": rsa_key and not ca,
            "data_encipherment": False,
            "key_agreement": False,
            "key_cert_sign": ca,
            "crl_sign": self.profile in ("root_ca", "intermediate_ca"),
            "encipher_only": False,
            "decipher_only": False,
        }

    def extended_key_usage(self):
        if self.profile == "gateway_server":
            return [ExtendedKeyUsageOID.SERVER_AUTH]
        if self.profile in ("device_identity", "downstream_device"):
            return [ExtendedKeyUsageOID.CLIENT_AUTH]
        return []


def profile_differences(cert, wanted):
    """How ``cert`` differs from the request ``wanted`` (subject, SAN, profile extensions)."""
    diffs = []
    if cert.subject != x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted.common_name)]):
        diffs.append(f"the subject changed (was {cert.subject.rfc4514_string()}, wanted CN={wanted.common_name})")
    if sorted(dns_names(cert)) != sorted(wanted.dns_names):
        diffs.append(f"the DNS names changed (were {dns_names(cert)}, wanted {wanted.dns_names})")
    bc = _extension(cert, x509.BasicConstraints)
    want_ca = wanted.profile in CA_PROFILES
    if bc is None or bc.ca != want_ca or (want_ca and bc.path_length != wanted.path_length):
        diffs.append(f"the profile changed (basic constraints do not match {wanted.profile})")
    ku = _extension(cert, x509.KeyUsage)
    wanted_ku = wanted.key_usage(key_type_of(cert.public_key()))
    if ku is None or any(_ku_flag(ku, flag) != value for flag, value in wanted_ku.items()):
        diffs.append(f"the profile changed (key usage does not match {wanted.profile})")
    eku = _extension(cert, x509.ExtendedKeyUsage)
    if sorted(o.dotted_string for o in (eku or [])) != sorted(o.dotted_string for o in wanted.extended_key_usage()):
        diffs.append(f"the profile changed (extended key usage does not match {wanted.profile})")
    return diffs


def _ku_flag(ku, flag):
    try:
        return getattr(ku, flag)
    except ValueError:  # encipher_only/decipher_only are undefined without key_agreement
        return False


def build_certificate(wanted, public_key, issuer_cert, issuer_key, now, *, serial=None):
    """Sign a certificate for ``public_key``; ``issuer_cert`` None means self-signed by ``issuer_key``."""
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, wanted.common_name)])
    start = now - BACKDATE
    end = now + datetime.timedelta(days=wanted.validity_days)
    ski = x509.SubjectKeyIdentifier.from_public_key(public_key)
    if issuer_cert is None:
        issuer_name, aki = subject, x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(ski)
    else:
        issuer_name = issuer_cert.subject
        issuer_ski = _extension(issuer_cert, x509.SubjectKeyIdentifier)
        aki = (
            x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(issuer_ski)
            if issuer_ski
            else x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer_cert.public_key())
        )
    ca = wanted.profile in CA_PROFILES
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer_name)
        .public_key(public_key)
        .serial_number(serial or x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(end)
        .add_extension(x509.BasicConstraints(ca=ca, path_length=wanted.path_length if ca else None), critical=True)
        .add_extension(x509.KeyUsage(**wanted.key_usage(key_type_of(public_key))), critical=True)
        .add_extension(ski, critical=False)
        .add_extension(aki, critical=False)
    )
    eku = wanted.extended_key_usage()
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(eku), critical=False)
    if wanted.dns_names:
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName(n) for n in wanted.dns_names]), critical=False
        )
    return builder.sign(issuer_key, _hash_for(issuer_key))


def _hash_for(key):
    if isinstance(key, ec.EllipticCurvePrivateKey) and key.curve.key_size > 256:
        return hashes.SHA384()
    return hashes.SHA256()


# ---------------------------------------------------------------------------------------
# Issuers and guards


class Issuer:
    """A CA that signs: its certificate, its key and the chain above it (intermediates, root last)."""

    def __init__(self, cert, key, chain=()):
        self.cert = cert
        self.key = key
        self.chain = list(chain)
        self._chains = {}

    @classmethod
    def from_files(cls, cert_path, key_path, passphrase=None, chain_paths=()):
        cert = load_certificate(read_file(cert_path, "issuer certificate"), f"issuer certificate '{cert_path}'")
        key = load_private_key(read_file(key_path, "issuer key"), f"issuer key '{key_path}'", passphrase)
        chain = []
        for path in chain_paths:
            chain.extend(load_certificates(read_file(path, "issuer chain file"), f"issuer chain file '{path}'"))
        # A chain file may begin with the issuer itself (a full-chain file): keep each certificate once.
        seen = {cert.fingerprint(hashes.SHA256())}
        unique = []
        for item in chain:
            fp = item.fingerprint(hashes.SHA256())
            if fp not in seen:
                seen.add(fp)
                unique.append(item)
        issuer = cls(cert, key, unique)
        check_key_matches(cert, key, f"issuer key '{key_path}'", f"issuer certificate '{cert_path}'")
        return issuer

    def chain_certs(self, include_root):
        """The issuer and the chain above it, the root (self-signed) only when ``include_root``."""
        key = bool(include_root)
        if key not in self._chains:
            certs = [self.cert, *self.chain]
            if not include_root:
                certs = [c for c in certs if not is_self_signed(c)]
            self._chains[key] = certs
        return self._chains[key]


def check_key_matches(cert, key, key_source, cert_source):
    if not same_public_key(cert.public_key(), key.public_key()):
        raise PKIError(
            f"{key_source} does not match {cert_source}: the key is not the one the certificate was issued for. "
            "Point both options at the same key pair"
        )


def check_issuer(issuer, wanted, now, source="the issuer"):
    """Guards on the issuing CA, before anything is written."""
    cert = issuer.cert
    bc = _extension(cert, x509.BasicConstraints)
    if not (bc and bc.ca):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not a CA certificate (basicConstraints CA:TRUE is "
            "missing), so it cannot issue certificates. Use the root, intermediate or Edge CA certificate as issuer"
        )
    ku = _extension(cert, x509.KeyUsage)
    if ku is not None and not ku.key_cert_sign:
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) lacks the keyCertSign key usage; use a CA certificate "
            "made for signing certificates"
        )
    if now >= not_after(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) expired on {iso(not_after(cert))}; renew the CA first "
            "(run the pki role or the pki_ca module), then issue again"
        )
    if now < not_before(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not valid before {iso(not_before(cert))}; "
            "check the controller's clock"
        )
    if wanted.profile in CA_PROFILES and bc.path_length == 0:
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) has pathlen 0 and cannot issue the CA certificate "
            f"'{wanted.common_name}'. Issue it from the root or an intermediate CA instead"
        )
    end = now + datetime.timedelta(days=wanted.validity_days)
    if end > not_after(cert):
        allowed = max(0, int((not_after(cert) - now).total_seconds() // 86400))
        raise PKIError(
            f"the requested validity of {wanted.validity_days} days for '{wanted.common_name}' ends "
            f"{iso(end)}, after its issuer {cert.subject.rfc4514_string()} expires ({iso(not_after(cert))}). "
            f"Ask for at most {allowed} days or renew the issuer first"
        )


def check_edge_ca_name(common_name_, gateway_hostname=None, device_id=None):
    for other, what in ((gateway_hostname, "gateway hostname"), (device_id, "gateway device id")):
        if other and common_name_.lower() == other.lower():
            raise PKIError(
                f"the Edge CA common name '{common_name_}' equals the {what}; IoT Edge rejects this chain "
                f"because clients see the CA and the server certificate under one name. Use a distinct name "
                f"such as '{other}.ca'"
            )


# ---------------------------------------------------------------------------------------
# Files


def pkcs12_bytes(name, key, cert, cas, passphrase):
    encryption = (
        serialization.BestAvailableEncryption(passphrase.encode("utf-8"))
        if passphrase
        else serialization.NoEncryption()
    )
    return pkcs12.serialize_key_and_certificates(name.encode("utf-8"), key, cert, cas or None, encryption)


def pkcs12_matches(data, passphrase, key, cert, cas):
    """Whether an existing PKCS#12 holds exactly ``key``, ``cert`` and ``cas`` (its bytes are never stable)."""
    try:
        loaded = pkcs12.load_pkcs12(data, passphrase.encode("utf-8") if passphrase else None)
    except (ValueError, TypeError):
        return False
    if loaded.key is None or loaded.cert is None:
        return False
    if not same_public_key(loaded.key.public_key(), key.public_key()):
        return False
    if loaded.cert.certificate != cert:
        return False
    return [c.certificate for c in loaded.additional_certs] == list(cas)


def mode_of(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None


def make_private_dirs(path):
    """Create ``path`` and any missing parent as 0700 (``os.makedirs`` would give parents the umask's mode)."""
    missing = []
    current = os.path.abspath(path)
    while not os.path.isdir(current):
        missing.append(current)
        current = os.path.dirname(current)
    for directory in reversed(missing):
        os.mkdir(directory, 0o700)
        os.chmod(directory, 0o700)


def write_file(module, path, content, mode):
    """Write ``content`` atomically with ``mode``, owned by the user running the controller."""
    directory = os.path.dirname(path) or "."
    fd, tmp = tempfile.mkstemp(prefix=".edgeops-pki-", dir=directory)
    try:
        os.fchmod(fd, mode)
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        module.atomic_move(tmp, path, keep_dest_attrs=False)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    os.chmod(path, mode)


class FilePlan:
    """Everything one task will change, computed before anything is written.

    ``writes`` are (path, bytes, mode), ``chmods`` fix modes of unchanged files, ``dirs`` are
    directories to create or tighten to 0700. ``apply`` does nothing in check mode.
    """

    def __init__(self):
        self.writes = []
        self.chmods = []
        self.dirs = []
        self._paths = set()

    def claim(self, path, what):
        real = os.path.abspath(path)
        if real in self._paths:
            raise PKIError(f"{what}: the path '{path}' is used twice in one task; give every file its own path")
        self._paths.add(real)

    def want_dir(self, path):
        """Missing directories are created 0700; existing ones are left as they are."""
        if path in self.dirs or os.path.isdir(path):
            return False
        self.dirs.append(path)
        return True

    def want(self, path, content, mode, existing):
        changed = self.want_dir(os.path.dirname(os.path.abspath(path)))
        if existing != content:
            self.writes.append((path, content, mode))
            return True
        if mode_of(path) != mode:
            self.chmods.append((path, mode))
            return True
        return changed

    def want_mode(self, path, mode):
        if mode_of(path) != mode:
            self.chmods.append((path, mode))
            return True
        return False

    def apply(self, module):
        if module.check_mode:
            return
        for directory in self.dirs:
            make_private_dirs(directory)
        for path, content, mode in self.writes:
            write_file(module, path, content, mode)
        for path, mode in self.chmods:
            os.chmod(path, mode)


# ---------------------------------------------------------------------------------------
# Planning one certificate


def plan_issue(spec, issuer, now, plan):
    """Decide and prepare one certificate; returns a result dict that holds no key material.

    ``spec`` keys: profile, common_name, dns_names, validity_days, key_type, path, key_path,
    full_chain_path, full_chain_include_root, csr_path, pkcs12_path, pkcs12_passphrase,
    key_passphrase, renew_window, gateway_hostname, device_id, path_length.
    ``issuer`` is an ``Issuer`` or None for a self-signed root CA.
    """
    path = spec["path"]
    label = f"certificate '{path}'"
    wanted = Request(
        spec["profile"],
        spec["common_name"],
        spec.get("dns_names"),
        spec.get("validity_days", 365),
        spec.get("path_length"),
    )
    if wanted.profile == "edge_ca":
        if spec.get("gateway_hostname"):
            validate_hostname(spec["gateway_hostname"])
        check_edge_ca_name(wanted.common_name, spec.get("gateway_hostname"), spec.get("device_id"))
    window = parse_renew_window(spec.get("renew_window"))
    if issuer is not None:
        check_issuer(issuer, wanted, now)
    elif wanted.profile != "root_ca":
        raise PKIError(f"{label}: the {wanted.profile} profile needs an issuer; give the issuing CA's cert and key")
    key_type = spec.get("key_type") or "ecdsa-p256"
    if key_type not in KEY_TYPES:
        raise PKIError(f"key type '{key_type}' is not supported; choose one of {', '.join(KEY_TYPES)}")

    csr_path = spec.get("csr_path")
    key_path = spec.get("key_path")
    passphrase = spec.get("key_passphrase")
    plan.claim(path, label)
    reasons = []
    new_key = None
    key = None
    if csr_path:
        csr = load_csr(read_file(csr_path, "certificate signing request"), f"certificate signing request '{csr_path}'")
        public_key = csr.public_key()
        if key_type_of(public_key) not in KEY_TYPES:
            raise PKIError(
                f"the key of '{csr_path}' is not one of {', '.join(KEY_TYPES)}; make the device key an ECDSA P-256 "
                "or RSA 2048/3072/4096 key"
            )
    else:
        if not key_path:
            raise PKIError(f"{label}: give key_path (or csr_path when the device keeps its own key)")
        plan.claim(key_path, label)
        key_bytes = read_optional(key_path)
        if key_bytes is not None:
            key = load_private_key(
                key_bytes,
                f"existing key '{key_path}' (delete it to have a new key generated)",
                passphrase,
            )
            if key_type_of(key.public_key()) != key_type:
                reasons.append(f"the key type changed to {key_type}")
                key = None
        else:
            reasons.append("no key yet")
        if key is None:
            key = new_key = generate_key(key_type)
        public_key = key.public_key()

    cert_bytes = read_optional(path)
    cert = None
    if cert_bytes is None:
        reasons.append("no certificate yet")
    else:
        existing = load_certificate(cert_bytes, f"existing {label} (delete it to have it reissued)")
        if issuer is None:
            reasons.extend(renewal_reasons(existing, now, window, wanted=wanted, key=public_key))
            if not is_self_signed(existing) and not reasons:
                reasons.append("it is not self-signed any more")
        else:
            reasons.extend(renewal_reasons(existing, now, window, wanted=wanted, issuer=issuer.cert, key=public_key))
        if not reasons:
            cert = existing
    # Key generated but the certificate alone decides nothing more: keep reasons unique.
    reasons = list(dict.fromkeys(reasons))

    if cert is None:
        signer_cert = issuer.cert if issuer else None
        signer_key = issuer.key if issuer else key
        cert = build_certificate(wanted, public_key, signer_cert, signer_key, now)
    pem = cert_to_pem(cert)
    changed = plan.want(path, pem, 0o644, cert_bytes)

    if new_key is not None:
        plan.want(key_path, key_to_pem(new_key, passphrase), 0o600, None)
        changed = True
    elif key_path and not csr_path:
        changed = plan.want_mode(key_path, 0o600) or changed

    chain = issuer.chain_certs(spec.get("full_chain_include_root", False)) if issuer else []
    full_chain_path = spec.get("full_chain_path")
    if full_chain_path:
        plan.claim(full_chain_path, label)
        content = b"".join(cert_to_pem(c) for c in [cert, *chain])
        changed = plan.want(full_chain_path, content, 0o644, read_optional(full_chain_path)) or changed

    pkcs12_path = spec.get("pkcs12_path")
    if pkcs12_path:
        if csr_path:
            raise PKIError(
                f"{label}: a PKCS#12 file needs the private key, which stays on the device when csr_path is used; "
                "drop pkcs12_path or let the controller generate the key"
            )
        plan.claim(pkcs12_path, label)
        p12_pass = spec.get("pkcs12_passphrase") or ""
        existing_p12 = read_optional(pkcs12_path)
        if existing_p12 is None or reasons or not pkcs12_matches(existing_p12, p12_pass, key, cert, chain):
            plan.want(pkcs12_path, pkcs12_bytes(wanted.common_name, key, cert, chain, p12_pass), 0o600, None)
            changed = True
        else:
            changed = plan.want_mode(pkcs12_path, 0o600) or changed

    result = {"path": path, "changed": changed, "reissued": bool(reasons), "reasons": reasons}
    result.update(cert_info(cert, now))
    result["profile"] = wanted.profile
    return result


def diff_entry(result, before):
    """Certificate metadata for a diff: never key material."""
    keys = ("subject", "issuer", "serial", "not_before", "not_after", "thumbprint_sha256")
    after = {k: result[k] for k in keys}
    return before, after


def existing_info(path):
    """Metadata of the certificate now at ``path`` (for diffs), or None."""
    data = read_optional(path)
    if data is None:
        return None
    try:
        cert = load_certificate(data, path)
    except PKIError:
        return None
    info = cert_info(cert)
    return {k: info[k] for k in _DIFF_KEYS}


# ---------------------------------------------------------------------------------------
# Module backends: each takes the AnsibleModule, raises PKIError, returns the result dict.


def _default_paths(entry):
    path = entry["path"]
    stem = path[:-4] if path.endswith(".pem") else path
    if not entry.get("csr_path") and not entry.get("key_path"):
        entry["key_path"] = f"{stem}.key.pem"
    if entry.get("full_chain", True) and not entry.get("full_chain_path"):
        entry["full_chain_path"] = f"{stem}-full-chain.pem"
    if not entry.get("full_chain", True):
        entry["full_chain_path"] = None
    return entry


_DIFF_KEYS = ("subject", "serial", "not_before", "not_after", "thumbprint_sha256")


def _diff_after(result, check_mode):
    if result["reissued"] and check_mode:
        return {"subject": result["subject"], "state": "would be (re)issued"}
    return {k: result[k] for k in _DIFF_KEYS}


def _finish(module, plan, results, befores, now):
    """Write the plan (unless check mode) and build the module result with a metadata-only diff."""
    changed = any(r["changed"] for r in results)
    plan.apply(module)
    if module.check_mode:
        for result in results:
            if result["reissued"]:
                # The certificate shown was made in memory only: nothing with its serial exists.
                for key in ("serial", "thumbprint_sha256", "thumbprint_sha1", "not_before", "not_after"):
                    result[key] = None
                result["days_left"] = None
    out = {"changed": changed, "certificates": results, "now": iso(now)}
    if module._diff:
        before = {r["path"]: befores[r["path"]] for r in results if r["changed"]}
        after = {r["path"]: _diff_after(r, module.check_mode) for r in results if r["changed"]}
        out["diff"] = {"before": before, "after": after}
    return out


# What pki_cert returns per certificate: a site's devices come back in one result, so it stays lean
# (the issuer is the same for all and is returned once).
CERT_RESULT_KEYS = (
    "path",
    "changed",
    "reissued",
    "reasons",
    "subject",
    "dns_names",
    "serial",
    "not_before",
    "not_after",
    "days_left",
    "thumbprint_sha256",
    "thumbprint_sha1",
)


def run_cert(module, now=None):
    """Backend of the pki_cert module: issue many certificates from one issuer."""
    params = module.params
    now = now or utcnow()
    issuer = Issuer.from_files(
        params["issuer_cert"], params["issuer_key"], params["issuer_key_passphrase"], params["issuer_chain"] or ()
    )
    plan = FilePlan()
    results = []
    befores = {}
    for index, raw in enumerate(params["certificates"]):
        entry = {k: v for k, v in raw.items() if v is not None}
        for option in ("profile", "key_type", "validity_days", "renew_window", "full_chain_include_root"):
            entry.setdefault(option, params[option])
        if not entry.get("common_name"):
            raise PKIError(f"certificates[{index}] ({entry['path']}) has no common_name; give one")
        _default_paths(entry)
        try:
            result = plan_issue(entry, issuer, now, plan)
        except PKIError as exc:
            raise PKIError(f"certificates[{index}] ({entry['path']}): {exc}") from exc
        befores[entry["path"]] = existing_info(entry["path"]) if result["changed"] else None
        results.append({k: result[k] for k in CERT_RESULT_KEYS})
    out = _finish(module, plan, results, befores, now)
    out["issuer"] = issuer.cert.subject.rfc4514_string()
    return out


def run_ca(module, now=None):
    """Backend of the pki_ca module: generate a root or intermediate CA, or import the user's own."""
    params = module.params
    now = now or utcnow()
    plan = FilePlan()
    path = params["path"]
    if params["import_cert"]:
        result = plan_import(params, now, plan)
    else:
        issuer = None
        if params["type"] == "intermediate":
            if not params["issuer_key"]:
                raise PKIError("a generated intermediate CA is signed with its issuer's key; give issuer_key")
            issuer = Issuer.from_files(
                params["issuer_cert"],
                params["issuer_key"],
                params["issuer_key_passphrase"],
                params["issuer_chain"] or (),
            )
        entry = {
            "profile": "root_ca" if params["type"] == "root" else "intermediate_ca",
            "common_name": params["common_name"],
            "validity_days": params["validity_days"],
            "key_type": params["key_type"],
            "renew_window": params["renew_window"],
            "path": path,
            "key_path": params["key_path"],
            "key_passphrase": params["key_passphrase"],
            "path_length": params["path_length"],
            "full_chain_path": params["full_chain_path"],
            "full_chain_include_root": params["full_chain_include_root"],
        }
        result = plan_issue(entry, issuer, now, plan)
    befores = {path: existing_info(path) if result["changed"] else None}
    out = _finish(module, plan, [result], befores, now)
    certificate = out.pop("certificates")[0]
    out.update(certificate)
    out["changed"] = certificate["changed"]
    return out


def plan_import(params, now, plan):
    """Copy the user's own CA certificate (and key) into the PKI after checking them."""
    path, key_path = params["path"], params["key_path"]
    source = f"imported CA certificate '{params['import_cert']}'"
    data = read_file(params["import_cert"], "CA certificate to import")
    cert = load_certificate(data, source)
    if not is_ca(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not a CA certificate (basicConstraints CA:TRUE is "
            "missing); import the CA that issues your certificates, not a leaf"
        )
    if now >= not_after(cert):
        raise PKIError(f"{source} expired on {iso(not_after(cert))}; import a valid CA certificate")
    if params["type"] == "root" and not is_self_signed(cert):
        raise PKIError(
            f"{source} ({cert.subject.rfc4514_string()}) is not self-signed, so it is not a root CA; "
            "import it with type=intermediate and import its root separately"
        )
    if params["type"] == "intermediate" and not params["import_key"]:
        raise PKIError(
            f"{source}: an intermediate CA is imported to sign the site's certificates, so its key is needed; "
            "give import_key"
        )
    key_bytes = None
    if params["import_key"]:
        key_bytes = read_file(params["import_key"], "CA key to import")
        key = load_private_key(key_bytes, f"imported CA key '{params['import_key']}'", params["key_passphrase"])
        check_key_matches(cert, key, f"imported CA key '{params['import_key']}'", source)
    if params["issuer_cert"]:
        parent = load_certificate(read_file(params["issuer_cert"], "issuer certificate"), "issuer certificate")
        if not issued_by(cert, parent):
            raise PKIError(
                f"{source} was not issued by {parent.subject.rfc4514_string()} ('{params['issuer_cert']}'); "
                "import the CA certificate that the given issuer signed, or point issuer_cert at its real issuer"
            )
    plan.claim(path, source)
    pem = cert_to_pem(cert)
    existing = read_optional(path)
    changed = plan.want(path, pem, 0o644, existing)
    if key_bytes is not None:
        if not key_path:
            raise PKIError(f"{source}: give key_path, where the imported key is kept")
        plan.claim(key_path, source)
        changed = plan.want(key_path, key_bytes, 0o600, read_optional(key_path)) or changed
    reissued = existing != pem
    result = {"path": path, "changed": changed, "reissued": False, "imported": reissued, "reasons": []}
    if reissued:
        result["reasons"] = ["imported the given CA certificate"]
    result.update(cert_info(cert, now))
    result["profile"] = "root_ca" if params["type"] == "root" else "intermediate_ca"
    return result


# ---------------------------------------------------------------------------------------
# Expiry report


def _is_certificate_file(name):
    return (
        name.endswith(".pem")
        and not name.endswith(".key.pem")
        and not name.endswith("-full-chain.pem")
        and not name.startswith(".")
    )


def collect_certificates(root):
    found = []
    for directory, dirs, files in os.walk(root):
        dirs.sort()
        for name in sorted(files):
            if _is_certificate_file(name):
                found.append(os.path.join(directory, name))
    return found


def report(root, now, window):
    """Every certificate under ``root``: days left and what the next run would renew and why."""
    if not os.path.isdir(root):
        raise PKIError(f"the PKI directory '{root}' does not exist; run the pki role first or correct the path")
    certs = {}
    for path in collect_certificates(root):
        certs[path] = load_certificate(read_file(path, "certificate"), f"certificate '{path}'")
    by_ski = {}
    for cert in certs.values():
        ski = _extension(cert, x509.SubjectKeyIdentifier)
        if ski is not None:
            by_ski.setdefault(ski.digest, cert)
    entries = []
    for path, cert in certs.items():
        reasons = list(expiry_reasons(cert, now, window))
        key_path = f"{path[:-4]}.key.pem"
        key_bytes = read_optional(key_path)
        if key_bytes is not None and b"ENCRYPTED" not in key_bytes:
            key = load_private_key(key_bytes, f"key '{key_path}'")
            if not same_public_key(cert.public_key(), key.public_key()):
                reasons.append("the certificate does not match its key")
        if not is_self_signed(cert):
            aki = _extension(cert, x509.AuthorityKeyIdentifier)
            issuer = by_ski.get(aki.key_identifier) if aki is not None else None
            if issuer is None:
                reasons.append("its issuer is not in the PKI directory")
            elif not issued_by(cert, issuer):
                reasons.append("its issuer changed")
        info = cert_info(cert, now)
        info.update(
            {
                "path": path,
                "relative_path": os.path.relpath(path, root),
                "renew_from": iso(renew_threshold(cert, window)),
                "renew": bool(reasons),
                "reasons": reasons,
                "expired": now >= not_after(cert),
            }
        )
        entries.append(info)
    entries.sort(key=lambda e: (e["days_left"], e["path"]))
    return {
        "changed": False,
        "now": iso(now),
        "certificates": entries,
        "renew": [e["relative_path"] for e in entries if e["renew"]],
        "expired": [e["relative_path"] for e in entries if e["expired"]],
        "soonest": entries[0]["not_after"] if entries else None,
    }
