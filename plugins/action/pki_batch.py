# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for edgeops.gateway.pki_batch: several PKI steps, in order, in one task on the controller.

Each step is a run of pki_ca, pki_cert, pki_report or device_files, checked against that module's own argument spec
and run in this Python (plugins/plugin_utils/_controller_module.py), as those modules' actions run them on a local
connection. One task instead of one per step: every task costs a worker, its templating and its callbacks.
"""

from __future__ import annotations

import os

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.parameters import remove_values
from ansible.plugins.action import ActionBase

from ansible_collections.edgeops.gateway.plugins.module_utils._device_files_module import (
    DEVICE_FILES_SPEC,
    run_device_files,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._pki_modules import (
    PKI_CA_SPEC,
    PKI_CERT_SPEC,
    PKI_REPORT_SPEC,
    run_pki_ca,
    run_pki_cert,
    run_pki_report,
)
from ansible_collections.edgeops.gateway.plugins.plugin_utils._controller_module import (
    run_here,
    runs_on_controller,
)

MODULES = {
    "pki_ca": (PKI_CA_SPEC, run_pki_ca),
    "pki_cert": (PKI_CERT_SPEC, run_pki_cert),
    "pki_report": (PKI_REPORT_SPEC, run_pki_report),
    "device_files": (DEVICE_FILES_SPEC, run_device_files),
}
STEP_KEYS = {"name", "module", "args", "needs"}


def check_steps(steps):
    """The steps as given, refused with a message that says what to fix before any step runs."""
    if not isinstance(steps, list) or not steps:
        raise AnsibleActionFail("steps must be a non-empty list of steps, each with name, module and args")
    for index, step in enumerate(steps):
        where = f"steps[{index}]"
        if not isinstance(step, dict):
            raise AnsibleActionFail(f"{where} is not a dict; give name, module and args")
        unknown = sorted(set(step) - STEP_KEYS)
        if unknown:
            raise AnsibleActionFail(
                f"{where} has unknown keys {', '.join(unknown)}; a step takes {', '.join(sorted(STEP_KEYS))}"
            )
        if not isinstance(step.get("name"), str) or not step["name"]:
            raise AnsibleActionFail(f"{where} has no name; name each step (it names the step in the result)")
        if step.get("module") not in MODULES:
            raise AnsibleActionFail(
                f"{where} ({step['name']}): module must be one of {', '.join(sorted(MODULES))}, not {step.get('module')!r}"
            )
        if not isinstance(step.get("args"), dict):
            raise AnsibleActionFail(f"{where} ({step['name']}): args must be a dict of the module's options")
        needs = step.get("needs", [])
        if not isinstance(needs, list) or not all(isinstance(path, str) for path in needs):
            raise AnsibleActionFail(f"{where} ({step['name']}): needs must be a list of paths")
    return steps


def run_steps(steps, check_mode, diff):
    """Run the steps in order; stop at the first that fails. Returns the result (not yet cleaned of no_log values)
    and the no_log values of every step's arguments."""
    done, diffs, warnings, no_log_values = [], [], [], set()
    result = {"changed": False, "steps": done}
    for step in steps:
        name, module_name = step["name"], step["module"]
        missing = [path for path in step.get("needs", []) if not os.path.exists(path)]
        if check_mode and missing:
            # an earlier step of a real run makes them; in check mode there is nothing to work from yet
            done.append(
                {
                    "name": name,
                    "module": module_name,
                    "changed": False,
                    "skipped": True,
                    "skip_reason": f"check mode: {', '.join(missing)} not made yet",
                }
            )
            continue
        spec, run = MODULES[module_name]
        try:
            outcome, values = run_here(f"edgeops.gateway.{module_name}", spec, run, step["args"], check_mode, diff)
        except AnsibleActionFail as exc:
            outcome, values = {"failed": True, "changed": False, "msg": str(exc)}, set()
        no_log_values |= values
        warnings.extend(outcome.pop("warnings", []))
        step_diff = outcome.pop("diff", None)
        if step_diff:
            diffs.extend(step_diff if isinstance(step_diff, list) else [step_diff])
        done.append(
            {
                "name": name,
                "module": module_name,
                "changed": bool(outcome.get("changed")),
                "skipped": False,
                "result": outcome,
            }
        )
        result["changed"] = result["changed"] or bool(outcome.get("changed"))
        if outcome.get("failed"):
            result.update(failed=True, failed_step=name, msg=f"{name}: {outcome.get('msg', 'failed')}")
            break
    if diff and diffs:
        result["diff"] = diffs
    if warnings:
        result["warnings"] = warnings
    return result, no_log_values


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _VALID_ARGS = frozenset(("steps",))

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp
        if not runs_on_controller(self._connection, self._play_context):
            raise AnsibleActionFail(
                "pki_batch works on the controller's PKI files: run it there (delegate_to: localhost) without become"
            )
        steps = check_steps(self._task.args.get("steps"))
        outcome, no_log_values = run_steps(steps, bool(self._task.check_mode), bool(self._task.diff))
        result.update(remove_values(outcome, no_log_values))
        return result
