#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rotation_state
short_description: Read and record the progress of a root CA rotation
version_added: 0.3.0
description:
  - Reads the rotation's state file (JSON, on the host that runs the module, normally the controller) and says which
    steps run now (RV(runs)), which step is next and which devices keep step 3 from running (RV(blocking)).
  - With O(step) it records a step's result and writes the state file through the collection's atomic writer.
    What a result means is decided here, not in the playbook. Steps 2, 4 and 5 take one result per device of
    O(hosts) in O(results); a device without a result (it did not answer) has failed. Any failed device stops the
    rotation at that step, named in RV(state.stopped) and RV(state.failed); a later pass of the step clears them.
  - Step 3 records one gateway (O(gateway)) serving the V(new) chain, or rolled back to the V(old) chain with
    O(reason); a rollback stops the rotation with the gateway's name and the reason. Step 3 is done when every
    gateway of O(gateways) serves the new chain. From then on the gateway accepts device client certificates from
    both roots (RV(state.gateways) C(trusts)).
  - Step 5 with O(gateway) records that the gateway accepts client certificates from the new root alone, or with
    O(reason) why it could not (it keeps both, and the rotation stops in step 5 naming it). Step 5 is done with
    O(archive).
  - A step cannot be recorded before the steps before it are done.
  - Used by C(playbooks/rotate_root.yml); see the README's section on rotating the root CA.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
attributes:
  check_mode:
    support: full
    details:
      - Check mode computes the new state and returns it and the diff, and writes nothing.
  diff_mode:
    support: full
    details:
      - The diff shows the state file before and after, as JSON.
  idempotent:
    support: full
    details:
      - Recording the same result twice changes nothing the second time. Reading never changes anything.
  platform:
    support: full
    platforms: posix
