#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
---
module: pki_batch
short_description: Run several PKI steps (CAs, certificates, directories, the expiry report) in order in one task
version_added: 0.2.0
description:
  - Runs a list of steps in order, each a run of M(edgeops.gateway.pki_ca), M(edgeops.gateway.pki_cert),
    M(edgeops.gateway.pki_report) or M(edgeops.gateway.device_files) with that module's own options, checks and
    results, in the Python that runs ansible-playbook.
  - One task for what would otherwise be one task per step. The P(edgeops.gateway.pki#role) role makes the site's
    CAs and every downstream device certificate in one such task, and each gateway's certificates in another.
  - Each step's O(steps[].args) are checked against its module's argument spec when the step's turn comes. The
    first step that fails (or whose arguments are refused) ends the task as failed, RV(failed_step) names it and the
    message starts with its name; the steps before it have run and stay done (each module writes atomically).
  - Values of options that the step's module keeps out of its output (key and PKCS#12 passphrases) are taken out of
    the whole result.
  - This is an action. It runs on the controller, on the controller's files, and the task must run there
    (C(delegate_to=localhost), a local connection) without become.
author:
  - edgeops.gateway maintainers (@edgeops)
requirements:
  - cryptography >= 42.0 (in the Python that runs ansible-playbook; ansible-core requires it)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - edgeops.gateway.attributes.action
  - ansible.builtin.action_common_attributes.flow
attributes:
  check_mode:
    support: full
    details:
      - Each step runs in check mode, as its module does. A step whose O(steps[].needs) do not exist yet is skipped
        in check mode (an earlier step of a real run would make them) and reported with RV(steps[].skip_reason).
  diff_mode:
    support: full
    details:
      - RV(diff) is the list of the steps' diffs, in order (certificate metadata, never keys).
  idempotent:
    support: full
    details:
      - As idempotent as its steps; the PKI modules and device_files change nothing on a second run with the same
        arguments.
  platform:
    platforms: posix
    details:
      - Runs on the controller only; a task on another connection or with become is refused.
options:
  steps:
    description: The steps, run in the order given.
    type: list
    elements: dict
    required: true
    suboptions:
      name:
        description: What the step does, for RV(steps) and for the message when it fails.
        type: str
        required: true
      module:
        description: The module whose code the step runs.
        type: str
        required: true
        choices: [pki_ca, pki_cert, pki_report, device_files]
      args:
        description: The module's options for this step, as the module takes them.
        type: dict
        required: true
      needs:
        description:
          - Files the step needs that an earlier step of a real run makes (its issuer, a request fetched from a
            device). In check mode, the step is skipped when one of them does not exist.
        type: list
        elements: path
        default: []
seealso:
  - module: edgeops.gateway.pki_ca
  - module: edgeops.gateway.pki_cert
  - module: edgeops.gateway.pki_report
  - module: edgeops.gateway.device_files
"""

EXAMPLES = r"""
- name: Make the site's root CA and issue two device certificates from it, in one task
  edgeops.gateway.pki_batch:
    steps:
      - name: Create the site's root CA
        module: pki_ca
        args:
          path: /srv/pki/site-a/root-ca.pem
          key_path: /srv/pki/site-a/root-ca.key.pem
          common_name: site-a root CA
      - name: Issue the device certificates
        module: pki_cert
        needs: [/srv/pki/site-a/root-ca.pem]
        args:
          issuer_cert: /srv/pki/site-a/root-ca.pem
          issuer_key: /srv/pki/site-a/root-ca.key.pem
          certificates:
            - {path: /srv/pki/site-a/devices/dev1/device.pem, common_name: dev1}
            - {path: /srv/pki/site-a/devices/dev2/device.pem, common_name: dev2}
  delegate_to: localhost
  run_once: true
  register: site_pki

- name: Show what the device step changed
  ansible.builtin.debug:
    msg: "{{ (site_pki.steps | selectattr('name', 'equalto', 'Issue the device certificates') | first).result.changed_files | default([]) }}"
"""

RETURN = r"""
steps:
  description: Each step that ran or was skipped, in order; a failed step is the last.
  returned: always
  type: list
  elements: dict
  contains:
    name:
      description: The step's O(steps[].name).
      type: str
    module:
      description: The step's O(steps[].module).
      type: str
    changed:
      description: Whether the step changed something (in check mode, would change).
      type: bool
    skipped:
      description: Whether the step was skipped (check mode, before its O(steps[].needs) exist).
      type: bool
    skip_reason:
      description: Why it was skipped.
      type: str
      returned: when skipped
    result:
      description: The step's module result, as that module returns it, without its C(diff) (in RV(diff)).
      type: dict
      returned: when the step ran
failed_step:
  description: The name of the step that failed.
  returned: failure of a step
  type: str
  sample: Create or import the site's root CA
diff:
  description: The diffs of the steps, in order.
  returned: diff mode, when a step has one
  type: list
  elements: dict
"""
