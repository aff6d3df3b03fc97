# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that checks roles' settings of many hosts at once against the roles' argument specifications."""

from __future__ import annotations

import os
from collections.abc import Mapping

import yaml
from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

MASK = "********"
# The collection's roles, beside plugins/ (a checkout or an installed collection alike).
ROLES_DIR = os.path.normpath(os.path.join(os.path.dirname(__file__), "..", "..", "roles"))
# libyaml's safe loader where PyYAML has it (the specification of the gateway role is large), else PyYAML's own
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
# role name -> options of its argument specification, read once per ansible-playbook run
_SPECS = {}


def collection_role_options(role):
    """The options of this collection's role ``role`` (roles/<role>/meta/argument_specs.yml, entry point main)."""
    if role not in _SPECS:
        path = os.path.join(ROLES_DIR, str(role), "meta", "argument_specs.yml")
        if os.path.sep in str(role) or not os.path.isfile(path):
            raise AnsibleFilterError(
                f"role_settings_problems: {role} is not a role of edgeops.gateway with an argument spec"
            )
        with open(path, encoding="utf-8") as handle:
            spec = yaml.load(handle, Loader=_LOADER)  # noqa: S506 - a safe loader (CSafeLoader or SafeLoader)
        try:
            _SPECS[role] = spec["argument_specs"]["main"]["options"]
        except (KeyError, TypeError):
            raise AnsibleFilterError(
                f"role_settings_problems: {path} has no options for the entry point main"
            ) from None
    return _SPECS[role]


def _secrets(options, params):
    """The values given to options marked no_log, as text, to be masked in the messages."""
    return [
        str(params[name])
        for name, spec in options.items()
        if (spec or {}).get("no_log") and params.get(name) not in (None, "")
    ]


def role_settings_problems(hostvars, hosts, specs, role_hosts=None):
    """Every wrong setting of the given roles on the given hosts, as 'host: the role role: what is wrong'.

    ``hostvars`` maps a host to its variables, ``hosts`` are the hosts to check and ``specs`` maps a role's
    name to the options of its argument specification (``argument_specs.main.options``), or is a list of this
    collection's role names (their specifications read from its roles, once per run). ``role_hosts``
    (optional) maps a role's name to the hosts that run it: that role is checked on those of ``hosts`` only.
    Only the options set for a host are checked: the role's defaults are the role's own. Each host's
    variables are read once, for every role.
    """
    if isinstance(specs, (list, tuple)):
        specs = {role: collection_role_options(role) for role in specs}
    if not isinstance(specs, Mapping):
        raise AnsibleFilterError(
            "role_settings_problems: specs must map a role's name to its options, or list this collection's roles"
        )
    if role_hosts is None:
        role_hosts = {}
    if not isinstance(role_hosts, Mapping):
        raise AnsibleFilterError("role_settings_problems: role_hosts must map a role's name to a list of hosts")
    # one validator per role, used for every host
    validators = {}
    for role, options in specs.items():
        if not isinstance(options, Mapping):
            raise AnsibleFilterError(f"role_settings_problems: the options of the role {role} must be a mapping")
        runs_on = role_hosts.get(role)
        if runs_on is not None and (isinstance(runs_on, (str, bytes, Mapping)) or not hasattr(runs_on, "__iter__")):
            raise AnsibleFilterError(f"role_settings_problems: role_hosts of the role {role} must be a list of hosts")
        validators[role] = (options, ArgumentSpecValidator(dict(options)), None if runs_on is None else set(runs_on))
    problems = []
    for host in list(hosts or []):
        try:
            host_vars = hostvars[host]
        except KeyError:
            raise AnsibleFilterError(f"role_settings_problems: {host} is not a host of the inventory") from None
        for role, (options, validator, runs_on) in validators.items():
            if runs_on is not None and host not in runs_on:
                continue
            params = {name: host_vars[name] for name in options if name in host_vars}
            errors = validator.validate(params).error_messages
            if not errors:
                continue
            message = ", ".join(errors)
            for secret in _secrets(options, params):
                message = message.replace(secret, MASK)
            problems.append(f"{host}: the {role} role: {message}")
    return problems


class FilterModule:
    def filters(self):
        return {"role_settings_problems": role_settings_problems}
