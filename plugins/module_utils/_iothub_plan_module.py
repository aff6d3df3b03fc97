# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec and entry point of iothub_plan, shared by the module and its action plugin.

The entry point takes the module object (params, check_mode, _diff, fail_json) and returns the result.
Private to the collection.
"""

from __future__ import annotations

import json
import os

from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan, read_bytes
from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_names import (
    IotHubNameError,
    parse_hub_connection_string,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_plan import (
    PlanError,
    build_plan,
    render_script,
)

JSON_NAME = "iothub-plan.json"
SCRIPT_NAME = "iothub-plan.sh"


IOTHUB_PLAN_SPEC = {
    "argument_spec": {
        "site": {"type": "str", "required": True},
        "dest": {"type": "path", "required": True},
        "hierarchy": {"type": "dict", "required": True},
        "certificates": {"type": "list", "elements": "dict", "default": []},
        "deployments_dir": {"type": "path"},
        "hub_name": {"type": "str"},
        "connection_string": {"type": "str", "no_log": True},
    },
}


def run_iothub_plan(module):
    """Write the site's IoT Hub plan (JSON) and its script; return the module's result."""
    params = module.params
    hub_name = params["hub_name"]
    hub_hostname = None
    if params["connection_string"] is not None:
        try:
            hub = parse_hub_connection_string(params["connection_string"])
        except IotHubNameError as exc:
            module.fail_json(msg=str(exc))
        if hub_name and hub_name != hub["hub_name"]:
            module.fail_json(
                msg=f"hub_name {hub_name!r} and the connection string's hub {hub['hub_name']!r} differ; give one of them"
            )
        hub_name, hub_hostname = hub["hub_name"], hub["hostname"]
    dest = os.path.abspath(params["dest"])
    deployments_dir = os.path.abspath(params["deployments_dir"] or os.path.join(dest, "gateways"))
    hierarchy = params["hierarchy"]
    deployments = {}
    for name in hierarchy.get("gateways") or {}:
        path = os.path.join(deployments_dir, name, "deployment.json")
        if os.path.isfile(path):
            deployments[name] = path
    try:
        plan = build_plan(
            params["site"],
            hierarchy,
            params["certificates"],
            hub_name=hub_name,
            hub_hostname=hub_hostname,
            deployments=deployments,
        )
    except (PlanError, KeyError, TypeError) as exc:
        if isinstance(exc, PlanError):
            module.fail_json(msg=f"no IoT Hub plan for site {params['site']}: {exc}")
        module.fail_json(
            msg=f"hierarchy is not what the edgeops.gateway.hierarchy filter returns ({exc!r}); pass its result"
        )
    json_path = os.path.join(dest, JSON_NAME)
    script_path = os.path.join(dest, SCRIPT_NAME)
    json_text = json.dumps(plan, indent=2, sort_keys=True) + "\n"
    script_text = render_script(plan, JSON_NAME)
    before = {path: (read_bytes(path) or b"").decode("utf-8", errors="replace") for path in (json_path, script_path)}
    writes = WritePlan()
    try:
        writes.write(json_path, json_text.encode(), 0o644, what="the IoT Hub plan", order=0, dir_mode=0o750)
        writes.write(script_path, script_text.encode(), 0o755, what="the IoT Hub script", order=1, dir_mode=0o750)
        writes.apply(check_mode=module.check_mode)
    except WriteError as exc:
        module.fail_json(msg=f"cannot write the IoT Hub plan to {dest}: {exc}", changed=exc.changed)
    result = {
        "changed": writes.changed,
        "json_path": json_path,
        "script_path": script_path,
        "plan": plan,
        "summary": {
            "edge_devices": len(plan["edge_devices"]),
            "devices": len(plan["devices"]),
            "links": len(plan["links"]),
            "deployments": sum(1 for e in plan["edge_devices"] if e["deployment"]),
            "not_registered": len(plan["not_registered"]),
        },
    }
    s = result["summary"]
    result["msg"] = (
        f"site {params['site']}: {s['edge_devices']} IoT Edge devices, {s['devices']} downstream devices, "
        f"{s['links']} parent links, {s['deployments']} deployments, {s['not_registered']} hosts without an IoT Hub "
        f"identity; plan {json_path}, script {script_path}"
    )
    if module._diff and writes.changed:
        result["diff"] = [
            {"before_header": json_path, "after_header": json_path, "before": before[json_path], "after": json_text},
            {
                "before_header": script_path,
                "after_header": script_path,
                "before": before[script_path],
                "after": script_text,
            },
        ]
    return result
