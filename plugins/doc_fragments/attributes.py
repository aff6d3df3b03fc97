# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Attributes every edgeops.gateway module declares beside ansible.builtin.action_common_attributes."""

from __future__ import annotations


class ModuleDocFragment:
    # Each module sets the support level (and details) of the attribute; the description is shared.
    DOCUMENTATION = r"""
options: {}
attributes:
  idempotent:
    description:
      - When run twice in a row outside check mode with the same arguments, the second run reports no change.
      - This assumes that what the module manages or reads has not changed in between.
"""

    # The support of the flow attributes (with ansible.builtin.action_common_attributes.flow, which describes them)
    # for the modules that are done by their action plugin (the bookkeeping, the reports, pki_batch's steps) or whose
    # action plugin prepares what it sends (ca_trust, win_ca_trust). A module's own entry for an attribute replaces this
    # one's fields (for example action's details).
    ACTION = r"""
options: {}
attributes:
  action:
    support: full
  async:
    support: none
  bypass_host_loop:
    support: none
"""

    # The support of the flow attributes (with ansible.builtin.action_common_attributes.flow, which describes them)
    # for the modules whose action plugin runs their code in the controller's Python on a local connection
    # (plugins/plugin_utils/_controller_module.py). A module's own entry for an attribute replaces this one's fields.
    CONTROLLER_ACTION = r"""
options: {}
attributes:
  action:
    support: full
    details:
      - On a task whose connection is C(local) without become (C(delegate_to=localhost)), the action plugin
        runs the module's code in the Python that runs ansible-playbook instead of starting a new one; the same
        argument checks, check mode and diff. Elsewhere it runs the module on the host.
  async:
    support: none
  bypass_host_loop:
    support: none
"""
