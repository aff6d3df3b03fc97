# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validate and render Azure IoT Edge's /etc/aziot/config.toml.

Runs on the gateway itself: standard library only, Python 3.8 syntax, and no TOML parser
(``tomllib`` is Python 3.11+), so the renderer writes TOML itself with strict escaping and a
fixed key order. The unit tests parse every variant back with ``tomllib``.
"""

from __future__ import annotations

import base64
import binascii
import os
from urllib.parse import quote, urlparse

from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import hostname_problem
from ansible_collections.edgeops.gateway.plugins.module_utils._iotedge_options import (
    IotEdgeConfigError,
    est_files,
    render_agent,
    render_cert_issuance_est,
    render_edge_ca_est,
    render_identity_est,
    render_moby_runtime,
    renew_lines,
    validate_agent,
    validate_est,
    validate_moby_runtime,
    validate_os_hostname,
    validate_policy,
)

DEFAULT_GLOBAL_ENDPOINT = "https://global.azure-devices-provisioning.net"

# provisioning variant -> (required options, exactly one of each group, optional options)
_SYMMETRIC_KEY = ("symmetric_key", "symmetric_key_file")
_X509_IDENTITY = ("identity_cert", "identity_cert_est")
PROVISIONING_VARIANTS = {
    "manual_connection_string": (("connection_string",), (), ()),
    "manual_symmetric_key": (("iothub_hostname", "device_id"), (_SYMMETRIC_KEY,), ()),
    "manual_x509": (("iothub_hostname", "device_id"), (_X509_IDENTITY,), ("identity_pk",)),
    "dps_symmetric_key": (("id_scope", "registration_id"), (_SYMMETRIC_KEY,), ("global_endpoint",)),
    "dps_x509": (("id_scope",), (_X509_IDENTITY,), ("identity_pk", "registration_id", "global_endpoint")),
}
PROVISIONING_OPTIONS = (
    "connection_string",
    "iothub_hostname",
    "device_id",
    "identity_cert",
    "identity_pk",
    "identity_cert_est",
    "id_scope",
    "registration_id",
    "symmetric_key",
    "symmetric_key_file",
    "global_endpoint",
)
FILE_OPTIONS = (
    "trust_bundle_cert",
    "edge_ca_cert",
    "edge_ca_pk",
    "identity_cert",
    "identity_pk",
    "symmetric_key_file",
)
REPROVISIONING_MODES = ("Dynamic", "AlwaysOnStartup", "OnErrorOnly")
# Quickstart Edge CA lifetime IoT Edge uses without an [edge_ca] table; the field is a u32.
DEFAULT_EXPIRY_DAYS = 90
MAX_EXPIRY_DAYS = 36500

_CONNECTION_STRING_KEYS = ("HostName", "DeviceId", "SharedAccessKey")


def validate_hostname(value, option):
    """``hostname`` and ``parent_hostname``: the collection's host name rule; config.toml also takes an IP."""
    problem = hostname_problem(value, option, allow_ip=True)
    if problem:
        raise IotEdgeConfigError(problem)


def parse_connection_string(value):
    """HostName, DeviceId and SharedAccessKey as aziotctl reads them (``parse_manual_connection_string``).

    Sections are split at ``;`` and each at its first ``=``; the keys are matched exactly and
    case-sensitively with no trimming (so ``; DeviceId=`` does not name DeviceId), a later
    section wins over an earlier one, and the key must be base64. Never echoes the string.
    """
    parts = {}
    spaced = []
    for section in (value or "").split(";"):
        key, sep, val = section.partition("=")
        if not sep:
            continue
        if key in _CONNECTION_STRING_KEYS:
            parts[key] = val
        elif key.strip() in _CONNECTION_STRING_KEYS:
            spaced.append(key.strip())
    missing = [key for key in _CONNECTION_STRING_KEYS if key not in parts]
    if missing:
        hint = ""
        if spaced:
            hint = (
                " (" + ", ".join(spaced) + " has spaces around it: IoT Edge matches the keys exactly, so write "
                "them with no space after ';')"
            )
        raise IotEdgeConfigError(
            "connection_string lacks " + ", ".join(missing) + hint + "; copy the device's primary connection string "
            "from IoT Hub (HostName=<hub>.azure-devices.net;DeviceId=<id>;SharedAccessKey=<key>)"
        )
    for key in ("HostName", "DeviceId"):
        if not parts[key]:
            raise IotEdgeConfigError(f"connection_string has an empty {key}; copy the connection string from IoT Hub")
    if not is_base64_key(parts["SharedAccessKey"]):
        raise IotEdgeConfigError(
            "the SharedAccessKey of connection_string is not base64 (IoT Edge decodes it and refuses the file); "
            "copy the device's primary key from IoT Hub unchanged"
        )
    return parts


