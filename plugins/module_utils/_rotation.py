# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The root CA rotation's decisions: its state, which step runs next, and what a step's result means.

Private to the collection; used by the ``rotation_state`` module, which playbooks/rotate_root.yml
calls at the start of every play and after every step. The state is a JSON document:

* ``steps_done``: the steps (1-5) that finished, in order;
* ``stopped``: why the rotation stopped (``"step 2: dev2"``), or ``None``;
* ``devices``: per device ``trusts`` (``old``, ``new``) and, after step 4, ``certificate``;
* ``gateways``: per gateway ``serves`` (``old``/``new``), ``rolled_back`` (the reason, or ``None``) and
  ``trusts`` (the roots it accepts device client certificates from: ``old``, then ``old`` and ``new`` from
  step 3, ``new`` alone once step 5 has switched it);
* ``failed``: per step whose last run failed, the hosts and why (a later pass of that step clears it);
* ``old_root`` / ``next_root``: subject and fingerprint of each root; ``archive``: the old PKI's folder name.
"""

from __future__ import annotations

import copy
import json

STEPS = (1, 2, 3, 4, 5)
NO_ANSWER = "unreachable: the host did not answer"
# Step 4's result for a device: it got its new certificate, or it uses none of its own.
STEP4_RESULTS = ("new", "none")


class RotationError(Exception):
    """Bad input or a state file that cannot be used; the message says how to fix it."""


def empty_state():
    return {"steps_done": [], "stopped": None, "devices": {}, "gateways": {}, "failed": {}}


def parse_state(text, path):
    """The state from the file's text (``None`` for a missing file), checked and completed."""
    if text is None:
        return empty_state()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise RotationError(
            f"the rotation state file {path} is not JSON ({exc}); restore it, or move it away to start the "
            "rotation over from step 1 (the new PKI in next/ is kept and reused)"
        ) from None
    if not isinstance(data, dict):
        raise RotationError(f"the rotation state file {path} does not hold a JSON object; restore it or move it away")
    state = empty_state()
    state.update(data)
    done = state["steps_done"]
    if not isinstance(done, list) or any(step not in STEPS for step in done):
        raise RotationError(
            f"steps_done in {path} is {done!r}; it must list steps 1 to 5; restore the file or move it away"
        )
    for key in ("devices", "gateways", "failed"):
        if not isinstance(state[key], dict):
            raise RotationError(f"{key} in {path} is not an object; restore the file or move it away")
    # State files of the first release kept step 2's failures under their own key.
    legacy = state.pop("step2_failed", None)
    if legacy and "2" not in state["failed"]:
        state["failed"]["2"] = legacy
    state["steps_done"] = sorted(set(done))
    return state


def dump_state(state):
    return json.dumps(state, indent=2, sort_keys=True) + "\n"


def next_step(state):
    """The first step that is not done, or ``None`` when the rotation is finished."""
    return next((step for step in STEPS if step not in state["steps_done"]), None)


def runs(state, check_mode):
    """The steps whose plays run now.

    A step runs when it is not done and every earlier step is. In check mode every step that is not
    done is shown, so that a --check run before the rotation previews all of them.
    """
    done = state["steps_done"]
    return [step for step in STEPS if step not in done and (check_mode or all(s in done for s in STEPS if s < step))]


def _require_order(state, step):
    missing = [s for s in STEPS if s < step and s not in state["steps_done"]]
    if missing:
        raise RotationError(
            f"step {step} cannot be recorded before step(s) {', '.join(map(str, missing))}; run the rotation playbook "
            "from its start, which resumes at the first step that is not done"
        )


def _finish(state, step, failed):
    key = str(step)
    if failed:
        state["failed"][key] = failed
        state["stopped"] = f"step {step}: " + ", ".join(sorted(failed))
        return
    state["failed"].pop(key, None)
    state["stopped"] = None
    if step not in state["steps_done"]:
        state["steps_done"] = sorted(state["steps_done"] + [step])


def record_roots(state, old_root, next_root):
    """Step 1 is done: the new PKI exists beside the old one."""
    state = copy.deepcopy(state)
    state["old_root"] = old_root
    state["next_root"] = next_root
    _finish(state, 1, {})
    return state


def results_of(hosts, results):
    """Pair each host with its result; an empty or missing result means the host did not answer."""
    if results is None:
        results = []
    if len(results) > len(hosts):
        raise RotationError(f"{len(results)} results were given for {len(hosts)} hosts; give one result per host")
    padded = list(results) + [""] * (len(hosts) - len(results))
    return {
        host: (str(result).strip() if result not in (None, "") else NO_ANSWER)
        for host, result in ((hosts[i], padded[i]) for i in range(len(hosts)))
    }


