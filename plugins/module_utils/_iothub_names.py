# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""IoT Hub's rules for names: device ids, hub names, thumbprints and the service connection string.

Private to the collection. Each rule is written here once; the hierarchy checks, the plan and its
script use these functions.
"""

from __future__ import annotations

import base64
import binascii
import re
import string

# IoT Hub device id: case-sensitive, up to 128 characters, ASCII 7-bit letters and digits plus
# - : . + % _ # * ? ! ( ) , = @ ; $ '   (IoT Hub's device identity documentation; the same rule is
# repeated in the Event Grid schema of DeviceCreated). A space, a double quote, a slash, a backslash,
# a newline or anything outside ASCII is refused by the hub.
DEVICE_ID_SPECIALS = "-:.+%_#*?!(),=@;$'"
DEVICE_ID_CHARS = frozenset(string.ascii_letters + string.digits + DEVICE_ID_SPECIALS)
DEVICE_ID_MAX = 128
# An IoT Hub name: 3 to 50 characters, letters, digits and hyphens, not ending with a hyphen.
_HUB_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9-]{1,48}[A-Za-z0-9]$")
# A thumbprint as IoT Hub takes it: SHA-1 (40) or SHA-256 (64) hex digits, no colons.
_THUMBPRINT = re.compile(r"^(?:[0-9A-Fa-f]{40}|[0-9A-Fa-f]{64})$")
# The keys of an IoT Hub service (shared access policy) connection string.
HUB_CONNECTION_KEYS = ("HostName", "SharedAccessKeyName", "SharedAccessKey")
HUB_CONNECTION_FORM = "HostName=<hub>.azure-devices.net;SharedAccessKeyName=<policy>;SharedAccessKey=<base64 key>"


class IotHubNameError(Exception):
    """A name or a connection string IoT Hub would refuse; the message says how to fix it."""


def device_id_problem(value, what="the device id"):
    """None when IoT Hub accepts ``value`` as a device id, else what is wrong and how to fix it."""
    if not isinstance(value, str) or not value:
        return f"{what} is empty; IoT Hub needs a device id (set edgeops_device_id or use the inventory name)"
    if len(value) > DEVICE_ID_MAX:
        return f"{what} {value[:40]!r}... has {len(value)} characters; IoT Hub takes at most {DEVICE_ID_MAX}"
    bad = sorted({ch for ch in value if ch not in DEVICE_ID_CHARS})
    if bad:
        shown = ", ".join(repr(ch) for ch in bad)
        return (
            f"{what} {value!r} has characters IoT Hub refuses in a device id ({shown}); use ASCII letters, digits "
            f"and {' '.join(DEVICE_ID_SPECIALS)} only (set edgeops_device_id)"
        )
    return None


def hub_name_problem(value):
    """None when ``value`` is an IoT Hub name (not a host name), else what to fix."""
    if not isinstance(value, str) or not _HUB_NAME.match(value):
        return (
            f"hub_name {value!r} is not an IoT Hub name; give the hub's name (3-50 letters, digits or hyphens), "
            "for example 'contoso-hub' for contoso-hub.azure-devices.net"
        )
    return None


def thumbprint_problem(value, what):
    if not isinstance(value, str) or not _THUMBPRINT.match(value):
        return f"{what} {value!r} is not a SHA-1 or SHA-256 thumbprint (40 or 64 hex digits without colons)"
    return None


def parse_hub_connection_string(value):
    """HostName, SharedAccessKeyName and SharedAccessKey of an IoT Hub service connection string.

    The key is never put in a message. Refuses a device connection string (DeviceId=) with its own hint.
    """
    text = value if isinstance(value, str) else ""
    fields = {}
    for part in text.strip().split(";"):
        if not part:
            continue
        key, sep, val = part.partition("=")
        if not sep or not key:
            raise IotHubNameError(
                f"the IoT Hub connection string is not a list of Key=Value pairs separated by ';'; "
                f"copy it from the hub's shared access policy: {HUB_CONNECTION_FORM}"
            )
        if key in fields:
            raise IotHubNameError(f"the IoT Hub connection string names {key} twice; give each key once")
        fields[key] = val
    if "DeviceId" in fields:
        raise IotHubNameError(
            "the IoT Hub connection string is a device connection string (it has DeviceId); give a connection "
            f"string of a hub shared access policy with registry write rights (iothubowner): {HUB_CONNECTION_FORM}"
        )
    missing = [key for key in HUB_CONNECTION_KEYS if not fields.get(key)]
    if missing:
        raise IotHubNameError(
            f"the IoT Hub connection string lacks {', '.join(missing)}; its form is {HUB_CONNECTION_FORM}"
        )
    host = fields["HostName"]
    if not re.match(r"^[A-Za-z0-9][A-Za-z0-9-]{1,48}[A-Za-z0-9](\.[A-Za-z0-9-]+)+$", host):
        raise IotHubNameError(
            f"HostName {host!r} in the IoT Hub connection string is not a hub host name such as "
            "contoso-hub.azure-devices.net; copy the connection string again"
        )
    try:
        decoded = base64.b64decode(fields["SharedAccessKey"], validate=True)
    except (binascii.Error, ValueError):
        decoded = b""
    if not decoded:
        raise IotHubNameError(
            "SharedAccessKey in the IoT Hub connection string is not base64; copy the policy's primary key again "
            "(it ends with '=' and has no spaces)"
        )
    return {"hostname": host, "hub_name": host.split(".", 1)[0], "policy": fields["SharedAccessKeyName"]}
