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
  - With O(backup), every existing file the task changes is first copied beside itself (content, mode, owner and
    group kept) and the copy is named in the result, so that a failed change can be put back.
  - The device phase of C(playbooks/devices.yml) deploys a device's certificate, chain and key with it; the
    C(edgeops.gateway.gateway) role deploys the mosquitto broker's folder, certificates and configuration with it
    (with O(backup), for its rollback) and writes its controller-side outputs with it.
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
      - Check mode reports which files would be created or changed, after the same checks as a real run, except
        that an owner or group that does not exist yet is a warning (a package installed earlier in a real run
        creates it); a real run refuses it before the first write.
  diff_mode:
    support: full
    details:
      - The diff lists every changed folder and file with its SHA-256 and mode before and after; a secret file
        shows only its mode and whether its content changes.
      - A file with O(files[].diff_content) (and not O(files[].secret)) also shows its text before and after.
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
    default: []
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
      diff_content:
        description:
          - Show the file's text before and after in the diff (diff mode), besides its SHA-256 and mode.
          - Ignored for a O(files[].secret) file. Files over 256 KiB or not UTF-8 show a placeholder.
        type: bool
        default: false
  directories:
    description:
      - Folders to create with these attributes, or whose mode, owner and group to converge when they exist,
        before the files are written.
    type: list
    elements: dict
    default: []
    suboptions:
      path:
        description: Absolute path of the folder on the host.
        type: path
        required: true
      mode:
        description: The folder's mode, as an octal string such as V("0750").
        type: raw
        default: "0700"
      owner:
        description: The folder's owner (name or uid); default the user Ansible runs as.
        type: str
      group:
        description: The folder's group (name or gid); default the user's group.
        type: str
  directory_mode:
    description: Mode of the missing parent folders of O(files[].path) the module creates (folders not in O(directories)).
    type: raw
    default: "0700"
  backup:
    description:
      - Before an existing file is changed (content or attributes), copy it beside itself, as
        M(ansible.builtin.copy) does, and return the copy's path in RV(files[].backup_file).
      - Nothing is copied in check mode or for a file the task creates.
    type: bool
    default: false
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

