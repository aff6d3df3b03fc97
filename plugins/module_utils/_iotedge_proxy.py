# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The HTTPS proxy of IoT Edge's daemons and the container engine: systemd drop-ins.

Private to the collection; standard library only (it runs on the gateway). Microsoft's procedure for a
gateway behind a proxy ("Configure an IoT Edge device to communicate through a proxy server") gives
aziot-identityd, aziot-edged and the container engine (docker) the variable ``https_proxy`` in their
service environment (``systemctl edit <unit>``: ``[Service]`` ``Environment=https_proxy=...``). The
files are written through :class:`_io.WritePlan`; the caller reloads systemd and restarts the units
whose drop-in changed.
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote

from ansible_collections.edgeops.gateway.plugins.module_utils._io import read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_mask import mask_secrets
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_options import url_problem

SYSTEMD_DIR = "/etc/systemd/system"
DEFAULT_SERVICES = ("docker", "aziot-identityd", "aziot-edged")
_SERVICE_RE = re.compile(r"^[A-Za-z0-9:_.\\@-]+$")
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
# systemd's quoting in Environment="...": a double quote or backslash would need escapes, and
# white space or control characters have no place in a URL.
_UNSAFE = re.compile(r'["\\\s\x00-\x1f\x7f]')


class ProxyError(Exception):
    """Bad input; nothing was written."""


def validate(state, https_proxy, services, dropin_name):
    """Refuse what cannot become a drop-in, with what to fix (the URL's credentials are never echoed)."""
    if state == "present" and not https_proxy:
        raise ProxyError("https_proxy is empty; give the proxy URL, or state=absent to remove the drop-ins")
    if state == "present":
        problem = url_problem(https_proxy, "https_proxy", ("http", "https"))
        if problem:
            raise ProxyError(problem + ", e.g. http://proxy.site-a.example:3128")
        if _UNSAFE.search(https_proxy):
            raise ProxyError(
                "https_proxy holds a quote, a backslash, white space or a control character; "
                "percent-encode them in the URL (for example %22 for a quote, %20 for a space)"
            )
    if not services:
        raise ProxyError("services is empty; name the units that need the proxy, e.g. docker, aziot-identityd")
    for service in services:
        if not isinstance(service, str) or not _SERVICE_RE.match(service):
            raise ProxyError(f"'{service}' is not a systemd unit name; give names like 'aziot-edged' or 'docker'")
    if not _NAME_RE.match(dropin_name or ""):
        raise ProxyError(
            f"dropin_name '{dropin_name}' is not a file name; use letters, digits, '.', '_' and '-' (without .conf)"
        )


def unit_name(service):
    return service if "." in service else service + ".service"


def dropin_path(systemd_dir, service, dropin_name):
    return os.path.join(systemd_dir, unit_name(service) + ".d", dropin_name + ".conf")


def has_credentials(https_proxy):
    """Whether the URL carries user information (user:password@)."""
    return "@" in (https_proxy or "").split("://", 1)[-1].split("/", 1)[0]


def proxy_secrets(https_proxy):
    """The password of the URL (as written and percent-decoded) and user:password, to mask in output."""
    if not has_credentials(https_proxy):
        return []
    userinfo = https_proxy.split("://", 1)[-1].split("/", 1)[0].rsplit("@", 1)[0]
    password = userinfo.partition(":")[2]
    return [s for s in dict.fromkeys((userinfo, password, unquote(password))) if s]


def dropin_text(https_proxy, unit):
    """The drop-in of one unit. systemd expands specifiers in Environment=, so '%' is written as '%%'."""
    value = https_proxy.replace("%", "%%")
    return (
        f"# Managed by edgeops.gateway iotedge_proxy: the HTTPS proxy of {unit}.\n"
        f'[Service]\nEnvironment="https_proxy={value}"\n'
    ).encode("ascii")


def plan_dropins(plan, state, https_proxy, services, dropin_name, systemd_dir):
    """Record the drop-ins in ``plan``; returns (paths by unit, masked before text, masked after text)."""
    paths, before, after = {}, [], []
    mode = 0o600 if has_credentials(https_proxy) else 0o644
    for service in services:
        unit = unit_name(service)
        path = dropin_path(systemd_dir, service, dropin_name)
        plan.claim(path, f"the proxy drop-in of {unit}")
        paths[unit] = path
        current = read_bytes(path) if os.path.isfile(path) else None
        if current is not None:
            before.append(f"{path}:\n{mask_secrets(current.decode('utf-8', errors='replace'))}")
        if state == "present":
            text = dropin_text(https_proxy, unit)
            plan.write(
                path, text, mode, owner="root", group="root", what=f"the proxy drop-in of {unit}", dir_mode=0o755
            )
            after.append(f"{path}:\n{mask_secrets(text.decode('ascii'))}")
        else:
            plan.remove(path, what=f"the proxy drop-in of {unit}")
    return paths, "".join(before), "".join(after)
