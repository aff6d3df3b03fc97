# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of edgeops.gateway.device_files: read every ``src`` on the controller, send the content.

A file's content travels in the module's arguments (as with ``ansible.builtin.copy``), where the module's argument
spec masks it (``no_log``); nothing the module returns holds content.
"""

from __future__ import annotations

from ansible.errors import AnsibleError
from ansible.module_utils.common.text.converters import to_text
from ansible.plugins.action import ActionBase


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = True

    def run(self, tmp=None, task_vars=None):
        self._supports_check_mode = True
        result = super().run(tmp, task_vars)
        del tmp
        args = dict(self._task.args)
        files = args.get("files", [])
        if not isinstance(files, list):
            result.update(failed=True, msg="files must be a list of files, each with path and src or content")
            return result
        sent = []
        for index, given in enumerate(files):
            if not isinstance(given, dict):
                result.update(failed=True, msg=f"files[{index}] is not a dict; give path and src or content")
                return result
            spec = dict(given)
            if spec.get("src") is not None and spec.get("content") is not None:
                result.update(
                    failed=True, msg=f"files[{index}] ({spec.get('path')}) has both src and content; give one"
                )
                return result
            if spec.get("src") is not None:
                src = to_text(spec.pop("src"))
                try:
                    path = self._find_needle("files", src)
                    with open(path, "rb") as handle:
                        data = handle.read()
                    spec["content"] = data.decode("utf-8")
                except AnsibleError:
                    result.update(
                        failed=True,
                        msg=f"src '{src}' of {spec.get('path')} was not found on the controller; give the path of a "
                        "file there (for a device's certificate: edgeops_pki_dir/devices/<host>/device.pem)",
                    )
                    return result
                except OSError as exc:
                    result.update(failed=True, msg=f"cannot read src '{src}' on the controller: {exc.strerror}")
                    return result
                except UnicodeDecodeError:
                    result.update(failed=True, msg=f"src '{src}' is not text; device_files sends PEM text only")
                    return result
            sent.append(spec)
        args["files"] = sent
        result.update(
            self._execute_module(module_name="edgeops.gateway.device_files", module_args=args, task_vars=task_vars)
        )
        return result
