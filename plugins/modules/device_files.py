#!/usr/bin/python
# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import annotations

DOCUMENTATION = r"""
module: device_files
short_description: Check and converge all of a host's files in one task, and say which changed
version_added: 0.2.0
description:
  - Puts every file of O(files) in place on the host with its content, mode, owner and group, in one task and one
    connection, instead of a loop of copies. Files that already hold the content with those attributes are not
    touched.
  - Every target is checked before the first write (the folder exists or can be created and is writable, the path
    is not a folder, the owner and group exist, the mode is valid), in check mode too; then each file is written to
    a temporary file beside it, synced and renamed. A refused plan writes nothing.
  - Missing folders are created with O(directory_mode); existing folders are left as they are.
  - The action plugin reads O(files[].src) on the controller and sends the content; a file marked
    O(files[].secret) (a private key) is never shown, in the result, the diff or the logs.
  - The device phase of C(playbooks/devices.yml) deploys a device's certificate, chain and key with it.
author:
  - edgeops.gateway maintainers (@edgeops)
extends_documentation_fragment:
  - ansible.builtin.action_common_attributes
  - edgeops.gateway.attributes
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details:
      - The action plugin reads O(files[].src) on the controller.
  async:
    support: none
  bypass_host_loop:
    support: none
  check_mode:
    support: full
    details:
      - Check mode reports which files would be created or changed, after the same checks as a real run.
  diff_mode:
    support: full
    details:
      - The diff lists every file with its SHA-256 and mode before and after; a secret file shows only its mode
        and whether its content changes.
  idempotent:
    support: full
    details:
      - A second run with the same files changes nothing.
  platform:
    platforms: posix
  safe_file_operations:
    description: Uses Ansible's strict file operation functions to ensure proper permissions and avoid data corruption.
    support: full
    details:
      - Every target is checked before the first write; each file is written to a temporary file beside it, synced
        and renamed over the old one.
  vault:
    description: Can automatically decrypt Ansible vaulted files.
    support: none
options:
  files:
    description: The files to put in place.
    type: list
    elements: dict
    required: true
    suboptions:
      path:
        description: Absolute path of the file on the host.
        type: path
        required: true
      src:
        description: A file on the controller whose content the file gets. Exactly one of O(files[].src) and
          O(files[].content).
        type: path
      content:
        description: The content of the file, as text.
        type: str
      mode:
        description: The file's mode, as an octal string such as V("0644").
        type: raw
        default: "0644"
      owner:
        description: The file's owner (name or uid); default the user Ansible runs as.
        type: str
      group:
        description: The file's group (name or gid); default the user's group.
        type: str
      secret:
        description: The content is secret (a private key); it never appears in the result or the diff.
        type: bool
        default: false
  directory_mode:
    description: Mode of the folders the module creates.
    type: raw
    default: "0700"
notes:
  - Content is text (PEM); a binary O(files[].src) is refused.
seealso:
  - module: edgeops.gateway.ca_trust
"""

EXAMPLES = r"""
- name: Deploy the device's certificate, chain and key
  edgeops.gateway.device_files:
    files:
      - {path: /etc/edgeops/pki/device.pem, src: "{{ edgeops_pki_dir }}/devices/{{ inventory_hostname }}/device.pem"}
      - path: /etc/edgeops/pki/device-full-chain.pem
        src: "{{ edgeops_pki_dir }}/devices/{{ inventory_hostname }}/device-full-chain.pem"
      - path: /etc/edgeops/pki/device.key.pem
        src: "{{ edgeops_pki_dir }}/devices/{{ inventory_hostname }}/device.key.pem"
        mode: "0600"
        secret: true
"""

RETURN = r"""
files:
  description: Every file, in the order given, with what the task did to it.
  returned: success
  type: list
  elements: dict
  contains:
    path:
      description: The file on the host.
      type: str
    state:
      description: V(created), V(updated) (content), V(attributes) (mode, owner or group only) or V(unchanged).
      type: str
    sha256:
      description: SHA-256 of the wanted content; not returned for a secret file.
      type: str
  sample: [{path: /etc/edgeops/pki/device.pem, state: unchanged, sha256: 9f86d08...}]
changed_files:
  description: The files that were (in check mode, would be) created or changed.
  returned: success
  type: list
  elements: str
  sample: [/etc/edgeops/pki/device.key.pem]
"""

import hashlib
import os

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.edgeops.gateway.plugins.module_utils._io import (
    WriteError,
    WritePlan,
    mode_of,
    parse_mode,
    read_bytes,
)

FILE_SPEC = {
    "path": {"type": "path", "required": True},
    "src": {"type": "path"},
    "content": {"type": "str", "no_log": True},
    "mode": {"type": "raw", "default": "0644"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
    "secret": {"type": "bool", "default": False},
}


def _describe(path, content, mode, secret):
    """One line of the diff: the file's SHA-256 (or "(secret)") and mode; never its content."""
    if content is None:
        return f"{path}: absent\n"
    digest = "(secret)" if secret else hashlib.sha256(content).hexdigest()
    return f"{path}: {digest} mode {mode:04o}\n"


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "required": True, "options": FILE_SPEC},
            "directory_mode": {"type": "raw", "default": "0700"},
        },
        supports_check_mode=True,
    )
    plan = WritePlan()
    rows = []
    before = after = ""
    try:
        for spec in module.params["files"]:
            path = spec["path"]
            if spec["content"] is None:
                module.fail_json(
                    msg=f"file {path} has no content: give content, or src (a file on the controller, read by the "
                    "action plugin)"
                )
            if not os.path.isabs(path):
                module.fail_json(msg=f"file path {path} is not absolute; give the full path on the host")
            content = to_bytes(spec["content"])
            mode = parse_mode(spec["mode"], path)
            existing = read_bytes(path) if os.path.isfile(path) else None
            plan.claim(path, f"file {path}")
            plan.write(
                path,
                content,
                mode,
                owner=spec["owner"],
                group=spec["group"],
                what=f"file {path}",
                dir_mode=parse_mode(module.params["directory_mode"], "the folders"),
            )
            entry = next((e for e in plan.entries if e.path == path), None)
            if existing is None:
                state = "created"
            elif entry is None:
                state = "unchanged"
            else:
                state = "updated" if entry.kind == "write" else "attributes"
            row = {"path": path, "state": state}
            if not spec["secret"]:
                row["sha256"] = hashlib.sha256(content).hexdigest()
            rows.append(row)
            if state != "unchanged":
                before += _describe(path, existing, mode_of(path), spec["secret"])
                after += _describe(path, content, mode, spec["secret"])
        plan.apply(check_mode=module.check_mode)
    except WriteError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed)
    changed_files = [row["path"] for row in rows if row["state"] != "unchanged"]
    result = {"changed": plan.changed, "files": rows, "changed_files": changed_files}
    if module._diff:
        result["diff"] = {"before": before, "after": after, "before_header": "files", "after_header": "files"}
    module.exit_json(**result)


if __name__ == "__main__":
    main()
