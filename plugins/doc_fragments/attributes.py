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
