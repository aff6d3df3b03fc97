# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Action for edgeops.gateway.site_report: runs on the controller only (see the module docs)."""

from __future__ import annotations

import json
import os

from ansible.errors import AnsibleActionFail
from ansible.plugins.action import ActionBase

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan
from ansible_collections.edgeops.gateway.plugins.module_utils._report import (
    ReportError,
    build_report,
    comparable,
    render_markdown,
    rollout_failure,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._report_html import render_site_html

ARGUMENT_SPEC = {
    "dest": {"type": "path", "required": True},
    "site": {"type": "str"},
    "gateways": {"type": "list", "elements": "str"},
    "devices": {"type": "list", "elements": "str"},
    "certificates": {"type": "list", "elements": "dict", "default": []},
    "handshake_fact": {"type": "str", "default": "handshake_check_result"},
    "trust_store_fact": {"type": "str", "default": "trust_store_result"},
    "gateway_fact": {"type": "str", "default": "gateway_result"},
    "failure_fact": {"type": "str", "default": "edgeops_rollout_failure"},
    "accept_failed_devices": {"type": "raw"},
}


def _read_json(path):
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except (OSError, ValueError):
        return None


class ActionModule(ActionBase):
    TRANSFERS_FILES = False
    _requires_connection = False

    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        _validation, args = self.validate_argument_spec(argument_spec=ARGUMENT_SPEC)
        task_vars = task_vars or {}
        hostvars = task_vars.get("hostvars", {})
        groups = task_vars.get("groups", {})

        if not str(args["dest"]).strip():
            raise AnsibleActionFail(
                "dest is empty; give the folder that receives the report, for example "
                'dest: "{{ edgeops_report_dir }}" (the controller\'s current folder is never used)'
            )
        accept = args["accept_failed_devices"]
        if accept is None:
            accept = task_vars.get("edgeops_accept_failed_devices")
        site = args["site"] or task_vars.get("edgeops_site")
        gateways = args["gateways"] if args["gateways"] is not None else groups.get("gateways", [])
        devices = args["devices"] if args["devices"] is not None else groups.get("devices", [])

        def fact(host, name):
            if host not in hostvars:
                raise AnsibleActionFail(
                    f"{host} is not in the inventory; list only inventory hosts in gateways/devices"
                )
            value = hostvars[host].get(name)
            return value if value not in ("", None) else None

        def failure(host):
            return rollout_failure(
                fact(host, args["failure_fact"]),
                fact(host, "edgeops_rollout_phase"),
                fact(host, "edgeops_rollout_completed"),
                fact(host, "edgeops_rollout_skipped"),
            )

        gateway_data = [
            {
                "host": gw,
                "hostname": fact(gw, "edgeops_gateway_hostname") or gw,
                "runtime": fact(gw, "gateway_runtime"),
                "failure": failure(gw),
                "result": fact(gw, args["gateway_fact"]),
                "parent": fact(gw, "edgeops_gateway_parent"),
                "upstream": fact(gw, "edgeops_upstream_handshake"),
            }
            for gw in gateways
        ]
        device_data = [
            {
                "host": dev,
                "gateway": fact(dev, "edgeops_gateway"),
                "failure": failure(dev),
                "trust_store": fact(dev, args["trust_store_fact"]),
                "handshake": fact(dev, args["handshake_fact"]),
            }
            for dev in devices
        ]

        mode = "check" if self._task.check_mode else "run"
        try:
            report = build_report(site, gateway_data, device_data, args["certificates"], mode=mode, accept=accept)
        except ReportError as exc:
            raise AnsibleActionFail(str(exc)) from exc

        dest = os.path.abspath(args["dest"])
        suffix = ".check" if mode == "check" else ""
        json_path = os.path.join(dest, f"site-report{suffix}.json")
        md_path = os.path.join(dest, f"site-report{suffix}.md")
        html_path = os.path.join(dest, f"site-report{suffix}.html")
        previous = _read_json(json_path)
        # The report is the controller's record of a run, check mode included (under a .check name).
        plan = WritePlan()
        try:
            plan.directory(dest, 0o750)
            plan.write(
                json_path,
                (json.dumps(report, indent=2, sort_keys=True) + "\n").encode(),
                0o644,
                what="the JSON report",
                order=0,
                dir_mode=0o750,
            )
            plan.write(
                md_path, render_markdown(report).encode(), 0o644, what="the Markdown report", order=1, dir_mode=0o750
            )
            plan.write(
                html_path, render_site_html(report).encode(), 0o644, what="the HTML report", order=1, dir_mode=0o750
            )
            plan.apply(check_mode=False)
        except WriteError as exc:
            raise AnsibleActionFail(
                f"cannot write the site report to {dest}: {exc}; make it writable or set dest"
            ) from None
        result.update(
            changed=False,
            json_path=json_path,
            markdown_path=md_path,
            html_path=html_path,
            summary=report["summary"],
            report_changed=previous is None or comparable(previous) != comparable(report),
            status=report["status"],
            failed_hosts=[row["host"] for row in report["gateways"] + report["devices"] if row["status"] != "ok"],
            msg=f"site {site}: {report['summary']['line']}",
        )
        if report["status"] != "ok":
            result["warnings"] = [f"site {site}: {report['summary']['line']} (report: {md_path})"]
        return result
