# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Controller side of edgeops.gateway.device_files: read every ``src`` on the controller, send the content.

A file's content travels in the module's arguments (as with ``ansible.builtin.copy``), where the module's argument
spec masks it (``no_log``); nothing the module returns holds content. On the controller itself (``delegate_to:
localhost``) the module's code runs in this Python (plugins/plugin_utils/_controller_module.py).
"""

from __future__ import annotations

from ansible.errors import AnsibleActionFail, AnsibleError
from ansible.module_utils.common.text.converters import to_text

from ansible_collections.edgeops.gateway.plugins.module_utils._device_files_module import (
    DEVICE_FILES_SPEC,
    run_device_files,
)
from ansible_collections.edgeops.gateway.plugins.plugin_utils._controller_module import ControllerModuleAction


class ActionModule(ControllerModuleAction):
    MODULE = "edgeops.gateway.device_files"
    SPEC = DEVICE_FILES_SPEC
    RUN = staticmethod(run_device_files)

    def module_args(self, task_vars):
        """The task's arguments with each file's src read on the controller and sent as its content."""
        args = dict(self._task.args)
        files = args.get("files", [])
        if not isinstance(files, list):
            raise AnsibleActionFail("files must be a list of files, each with path and src or content")
        sent = []
        for index, given in enumerate(files):
            if not isinstance(given, dict):
                raise AnsibleActionFail(f"files[{index}] is not a dict; give path and src or content")
            spec = dict(given)
            if spec.get("src") is not None and spec.get("content") is not None:
                raise AnsibleActionFail(f"files[{index}] ({spec.get('path')}) has both src and content; give one")
            if spec.get("src") is not None:
                src = to_text(spec.pop("src"))
                try:
                    path = self._find_needle("files", src)
                    with open(path, "rb") as handle:
                        data = handle.read()
                    spec["content"] = data.decode("utf-8")
                except AnsibleError as exc:
                    raise AnsibleActionFail(
                        f"src '{src}' of {spec.get('path')} was not found on the controller; give the path of a "
                        "file there (for a device's certificate: edgeops_pki_dir/devices/<host>/device.pem)"
                    ) from exc
                except OSError as exc:
                    raise AnsibleActionFail(f"cannot read src '{src}' on the controller: {exc.strerror}") from exc
                except UnicodeDecodeError as exc:
                    raise AnsibleActionFail(f"src '{src}' is not text; device_files sends PEM text only") from exc
            sent.append(spec)
        args["files"] = sent
        return args
