# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""win_ca_trust shares ca_trust's controller side: src read on the controller, keys refused there."""

from __future__ import annotations

from ansible_collections.edgeops.gateway.plugins.action.ca_trust import ActionModule as CaTrustActionModule


class ActionModule(CaTrustActionModule):
    pass
