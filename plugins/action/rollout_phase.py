# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for edgeops.gateway.rollout_phase: the start of a rollout phase on one host, in one task.

Everything here is the controller's bookkeeping, except the optional probe: one ``echo pong`` through the host's
own connection (the connection's shell, no module: no Python to start on the host, no module to build), so that
a host that does not answer is recorded and left out before the phase touches it (a play whose hosts all fail at
their first task would end the whole ``ansible-playbook`` run before the site report). The result's ``facts`` are
the host facts the site report reads; the role applies them with one ``set_fact`` (facts an action returns as
``ansible_facts`` become top-level variables only through INJECT_FACTS_AS_VARS, whose default is deprecated from
ansible-core 2.20).
"""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleActionFail, AnsibleConnectionFailure
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase

from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import parent_chain
from ansible_collections.edgeops.gateway.plugins.module_utils._report import ReportError, parse_accept

PHASES = ("pki", "gateways", "devices", "verify")
# The phases that run nothing on the hosts: no probe by default.
CONTROLLER_PHASES = ("pki",)
# Where a host names the host it depends on: a device its gateway, a nested gateway its parent.
UPSTREAM_VARS = ("edgeops_gateway", "edgeops_gateway_parent")

ARGUMENT_SPEC = {
    "phase": {"type": "str", "required": True, "choices": list(PHASES)},
    "probe": {"type": "bool"},
    "accept_failed_devices": {"type": "raw"},
    "hosts": {"type": "list", "elements": "str"},
    "earlier_handshakes": {"type": "bool", "default": False},
}

AWAITING = "awaiting_deployment"
DROPPED_OUT = "it dropped out of the phase (unreachable or failed: see the rollout output)"


def upstream_host(host_vars):
    """The inventory name of the host this one depends on, or None.

    A device depends on its gateway (``edgeops_gateway``); a gateway below another gateway depends on its parent
    (``edgeops_gateway_parent``). The first of those that is set wins.
    """
    for name in UPSTREAM_VARS:
        value = host_vars.get(name)
        if value not in (None, ""):
            return to_text(value)
    return None


def upstream_problem(upstream_vars, phase):
    """Why the upstream host keeps this host out of ``phase``, as {phase, msg}, or None when it does not.

    In the verify phase, an IoT Edge gateway that is ``awaiting_deployment`` (``gateway_result``) keeps its
    devices and child gateways out of the check, with its hint. Otherwise: the upstream host failed
    (``edgeops_rollout_failure``), was itself left out (``edgeops_rollout_skipped``,
    for example below a failed parent gateway), or left an earlier phase unfinished with nothing recorded
    (Ansible took it out as unreachable). In the phase both are in, the host does not wait for its upstream.
    """
    failure = upstream_vars.get("edgeops_rollout_failure")
    result = upstream_vars.get("gateway_result")
    if phase == "verify" and not failure and isinstance(result, dict) and result.get("status") == AWAITING:
        # An IoT Edge gateway whose deployment is not set in IoT Hub yet serves nothing on 8883: its
        # devices are not checked against it, and the reason says what to do.
        hint = result.get("hint") or "set the generated deployment in IoT Hub"
        return {"phase": "gateways", "msg": hint, "awaiting": True}
    if failure:
        return {"phase": failure.get("phase", phase), "msg": failure.get("msg", "it failed")}
    skipped = upstream_vars.get("edgeops_rollout_skipped")
    if skipped:
        return {"phase": upstream_vars.get("edgeops_rollout_phase") or phase, "msg": f"it was left out: {skipped}"}
    upstream_phase = upstream_vars.get("edgeops_rollout_phase")
    if upstream_phase and upstream_phase != phase:
        if upstream_phase not in (upstream_vars.get("edgeops_rollout_completed") or []):
            return {"phase": upstream_phase, "msg": DROPPED_OUT}
    return None


def upstream_chain(host, host_vars, hostvars):
    """The hosts ``host`` depends on, nearest first: its upstream host, that host's upstream host, and so on.

    ``host_vars`` are the host's own variables, ``hostvars`` every host's. Only inventory hosts are followed; a
    loop in the inventory ends the chain.
    """
    chain, _complete = parent_chain(
        host, lambda name: upstream_host(host_vars if name == host else hostvars[name]), hostvars
    )
    return chain


def start_phase(phase, host, host_vars, hostvars):
    """The start of ``phase`` on a host, before any probe: (facts, end_host).

    ``host_vars`` are the host's variables, ``hostvars`` every host's (for the upstream hosts). ``facts`` always
    records the phase; a host that failed or was left out earlier is ended; a host with an upstream host (its
    gateway, that gateway's parent, ...) that failed, was left out or dropped out gets ``edgeops_rollout_skipped``
    with the reason and is ended.
    """
    facts = {"edgeops_rollout_phase": phase}
    if host_vars.get("edgeops_rollout_failure") or host_vars.get("edgeops_rollout_skipped"):
        return facts, True
    chain = upstream_chain(host, host_vars, hostvars)
    # The reason names the host where the trouble started: an upstream host that was itself left out (below a
    # failed parent) is passed over for the one above it that failed or dropped out.
    left_out = None
    for index, upstream in enumerate(chain):
        if hostvars[upstream].get("edgeops_rollout_skipped"):
            left_out = index if left_out is None else left_out
            continue
        problem = upstream_problem(hostvars[upstream], phase)
        if problem is not None:
            facts["edgeops_rollout_skipped"] = skip_reason(host_vars, chain, index, problem)
            return facts, True
    if left_out is not None:
        problem = upstream_problem(hostvars[chain[left_out]], phase)
        facts["edgeops_rollout_skipped"] = skip_reason(host_vars, chain, left_out, problem)
        return facts, True
    return facts, False


def skip_reason(host_vars, chain, index, problem):
    """The sentence recorded for a host left out because of ``chain[index]``, naming the hosts between."""
    upstream = chain[index]
    role = "gateway"
    if index == 0 and host_vars.get("edgeops_gateway") in (None, "") and host_vars.get("edgeops_gateway_parent"):
        role = "parent gateway"
    via = f" (upstream of {', '.join(chain[:index])})" if index else ""
    if problem.get("awaiting"):
        return f"{role} {upstream}{via} is {AWAITING}: {problem['msg']}"
    return f"{role} {upstream}{via} failed in the {problem['phase']} phase: {problem['msg']}"


def start_message(phase, facts, end_host, probed=False):
    """The one-line message of a host's start of ``phase``."""
    if "edgeops_rollout_failure" in facts:
        return f"{phase}: unreachable, left out of the rollout: {facts['edgeops_rollout_failure']['msg']}"
    if "edgeops_rollout_skipped" in facts:
        return f"{phase}: left out: {facts['edgeops_rollout_skipped']}"
    if end_host:
        return f"{phase}: left out (failed or left out in an earlier phase)"
    return f"{phase}: started" + (" (the host answers)" if probed else "")


def start_phase_for_hosts(phase, hosts, hostvars):
    """The start of ``phase`` for several hosts at once, on the controller (no probe): {host: {facts, end_host, msg}}.

    Each host is started as :func:`start_phase` starts it with that host's own variables (``hostvars[host]``), in
    the order given; a host named twice is started once. A name that is not an inventory host is refused with
    :class:`ValueError`.
    """
    unknown = [host for host in hosts if host not in hostvars]
    if unknown:
        raise ValueError(f"not hosts of the inventory: {', '.join(unknown)}")
    started = {}
    for host in hosts:
        if host in started:
            continue
        facts, end_host = start_phase(phase, host, hostvars[host], hostvars)
        started[host] = {"facts": facts, "end_host": end_host, "msg": start_message(phase, facts, end_host)}
    return started


def earlier_handshakes(hosts, hostvars):
    """The hosts whose TLS handshake the devices phase made and passed: {host: {handshake, gateway, completed}}.

    The devices phase of ``site.yml`` makes a device's handshake in the trust store's module run
    (``trust_store_result.handshake``); a device whose handshake is there and did not fail needs nothing more of the
    verify phase but its record. ``gateway`` is the gateway it was made with (``handshake_check_gateway``, else
    ``edgeops_gateway``), ``completed`` the phases it completed so far. Each host's variables are read once; names
    that are not inventory hosts are passed over. The order given is kept.
    """
    passed = {}
    for host in hosts:
        if host in passed or host not in hostvars:
            continue
        host_vars = hostvars[host]
        handshake = (host_vars.get("trust_store_result") or {}).get("handshake")
        if not isinstance(handshake, Mapping) or handshake.get("failed"):
            continue
        gateway = host_vars.get("handshake_check_gateway")
        if gateway is None:
            gateway = host_vars.get("edgeops_gateway", "")
        passed[host] = {
            "handshake": handshake,
            "gateway": gateway,
            "completed": list(host_vars.get("edgeops_rollout_completed") or []),
        }
    return passed


class ReadOnce:
    """``hostvars`` with each host's variables read once: Ansible builds a host's variables on every ``hostvars[host]``,
    and a start reads its upstream hosts' more than once (one start for each device of a gateway with ``hosts``)."""

    def __init__(self, hostvars):
        self._hostvars = hostvars
        self._read = {}

    def __contains__(self, host):
        return host in self._read or host in self._hostvars

    def __getitem__(self, host):
        if host not in self._read:
            self._read[host] = self._hostvars[host]
        return self._read[host]


PROBE_COMMAND = "echo pong"


def probe_failure(phase, probe_result):
    """The unreachable record for a probe result that shows the host did not answer ``echo pong``, or None."""
    answered = probe_result.get("rc") == 0 and "pong" in to_text(probe_result.get("stdout", ""))
    if probe_result.get("unreachable") or not answered:
        msg = probe_result.get("msg") or to_text(probe_result.get("stderr") or "").strip() or "the host did not answer"
        return {"phase": phase, "msg": to_text(msg), "unreachable": True}
    return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    # The probe runs through the host's connection; the connection is only opened when the probe runs.
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        phase = args["phase"]
        accept = args["accept_failed_devices"]
        if accept is None:
            accept = task_vars.get("edgeops_accept_failed_devices")
        try:
            parse_accept(accept)
        except ReportError as exc:
            raise AnsibleActionFail(str(exc)) from None
        # Each host's variables read once for the task: a start reads its upstream hosts' more than once, and with
        # hosts every device reads its gateway's.
        hostvars = ReadOnce(task_vars.get("hostvars", {}))
        if args["hosts"] is not None:
            # The phase started for the hosts named, on the controller: for a task run once for a play's hosts
            # whose phase needs nothing of the hosts themselves.
            if args["probe"]:
                raise AnsibleActionFail(
                    "probe=true cannot be used with hosts: the phase is started for the hosts named on the controller; "
                    "leave probe unset (or false), or start the phase on each host without hosts"
                )
            hosts = args["hosts"]
            passed = None
            if args["earlier_handshakes"]:
                passed = earlier_handshakes(hosts, hostvars)
                hosts = list(passed)
            try:
                started = start_phase_for_hosts(phase, hosts, hostvars)
            except ValueError as exc:
                raise AnsibleActionFail(f"rollout_phase hosts: {exc}") from None
            for host, entry in (passed or {}).items():
                started[host].update(entry)
            ended = sum(1 for host in started.values() if host["end_host"])
            result.update(
                changed=False,
                hosts=started,
                msg=f"{phase}: started for {len(started) - ended} of {len(started)} hosts on the controller"
                + (f", {ended} left out" if ended else ""),
            )
            return result

        if args["earlier_handshakes"]:
            raise AnsibleActionFail(
                "earlier_handshakes needs hosts: the hosts among which to find the handshakes made earlier"
            )
        probe = args["probe"] if args["probe"] is not None else phase not in CONTROLLER_PHASES
        facts, end_host = start_phase(phase, task_vars.get("inventory_hostname"), task_vars, hostvars)
        probed = False
        if not end_host and probe:
            probed = True
            try:
                probe_result = self._low_level_execute_command(PROBE_COMMAND)
            except AnsibleConnectionFailure as exc:
                probe_result = {"unreachable": True, "msg": to_text(exc)}
            failure = probe_failure(phase, probe_result)
            if failure is not None:
                facts["edgeops_rollout_failure"] = failure
                end_host = True

        msg = start_message(phase, facts, end_host, probed)
        result.update(changed=False, facts=facts, end_host=end_host, probed=probed, msg=msg)
        return result