def validate_connection_string(value):
    parse_connection_string(value)


def is_base64_key(value):
    """True for a non-empty standard base64 string with correct padding (what IoT Edge decodes)."""
    if not value or not isinstance(value, str):
        return False
    try:
        return bool(base64.b64decode(value.encode("ascii"), validate=True))
    except (binascii.Error, ValueError):
        return False


def validate_global_endpoint(value):
    parsed = urlparse(value)
    if parsed.scheme != "https":
        raise IotEdgeConfigError(f"global_endpoint '{value}' is not an https:// URL; use {DEFAULT_GLOBAL_ENDPOINT}")
    try:
        host = parsed.hostname
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        host = None
    if not host:
        raise IotEdgeConfigError(
            f"global_endpoint '{value}' has no host name; give the whole URL, e.g. {DEFAULT_GLOBAL_ENDPOINT}"
        )


def validate(params):
    """Validate everything that does not need the file system. Raises IotEdgeConfigError."""
    validate_hostname(params.get("hostname"), "hostname")
    if params.get("parent_hostname"):
        validate_hostname(params["parent_hostname"], "parent_hostname")
    variant = params.get("provisioning")
    if variant not in PROVISIONING_VARIANTS:
        raise IotEdgeConfigError(
            f"provisioning '{variant}' is unknown; use one of " + ", ".join(sorted(PROVISIONING_VARIANTS))
        )
    required, groups, optional = PROVISIONING_VARIANTS[variant]
    missing = [name for name in required if not params.get(name)]
    missing += [" or ".join(group) for group in groups if not any(params.get(name) for name in group)]
    if params.get("identity_cert") and not params.get("identity_pk"):
        missing.append("identity_pk")
    if missing:
        raise IotEdgeConfigError(f"provisioning={variant} needs " + ", ".join(missing) + "; set them")
    for group in groups:
        given = [name for name in group if params.get(name)]
        if len(given) > 1:
            raise IotEdgeConfigError(f"provisioning={variant}: give only one of " + ", ".join(given))
    if params.get("identity_pk") and not params.get("identity_cert"):
        raise IotEdgeConfigError(
            "identity_pk is the key of identity_cert; an identity certificate issued by EST (identity_cert_est) "
            "has its key made on the gateway, so remove identity_pk"
        )
    allowed = required + optional + tuple(name for group in groups for name in group)
    unused = [name for name in PROVISIONING_OPTIONS if params.get(name) and name not in allowed]
    if unused:
        raise IotEdgeConfigError(
            f"provisioning={variant} does not use " + ", ".join(unused) + "; remove them or choose the provisioning "
            "variant they belong to"
        )
    if variant.startswith("dps_") and params.get("parent_hostname"):
        raise IotEdgeConfigError(
            "provisioning by DPS cannot be combined with parent_hostname (IoT Edge: 'DPS provisioning is not "
            "supported in nested mode'); provision a nested gateway manually (manual_connection_string or "
            "manual_x509) or remove parent_hostname"
        )
    if variant == "manual_connection_string":
        validate_connection_string(params["connection_string"])
    if params.get("symmetric_key") and not is_base64_key(params["symmetric_key"]):
        source = (
            "the enrollment's primary key from DPS unchanged (for a group enrollment, the key derived for this "
            "registration id)"
            if variant == "dps_symmetric_key"
            else "the device's primary key from IoT Hub unchanged"
        )
        raise IotEdgeConfigError(
            f"symmetric_key is not base64 (IoT Edge decodes it and refuses the file); copy {source}"
        )
    if params.get("global_endpoint"):
        validate_global_endpoint(params["global_endpoint"])
    if bool(params.get("edge_ca_cert")) != bool(params.get("edge_ca_pk")):
        raise IotEdgeConfigError(
            "edge_ca_cert and edge_ca_pk go together; set both (the Edge CA full chain and its key) or neither "
            "(IoT Edge then creates a quickstart Edge CA)"
        )
    if params.get("edge_ca_est") and params.get("edge_ca_cert"):
        raise IotEdgeConfigError(
            "edge_ca_est and edge_ca_cert are two Edge CAs; give the Edge CA files or let EST issue it, not both"
        )
    renew = params.get("edge_ca_auto_renew")
    if renew:
        if params.get("edge_ca_cert"):
            raise IotEdgeConfigError(
                "edge_ca_auto_renew applies only to an Edge CA that IoT Edge issues itself; a file-based Edge CA "
                "(edge_ca_cert/edge_ca_pk) is never renewed by IoT Edge. Remove edge_ca_auto_renew and renew the "
                "Edge CA with the PKI role, or drop the Edge CA files"
            )
        if not renew.get("rotate_key", True) and not params.get("edge_ca_est"):
            raise IotEdgeConfigError(
                "edge_ca_auto_renew.rotate_key is false, but the quickstart Edge CA IoT Edge makes itself must "
                "rotate its key on renewal; set rotate_key: true, or give a file-based Edge CA (edge_ca_cert and "
                "edge_ca_pk) that the PKI role renews, or an Edge CA issued by EST (edge_ca_est)"
            )
        validate_policy(renew.get("threshold"), "edge_ca_auto_renew.threshold")
        validate_policy(renew.get("retry"), "edge_ca_auto_renew.retry")
    days = params.get("edge_ca_expiry_days")
    if days is not None:
        if params.get("edge_ca_cert"):
            raise IotEdgeConfigError(
                "edge_ca_expiry_days sets the lifetime of the quickstart Edge CA; a file-based Edge CA "
                "(edge_ca_cert/edge_ca_pk) keeps the validity it was issued with. Remove one of them"
            )
        if params.get("edge_ca_est"):
            raise IotEdgeConfigError(
                "edge_ca_expiry_days sets the lifetime of the quickstart Edge CA; IoT Edge ignores it for an Edge CA "
                "issued by EST (the EST server sets the validity). Remove edge_ca_expiry_days"
            )
        if isinstance(days, bool) or not isinstance(days, int) or not 0 < days <= MAX_EXPIRY_DAYS:
            raise IotEdgeConfigError(
                f"edge_ca_expiry_days {days!r} must be a whole number of days from 1 to {MAX_EXPIRY_DAYS}, e.g. 90"
            )
    mode = params.get("auto_reprovisioning_mode")
    if mode and mode not in REPROVISIONING_MODES:
        raise IotEdgeConfigError(
            f"auto_reprovisioning_mode '{mode}' is unknown; use one of " + ", ".join(REPROVISIONING_MODES)
        )
    for name in FILE_OPTIONS:
        path = params.get(name)
        if path and not os.path.isabs(path):
            raise IotEdgeConfigError(
                f"{name} '{path}' is not an absolute path; IoT Edge reads it as a file:// URI, so give the full "
                "path on the gateway, e.g. /var/aziot/certs/root-ca.pem"
            )
    validate_os_hostname(params)
    validate_agent(params)
    validate_moby_runtime(params)
    validate_est(params, os.path.isabs)


