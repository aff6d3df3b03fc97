# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""controller_cwd: the process's working folder, not the shell's PWD."""

from __future__ import annotations

import os

import pytest
from ansible.errors import AnsibleLookupError

from ansible_collections.edgeops.gateway.plugins.lookup.controller_cwd import LookupModule


@pytest.fixture
def lookup():
    return LookupModule()


def test_the_working_folder_not_the_pwd_variable(lookup, tmp_path, monkeypatch):
    work = tmp_path / "project"
    work.mkdir()
    monkeypatch.chdir(work)
    # what a program that starts ansible-playbook in a folder of its own, without a shell, leaves in PWD
    monkeypatch.setenv("PWD", str(tmp_path))
    assert lookup.run([], variables={}) == [str(work)]


def test_terms_are_refused(lookup):
    with pytest.raises(AnsibleLookupError, match="takes no terms"):
        lookup.run(["something"], variables={})


def test_a_removed_folder_is_told(lookup, tmp_path, monkeypatch):
    gone = tmp_path / "gone"
    gone.mkdir()
    monkeypatch.chdir(gone)
    os.rmdir(gone)
    with pytest.raises(AnsibleLookupError, match="removed during the run"):
        lookup.run([], variables={})
