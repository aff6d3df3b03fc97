# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A small, strict DER reader for X.509 certificates (standard library only).

It runs on downstream devices, where the ``cryptography`` package is not installed, and
reads what the handshake diagnosis (``_tls``) and the trust store module (``_trust``) need:
names, validity, subjectAltName, basicConstraints, keyUsage (keyCertSign),
subject/authority key identifiers and the SHA-256 / SHA-1 thumbprints. It never checks
signatures: that is OpenSSL's job during the handshake and ``openssl verify``'s in ca_trust.

Python 3.8+ syntax only (this file is shipped to targets).
"""

from __future__ import annotations

import base64
import binascii
import datetime
import hashlib
import ipaddress
import re

UTC = datetime.timezone.utc  # noqa: UP017 - datetime.UTC is Python 3.11+, targets run 3.8+

# One pass over the input finds every BEGIN and END line; pairing them is a walk over that list, so the scan is
# linear in the input whatever it holds (BEGIN lines without END included). Labels are bounded so that the
# regular expression cannot backtrack over long runs either.
_PEM_MARK_RE = re.compile(rb"-----(BEGIN|END) ([A-Z0-9 ]{1,64})-----")
CERTIFICATE_LABELS = (b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE")

# Bounds that keep the reader's time and memory small on a device, whatever it is given.
MAX_INPUT_BYTES = 32 * 1024 * 1024  # a PEM bundle; a system CA bundle is about 0.2 MiB
MAX_CERTIFICATE_BYTES = 1024 * 1024  # one DER certificate; real ones are a few KiB
MAX_ELEMENTS = 20000  # DER elements read from one certificate (a real one has a few hundred)

# Short names of the attributes seen in certificate names (RFC 4514 plus the usual extras); ca_trust's
# display names use them too.
ATTRIBUTE_NAMES = {
    "2.5.4.3": "CN",
    "2.5.4.5": "serialNumber",
    "2.5.4.6": "C",
    "2.5.4.7": "L",
    "2.5.4.8": "ST",
    "2.5.4.9": "street",
    "2.5.4.10": "O",
    "2.5.4.11": "OU",
    "2.5.4.12": "title",
    "2.5.4.46": "dnQualifier",
    "0.9.2342.19200300.100.1.1": "UID",
    "0.9.2342.19200300.100.1.25": "DC",
    "1.2.840.113549.1.9.1": "emailAddress",
}

_OID_SAN = "2.5.29.17"
_OID_BASIC_CONSTRAINTS = "2.5.29.19"
_OID_KEY_USAGE = "2.5.29.15"
_OID_SKI = "2.5.29.14"
_OID_AKI = "2.5.29.35"


class X509Error(ValueError):
    """The bytes are not a certificate this reader understands."""


def check_size(data, what="the input"):
    """Refuse input larger than the reader takes, before any work is done on it."""
    if len(data) > MAX_INPUT_BYTES:
        raise X509Error(
            f"{what} is {len(data)} bytes; the certificate reader takes at most {MAX_INPUT_BYTES // (1024 * 1024)} MiB. "
            "Give the CA certificate or bundle itself, not a larger file"
        )


def _tlv(data, pos, end=None):
    """Read one DER tag-length-value at ``pos``; return ``(tag, value_start, value_end)``."""
    if end is None:
        end = len(data)
    if pos + 2 > end:
        raise X509Error("truncated DER element")
    tag = data[pos]
    if tag & 0x1F == 0x1F:
        raise X509Error("high-numbered DER tags are not used in certificates")
    length = data[pos + 1]
    pos += 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or pos + count > end:
            raise X509Error("invalid DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    if pos + length > end:
        raise X509Error("DER element runs past its container")
    return tag, pos, pos + length


class _Budget:
    """How many DER elements one certificate may still hold; bounds time and memory on crafted input."""

    __slots__ = ("left",)

    def __init__(self, count):
        self.left = count


def _children(data, start, end, budget=None):
    """Yield ``(tag, value_start, value_end)`` for every element between ``start`` and ``end``."""
    pos = start
    while pos < end:
        tag, vstart, vend = _tlv(data, pos, end)
        if budget is not None:
            budget.left -= 1
            if budget.left < 0:
                raise X509Error(
                    f"the certificate holds more than {MAX_ELEMENTS} DER elements; real certificates hold a few "
                    "hundred, so this one is damaged or crafted"
                )
        yield tag, vstart, vend
        pos = vend


def _oid(raw):
    """Dotted text of an OID's content octets (X.690 8.19).

    The first subidentifier encodes the first two arcs as ``40 * first + second`` and may span several octets:
    with first arc 2 the second arc is not bounded (``2.999.1`` is ``88 37 01``, first subidentifier 1079).
    """
    if not raw:
        raise X509Error("empty OID")
    if len(raw) > 128:
        raise X509Error("OID longer than 128 octets")
    values = []
    value = 0
    started = False
    for byte in raw:
        if not started and byte == 0x80:
            raise X509Error("OID subidentifier with a leading 0x80 octet")
        value = (value << 7) | (byte & 0x7F)
        started = True
        if not byte & 0x80:
            values.append(value)
            value = 0
            started = False
    if started:
        raise X509Error("truncated OID")
    first = values[0]
    if first < 80:
        arcs = [first // 40, first % 40]
    else:
        arcs = [2, first - 80]
    arcs.extend(values[1:])
    return ".".join(str(arc) for arc in arcs)


def _string(tag, raw):
    if tag == 0x1E:  # BMPString
        return raw.decode("utf-16-be", "replace")
    if tag == 0x1C:  # UniversalString
        return raw.decode("utf-32-be", "replace")
    if tag == 0x14:  # T61String: treated as Latin-1, as OpenSSL prints it
        return raw.decode("latin-1")
    return raw.decode("utf-8", "replace")


def _time(tag, raw):
    text = raw.decode("ascii", "replace")
    if tag == 0x17 and len(text) == 13:  # UTCTime, YYMMDDHHMMSSZ
        year = int(text[0:2])
        # RFC 5280: two-digit years 50-99 are 19xx, 00-49 are 20xx.
        year += 1900 if year >= 50 else 2000
        rest = text[2:12]
    elif tag == 0x18 and len(text) == 15:  # GeneralizedTime, YYYYMMDDHHMMSSZ
        year = int(text[0:4]) if text[0:4].isdigit() else -1
        rest = text[4:14]
    else:
        raise X509Error(f"invalid certificate time {text!r}")
    if not text.endswith("Z") or not text[:-1].isdigit() or not rest.isdigit() or year < 0:
        raise X509Error(f"invalid certificate time {text!r}")
    try:
        return datetime.datetime(
            year, int(rest[0:2]), int(rest[2:4]), int(rest[4:6]), int(rest[6:8]), int(rest[8:10]), tzinfo=UTC
        )
    except ValueError as exc:
        raise X509Error(f"invalid certificate time {text!r}") from exc


_RFC4514_SPECIAL = re.compile(r'[,+"\\<>;\x00]|^[# ]| $')


def _escape_rfc4514(value):
    if not _RFC4514_SPECIAL.search(value):
        return value
    out = []
    for index, char in enumerate(value):
        if char in ',+"\\<>;' or (char == "#" and index == 0) or (char == " " and index in (0, len(value) - 1)):
            out.append("\\" + char)
        elif char == "\x00":
            out.append("\\00")
        else:
            out.append(char)
    return "".join(out)


def _name(data, start, end, budget=None):
    """Return ``(rfc4514_string, comparison_key, rdns)`` for a Name.

    ``rdns`` is the Name as read: a tuple of RDNs in DER order, each a tuple of ``(oid, value)``.
    """
    rdns = []
    for _tag, sstart, send in _children(data, start, end, budget):  # SET per RDN
        attrs = []
        for _t, astart, aend in _children(data, sstart, send, budget):  # AttributeTypeAndValue
            parts = list(_children(data, astart, aend, budget))
            if len(parts) != 2 or parts[0][0] != 0x06:
                raise X509Error("invalid attribute in a certificate name")
            oid = _oid(data[parts[0][1] : parts[0][2]])
            vtag, vstart, vend = parts[1]
            attrs.append((oid, _string(vtag, data[vstart:vend])))
        rdns.append(tuple(attrs))
    text = ",".join(
        "+".join(f"{ATTRIBUTE_NAMES.get(oid, oid)}={_escape_rfc4514(value)}" for oid, value in rdn)
        for rdn in reversed(rdns)
    )
    # OpenSSL compares names canonically: case-insensitive, inner whitespace collapsed.
    key = tuple(tuple(sorted((oid, " ".join(value.split()).casefold()) for oid, value in rdn)) for rdn in rdns)
    return text, key, tuple(rdns)


def _format_ip(raw):
    if len(raw) == 4:
        return ".".join(str(b) for b in raw)
    if len(raw) == 16:
        return str(ipaddress.IPv6Address(raw))
    return binascii.hexlify(raw).decode("ascii")


class Certificate:
    """What the diagnosis needs to know about one certificate."""

    def __init__(self, der):
        if len(der) > MAX_CERTIFICATE_BYTES:
            raise X509Error(
                f"the certificate is {len(der)} bytes; the reader takes at most {MAX_CERTIFICATE_BYTES // 1024} KiB "
                "per certificate (real ones are a few KiB), so this one is damaged or crafted"
            )
        self.der = bytes(der)
        self._budget = _Budget(MAX_ELEMENTS)
        self.sha256 = hashlib.sha256(self.der).hexdigest().upper()
        self.san_dns = []
        self.san_ip = []
        self.is_ca = False
        self.path_len = None
        self.key_cert_sign = None  # None: no keyUsage extension
        self.ski = None
        self.aki = None
        try:
            self._parse()
        except X509Error:
            raise
        except (IndexError, ValueError) as exc:  # UnicodeDecodeError is a ValueError
            raise X509Error(f"malformed certificate ({exc})") from exc

    @property
    def sha1(self):
        """SHA-1 thumbprint (Windows certificate stores name certificates by it)."""
        return hashlib.sha1(self.der).hexdigest().upper()  # noqa: S324 - a thumbprint, not a security decision

    def _parse(self):
        data = self.der
        tag, start, end = _tlv(data, 0)
        if tag != 0x30 or end != len(data):
            raise X509Error("not a DER certificate (outer SEQUENCE expected)")
        elements = list(_children(data, start, end, self._budget))
        if len(elements) != 3 or elements[0][0] != 0x30:
            raise X509Error("not a DER certificate (tbsCertificate, algorithm, signature expected)")
        tbs = list(_children(data, elements[0][1], elements[0][2], self._budget))
        index = 1 if tbs and tbs[0][0] == 0xA0 else 0  # optional [0] version
        if len(tbs) < index + 6:
            raise X509Error("truncated tbsCertificate")
        _serial, sigalg, issuer, validity, subject, _spki = tbs[index : index + 6]
        # The elements of a SEQUENCE are contiguous: each Name's TLV starts where the element before it ends.
        self.issuer_der = data[sigalg[2] : issuer[2]]
        self.subject_der = data[validity[2] : subject[2]]
        self.issuer, self.issuer_key, self.issuer_rdns = _name(data, issuer[1], issuer[2], self._budget)
        self.subject, self.subject_key, self.subject_rdns = _name(data, subject[1], subject[2], self._budget)
        times = list(_children(data, validity[1], validity[2], self._budget))
        if len(times) != 2:
            raise X509Error("invalid validity")
        self.not_before = _time(times[0][0], data[times[0][1] : times[0][2]])
        self.not_after = _time(times[1][0], data[times[1][1] : times[1][2]])
        for tag, estart, eend in tbs[index + 6 :]:
            if tag == 0xA3:  # [3] extensions
                seq = list(_children(data, estart, eend, self._budget))
                if len(seq) != 1 or seq[0][0] != 0x30:
                    raise X509Error("extensions must be one SEQUENCE")
                for _t, xstart, xend in _children(data, seq[0][1], seq[0][2], self._budget):
                    self._extension(data, xstart, xend)

    def _extension(self, data, start, end):
        parts = list(_children(data, start, end, self._budget))
        if len(parts) < 2 or parts[0][0] != 0x06:
            raise X509Error("invalid extension")
        oid = _oid(data[parts[0][1] : parts[0][2]])
        vtag, vstart, vend = parts[-1]  # extnValue OCTET STRING (critical BOOLEAN may sit between)
        if vtag != 0x04:
            raise X509Error("extension value is not an OCTET STRING")
        if oid == _OID_SAN:
            _t, sstart, send = _tlv(data, vstart, vend)
            for gtag, gstart, gend in _children(data, sstart, send, self._budget):
                if gtag == 0x82:  # [2] dNSName
                    self.san_dns.append(data[gstart:gend].decode("ascii", "replace"))
                elif gtag == 0x87:  # [7] iPAddress
                    self.san_ip.append(_format_ip(data[gstart:gend]))
        elif oid == _OID_BASIC_CONSTRAINTS:
            _t, sstart, send = _tlv(data, vstart, vend)
            for btag, bstart, bend in _children(data, sstart, send, self._budget):
                if btag == 0x01:
                    self.is_ca = data[bstart:bend] != b"\x00"
                elif btag == 0x02:
                    self.path_len = int.from_bytes(data[bstart:bend], "big")
        elif oid == _OID_KEY_USAGE:
            ktag, kstart, kend = _tlv(data, vstart, vend)
            if ktag != 0x03:
                raise X509Error("keyUsage is not a BIT STRING")
            bits = data[kstart + 1 : kend]  # first byte: count of unused bits
            self.key_cert_sign = bool(bits) and bool(bits[0] & 0x04)  # bit 5, keyCertSign
        elif oid == _OID_SKI:
            _t, kstart, kend = _tlv(data, vstart, vend)
            self.ski = binascii.hexlify(data[kstart:kend]).decode("ascii").upper()
        elif oid == _OID_AKI:
            _t, sstart, send = _tlv(data, vstart, vend)
            for atag, astart, aend in _children(data, sstart, send, self._budget):
                if atag == 0x80:  # [0] keyIdentifier
                    self.aki = binascii.hexlify(data[astart:aend]).decode("ascii").upper()

    @property
    def self_issued(self):
        return self.subject_key == self.issuer_key

    @property
    def self_signed(self):
        """Self-issued and, where both key identifiers exist, naming its own key as issuer key.

        Without a signature check this is what OpenSSL's chain builder also looks at first.
        """
        return self.self_issued and (self.aki is None or self.ski is None or self.aki == self.ski)

    @property
    def self_issued_exact(self):
        """Subject and issuer Name are the same bytes (stricter than OpenSSL's canonical comparison)."""
        return self.subject_der == self.issuer_der

    @property
    def can_sign_certificates(self):
        """basicConstraints CA:TRUE and, when keyUsage is present, keyCertSign."""
        return self.is_ca and self.key_cert_sign is not False

    def issued(self, child):
        """True when this certificate's name (and key id, when both are known) is ``child``'s issuer."""
        if self.subject_key != child.issuer_key:
            return False
        return child.aki is None or self.ski is None or child.aki == self.ski

    def days_left(self, now):
        return (self.not_after - now).total_seconds() / 86400.0

    def pem(self):
        body = base64.b64encode(self.der).decode("ascii")
        lines = [body[i : i + 64] for i in range(0, len(body), 64)]
        return "-----BEGIN CERTIFICATE-----\n{}\n-----END CERTIFICATE-----\n".format("\n".join(lines))

    def to_dict(self):
        return {
            "subject": self.subject,
            "issuer": self.issuer,
            "not_before": self.not_before.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "not_after": self.not_after.strftime("%Y-%m-%dT%H:%M:%SZ"),
            "sha256": self.sha256,
            "is_ca": self.is_ca,
            "san": ["DNS:" + name for name in self.san_dns] + ["IP:" + ip for ip in self.san_ip],
        }


def _pem_walk(data):
    """Yield ``(label, body_start, body_end)`` for every complete PEM block, then ``(label, None, None)`` for every
    BEGIN line that no matching END line follows. One pass; the bodies are not copied here."""
    check_size(data)
    open_label = None
    open_end = 0
    for mark in _PEM_MARK_RE.finditer(data):
        kind, label = mark.group(1), mark.group(2)
        if kind == b"BEGIN":
            if open_label is not None:
                yield open_label, None, None
            open_label, open_end = label, mark.end()
        elif open_label == label:
            yield label, open_end, mark.start()
            open_label = None
    if open_label is not None:
        yield open_label, None, None


def pem_scan(data):
    """Scan PEM text (bytes) once; return ``(blocks, unterminated)``.

    ``blocks`` is a list of ``(label, body)`` for every complete block in file order (``body`` is the base64 text
    between the lines, whitespace included); ``unterminated`` lists the labels of BEGIN lines that no matching END
    line follows (a truncated file). Time is linear in ``len(data)``: the marker lines are found in one pass and
    paired as they come.
    """
    blocks = []
    unterminated = []
    for label, start, end in _pem_walk(data):
        if start is None:
            unterminated.append(label)
        else:
            blocks.append((label, data[start:end]))
    return blocks, unterminated


def has_private_key(data):
    """True when ``data`` (bytes) holds a PEM private key BEGIN line of any kind (complete block or not)."""
    return any(label.endswith(b"PRIVATE KEY") for kind, label in _pem_marks(data) if kind == b"BEGIN")


def _pem_marks(data):
    check_size(data)
    return [(m.group(1), m.group(2)) for m in _PEM_MARK_RE.finditer(data)]


def pem_certificate_bodies(data):
    """The base64 bodies (bytes, whitespace included) of the CERTIFICATE blocks of ``data``, in file order."""
    return [body.strip() for label, body in pem_scan(data)[0] if label in CERTIFICATE_LABELS]


def decode_pem_body(body):
    """DER bytes of one PEM block body; X509Error when the base64 is damaged."""
    try:
        return base64.b64decode(b"".join(body.split()), validate=True)
    except (binascii.Error, ValueError) as exc:
        raise X509Error("a PEM certificate block is not valid base64") from exc


def certificates_from_pem(data):
    """Return the certificates of a PEM bundle (bytes), in file order."""
    return [
        Certificate(decode_pem_body(data[start:end]))
        for label, start, end in _pem_walk(data)
        if start is not None and label in CERTIFICATE_LABELS
    ]
