# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Argument spec and entry point of device_files, shared by the module and its action plugin.

The entry point takes the module object (params, check_mode, _diff, fail_json, warn, no_log_values,
backup_local) and returns the result. Private to the collection.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd

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


DEVICE_FILES_SPEC = {
    "argument_spec": {
        "files": {"type": "list", "elements": "dict", "default": [], "options": FILE_SPEC},
        "directories": {"type": "list", "elements": "dict", "default": [], "options": DIRECTORY_SPEC},
        "directory_mode": {"type": "raw", "default": "0700"},
        "backup": {"type": "bool", "default": False},
    },
}


def run_device_files(module):
    """Check, then write every folder and file of the task; return the module's result."""
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
    return result
