# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for edgeops.gateway.fleet_report: runs on the controller only (see the module docs)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.edgeops.gateway.plugins.module_utils._fleet import (
    FleetError,
    build_fleet,
    page_rows,
    render_fleet_markdown,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan
from ansible_collections.edgeops.gateway.plugins.module_utils._report_html import render_fleet_html

ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "sites": {
        "type": "list",
        "elements": "dict",
        "required": True,
        "options": {
            "name": {"type": "str", "required": True},
            "report": {"type": "path", "required": True},
            "rc": {"type": "int"},
            "log": {"type": "path"},
        },
    },
}


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        if not args["dest"].strip():
            raise AnsibleActionFail("dest is empty; set it to the folder that receives the fleet report")
        dest = os.path.abspath(args["dest"])
        mode = "check" if self._task.check_mode else "run"
        try:
            fleet, reports = build_fleet(args["sites"], mode=mode)
        except FleetError as exc:
            raise AnsibleActionFail(str(exc)) from exc

        links = {}
        for site in fleet["sites"]:
            if site.get("report") and site["name"] in reports:
                html = os.path.join(os.path.dirname(site["report"]), os.path.basename(site["report"])[:-5] + ".html")
                links[site["name"]] = os.path.relpath(html, dest)
        suffix = ".check" if mode == "check" else ""
        paths = {kind: os.path.join(dest, f"fleet-report{suffix}.{kind}") for kind in ("json", "md", "html")}
        plan = WritePlan()
        plan.directory(dest, mode=0o750)
        contents = {
            "json": json.dumps(fleet, indent=2, sort_keys=True) + "\n",
            "md": render_fleet_markdown(fleet),
            "html": render_fleet_html(page_rows(fleet, reports), links),
        }
        for kind, path in paths.items():
            plan.write(path, contents[kind].encode("utf-8"), 0o644, what=f"the fleet report ({kind})", dir_mode=0o750)
        problems = plan.check()
        if problems:
            raise AnsibleActionFail(f"cannot write the fleet report to {dest}: {'; '.join(problems)}")
        try:
            # The report is written in check mode as well, under its .check names: it changes no host.
            plan.apply(check_mode=False)
        except WriteError as exc:
            raise AnsibleActionFail(str(exc)) from exc

        result.update(
            changed=False,
            json_path=paths["json"],
            markdown_path=paths["md"],
            html_path=paths["html"],
            status=fleet["status"],
            summary=fleet["summary"],
            failed_sites=[s["name"] for s in fleet["sites"] if s["status"] != "ok"],
            msg=f"fleet: {fleet['summary']['line']}",
        )
        if result["failed_sites"]:
            result["warnings"] = [f"fleet: {fleet['summary']['line']} (report: {paths['html']})"]
        return result
