# Copyright (c) edgeops.gateway contributors
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Load the connection plugins (and the filters and tests) once in the controller's process, before the first task.

ansible-playbook runs every task of every host in a fresh fork of its main process (a worker). A worker that opens
a connection asks the plugin loader for the connection plugin; when the main process has not loaded that plugin
under the same name, the worker loads it and reads its settings from the plugin's documentation (a YAML parse of
ssh's, about 12 ms on a 2-core machine), and the next worker does it all again: the forks share nothing back.
Every task needs its host's connection, even ``set_fact`` and ``debug``; a site re-run of 45 tasks paid it
about 20 times (0.25 to 0.3 s of a 3.5 s run). Loaded once here, every worker inherits it. Filters and tests are
loaded the same way, per worker, at their first use (ansible.builtin's all at once): 0.1 s more of that run.
"""

from __future__ import annotations

DOCUMENTATION = r"""
name: preload
type: aggregate
short_description: Load connection, filter and test plugins once before the first task, for faster task workers
version_added: 0.2.0
description:
  - Loads the connection plugins named in O(connections) and (O(jinja_plugins)) the filters and tests in the process
    of C(ansible-playbook), at the start of the playbook, before any task runs.
  - Ansible runs each task of each host in a new fork of that process. Without this callback each fork that opens a
    connection loads the connection plugin again and parses its documentation for its settings (about 12 ms for
    C(ansible.builtin.ssh) on a 2-core machine), for every task of every host, C(set_fact) and C(debug) included. With
    it, the forks inherit the loaded plugin. The same holds for the filters and tests a task's templates use.
  - Changes nothing else and prints nothing. A name that is not a connection plugin is skipped with a warning.
requirements:
  - enabled in C(callbacks_enabled) (the collection's C(ansible.cfg) enables it)
options:
  connections:
    description: The connection plugins to load, by the names the hosts use (C(ansible_connection)).
    type: list
    elements: str
    default: [ansible.builtin.ssh, ansible.builtin.local]
    env:
      - name: EDGEOPS_PRELOAD_CONNECTIONS
    ini:
      - section: callback_edgeops_preload
        key: connections
  jinja_plugins:
    description:
      - Also load ansible.builtin's filters and tests and this collection's filters. A worker's first filter or test
        otherwise loads every builtin one (about 15 ms), and this collection's filters their code.
    type: bool
    default: true
    env:
      - name: EDGEOPS_PRELOAD_JINJA_PLUGINS
    ini:
      - section: callback_edgeops_preload
        key: jinja_plugins
"""

import importlib
import pkgutil

from ansible.plugins.callback import CallbackBase
from ansible.plugins.loader import connection_loader, filter_loader, test_loader


class CallbackModule(CallbackBase):
    CALLBACK_VERSION = 2.0
    CALLBACK_TYPE = "aggregate"
    CALLBACK_NAME = "edgeops.gateway.preload"
    CALLBACK_NEEDS_ENABLED = True

    def v2_playbook_on_start(self, playbook):
        for name in self.get_option("connections"):
            # Under both names a worker may ask by: the loader keeps a plugin's settings by the name it resolved, and
            # a host's default connection ("ssh") resolves as ansible.builtin.ssh in ansible-playbook's workers (its
            # short name in a bare Python); loading a name the process already has costs nothing.
            short = name.split(".")[-1] if name.startswith("ansible.builtin.") else name
            fqcn = name if "." in name else f"ansible.builtin.{name}"
            names = [short] if short == fqcn else [short, fqcn]
            found = [connection_loader.get_with_context(each, class_only=True).object for each in names]
            if not all(found):
                self._display.warning(f"edgeops.gateway.preload: {name} is not a connection plugin; not loaded")
        if self.get_option("jinja_plugins"):
            try:
                self._load_jinja_plugins()
            except Exception as exc:  # a warm-up: whatever goes wrong here must not stop the playbook
                self._display.warning(f"edgeops.gateway.preload: filters and tests not loaded: {exc}")

    @staticmethod
    def _load_jinja_plugins():
        # the first lookup of a filter or test loads every builtin one (ansible.builtin's filter and test files)
        filter_loader.get_with_context("ansible.builtin.default")
        test_loader.get_with_context("ansible.builtin.defined")
        package = importlib.import_module("ansible_collections.edgeops.gateway.plugins.filter")
        for info in pkgutil.iter_modules(package.__path__):
            module = importlib.import_module(f"{package.__name__}.{info.name}")
            for filter_name in module.FilterModule().filters():
                filter_loader.get_with_context(f"edgeops.gateway.{filter_name}")
