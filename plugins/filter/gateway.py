# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the gateway role; the logic lives in module_utils/_gateway.py."""

from __future__ import annotations

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


def hostname_problem(value, what="gateway_hostname", allow_ip=True):
    """The collection's host name rule for a role's input: None when valid, else what to fix."""
    return _hostname_problem(value, what, allow_ip=bool(allow_ip))


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


class FilterModule:
    def filters(self):
        return {
            "deployment_manifest": deployment_manifest,
            "downstream_connection_string": downstream_connection_string,
            "hostname_problem": hostname_problem,
            "edge_ca_problem": edge_ca_problem,
        }
