"""Shared fixtures for the unit tests."""

from __future__ import annotations

import pytest
from ansible.module_utils import _internal as module_utils_internal
from ansible.module_utils.common import warnings as module_warnings


@pytest.fixture(autouse=True)
def _module_process_warnings(request, monkeypatch):
    """Make module warnings behave as they do in a module's own process.

    A real module runs alone in its process. In one pytest process, two things leak between tests:
    ansible-core's global warning registry (which also de-duplicates), and the controller flag that
    importing any controller code (a filter or action plugin, ansible.errors) switches on, after
    which module warnings go to the controller's display instead of the module result.
    """
    if "tests/unit/plugins/modules" in str(request.node.path).replace("\\", "/"):
        monkeypatch.setattr(module_utils_internal, "is_controller", False)
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()
    yield
    module_warnings._global_warnings.clear()
    module_warnings._global_deprecations.clear()


class RecordingHostvars(dict):
    """A stand-in for Ansible's hostvars that records, in ``reads``, every host whose variables are read."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.reads = []

    def __getitem__(self, host):
        self.reads.append(host)
        return super().__getitem__(host)


@pytest.fixture
def recording_hostvars():
    """RecordingHostvars, to build one from a mapping of host to variables in a test."""
    return RecordingHostvars