options:
  path:
    description: The rotation's state file.
    type: path
    required: true
  step:
    description:
      - The step (1 to 5) whose result is recorded. Without it the module only reads the state.
    type: int
    choices: [1, 2, 3, 4, 5]
  last_step:
    description:
      - The last step to run now; RV(runs) holds no later step. V(2) stops after both roots are trusted, before any
        gateway changes.
    type: int
    choices: [1, 2, 3, 4, 5]
    default: 5
  hosts:
    description: The devices a device step (2, 4, 5) covers, by inventory name.
    type: list
    elements: str
    default: []
  results:
    description:
      - One result per entry of O(hosts), in the same order. V(ok) means the device passed the step (step 4
        V(new) when it got its new certificate, V(none) when it uses none of its own); any other text is why it
        failed; an empty result means the device did not answer.
    type: list
    elements: raw
    default: []
  complete:
    description:
      - Whether a device step with no failure is done. Step 5 is done only once the old PKI is archived, so its
        device results are recorded with V(false) (and the archive's name in O(archive), kept for the move), and
        O(archive) alone is recorded after the move.
    type: bool
    default: true
  gateway:
    description: The gateway recorded in step 3 (the chain it serves) or step 5 (the roots it trusts).
    type: str
  gateways:
    description: Every gateway of the site; step 3 is done when all of them serve the new chain. Required with O(gateway).
    type: list
    elements: str
    default: []
  serves:
    description: Step 3, which chain O(gateway) serves now; V(old) means it was rolled back.
    type: str
    choices: [new, old]
  reason:
    description: Step 3, why the gateway was rolled back; step 5, why it still trusts both roots.
    type: str
  old_root:
    description: Step 1, the old root's subject and fingerprint, for the report.
    type: str
  next_root:
    description: Step 1, the new root's subject and fingerprint, for the report.
    type: str
  archive:
    description: Step 5, the name of the old PKI's folder under C(archive/); with it step 5 is done.
    type: str
"""

EXAMPLES = r"""
- name: Read the rotation's progress
  edgeops.gateway.rotation_state:
    path: /srv/pki/site-a/rotation-state.json
  delegate_to: localhost
  run_once: true
  register: rotation

- name: Record step 2 for every device (an unanswered device has no result and fails)
  edgeops.gateway.rotation_state:
    path: /srv/pki/site-a/rotation-state.json
    step: 2
    hosts: "{{ groups['devices'] }}"
    results: "{{ groups['devices'] | map('extract', hostvars) | map(attribute='rotation_step2', default='') }}"
  delegate_to: localhost
  run_once: true

- name: Record that gw1 was rolled back
  edgeops.gateway.rotation_state:
    path: /srv/pki/site-a/rotation-state.json
    step: 3
    gateway: gw1
    gateways: "{{ groups['gateways'] }}"
    serves: old
    reason: "dev2: untrusted_root"
  delegate_to: localhost
"""

RETURN = r"""
state:
  description: The rotation's state after this task (as written, or as it would be written in check mode).
  returned: always
  type: dict
  contains:
    steps_done:
      description: The steps done.
      type: list
      elements: int
    stopped:
      description: "Why the rotation stopped (C(step 2: dev2)), or null."
      type: str
    devices:
      description: Per device, C(trusts) (V(old), V(new)) and after step 4 C(certificate) (V(new) or V(none)).
      type: dict
    gateways:
      description:
        - Per gateway, C(serves) (V(old) or V(new)), C(rolled_back) (the reason, or null) and C(trusts), the roots
          whose client certificates it accepts (V(old); V(old) and V(new) from step 3; V(new) after step 5).
      type: dict
    failed:
      description: Per step (as a string) whose last run failed, the hosts and why.
      type: dict
  sample:
    steps_done: [1]
    stopped: "step 2: dev2"
    devices: {dev1: {trusts: [old, new]}}
    gateways: {}
    failed: {"2": {dev2: "unreachable: the host did not answer"}}
runs:
  description: The steps whose plays run now (in check mode every step that is not done).
  returned: always
  type: list
  elements: int
next_step:
  description: The first step that is not done; null when the rotation is finished.
  returned: always
  type: int
blocking:
  description: The devices that keep step 3 from running (step 2's failures), with why.
  returned: always
  type: dict
failures:
  description: The hosts this record found failed, with why (empty when it stopped nothing).
  returned: always
  type: dict
summary:
  description: One line with the steps done, where the rotation stopped, what each gateway serves and each device trusts.
  returned: always
  type: str
"""

import os

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils import _rotation as rot
from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan


def _read(path):
    if not os.path.exists(path):
        return None
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read()
    except (OSError, UnicodeDecodeError) as exc:
        raise rot.RotationError(f"cannot read the rotation state file {path}: {exc}; make it readable") from None


def _record(params, state):
    step = params["step"]
    if step == 1:
        return rot.record_roots(state, params["old_root"], params["next_root"]), {}
    if step == 3:
        if not params["gateway"] or not params["serves"]:
            raise rot.RotationError("step 3 records one gateway: give gateway, gateways and serves (new or old)")
        new = rot.record_gateway(state, params["gateway"], params["gateways"], params["serves"], params["reason"])
        return new, new["failed"].get("3", {}) if params["serves"] == "old" else {}
    if step == 5 and params["gateway"]:
        return rot.record_gateway_trust(state, params["gateway"], params["gateways"], params["reason"]), (
            {params["gateway"]: params["reason"].strip()} if (params["reason"] or "").strip() else {}
        )
    if params["reason"] and step != 3:
        raise rot.RotationError("reason goes with step 3 (a rollback) or step 5 with gateway")
    if step == 5 and params["archive"] and params["complete"]:
        return rot.record_archive(state, params["archive"]), {}
    if not params["hosts"]:
        raise rot.RotationError(f"step {step} records devices: give hosts (every device of the site) and results")
    state, failures = rot.record_devices(state, step, params["hosts"], params["results"], params["complete"])
    if step == 5 and params["archive"]:
        # The archive's name is kept before the old PKI moves, so that a resumed move uses the same folder.
        state["archive"] = params["archive"]
    return state, failures


def main():
    module = AnsibleModule(
        argument_spec={
            "path": {"type": "path", "required": True},
            "step": {"type": "int", "choices": [1, 2, 3, 4, 5]},
            "last_step": {"type": "int", "choices": [1, 2, 3, 4, 5], "default": 5},
            "hosts": {"type": "list", "elements": "str", "default": []},
            "results": {"type": "list", "elements": "raw", "default": []},
            "complete": {"type": "bool", "default": True},
            "gateway": {"type": "str"},
            "gateways": {"type": "list", "elements": "str", "default": []},
            "serves": {"type": "str", "choices": ["new", "old"]},
            "reason": {"type": "str"},
            "old_root": {"type": "str"},
            "next_root": {"type": "str"},
            "archive": {"type": "str"},
        },
        required_by={"serves": "gateway"},
        supports_check_mode=True,
    )
    params = module.params
    path = params["path"]
    try:
        before_text = _read(path)
        state = rot.parse_state(before_text, path)
        failed = {}
        changed = False
        if params["step"] is not None:
            state, failed = _record(params, state)
            after_text = rot.dump_state(state)
            plan = WritePlan()
            changed = plan.write(path, after_text.encode("utf-8"), 0o600, what="the rotation state file")
            plan.apply(check_mode=module.check_mode)
    except (rot.RotationError, WriteError) as exc:
        module.fail_json(msg=str(exc), changed=getattr(exc, "changed", False))
    result = {
        "changed": changed,
        "state": state,
        "runs": [step for step in rot.runs(state, module.check_mode) if step <= params["last_step"]],
        "next_step": rot.next_step(state),
        "blocking": rot.blocking_devices(state),
        "failures": failed,
        "summary": rot.summary(state),
    }
    if module._diff and params["step"] is not None:
        result["diff"] = {
            "before": before_text or "",
            "after": rot.dump_state(state),
            "before_header": path,
            "after_header": path,
        }
    module.exit_json(**result)


if __name__ == "__main__":
    main()
