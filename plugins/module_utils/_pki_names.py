# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Errors, constants and the checks of names and windows the PKI accepts.

Private to the collection; part of the controller-side PKI, whose module backends are in ``_pki_backends``.
"""

from __future__ import annotations

import datetime
import re

from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import hostname_problem


class PKIError(Exception):
    """A request the PKI cannot fulfil; the message says what failed and how to fix it.

    ``changed`` is true when files were written before the failure.
    """

    def __init__(self, message, changed=False):
        super().__init__(message)
        self.changed = changed


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
# by a few minutes does not see them as "not yet valid" (the modules' backdate_minutes option).
DEFAULT_BACKDATE_MINUTES = 5
BACKDATE = datetime.timedelta(minutes=DEFAULT_BACKDATE_MINUTES)
# The last moment an X.509 time (GeneralizedTime) can hold.
LAST_VALID_MOMENT = datetime.datetime(9999, 12, 31, 23, 59, 59, tzinfo=datetime.UTC)
# IoT Hub device ids: letters, digits and these characters, at most 128 of them.
_DEVICE_ID_RE = re.compile(r"^[A-Za-z0-9\-.%_*?!(),:=@$']{1,128}$")
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


def validate_dns_name(name, what="DNS name"):
    """Refuse a SAN DNS name that is empty, holds spaces or is not ASCII (SANs carry IDNA A-labels)."""
    if not isinstance(name, str) or not name.strip():
        raise PKIError(f"a {what} is empty; remove the empty entry from dns_names or give the name")
    if any(ch.isspace() for ch in name):
        raise PKIError(
            f"the {what} '{name}' holds a space or other whitespace; DNS names cannot. Remove it or split the "
            "entry into one name per list item"
        )
    if not name.isascii():
        try:
            suggestion = name.encode("idna").decode("ascii")
            hint = f" ('{suggestion}')"
        except UnicodeError:
            hint = ""
        raise PKIError(
            f"the {what} '{name}' is not ASCII; certificates carry international names as IDNA A-labels "
            f"(punycode). Give the A-label form{hint}"
        )
    return name


def validate_device_id(device_id, what="device id"):
    """Refuse what IoT Hub refuses as a device id (letters, digits, ``-.%_*?!(),:=@$'``, at most 128)."""
    if not isinstance(device_id, str) or not _DEVICE_ID_RE.match(device_id):
        bad = sorted({ch for ch in str(device_id) if not _DEVICE_ID_RE.match(ch)})
        detail = f" (not allowed: {', '.join(repr(ch) for ch in bad)})" if bad else ""
        raise PKIError(
            f"the {what} {device_id!r} is not an IoT Hub device id{detail}; use 1 to 128 letters, digits and "
            "the characters - . % _ * ? ! ( ) , : = @ $ ' (no spaces), e.g. 'gw-1'"
        )
    return device_id


def parse_backdate(value):
    """``backdate_minutes`` as a timedelta: how far notBefore lies before the moment of issue."""
    if value is None:
        return BACKDATE
    if isinstance(value, bool) or not isinstance(value, int) or value < 0 or value > 525600:
        raise PKIError(f"backdate_minutes must be a whole number of minutes from 0 to 525600 (one year), got {value!r}")
    return datetime.timedelta(minutes=value)


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