def record_devices(state, step, hosts, results, complete=True):
    """Record a device step (2, 4 or 5): ``results`` per host is ``ok`` (step 4: ``new`` or ``none``) or why not.

    Returns the new state and the failed devices ({name: reason}). Any failed device stops the rotation
    at this step, named in ``stopped``; with none the step is done (unless ``complete`` is false: step 5
    is done only when the old PKI is archived, see :func:`record_archive`).
    """
    if step not in (2, 4, 5):
        raise RotationError(f"step {step} is not a device step; devices are recorded in steps 2, 4 and 5")
    state = copy.deepcopy(state)
    _require_order(state, step)
    paired = results_of(hosts, results)
    good = STEP4_RESULTS if step == 4 else ("ok",)
    failed = {host: result for host, result in paired.items() if result not in good}
    for host, result in paired.items():
        if host in failed:
            continue
        device = state["devices"].setdefault(host, {})
        if step == 2:
            device["trusts"] = ["old", "new"]
        elif step == 4:
            device["certificate"] = "new" if result == "new" else "none"
        else:
            device["trusts"] = ["new"]
    if failed or complete:
        _finish(state, step, failed)
    else:
        state["failed"].pop(str(step), None)
        state["stopped"] = None
    return state, failed


def record_gateway(state, gateway, gateways, serves, reason=None):
    """Record step 3 for one gateway: it serves the new chain, or it was rolled back (``serves: old``) and why.

    A rollback stops the rotation with the gateway's name and the reason; step 3 is done once every
    gateway of ``gateways`` serves the new chain.
    """
    if serves not in ("new", "old"):
        raise RotationError(f"serves is {serves!r}; a gateway serves the 'new' chain or was rolled back to the 'old'")
    if gateway not in gateways:
        raise RotationError(f"{gateway} is not one of the gateways {gateways}; record a gateway of the inventory")
    state = copy.deepcopy(state)
    _require_order(state, 3)
    if serves == "old":
        why = (reason or "").strip() or "no reason given"
        state["gateways"][gateway] = {"serves": "old", "rolled_back": why, "trusts": ["old"]}
        state["failed"]["3"] = {gateway: why}
        state["stopped"] = f"step 3: {gateway} rolled back to the old chain: {why}"
        return state
    # Devices still present their old client certificates until step 4: the gateway accepts both roots.
    state["gateways"][gateway] = {"serves": "new", "rolled_back": None, "trusts": ["old", "new"]}
    state["failed"].pop("3", None)
    state["stopped"] = None
    if all(state["gateways"].get(name, {}).get("serves") == "new" for name in gateways):
        _finish(state, 3, {})
    return state


def record_gateway_trust(state, gateway, gateways, reason=None):
    """Record step 5 for one gateway: it accepts client certificates from the new root alone, or why not.

    Every device has its new certificate (step 4) and trusts the new root only, so the gateway drops the
    old root. A failure (``reason``) stops the rotation in step 5 with the gateway's name; the gateway
    then still accepts both roots, and a re-run tries again. Step 5 is done only by :func:`record_archive`.
    """
    if gateway not in gateways:
        raise RotationError(f"{gateway} is not one of the gateways {gateways}; record a gateway of the inventory")
    state = copy.deepcopy(state)
    _require_order(state, 5)
    info = state["gateways"].setdefault(gateway, {"serves": "new", "rolled_back": None})
    why = (reason or "").strip()
    if why:
        info["trusts"] = ["old", "new"]
        state["failed"].setdefault("5", {})[gateway] = why
        state["stopped"] = f"step 5: {gateway} still trusts both roots: {why}"
        return state
    info["trusts"] = ["new"]
    failed = state["failed"].get("5", {})
    failed.pop(gateway, None)
    if not failed:
        state["failed"].pop("5", None)
        state["stopped"] = None
    return state


def record_archive(state, archive):
    """Step 5 is done: the old PKI is in ``archive/<archive>`` and next/ is the site PKI."""
    state = copy.deepcopy(state)
    _require_order(state, 5)
    if not archive:
        raise RotationError("archive is empty; give the name of the old PKI's folder under archive/")
    state["archive"] = archive
    _finish(state, 5, {})
    return state


def blocking_devices(state):
    """The devices that keep step 3 from running: step 2's failures while step 2 is not done."""
    if 2 in state["steps_done"]:
        return {}
    return dict(state["failed"].get("2", {}))


def summary(state):
    """One line: the steps done, where it stopped, which chain each gateway serves, what each device trusts."""
    parts = [f"steps done {state['steps_done']}"]
    if state["stopped"]:
        parts.append(f"stopped at {state['stopped']}")
    if state["gateways"]:
        parts.append(
            "gateways serve "
            + ", ".join(
                f"{name}: {info.get('serves')}"
                + (f" (trusts {'+'.join(info['trusts'])} client certificates)" if info.get("trusts") else "")
                for name, info in sorted(state["gateways"].items())
            )
        )
    if state["devices"]:
        parts.append(
            "devices trust "
            + ", ".join(
                f"{name}: {'+'.join(info.get('trusts', [])) or 'unknown'}"
                for name, info in sorted(state["devices"].items())
            )
        )
    if 5 in state["steps_done"] and state.get("archive"):
        parts.append(f"old PKI in archive/{state['archive']}")
    return "; ".join(parts)
