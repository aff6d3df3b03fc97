# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filter that checks roles' settings of many hosts at once against the roles' argument specifications."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

MASK = "********"


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
    name to the options of its argument specification (``argument_specs.main.options``). ``role_hosts``
    (optional) maps a role's name to the hosts that run it: that role is checked on those of ``hosts`` only.
    Only the options set for a host are checked: the role's defaults are the role's own. Each host's
    variables are read once, for every role.
    """
    if not isinstance(specs, Mapping):
        raise AnsibleFilterError("role_settings_problems: specs must map a role's name to its options")
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
