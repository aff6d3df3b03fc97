# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The optional tables of config.toml: [agent] (env, registry credentials), [moby_runtime], EST issuance
([edge_ca] method = "est", [cert_issuance.est], an EST-issued identity certificate) and the OS host name rule.

Runs on the gateway: standard library only. Field names follow the upstream structs:
Azure/iotedge ``edgelet/iotedge/src/config/super_config.rs`` (``agent`` is edgelet_settings' ModuleSpec with
``env: BTreeMap<String, String>`` and ``config.auth`` docker's AuthConfig; ``MobyRuntime { uri, network }``
with both required) and Azure/iot-identity-service ``aziotctl-common/src/config/super_config.rs``
(``CertIssuanceOptions``, ``Est { trusted_certs, auth, urls }``, ``EstAuth { username, password }`` flattened
beside the untagged ``EstAuthX509`` identity or bootstrap identity). Rendering helpers return TOML lines.
"""

from __future__ import annotations

import re
from urllib.parse import urlparse

from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import os_hostname_problem

UPSTREAM_PROTOCOLS = ("Amqp", "AmqpWs", "Mqtt", "MqttWs")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*$")
_NETWORK_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")
EST_AUTH_PAIRS = (
    ("username", "password"),
    ("identity_cert", "identity_pk"),
    ("bootstrap_identity_cert", "bootstrap_identity_pk"),
)
EST_AUTH_KEYS = tuple(key for pair in EST_AUTH_PAIRS for key in pair)
EST_AUTH_FILES = EST_AUTH_KEYS[2:]


# Units that aziot-certd accepts in a renewal policy (cert-renewal policy.rs); anything else fails
# `iotedge config apply` with "bad units for policy".
_POLICY = re.compile(r"^([0-9]+)(%|min|day)$")


class IotEdgeConfigError(Exception):
    """Invalid input for config.toml; the message says what is wrong and how to fix it."""


def validate_policy(value, option):
    match = _POLICY.match(value or "")
    if not match:
        raise IotEdgeConfigError(
            f"{option} '{value}' has units IoT Edge does not accept ('bad units for policy' at apply time); "
            "use a share of the certificate lifetime such as '80%', minutes such as '30min', or days such as '7day'"
        )
    number = int(match.group(1))
    if match.group(2) == "%" and not 0 < number < 100:
        raise IotEdgeConfigError(f"{option} '{value}' must be a percentage between 1% and 99%, for example '80%'")
    if number == 0:
        raise IotEdgeConfigError(f"{option} '{value}' must be greater than zero, for example '80%', '30min' or '7day'")


def url_problem(value, option, schemes):
    """None when ``value`` is a URL with one of ``schemes`` and a host, else what to fix (never echoes userinfo)."""
    shown = "the URL" if "@" in str(value) else f"'{value}'"
    try:
        parsed = urlparse(str(value or ""))
        host = parsed.hostname
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        host = None
    if parsed.scheme not in schemes:
        return f"{option} {shown} is not an " + " or ".join(f"{s}://" for s in schemes) + " URL; give the whole URL"
    if not host:
        return f"{option} {shown} has no host name (or a bad port); give the whole URL with its host"
    return None


# ---- [agent] -----------------------------------------------------------------------------------


def env_entries(entries, option):
    """Environment variables of an IoT Edge module as name -> string (config.toml's [agent.env] and the
    manifest's ``env`` both hold strings only); refuses names that are not variable names and values that
    are not scalars."""
    if not isinstance(entries, dict):
        raise IotEdgeConfigError(
            f"{option} must be a mapping of variable name to value, e.g. {{RuntimeLogLevel: debug}}"
        )
    env = {}
    for name, value in entries.items():
        if not isinstance(name, str) or not _ENV_NAME.match(name):
            raise IotEdgeConfigError(
                f"{option} name '{name}' is not an environment variable name; use letters, digits and '_', "
                "e.g. https_proxy or UpstreamProtocol"
            )
        if isinstance(value, bool) or value is None or isinstance(value, (dict, list)):
            raise IotEdgeConfigError(
                f"{option} {name} must be a string (IoT Edge reads environment values as strings only); quote the "
                'value, e.g. "true" or "8080"'
            )
        env[name] = str(value)
    return env


def agent_env(params):
    """The [agent.env] entries: agent_env plus https_proxy / upstream_protocol, values as strings."""
    env = env_entries(params.get("agent_env") or {}, "agent_env")
    proxy = params.get("https_proxy")
    if proxy:
        problem = url_problem(proxy, "https_proxy", ("http", "https"))
        if problem:
            raise IotEdgeConfigError(problem + ", e.g. http://proxy.site-a.example:3128")
        if env.get("https_proxy", proxy) != proxy:
            raise IotEdgeConfigError("https_proxy and agent_env.https_proxy differ; set the proxy in one of them")
        env["https_proxy"] = proxy
    protocol = params.get("upstream_protocol")
    if protocol:
        if protocol not in UPSTREAM_PROTOCOLS:
            raise IotEdgeConfigError(
                f"upstream_protocol '{protocol}' is unknown; use one of " + ", ".join(UPSTREAM_PROTOCOLS)
            )
        if env.get("UpstreamProtocol", protocol) != protocol:
            raise IotEdgeConfigError(
                "upstream_protocol and agent_env.UpstreamProtocol differ; set the protocol in one of them"
            )
        env["UpstreamProtocol"] = protocol
    if proxy:
        # edgeAgent reaches IoT Hub through an HTTPS proxy only over WebSockets (port 443)
        env.setdefault("UpstreamProtocol", "AmqpWs")
    if proxy and env["UpstreamProtocol"] not in ("AmqpWs", "MqttWs"):
        raise IotEdgeConfigError(
            f"https_proxy is set but UpstreamProtocol is {env['UpstreamProtocol']}: an HTTPS proxy carries only "
            "WebSocket traffic on 443, so edgeAgent could not reach IoT Hub. Set upstream_protocol: AmqpWs (or MqttWs)"
        )
    return env


def validate_agent(params):
    env = agent_env(params)
    auth = params.get("agent_registry_auth")
    if (env or auth) and not params.get("agent_image"):
        raise IotEdgeConfigError(
            "agent_env, https_proxy, upstream_protocol and agent_registry_auth go into IoT Edge's [agent] table, "
            "which also needs the image; set agent_image, e.g. mcr.microsoft.com/azureiotedge-agent:1.5"
        )
    if auth:
        missing = [key for key in ("serveraddress", "username", "password") if not auth.get(key)]
        if missing:
            raise IotEdgeConfigError(
                "agent_registry_auth needs " + ", ".join(missing) + "; give the registry's address (e.g. "
                "myregistry.azurecr.io), a user name and its password or token"
            )
        if "/" in auth["serveraddress"] or "://" in auth["serveraddress"]:
            raise IotEdgeConfigError(
                f"agent_registry_auth.serveraddress '{auth['serveraddress']}' is a URL or path; give the registry "
                "host (and port) only, e.g. myregistry.azurecr.io"
            )


def render_agent(params, line, toml_string):
    if not params.get("agent_image"):
        return []
    lines = [
        "",
        "[agent]",
        line("name", "edgeAgent"),
        line("type", "docker"),
        "",
        "[agent.config]",
        line("image", params["agent_image"]),
    ]
    auth = params.get("agent_registry_auth")
    if auth:
        lines += ["", "[agent.config.auth]"] + [
            line(key, auth[key]) for key in ("serveraddress", "username", "password")
        ]
    env = agent_env(params)
    if env:
        lines += ["", "[agent.env]"] + [f"{toml_string(name)} = {toml_string(env[name])}" for name in sorted(env)]
    return lines


# ---- [moby_runtime] ------------------------------------------------------------------------------


def validate_moby_runtime(params):
    moby = params.get("moby_runtime")
    if not moby:
        return
    missing = [key for key in ("uri", "network") if not moby.get(key)]
    if missing:
        raise IotEdgeConfigError(
            "moby_runtime needs both uri and network (IoT Edge requires both once [moby_runtime] exists); lacking "
            + ", ".join(missing)
            + ". The package defaults are uri unix:///var/run/docker.sock and network azure-iot-edge"
        )
    parsed = urlparse(moby["uri"])
    if parsed.scheme == "unix":
        if not parsed.path.startswith("/") or parsed.netloc:
            raise IotEdgeConfigError(
                f"moby_runtime.uri '{moby['uri']}' must name the socket by absolute path, e.g. unix:///var/run/docker.sock"
            )
    elif url_problem(moby["uri"], "moby_runtime.uri", ("tcp", "http", "https")):
        raise IotEdgeConfigError(
            f"moby_runtime.uri '{moby['uri']}' is not a unix:///<socket> or tcp://<host>:<port> URL; use e.g. "
            "unix:///var/run/docker.sock"
        )
    if not _NETWORK_NAME.match(moby["network"]):
        raise IotEdgeConfigError(
            f"moby_runtime.network '{moby['network']}' is not a container network name; use letters, digits, '_', "
            "'.' or '-', e.g. azure-iot-edge"
        )


def render_moby_runtime(params, line):
    moby = params.get("moby_runtime")
    if not moby:
        return []
    return ["", "[moby_runtime]", line("uri", moby["uri"]), line("network", moby["network"])]


# ---- EST -----------------------------------------------------------------------------------------


def validate_est_auth(auth, option, isabs):
    """Username with password, and at most one X.509 identity (identity or bootstrap), each cert with its key."""
    for first, second in EST_AUTH_PAIRS:
        if bool(auth.get(first)) != bool(auth.get(second)):
            raise IotEdgeConfigError(f"{option}.{first} and {option}.{second} go together; set both or neither")
    if auth.get("identity_cert") and auth.get("bootstrap_identity_cert"):
        raise IotEdgeConfigError(
            f"{option} has both identity_cert and bootstrap_identity_cert; IoT Edge takes one: the EST identity "
            "certificate already on the device, or the bootstrap certificate it uses to request one"
        )
    for key in EST_AUTH_FILES:
        if auth.get(key) and not isabs(auth[key]):
            raise IotEdgeConfigError(
                f"{option}.{key} '{auth[key]}' is not an absolute path; give the full path on the gateway"
            )


def _has_auth(auth):
    return any((auth or {}).get(key) for key in EST_AUTH_KEYS)


def validate_est(params, isabs):
    est = params.get("est") or {}
    edge_ca = params.get("edge_ca_est")
    identity = params.get("identity_cert_est")
    users = [name for name in ("edge_ca_est", "identity_cert_est") if params.get(name)]
    if est and not users:
        raise IotEdgeConfigError(
            "est sets [cert_issuance.est], which only certificates issued by EST use; set edge_ca_est or "
            "identity_cert_est, or remove est"
        )
    if est:
        validate_est_auth(est, "est", isabs)
        for path in est.get("trusted_certs") or []:
            if not isabs(path):
                raise IotEdgeConfigError(
                    f"est.trusted_certs '{path}' is not an absolute path; give the full path on the gateway"
                )
        if est.get("url"):
            problem = url_problem(est["url"], "est.url", ("https", "http"))
            if problem:
                raise IotEdgeConfigError(problem + ", e.g. https://est.site-a.example/.well-known/est")
    for name in users:
        table = params[name]
        if table.get("url"):
            problem = url_problem(table["url"], f"{name}.url", ("https", "http"))
            if problem:
                raise IotEdgeConfigError(problem + ", e.g. https://est.site-a.example/.well-known/est")
        elif not est.get("url"):
            raise IotEdgeConfigError(
                f"{name} has no EST server: set {name}.url, or est.url (the default URL, [cert_issuance.est.urls])"
            )
    if edge_ca:
        validate_est_auth(edge_ca, "edge_ca_est", isabs)
        if edge_ca.get("common_name") and edge_ca["common_name"] == params.get("hostname"):
            raise IotEdgeConfigError(
                f"edge_ca_est.common_name equals the gateway hostname '{params['hostname']}'; clients reject the chain "
                f"of edgeHub's certificate. Use a distinct name such as '{params['hostname']}.ca'"
            )
    if identity:
        renew = identity.get("auto_renew")
        if renew:
            validate_renewal(renew, "identity_cert_est.auto_renew")


def validate_renewal(renew, option):
    validate_policy(renew.get("threshold"), f"{option}.threshold")
    validate_policy(renew.get("retry"), f"{option}.retry")


def _auth_lines(auth, line, file_uri):
    lines = []
    for key in EST_AUTH_KEYS:
        if auth.get(key):
            lines.append(line(key, file_uri(auth[key]) if key in EST_AUTH_FILES else auth[key]))
    return lines


def renew_lines(table, renew, line):
    return [
        "",
        f"[{table}.auto_renew]",
        line("rotate_key", bool(renew.get("rotate_key", True))),
        line("threshold", renew["threshold"]),
        line("retry", renew["retry"]),
    ]


def render_edge_ca_est(params, line, file_uri):
    """[edge_ca] method = "est": the Issued variant of the untagged EdgeCa enum (tried first)."""
    edge_ca = params["edge_ca_est"]
    lines = ["", "[edge_ca]", line("method", "est")]
    if edge_ca.get("common_name"):
        lines.append(line("common_name", edge_ca["common_name"]))
    if edge_ca.get("url"):
        lines.append(line("url", edge_ca["url"]))
    return lines + _auth_lines(edge_ca, line, file_uri)


def render_identity_est(table, params, line):
    """An identity certificate issued by EST: X509Identity::Issued, a table in place of the identity_cert URL."""
    identity = params["identity_cert_est"]
    lines = ["", f"[{table}.identity_cert]", line("method", "est")]
    if identity.get("common_name"):
        lines.append(line("common_name", identity["common_name"]))
    if identity.get("url"):
        lines.append(line("url", identity["url"]))
    if identity.get("auto_renew"):
        lines += renew_lines(f"{table}.identity_cert", identity["auto_renew"], line)
    return lines


def render_cert_issuance_est(params, line, toml_string, file_uri):
    est = params.get("est")
    if not est:
        return []
    lines = ["", "[cert_issuance.est]"]
    trusted = est.get("trusted_certs") or []
    if trusted:
        lines.append("trusted_certs = [" + ", ".join(toml_string(file_uri(p)) for p in trusted) + "]")
    auth = _auth_lines(est, line, file_uri)
    if auth:
        lines += ["", "[cert_issuance.est.auth]", *auth]
    if est.get("url"):
        lines += ["", "[cert_issuance.est.urls]", line("default", est["url"])]
    return lines


def est_files(params):
    """(option, path) of the files the EST options refer to."""
    files = []
    for name in ("edge_ca_est", "est"):
        table = params.get(name) or {}
        files += [(f"{name}.{key}", table[key]) for key in EST_AUTH_FILES if table.get(key)]
    trusted = (params.get("est") or {}).get("trusted_certs") or []
    files += [(f"est.trusted_certs[{index}]", path) for index, path in enumerate(trusted)]
    return files


# ---- the OS host name ------------------------------------------------------------------------------


def validate_os_hostname(params):
    """``iotedge check`` (aziotctl checks/hostname.rs): hostname equals the OS host name or starts with it and '.'."""
    problem = os_hostname_problem(params.get("hostname"), params.get("os_hostname"))
    if problem:
        raise IotEdgeConfigError(problem)
