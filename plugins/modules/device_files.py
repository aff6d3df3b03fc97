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
  - edgeops.gateway.attributes.controller_action
  - ansible.builtin.action_common_attributes.flow
attributes:
  action:
    support: full
    details:
      - The action plugin reads O(files[].src) on the controller.
      - On a task whose connection is C(local) without become (C(delegate_to=localhost), for files of the
        controller), the action plugin runs the module's code in the Python that runs ansible-playbook instead of
        starting a new one; the same argument checks, check mode and diff. Elsewhere it runs the module on the host.
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

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.edgeops.gateway.plugins.module_utils._device_files_module import (
    DEVICE_FILES_SPEC,
    run_device_files,
)


def main():
    # The action plugin sends src files' content; on the controller itself it runs run_device_files in its Python.
    module = AnsibleModule(supports_check_mode=True, **DEVICE_FILES_SPEC)
    module.exit_json(**run_device_files(module))


if __name__ == "__main__":
    main()
