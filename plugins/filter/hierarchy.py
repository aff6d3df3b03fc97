# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Filters of the gateway hierarchy; the model lives in module_utils/_hierarchy.py."""

from __future__ import annotations

from collections.abc import Mapping

from ansible.errors import AnsibleFilterError

from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import (
    HierarchyError,
    build,
    from_hostvars,
    problems,
)


def _entries(hostvars, gateways, devices):
    if not isinstance(hostvars, Mapping) and not hasattr(hostvars, "__getitem__"):
        raise AnsibleFilterError("the input of the hierarchy filters is hostvars (host name to its variables)")
    gateways = list(gateways or [])
    devices = list(devices or [])
    try:
        known = list(hostvars.keys())
    except (AttributeError, TypeError):
        known = []
    gws, devs = from_hostvars(hostvars, gateways, devices)
    return gws, devs, known


def hierarchy(hostvars, gateways=None, devices=None):
    """The site's gateway tree (layers, depth, children, devices per gateway); fails naming every problem."""
    gws, devs, known = _entries(hostvars, gateways, devices)
    try:
        return build(gws, devs, known)
    except HierarchyError as exc:
        raise AnsibleFilterError(f"the gateway hierarchy cannot be served: {exc}") from None


def hierarchy_problems(hostvars, gateways=None, devices=None):
    """Every reason the hierarchy cannot be served, each naming its hosts; an empty list when it can."""
    gws, devs, known = _entries(hostvars, gateways, devices)
    return problems(gws, devs, known)


class FilterModule:
    def filters(self):
        return {"hierarchy": hierarchy, "hierarchy_problems": hierarchy_problems}