- name: Deploy a broker's folder, certificates and configuration, keeping the previous versions
  edgeops.gateway.device_files:
    backup: true
    directories:
      - {path: /etc/mosquitto/certs/edgeops, mode: "0750", owner: root, group: mosquitto}
    files:
      - {path: /etc/mosquitto/certs/edgeops/root-ca.pem, src: "{{ edgeops_pki_dir }}/root-ca.pem", group: mosquitto}
      - path: /etc/mosquitto/conf.d/edgeops-gateway.conf
        content: "{{ lookup('ansible.builtin.template', 'mosquitto.conf.j2') }}"
        mode: "0640"
        group: mosquitto
        diff_content: true
  register: broker_files
  notify: Restart mosquitto
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
    changed:
      description: Whether the task (in check mode, would have) created or changed the file.
      type: bool
    sha256:
      description: SHA-256 of the wanted content; not returned for a secret file.
      type: str
    backup_file:
      description: With O(backup), the copy of the file as it was before the change.
      type: str
      returned: when a backup was made
    mode:
      description: With O(backup), the mode of the file before the change (the backup's mode).
      type: str
      returned: when a backup was made
    owner:
      description: With O(backup), the owner of the file before the change.
      type: str
      returned: when a backup was made
    group:
      description: With O(backup), the group of the file before the change.
      type: str
      returned: when a backup was made
  sample: [{path: /etc/edgeops/pki/device.pem, state: unchanged, changed: false, sha256: 9f86d08...}]
directories:
  description: Every folder of O(directories), in the order given, with V(created), V(attributes) or V(unchanged).
  returned: success
  type: list
  elements: dict
  sample: [{path: /etc/mosquitto/certs, state: unchanged, changed: false}]
changed_files:
  description: The files that were (in check mode, would be) created or changed.
  returned: success
  type: list
  elements: str
  sample: [/etc/edgeops/pki/device.key.pem]
"""

import grp
import hashlib
import os
import pwd

from ansible.module_utils.basic import AnsibleModule
from ansible.module_utils.common.text.converters import to_bytes

from ansible_collections.edgeops.gateway.plugins.module_utils._io import (
    WriteError,
    WritePlan,
    is_unknown_id,
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
    "diff_content": {"type": "bool", "default": False},
}

DIRECTORY_SPEC = {
    "path": {"type": "path", "required": True},
    "mode": {"type": "raw", "default": "0700"},
    "owner": {"type": "str"},
    "group": {"type": "str"},
}

# A file larger than this shows a placeholder instead of its text in a content diff.
DIFF_CONTENT_MAX = 256 * 1024


def _describe(path, content, mode, secret):
    """One line of the diff: the file's SHA-256 (or "(secret)") and mode; never its content."""
    if content is None:
        return f"{path}: absent\n"
    digest = "(secret)" if secret else hashlib.sha256(content).hexdigest()
    return f"{path}: {digest} mode {mode:04o}\n"


def _text(content):
    """The content as text for a diff, or a placeholder when it is not text or too large to show."""
    if content is None:
        return ""
    if len(content) > DIFF_CONTENT_MAX:
        return f"(not shown: {len(content)} bytes, more than {DIFF_CONTENT_MAX})\n"
    try:
        return content.decode("utf-8")
    except UnicodeDecodeError:
        return "(not shown: not UTF-8 text)\n"


def _attributes(path):
    """Mode, owner and group of an existing file, as the rollback of a backup needs them."""
    st = os.stat(path)
    try:
        owner = pwd.getpwuid(st.st_uid).pw_name
    except KeyError:
        owner = str(st.st_uid)
    try:
        group = grp.getgrgid(st.st_gid).gr_name
    except KeyError:
        group = str(st.st_gid)
    return {"mode": f"{mode_of(path):04o}", "owner": owner, "group": group}


def _owner_in_check_mode(module, name, kind, path, missing):
    """In check mode, an owner or group that does not exist yet is a warning, not a refusal.

    An earlier task of the same run (the package that creates the user) would create it in a real run, and check
    mode has not run that task; the real run still refuses it before the first write if it is still missing.
    The paths are collected in ``missing`` for one warning per name.
    """
    if module.check_mode and is_unknown_id(kind, name, path):
        missing.setdefault((kind, name), []).append(path)
        return None
    return name


def _warn_missing(module, missing):
    for (kind, name), paths in missing.items():
        more = f" and {len(paths) - 1} more" if len(paths) > 1 else ""
        module.warn(
            f"the {kind} '{name}' of {paths[0]}{more} does not exist on this host yet: check mode goes on without "
            "it; a real run refuses it before writing anything unless an earlier task (a package) creates it"
        )


def main():
    module = AnsibleModule(
        argument_spec={
            "files": {"type": "list", "elements": "dict", "default": [], "options": FILE_SPEC},
            "directories": {"type": "list", "elements": "dict", "default": [], "options": DIRECTORY_SPEC},
            "directory_mode": {"type": "raw", "default": "0700"},
            "backup": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    plan = WritePlan()
    rows = []
    directory_rows = []
    before = after = ""
    content_diffs = []
    missing = {}
    try:
        for spec in module.params["directories"]:
            path = spec["path"]
            if not os.path.isabs(path):
                module.fail_json(msg=f"directory path {path} is not absolute; give the full path on the host")
            mode = parse_mode(spec["mode"], path)
            state = "created" if not os.path.lexists(path) else "unchanged"
            owner = _owner_in_check_mode(module, spec["owner"], "owner", path, missing)
            group = _owner_in_check_mode(module, spec["group"], "group", path, missing)
            if plan.directory_attrs(path, mode, owner=owner, group=group, what=f"folder {path}"):
                if state == "unchanged":
                    state = "attributes"
                    before += f"{path}/: folder mode {mode_of(path):04o}\n"
                after += f"{path}/: folder mode {mode:04o}\n"
            directory_rows.append({"path": path, "state": state, "changed": state != "unchanged"})
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
                owner=_owner_in_check_mode(module, spec["owner"], "owner", path, missing),
                group=_owner_in_check_mode(module, spec["group"], "group", path, missing),
                what=f"file {path}",
                dir_mode=parse_mode(module.params["directory_mode"], "the folders"),
            )
            entry = next((e for e in plan.entries if e.path == path and e.kind != "dirattrs"), None)
            if existing is None:
                state = "created"
            elif entry is None:
                state = "unchanged"
            else:
                state = "updated" if entry.kind == "write" else "attributes"
            row = {"path": path, "state": state, "changed": state != "unchanged"}
            if not spec["secret"]:
                row["sha256"] = hashlib.sha256(content).hexdigest()
            rows.append(row)
            if state != "unchanged":
                before += _describe(path, existing, mode_of(path), spec["secret"])
                after += _describe(path, content, mode, spec["secret"])
                if spec["diff_content"] and not spec["secret"] and state != "attributes":
                    content_diffs.append(
                        {
                            "before": _text(existing),
                            "after": _text(content),
                            "before_header": f"{path} (before)" if existing is not None else f"{path} (absent)",
                            "after_header": f"{path} (after)",
                        }
                    )
        _warn_missing(module, missing)
        plan.check()
        # Contents are masked in the output as no_log values; the text of a file shown with
        # diff_content (never a secret one) is taken out of that mask, or its diff would be masked.
        secrets = {spec["content"] for spec in module.params["files"] if spec["secret"]}
        for spec in module.params["files"]:
            if spec["diff_content"] and not spec["secret"] and spec["content"] not in secrets:
                module.no_log_values.discard(spec["content"])
        if module.params["backup"] and not module.check_mode:
            # Every existing file the task replaces or re-attributes is copied first (content, mode,
            # owner and group kept), so that a failed change can be put back.
            for row in rows:
                if row["state"] in ("updated", "attributes"):
                    row.update(_attributes(row["path"]))
                    row["backup_file"] = module.backup_local(row["path"])
        plan.apply(check_mode=module.check_mode)
    except WriteError as exc:
        module.fail_json(msg=str(exc), changed=exc.changed)
    changed_files = [row["path"] for row in rows if row["changed"]]
    result = {"changed": plan.changed, "files": rows, "changed_files": changed_files, "directories": directory_rows}
    if module._diff:
        summary = {"before": before, "after": after, "before_header": "files", "after_header": "files"}
        result["diff"] = [summary, *content_diffs] if content_diffs else summary
    module.exit_json(**result)


if __name__ == "__main__":
    main()
