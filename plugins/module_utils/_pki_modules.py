# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument specs and entry points of pki_ca, pki_cert and pki_report.

Shared by the modules (run by AnsibleModule on any host) and their action plugins (which run the same entry
point in the controller's Python when the task runs there). Each entry point takes the module object (params,
check_mode, _diff, fail_json) and returns the result. Private to the collection.
"""

from __future__ import annotations

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_backends import run_ca, run_cert
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_load import (
    CRYPTOGRAPHY_IMPORT_ERROR,
    HAS_CRYPTOGRAPHY,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_names import PKIError, parse_renew_window, utcnow
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_report import report

_PROFILES = ["intermediate_ca", "edge_ca", "gateway_server", "device_identity", "downstream_device"]
_KEY_TYPES = ["ecdsa-p256", "rsa-2048", "rsa-3072", "rsa-4096"]

PKI_CA_SPEC = {
    "argument_spec": {
        "path": {"type": "path", "required": True},
        "key_path": {"type": "path", "no_log": False},
        "key_passphrase": {"type": "str", "no_log": True},
        "type": {"type": "str", "choices": ["root", "intermediate"], "default": "root"},
        "common_name": {"type": "str"},
        "key_type": {"type": "str", "choices": _KEY_TYPES, "default": "ecdsa-p256", "no_log": False},
        "validity_days": {"type": "int", "default": 3650},
        "path_length": {"type": "int"},
        "renew_window": {"type": "str"},
        "backdate_minutes": {"type": "int", "default": 5},
        "issuer_cert": {"type": "path"},
        "issuer_key": {"type": "path", "no_log": False},
        "issuer_key_passphrase": {"type": "str", "no_log": True},
        "issuer_chain": {"type": "list", "elements": "path", "default": []},
        "full_chain_path": {"type": "path"},
        "full_chain_include_root": {"type": "bool", "default": False},
        "import_cert": {"type": "path"},
        "import_key": {"type": "path", "no_log": False},
    },
    "required_one_of": [["common_name", "import_cert"]],
    "mutually_exclusive": [["common_name", "import_cert"], ["import_cert", "issuer_key"]],
    "required_by": {"import_key": "import_cert", "issuer_key": "issuer_cert", "common_name": "key_path"},
    "required_if": [["type", "intermediate", ["issuer_cert"]]],
}

PKI_CERT_SPEC = {
    "argument_spec": {
        "issuer_cert": {"type": "path", "required": True},
        "issuer_key": {"type": "path", "required": True},
        "issuer_key_passphrase": {"type": "str", "no_log": True},
        "issuer_chain": {"type": "list", "elements": "path", "default": []},
        "profile": {"type": "str", "choices": _PROFILES, "default": "downstream_device"},
        "key_type": {"type": "str", "choices": _KEY_TYPES, "default": "ecdsa-p256"},
        "validity_days": {"type": "int", "default": 365},
        "renew_window": {"type": "str"},
        "backdate_minutes": {"type": "int", "default": 5},
        "full_chain_include_root": {"type": "bool", "default": False},
        "certificates": {
            "type": "list",
            "elements": "dict",
            "required": True,
            "options": {
                "path": {"type": "path", "required": True},
                "common_name": {"type": "str", "required": True},
                "profile": {"type": "str", "choices": _PROFILES},
                "dns_names": {"type": "list", "elements": "str"},
                "key_path": {"type": "path", "no_log": False},
                "csr_path": {"type": "path"},
                "full_chain": {"type": "bool", "default": True},
                "full_chain_path": {"type": "path"},
                "full_chain_include_root": {"type": "bool"},
                "pkcs12_path": {"type": "path"},
                "pkcs12_passphrase": {"type": "str", "no_log": True},
                "key_type": {"type": "str", "choices": _KEY_TYPES, "no_log": False},
                "validity_days": {"type": "int"},
                "renew_window": {"type": "str"},
                "path_length": {"type": "int"},
                "gateway_hostname": {"type": "str"},
                "device_id": {"type": "str"},
            },
            "mutually_exclusive": [["csr_path", "key_path"], ["csr_path", "pkcs12_path"]],
            "required_by": {"pkcs12_passphrase": "pkcs12_path"},
        },
    },
}

PKI_REPORT_SPEC = {
    "argument_spec": {
        "path": {"type": "path", "required": True, "aliases": ["pki_dir"]},
        "renew_window": {"type": "str"},
    },
}


def _need_cryptography(module):
    if not HAS_CRYPTOGRAPHY:
        module.fail_json(msg=missing_required_lib("cryptography"), exception=str(CRYPTOGRAPHY_IMPORT_ERROR))


def _run_backend(module, backend):
    _need_cryptography(module)
    try:
        return backend(module)
    except PKIError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed)


def run_pki_ca(module):
    """pki_ca: create, renew or import the CA."""
    return _run_backend(module, run_ca)


def run_pki_cert(module):
    """pki_cert: issue or renew the certificates."""
    return _run_backend(module, run_cert)


def run_pki_report(module):
    """pki_report: read every certificate of the PKI directory."""
    _need_cryptography(module)
    params = module.params
    try:
        result = report(params["path"], utcnow(), parse_renew_window(params["renew_window"]))
    except PKIError as exc:
        module.fail_json(msg=str(exc))
    # what was read, so that a later play of the same run can tell whether this reading is the one it needs
    result.update(path=params["path"], renew_window=params["renew_window"])
    return result
