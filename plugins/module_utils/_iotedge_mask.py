# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Mask the secrets of a config.toml for diffs and messages: connection strings, inline symmetric keys,
passwords (registry and EST) and user:password@ in URLs (a proxy). Standard library only."""

from __future__ import annotations

import re

MASK = "********"

_SECRET_LINES = (
    re.compile(r'^(\s*connection_string\s*=\s*)(".*"|\'.*\')\s*$'),
    re.compile(r'^(\s*symmetric_key\s*=\s*\{\s*value\s*=\s*)(".*"|\'.*\')(\s*\}\s*)$'),
    re.compile(r'^(\s*device_id_pk\s*=\s*\{\s*value\s*=\s*)(".*"|\'.*\')(\s*\}\s*)$'),
    re.compile(r'^(\s*value\s*=\s*)(".*"|\'.*\')\s*$'),
    re.compile(r'^(\s*password\s*=\s*)(".*"|\'.*\')\s*$'),
)
_SHARED_ACCESS_KEY = re.compile(r"(SharedAccessKey=)[^;\"'\s]*")
# user:password@ in a URL (a proxy with credentials in https_proxy or agent_env)
_URL_USERINFO = re.compile(r"(://)[^/@\s\"']+@")


def mask_secrets(text):
    """Replace connection strings, inline symmetric keys, passwords and URL credentials with a mask."""
    out = []
    for line in (text or "").splitlines(True):
        newline = "\n" if line.endswith("\n") else ""
        body = line[: -len(newline)] if newline else line
        for pattern in _SECRET_LINES:
            match = pattern.match(body)
            if match:
                rest = match.group(3) if pattern.groups >= 3 else ""
                body = match.group(1) + '"' + MASK + '"' + rest
                break
        body = _URL_USERINFO.sub(r"\1" + MASK + "@", body)
        out.append(_SHARED_ACCESS_KEY.sub(r"\1" + MASK, body) + newline)
    return "".join(out)
