# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Run a controller-side module's code inside the action plugin, in the Python that runs ansible-playbook.

The PKI modules (pki_ca, pki_cert, pki_report) and iothub_plan work on files of the controller (``delegate_to:
localhost``), and so do some device_files tasks (the PKI directories, the gateway's controller-side outputs). Run as
modules, each such task starts a new Python that loads Ansible's module code and ``cryptography`` again: 0.25 to
0.6 s a task on a 2-core machine, most of a small site re-run's fixed cost. When the task's connection is ``local`` and without
``become``, the action runs the same code here instead: the same argument spec (``ArgumentSpecValidator``, as
``AnsibleModule`` uses), the same check mode and diff, ``no_log`` values removed from the result. Anywhere else
it runs the module as before.

Private to the collection.
"""

from __future__ import annotations

import errno
import os
import shutil
import time

from ansible.errors import AnsibleActionFail
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator
from ansible.module_utils.common.parameters import remove_values
from ansible.module_utils.errors import UnsupportedError
from ansible.plugins.action import ActionBase


class _Failed(Exception):
    """fail_json of a ControllerModule: carries the failed result out of the module's code."""

    def __init__(self, result):
        super().__init__(result.get("msg", ""))
        self.result = result


def runs_on_controller(connection, play_context):
    """Whether a task with this connection and play context runs on the controller itself, without become."""
    return getattr(connection, "transport", None) == "local" and not play_context.become


class ControllerModule:
    """What the collection's controller-side module code uses of AnsibleModule, for a run inside the action."""

    def __init__(self, params, check_mode, diff, no_log_values):
        self.params = params
        self.check_mode = check_mode
        self._diff = diff
        # taken out of the result, as AnsibleModule does; the module's code may discard values from it
        self.no_log_values = no_log_values
        self.warnings = []

    def backup_local(self, path):
        """A copy of an existing file (content, mode, times, owner and group) named as AnsibleModule names it."""
        if not os.path.exists(path):
            return ""
        stamp = time.strftime("%Y-%m-%d@%H:%M:%S~", time.localtime(time.time()))
        dest = f"{path}.{os.getpid()}.{stamp}"
        try:
            shutil.copy2(path, dest)
            # the owner and group as AnsibleModule's preserved_copy keeps them: changed only where they differ, and a
            # user who may not give the copy the original's owner keeps the copy as its own
            st, copied = os.stat(path), os.stat(dest)
            if (copied.st_uid, copied.st_gid) != (st.st_uid, st.st_gid):
                try:
                    os.chown(dest, st.st_uid, st.st_gid)
                except OSError as exc:
                    if exc.errno != errno.EPERM:
                        raise
        except OSError as exc:
            self.fail_json(msg=f"Could not make backup of {path} to {dest}: {exc}")
        return dest

    def warn(self, warning):
        self.warnings.append(warning)

    def fail_json(self, msg, **result):
        result.update(failed=True, msg=msg)
        result.setdefault("changed", False)
        raise _Failed(result)


class ControllerModuleAction(ActionBase):
    """Base of the action plugins that run their module's code on the controller when the task runs there.

    A subclass sets MODULE (the module's FQCN), SPEC (the keyword arguments of AnsibleModule other than
    supports_check_mode) and RUN (a staticmethod that takes the module object and returns its result, calling
    fail_json as a module does).
    """

    TRANSFERS_FILES = False
    MODULE = None
    SPEC = None
    RUN = None

    def runs_here(self):
        """Whether the task's host is the controller itself, reached without become.

        ``ansible_python_interpreter`` is not asked: on a task delegated to localhost it is often the remote
        hosts' (inherited from group_vars), and the code needs only the standard library and ``cryptography``,
        which ansible-core itself requires.
        """
        return runs_on_controller(self._connection, self._play_context)

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp
        task_vars = task_vars or {}
        result.update(self.run_module(task_vars, self.module_args(task_vars)))
        return result

    def module_args(self, task_vars):
        """The module's arguments: the task's (a subclass may add what it reads on the controller)."""
        del task_vars
        return self._task.args

    def run_module(self, task_vars, args):
        """The module's result for these arguments: run here when the task runs on the controller, else sent."""
        if not self.runs_here():
            return self._execute_module(module_name=self.MODULE, module_args=args, task_vars=task_vars)
        outcome, no_log_values = run_here(
            self.MODULE, self.SPEC, self.RUN, args, bool(self._task.check_mode), bool(self._task.diff)
        )
        return remove_values(outcome, no_log_values)


def run_here(module_name, spec, run, args, check_mode, diff):
    """Run a module's code in this Python: its result (not yet cleaned) and the values to take out of it (no_log).

    ``spec`` is the module's AnsibleModule keyword arguments, ``run`` its entry point; arguments that the spec
    refuses raise AnsibleActionFail with the first error, worded as AnsibleModule words it.
    """
    validation = ArgumentSpecValidator(**spec).validate(dict(args))
    if validation.error_messages:
        msg = validation.error_messages[0]
        if isinstance(validation.errors[0], UnsupportedError):
            msg = f"Unsupported parameters for ({module_name}) module: {msg}"
        raise AnsibleActionFail(msg)
    module = ControllerModule(validation.validated_parameters, check_mode, diff, validation._no_log_values)
    try:
        outcome = dict(run(module))
        outcome.setdefault("changed", False)
    except _Failed as failed:
        outcome = failed.result
    if module.warnings:
        outcome["warnings"] = module.warnings
    return outcome, module.no_log_values
