#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: rollout_phase
short_description: Start a rollout phase on a host in one task, leaving out a host whose upstream failed
version_added: 0.2.0
description:
  - The start of a phase of a site rollout (V(pki), V(gateways), V(devices), V(verify)) on one host, as the
    C(start) entry point of the P(edgeops.gateway.rollout_phase#role) role runs it.
  - Refuses an O(accept_failed_devices) that is not a number of devices or a share, before the host is touched.
  - Works out the host facts the site report reads and returns them in RV(facts) (apply them with
    M(ansible.builtin.set_fact), as the role does); C(edgeops_rollout_phase) is always set.
  - A host that failed or was left out in an earlier phase (C(edgeops_rollout_failure) or C(edgeops_rollout_skipped)
    set) gets RV(end_host=true).
  - A host whose upstream host failed, was left out, or left an earlier phase unfinished (Ansible took it out as
    unreachable) gets C(edgeops_rollout_skipped) with the reason and RV(end_host=true). The upstream host of a
    device is its gateway (C(edgeops_gateway)); the upstream host of a gateway below another gateway is its
    parent (C(edgeops_gateway_parent)). The reason names the host where the trouble started; hosts between that
    were left out themselves are listed as C(upstream of ...).
  - In the V(verify) phase, a host whose upstream IoT Edge gateway is C(awaiting_deployment) (its C(gateway_result)
    from the gateway role, when IoT Edge runs but edgeHub serves nothing until the deployment is set in IoT Hub) is
    left out the same way, with the gateway's hint; its handshake would only be refused.
  - With O(probe=true) (the default in every phase but V(pki)) the action then runs C(echo pong) on the host
    through its connection, in the connection's shell (no module is built or sent and no Python starts on the
    host), so the probe costs one round trip. A host that does not answer (its connection fails, or the command
    does not print C(pong)) gets C(edgeops_rollout_failure) with C(unreachable=true) and RV(end_host=true); the task itself does
    not fail and the host is not marked unreachable, so a play whose hosts are all unreachable still reaches the
    site report.
  - With O(hosts), the action starts the phase for the hosts named instead, all on the controller and without a
    probe, each with its own variables, and returns what each of them gets in RV(hosts). That is for a task run once
    for a play's hosts whose phase needs nothing of the hosts themselves (C(site.yml)'s verify phase for the devices
    whose handshake passed in the devices phase), in one task instead of one per host.
  - This is an action. The bookkeeping runs on the controller; only the probe reaches the host.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - edgeops.gateway.attributes.action
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details:
      - The same in check mode; the probe (C(echo pong)) changes nothing on the host.
  diff_mode:
    support: none
  idempotent:
    support: full
    details:
      - Always RV(ignore:changed=false); it changes nothing on the host. RV(facts) depends only on the facts
        recorded so far and on whether the host answers.
  platform:
    platforms: posix
    details:
      - The probe is C(echo pong) in the connection's shell (POSIX shells and PowerShell both print it; only POSIX
        hosts have run it); the bookkeeping runs on the controller.
options:
  phase:
    description: The phase the play runs.
    type: str
    required: true
    choices: [pki, gateways, devices, verify]
  probe:
    description:
      - Check with one C(echo pong) that the host answers, after the bookkeeping and only for a host
        that is not left out.
      - Default V(false) for V(pki) (the PKI is made on the controller) and V(true) for the other phases.
    type: bool
  hosts:
    description:
      - Start the phase for these inventory hosts (the host the task runs on only when it is named), on the
        controller, and return each one's start in RV(hosts) instead of RV(facts) and RV(end_host).
      - No probe runs; O(probe=true) is refused with O(hosts). A name that is not an inventory host is refused.
    type: list
    elements: str
  earlier_handshakes:
    description:
      - With O(hosts), start the phase only for those of the hosts whose TLS handshake the devices phase made and
        passed (C(trust_store_result.handshake), a result without C(failed=true), as C(site.yml)'s devices phase
        registers it), and return with each one's start also C(handshake) (that result), C(gateway) (the gateway
        it was made with, C(handshake_check_gateway) else C(edgeops_gateway)) and C(completed) (its
        C(edgeops_rollout_completed)). Names that are not inventory hosts are passed over.
      - Each host's variables are read once for the whole task (Ansible builds them on every C(hostvars[host])).
      - Refused without O(hosts).
    type: bool
    default: false
    version_added: 0.2.0
  accept_failed_devices:
    description:
      - Failed devices accepted per site, a whole number such as V(2) or a share such as V(10%).
      - Checked here so that a bad value is refused before any host is touched. Default the host's
        C(edgeops_accept_failed_devices).
    type: raw
