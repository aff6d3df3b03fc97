# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The collection's one rule for a gateway host name.

Private to the collection; standard library only (it runs on the gateway and on the controller).
IoT Edge puts ``hostname`` into the CN and DNS SAN of edgeHub's server certificate, so a name must
fit a common name (at most 64 characters) and be a lower-case RFC 1035 name: dot-separated labels
of letters, digits and hyphens, each starting with a letter, not ending with a hyphen, at most 63
characters. ``config.toml`` also accepts an IP address for ``hostname`` and ``parent_hostname``.
"""

from __future__ import annotations

import ipaddress
import re

MAX_HOSTNAME_LENGTH = 64
_LABEL = re.compile(r"^[a-z]([a-z0-9-]{0,61}[a-z0-9])?$")


def is_ip_address(value):
    try:
        ipaddress.ip_address(value)
    except ValueError:
        return False
    return True


def hostname_problem(value, what="the gateway hostname", allow_ip=False):
    """None when ``value`` is a valid gateway host name, else a message that says how to fix it."""
    if not isinstance(value, str) or not value:
        return f"{what} is empty; set it to the DNS name downstream devices use for the gateway"
    if allow_ip and is_ip_address(value):
        return None
    if value != value.lower():
        return (
            f"{what} '{value}' is not lowercase; IoT Edge and TLS name checks expect the lowercase form. "
            f"Use '{value.lower()}'"
        )
    if len(value) > MAX_HOSTNAME_LENGTH:
        return (
            f"{what} '{value}' is {len(value)} characters long; IoT Edge puts it in a certificate common name, "
            f"which holds at most {MAX_HOSTNAME_LENGTH}: use a shorter DNS name (or a CNAME) for the gateway"
        )
    for label in value.split("."):
        if not _LABEL.match(label):
            return (
                f"{what} '{value}' is not a valid RFC 1035 name (label '{label}'): each dot-separated label must "
                "start with a letter, hold only letters, digits and hyphens, end with a letter or digit and be "
                "at most 63 characters" + ("; an IP address is accepted too" if allow_ip else "")
            )
    return None


def os_hostname_problem(hostname, os_hostname):
    """``iotedge check`` (aziotctl checks/hostname.rs) fails unless ``hostname`` is the OS host name or starts with
    it and a dot (case ignored; an IP address is not compared). None when fine or nothing to compare, else the fix.
    """
    if not os_hostname or not hostname or is_ip_address(hostname):
        return None
    machine, configured = os_hostname.strip().lower(), hostname.lower()
    if configured == machine or configured.startswith(machine + "."):
        return None
    domain = configured.split(".", 1)[1] if "." in configured else "<domain>"
    first = configured.split(".", 1)[0]
    return (
        f"hostname '{hostname}' is neither the gateway's OS host name '{os_hostname.strip()}' nor starts with "
        f"'{machine}.'; 'iotedge check' fails on it. Use a name whose first label is the OS host name, such as "
        f"'{machine}.{domain}', or rename the host to '{first}' (hostnamectl set-hostname {first})"
    )