def referenced_files(params):
    """(option, path) of every file config.toml refers to."""
    return [(name, params[name]) for name in FILE_OPTIONS if params.get(name)] + est_files(params)


def missing_files(params):
    return [(name, path) for name, path in referenced_files(params) if not os.path.isfile(path)]


def missing_files_message(missing):
    return (
        "config.toml would refer to files that do not exist on the gateway: "
        + ", ".join(f"{name}={path}" for name, path in missing)
        + "; deploy the certificates and keys first (the gateway role copies them from the site PKI) or fix the paths"
    )


def toml_string(value):
    """A TOML basic string: quotes, backslashes and every control character escaped."""
    out = ['"']
    for char in str(value):
        code = ord(char)
        if char == '"':
            out.append('\\"')
        elif char == "\\":
            out.append("\\\\")
        elif char == "\n":
            out.append("\\n")
        elif char == "\t":
            out.append("\\t")
        elif char == "\r":
            out.append("\\r")
        elif code < 0x20 or code == 0x7F:
            out.append(f"\\u{code:04X}")
        else:
            out.append(char)
    out.append('"')
    return "".join(out)


def file_uri(path):
    return "file://" + quote(path, safe="/")


def _line(key, value):
    if isinstance(value, bool):
        return f"{key} = {'true' if value else 'false'}"
    return f"{key} = {toml_string(value)}"


