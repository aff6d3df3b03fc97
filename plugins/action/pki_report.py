# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for edgeops.gateway.pki_report: on the controller, the module's code runs in this Python (no new process).

See plugins/plugin_utils/_controller_module.py for when it does; anywhere else the module runs as usual.
"""

from __future__ import annotations

from ansible_collections.edgeops.gateway.plugins.module_utils._pki_modules import PKI_REPORT_SPEC, run_pki_report
from ansible_collections.edgeops.gateway.plugins.plugin_utils._controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    MODULE = "edgeops.gateway.pki_report"
    SPEC = PKI_REPORT_SPEC
    RUN = staticmethod(run_pki_report)
