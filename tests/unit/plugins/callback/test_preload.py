"""The preload callback: a fork of the process after it (as Ansible's task workers are) loads nothing again.

Each case runs in a fresh Python (a subprocess), so that no other test has loaded a plugin before it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))))

# In the subprocess: what a task worker (a fork) loads when it opens an ssh connection and renders a template with a
# builtin filter and one of this collection's filters, before and after the callback's playbook start.
SCRIPT = r"""
import json, os, sys
from ansible.plugins import loader
from ansible.utils.collection_loader._collection_finder import _AnsibleCollectionFinder

_AnsibleCollectionFinder(paths=[sys.argv[1]])._install()
from ansible_collections.edgeops.gateway.plugins.callback import preload

def worker():
    read_r, write_w = os.pipe()
    pid = os.fork()
    if pid == 0:
        parsed = []
        original = loader.PluginLoader._load_config_defs
        def counting(self, name, module, path):
            from ansible import constants as C
            kind = loader.get_plugin_class(self.class_name) if self.class_name else None
            if kind in C.CONFIGURABLE_PLUGINS and not C.config.has_configuration_definition(kind, name):
                parsed.append(f"{kind} {name}")
            return original(self, name, module, path)
        loader.PluginLoader._load_config_defs = counting
        loader.connection_loader.get_with_context("ssh", class_only=True)
        builtin_loaded = bool(loader.filter_loader._cached_non_collection_wrappers)
        loader.filter_loader.get_with_context("ansible.builtin.to_json")
        modules_before = set(sys.modules)
        loader.filter_loader.get_with_context("edgeops.gateway.hierarchy")
        new_modules = sorted(m for m in set(sys.modules) - modules_before if "edgeops" in m)
        os.write(write_w, json.dumps({"parsed": parsed, "builtin_filters_inherited": builtin_loaded,
                                      "collection_modules_imported": new_modules}).encode())
        os._exit(0)
    os.close(write_w)
    data = b""
    while chunk := os.read(read_r, 65536):
        data += chunk
    os.waitpid(pid, 0)
    return json.loads(data)

before = worker()
callback = preload.CallbackModule()
callback._plugin_options = {"connections": sys.argv[2].split(","), "jinja_plugins": sys.argv[3] == "yes"}
callback.v2_playbook_on_start(None)
print(json.dumps({"before": before, "after": worker()}))
"""


def run(connections="ssh,local", jinja="yes"):
    out = subprocess.run(
        [sys.executable, "-c", SCRIPT, os.path.join(ROOT, ".collections"), connections, jinja],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    )
    return json.loads(out.stdout.strip().splitlines()[-1]), out.stderr


@pytest.mark.skipif(not hasattr(os, "fork"), reason="task workers are forks")
def test_a_worker_after_the_callback_loads_no_plugin_again():
    found = run()[0]
    before, after = found["before"], found["after"]
    # without the callback, the worker reads ssh's settings from its documentation and loads the filters itself
    assert any(parsed.startswith("connection ") and parsed.endswith("ssh") for parsed in before["parsed"])
    assert not before["builtin_filters_inherited"]
    assert before["collection_modules_imported"]
    # after it, the worker inherits all of it
    assert after["parsed"] == []
    assert after["builtin_filters_inherited"]
    assert after["collection_modules_imported"] == []


@pytest.mark.skipif(not hasattr(os, "fork"), reason="task workers are forks")
def test_without_jinja_plugins_only_the_connections_are_loaded_and_a_wrong_name_is_a_warning():
    found, stderr = run(connections="ssh,no_such_connection", jinja="no")
    after = found["after"]
    assert after["parsed"] == []
    assert not after["builtin_filters_inherited"]
    assert after["collection_modules_imported"]
    assert "no_such_connection is not a connection plugin; not loaded" in stderr


def test_a_failure_to_load_the_filters_is_a_warning_not_a_failed_playbook(monkeypatch):
    from ansible_collections.edgeops.gateway.plugins.callback import preload

    def broken(name, *args, **kwargs):
        raise RuntimeError(f"cannot load {name}")

    warnings = []
    callback = preload.CallbackModule()
    callback._plugin_options = {"connections": [], "jinja_plugins": True}
    monkeypatch.setattr(preload.filter_loader, "get_with_context", broken)
    monkeypatch.setattr(callback, "_display", type("Display", (), {"warning": staticmethod(warnings.append)})())
    callback.v2_playbook_on_start(None)
    assert warnings == ["edgeops.gateway.preload: filters and tests not loaded: cannot load ansible.builtin.default"]