def render(params):
    """Render config.toml from validated params. Deterministic: same input, same bytes."""
    lines = [
        "# Managed by Ansible (edgeops.gateway.iotedge_config): local changes are overwritten.",
        "# Apply with: iotedge config apply",
        "",
        _line("hostname", params["hostname"]),
    ]
    if params.get("parent_hostname"):
        lines.append(_line("parent_hostname", params["parent_hostname"]))
    if params.get("trust_bundle_cert"):
        lines.append(_line("trust_bundle_cert", file_uri(params["trust_bundle_cert"])))
    if params.get("auto_reprovisioning_mode"):
        lines.append(_line("auto_reprovisioning_mode", params["auto_reprovisioning_mode"]))

    variant = params["provisioning"]
    lines += ["", "[provisioning]"]
    if variant == "manual_connection_string":
        lines += [_line("source", "manual"), _line("connection_string", params["connection_string"])]
    elif variant in ("manual_x509", "manual_symmetric_key"):
        lines += [
            _line("source", "manual"),
            _line("iothub_hostname", params["iothub_hostname"]),
            _line("device_id", params["device_id"]),
            "",
            "[provisioning.authentication]",
        ]
        if variant == "manual_symmetric_key":
            lines += [_line("method", "sas"), "device_id_pk = " + _symmetric_key(params)]
        else:
            lines += [_line("method", "x509"), *_x509_identity("provisioning.authentication", params)]
    else:
        lines += [
            _line("source", "dps"),
            _line("global_endpoint", params.get("global_endpoint") or DEFAULT_GLOBAL_ENDPOINT),
            _line("id_scope", params["id_scope"]),
            "",
            "[provisioning.attestation]",
        ]
        if variant == "dps_symmetric_key":
            lines += [
                _line("method", "symmetric_key"),
                _line("registration_id", params["registration_id"]),
                "symmetric_key = " + _symmetric_key(params),
            ]
        else:
            lines.append(_line("method", "x509"))
            if params.get("registration_id"):
                lines.append(_line("registration_id", params["registration_id"]))
            lines += _x509_identity("provisioning.attestation", params)

    lines += render_agent(params, _line, toml_string)

    if params.get("edge_ca_est"):
        lines += render_edge_ca_est(params, _line, file_uri)
    if params.get("edge_ca_cert"):
        lines += [
            "",
            "[edge_ca]",
            _line("cert", file_uri(params["edge_ca_cert"])),
            _line("pk", file_uri(params["edge_ca_pk"])),
        ]
    renew = params.get("edge_ca_auto_renew")
    if (
        not params.get("edge_ca_cert")
        and not params.get("edge_ca_est")
        and (renew or params.get("edge_ca_expiry_days"))
    ):
        # The quickstart variant of the untagged EdgeCa enum: auto_generated_edge_ca_expiry_days is
        # required in it, so [edge_ca.auto_renew] alone would match no variant and fail apply.
        days = params.get("edge_ca_expiry_days") or DEFAULT_EXPIRY_DAYS
        lines += ["", "[edge_ca]", f"auto_generated_edge_ca_expiry_days = {int(days)}"]
    if renew:
        lines += renew_lines("edge_ca", renew, _line)
    lines += render_cert_issuance_est(params, _line, toml_string, file_uri)
    lines += render_moby_runtime(params, _line)
    return "\n".join(lines) + "\n"


def _symmetric_key(params):
    """SymmetricKey, untagged: ``{ value = "<base64>" }`` inline or ``{ uri = "file:///..." }`` (raw key bytes)."""
    if params.get("symmetric_key_file"):
        return "{ uri = " + toml_string(file_uri(params["symmetric_key_file"])) + " }"
    return "{ value = " + toml_string(params["symmetric_key"]) + " }"


def _x509_identity(table, params):
    """X509Identity, untagged: preloaded (identity_cert and identity_pk URLs) or issued (an identity_cert table)."""
    if params.get("identity_cert_est"):
        return render_identity_est(table, params, _line)
    return [
        _line("identity_cert", file_uri(params["identity_cert"])),
        _line("identity_pk", file_uri(params["identity_pk"])),
    ]
