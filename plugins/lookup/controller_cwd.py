# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Lookup edgeops.gateway.controller_cwd: the folder ansible-playbook runs in, on the controller."""

from __future__ import annotations

DOCUMENTATION = r"""
name: controller_cwd
short_description: The folder ansible-playbook runs in, on the controller
version_added: 0.2.0
description:
  - Returns the working folder of the ansible-playbook process on the controller, the folder a relative
    C(-i) path is relative to.
  - Unlike the E(PWD) environment variable, which only a shell keeps, this is the process's own working
    folder, so it is right also when ansible-playbook is started without a shell in another folder (a
    program that starts it with a working folder of its own, such as a job runner).
  - Ansible's C(pipe) lookup runs its command in the playbook's folder, so it does not tell this folder.
  - Takes no terms.
author:
  - edgeops.gateway maintainers (@edgeops)
notes:
  - Fails with a message when the folder has been removed while ansible-playbook runs.
"""

EXAMPLES = r"""
- name: Resolve a relative inventory path as ansible-playbook -i would
  ansible.builtin.set_fact:
    site_inventory: "{{ item if item is ansible.builtin.abs else lookup('edgeops.gateway.controller_cwd') ~ '/' ~ item }}"
  loop: [inventories/site-a]
"""

RETURN = r"""
_raw:
  description: The absolute path of the folder ansible-playbook runs in.
  type: list
  elements: str
"""

import os

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        if terms:
            raise AnsibleLookupError("controller_cwd takes no terms: use lookup('edgeops.gateway.controller_cwd')")
        try:
            return [os.getcwd()]
        except OSError as exc:
            raise AnsibleLookupError(
                f"cannot tell the folder ansible-playbook runs in ({exc.strerror}): it was removed during the run; "
                "start ansible-playbook again from a folder that exists"
            ) from None