notes:
  - The facts are returned, not set, because facts an action returns in C(ansible_facts) reach plays as
    top-level variables only through C(INJECT_FACTS_AS_VARS), whose default is deprecated from ansible-core 2.20;
    the site report reads them as top-level host variables.
seealso:
  - module: edgeops.gateway.site_report
"""

EXAMPLES = r"""
- name: Start the phase
  edgeops.gateway.rollout_phase:
    phase: devices
  register: __phase

- name: Record the phase for the site report
  ansible.builtin.set_fact:
    edgeops_rollout_phase: "{{ __phase.facts.edgeops_rollout_phase }}"
    edgeops_rollout_skipped: "{{ __phase.facts.edgeops_rollout_skipped | default(omit) }}"
    edgeops_rollout_failure: "{{ __phase.facts.edgeops_rollout_failure | default(omit) }}"

- name: Leave a host that is out of the rollout out of this phase
  ansible.builtin.meta: end_host
  when: __phase.end_host

# Once for the play: the phase of the devices that need nothing more of it, started on the controller
- name: Start the verify phase for the devices already checked
  edgeops.gateway.rollout_phase:
    phase: verify
    hosts: "{{ checked_devices }}"
  register: __checked
  run_once: true

- name: Record it for each of them
  ansible.builtin.set_fact:
    edgeops_rollout_phase: "{{ __checked.hosts[item].facts.edgeops_rollout_phase }}"
    edgeops_rollout_skipped: "{{ __checked.hosts[item].facts.edgeops_rollout_skipped | default(omit) }}"
  delegate_to: "{{ item }}"
  delegate_facts: true
  loop: "{{ __checked.hosts.keys() | list }}"
  run_once: true
"""

RETURN = r"""
facts:
  description:
    - The host facts to record. C(edgeops_rollout_phase) always; C(edgeops_rollout_skipped) (a sentence) when the
      upstream host keeps this host out; C(edgeops_rollout_failure) (C(phase), C(msg), C(unreachable=true)) when
      the host did not answer the probe.
  returned: success, when O(hosts) is not given
  type: dict
  sample: {"edgeops_rollout_phase": "devices", "edgeops_rollout_skipped": "gateway gw1.site-a.lab failed in the gateways phase: mosquitto did not start"}
end_host:
  description: Whether the host is out of the rest of the rollout (end it with C(meta) C(end_host)).
  returned: success, when O(hosts) is not given
  type: bool
  sample: true
probed:
  description: Whether the probe ran.
  returned: success, when O(hosts) is not given
  type: bool
  sample: true
hosts:
  description:
    - With O(hosts), each host's start, by inventory name, in the order given; a host named twice is started once.
    - C(facts) and C(end_host) as RV(facts) and RV(end_host) are for a single host, and C(msg) its one line.
    - With O(earlier_handshakes=true), only the hosts whose handshake passed, each also with C(handshake), C(gateway)
      and C(completed).
  returned: success, when O(hosts) is given
  type: dict
  sample: {"dev1.site-a.lab": {"facts": {"edgeops_rollout_phase": "verify"}, "end_host": false, "msg": "verify: started"}}
msg:
  description: What happened, in one line.
  returned: success
  type: str
  sample: "devices: started (the host answers)"
"""
