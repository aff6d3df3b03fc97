# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the rollout_phase role; the start's logic is the rollout_phase action's (plugins/action/rollout_phase.py)."""

from __future__ import annotations

from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.action.rollout_phase import (
    PHASES,
    ReadOnce,
    start_phase_for_hosts,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._report import ReportError, parse_accept


def rollout_phase_start(hostvars, hosts, phase, accept_failed_devices=None):
    """The start of ``phase`` for ``hosts`` on the controller, as edgeops.gateway.rollout_phase with O(hosts) gives it."""
    if phase not in PHASES:
        raise AnsibleFilterError(f"rollout_phase_start: phase must be one of {', '.join(PHASES)}, not {phase!r}")
    try:
        parse_accept(accept_failed_devices)
    except ReportError as exc:
        raise AnsibleFilterError(str(exc)) from None
    try:
        # each host's variables read once: every device reads its gateway's
        return start_phase_for_hosts(phase, list(hosts), ReadOnce(hostvars))
    except ValueError as exc:
        raise AnsibleFilterError(f"rollout_phase_start hosts: {exc}") from None


class FilterModule:
    def filters(self):
        return {"rollout_phase_start": rollout_phase_start}
