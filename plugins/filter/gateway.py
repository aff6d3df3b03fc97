# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the gateway role; the manifest logic lives in module_utils/_gateway.py."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.module_utils._gateway import (
    GATEWAY_PORTS,
    GatewayError,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._gateway import (
    deployment_manifest as _deployment_manifest,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._gateway import (
    downstream_connection_string as _downstream_connection_string,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import (
    hostname_problem as _hostname_problem,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import (
    os_hostname_problem as _os_hostname_problem,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_files import (
    FileCheckError,
    check_edge_ca,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._x509 import (
    X509Error,
    certificates_from_pem,
)


def deployment_manifest(
    version="",
    routes=None,
    modules=None,
    registry="mcr.microsoft.com",
    ttl=7200,
    ports=None,
    runtime_version=None,
    hub_env=None,
    agent_env=None,
    hub_storage=None,
    registry_credentials=None,
):
    try:
        return _deployment_manifest(
            version=version,
            routes=routes,
            modules=modules,
            registry=registry,
            store_and_forward_ttl=ttl,
            ports=GATEWAY_PORTS if ports is None else ports,
            runtime_version=runtime_version,
            hub_env=hub_env,
            agent_env=agent_env,
            hub_storage=hub_storage,
            registry_credentials=registry_credentials,
        )
    except GatewayError as exc:
        # never chain the original exception: registry credentials are among the arguments
        raise AnsibleFilterError(f"deployment_manifest: {exc}") from None


def downstream_connection_string(connection_string, gateway_hostname):
    try:
        return _downstream_connection_string(connection_string, gateway_hostname)
    except GatewayError as exc:
        # never chain the original exception: its context could carry the secret
        raise AnsibleFilterError(f"downstream_connection_string: {exc}") from None


def downstream_files(downstream, directory, gateway_hostname, connection_strings=None):
    """The files of the downstream devices' connection settings, as edgeops.gateway.device_files takes them.

    ``downstream`` maps each device to its settings; a device with a connection string in ``connection_strings``
    gets it (through the gateway) in its file, which is then marked secret. Every file is mode 0600 and holds
    the settings as indented JSON with sorted keys, as ``to_nice_json(sort_keys=true)`` writes them.
    """
    connection_strings = connection_strings or {}
    files = []
    for device in sorted(downstream or {}):
        settings = dict(downstream[device])
        secret = device in connection_strings
        if secret:
            settings["connection_string"] = downstream_connection_string(connection_strings[device], gateway_hostname)
        content = json.dumps(settings, indent=4, sort_keys=True, separators=(",", ": "))
        files.append({"path": f"{directory}/{device}.json", "content": content, "mode": "0600", "secret": secret})
    return files


def hostname_problem(value, what="gateway_hostname", allow_ip=True, os_hostname=None):
    """The collection's host name rule for a role's input: None when valid, else what to fix.

    With ``os_hostname`` (the gateway's OS host name) also the rule of ``iotedge check``.
    """
    return _hostname_problem(value, what, allow_ip=bool(allow_ip)) or _os_hostname_problem(value, os_hostname)


def edge_ca_problem(chain_pem, hostname, trust_bundle_pem=None, name="edge_ca_cert"):
    """The Edge CA checks of iotedge_config on PEM text the controller holds: None when usable, else what to fix."""
    try:
        chain = certificates_from_pem(str(chain_pem).encode("ascii", errors="replace"))
        bundle = None
        if trust_bundle_pem:
            bundle = certificates_from_pem(str(trust_bundle_pem).encode("ascii", errors="replace"))
    except X509Error as exc:
        return f"{name} holds a certificate that cannot be read ({exc}); issue it again"
    if not chain:
        return f"{name} holds no PEM certificate (-----BEGIN CERTIFICATE-----); fix the site PKI"
    try:
        check_edge_ca(chain, name, hostname, bundle or None)
    except FileCheckError as exc:
        return str(exc)
    return None


def _sentence(text):
    """One line without trailing periods, so that the caller can end it with its own."""
    return re.sub(r"[\s.]+$", "", re.sub(r"\s+", " ", str(text or "")).strip())


def gateway_failure_reason(task_name, msg="", hint="", stderr=""):
    """Why a gateway change failed: the failed task's name, its message, hint and stderr, as one sentence."""
    parts = [_sentence(p) for p in (msg, hint, stderr)]
    detail = ". ".join(p for p in parts if p)
    return f"{_sentence(task_name) or 'the change'} failed" + (f": {detail}" if detail else "")


def gateway_failure_message(reason, runtime, host, restored=None):
    """The message a failed gateway ends with: what was rolled back (or that nothing changed), and why.

    ``restored`` holds the files put back: paths, or the task results of the changed files (``dest`` of a copy,
    ``path`` of a device_files row).
    """
    restored = [
        str(p.get("dest") or p.get("path") or "") if isinstance(p, Mapping) else str(p or "") for p in (restored or [])
    ]
    restored = [p for p in restored if p]
    if restored:
        done = "the change was rolled back to the previous configuration and certificates (" + ", ".join(restored) + ")"
    else:
        done = "nothing was changed"
    return f"{runtime} on {host}: {done} because {_sentence(reason)}. Fix the cause and run again."


_STATUS_LINE = re.compile(r"^\s*(aziot-[a-z]+)\s+(\S.*?)\s*$")


def iotedge_daemon_problem(wait_results, status="", logs="", timeout=None):
    """None when every daemon the role waited for is active, else which ones failed and what IoT Edge says.

    ``wait_results`` are the loop results of ``systemctl is-active <daemon>`` (item, rc, stdout); ``status``
    is the output of ``iotedge system status`` and ``logs`` that of ``iotedge system logs``.
    """
    failed = []
    for result in wait_results or []:
        if result.get("skipped"):
            continue
        if result.get("rc", 1) != 0:
            state = _sentence(result.get("stdout") or result.get("stderr") or "no answer") or "no answer"
            failed.append(f"{result.get('item')} ({state})")
    if not failed:
        return None
    not_running = [
        f"{m.group(1)} {m.group(2)}"
        for m in map(_STATUS_LINE.match, str(status or "").splitlines())
        if m and m.group(2) not in ("Running", "Ready")
    ]
    within = f" within {timeout} s" if timeout else ""
    text = (
        f"the IoT Edge daemon{'s' if len(failed) > 1 else ''} {', '.join(failed)} did not come up{within} "
        "after iotedge config apply"
    )
    if not_running:
        text += f"; iotedge system status: {', '.join(not_running)}"
    log_lines = [_sentence(line) for line in str(logs or "").splitlines() if line.strip()][-5:]
    if log_lines:
        text += f"; iotedge system logs: {' | '.join(log_lines)}"
    return text + ". See iotedge system logs and iotedge check on the gateway"


class FilterModule:
    def filters(self):
        return {
            "deployment_manifest": deployment_manifest,
            "downstream_connection_string": downstream_connection_string,
            "downstream_files": downstream_files,
            "hostname_problem": hostname_problem,
            "edge_ca_problem": edge_ca_problem,
            "gateway_failure_reason": gateway_failure_reason,
            "gateway_failure_message": gateway_failure_message,
            "iotedge_daemon_problem": iotedge_daemon_problem,
        }
