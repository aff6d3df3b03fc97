# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one file-writing path: WritePlan checks everything first, writes in order, cleans temps."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils import _io
from ansible_collections.edgeops.gateway.plugins.module_utils._io import WriteError, WritePlan, clean_stale_temps


def tree(path):
    """Every path under ``path`` with its content and mode: equal before and after means nothing was touched."""
    out = {}
    for directory, dirs, files in os.walk(path):
        for name in dirs + files:
            full = os.path.join(directory, name)
            st = os.lstat(full)
            content = None
            if os.path.isfile(full) and not os.path.islink(full):
                with open(full, "rb") as handle:
                    content = handle.read()
            out[os.path.relpath(full, path)] = (st.st_mode, content)
    return out


def mode(path):
    return os.stat(path).st_mode & 0o7777


def temps_in(path):
    return [n for n in os.listdir(path) if n.startswith(_io.TEMP_PREFIX)]


def deny_writes_under(monkeypatch, folder):
    """What a read-only folder looks like to a non-root user (root passes every access() check)."""
    real_access = os.access
    folder = str(folder)

    def access(path, how, *args, **kwargs):
        if how & os.W_OK and os.path.abspath(path).startswith(folder):
            return False
        return real_access(path, how, *args, **kwargs)

    monkeypatch.setattr(_io.os, "access", access)


def test_write_reports_changes_and_a_second_plan_is_empty(tmp_path):
    plan = WritePlan()
    assert plan.write(tmp_path / "a" / "k.pem", b"key", 0o600, what="the key", order=0)
    assert plan.write(tmp_path / "a" / "c.pem", b"cert", "0644", what="the certificate", order=1)
    plan.check()
    plan.apply()
    assert (tmp_path / "a" / "k.pem").read_bytes() == b"key" and mode(tmp_path / "a" / "k.pem") == 0o600
    assert mode(tmp_path / "a" / "c.pem") == 0o644 and mode(tmp_path / "a") == 0o700
    again = WritePlan()
    assert not again.write(tmp_path / "a" / "k.pem", b"key", 0o600)
    assert not again.changed and again.entries == []
    again.apply()
    assert again.done == []


def test_a_mode_change_alone_is_a_change(tmp_path):
    (tmp_path / "k.pem").write_bytes(b"key")
    os.chmod(tmp_path / "k.pem", 0o644)
    plan = WritePlan()
    assert plan.write(tmp_path / "k.pem", b"key", 0o600)
    assert plan.entries[0].kind == "attrs"
    plan.apply()
    assert mode(tmp_path / "k.pem") == 0o600


def test_entries_are_written_by_order(tmp_path, monkeypatch):
    written = []
    real = _io.write_atomic
    monkeypatch.setattr(_io, "write_atomic", lambda path, *a: (written.append(os.path.basename(path)), real(path, *a)))
    plan = WritePlan()
    plan.write(tmp_path / "cert.pem", b"c", 0o644, order=1)
    plan.write(tmp_path / "chain.pem", b"f", 0o644, order=2)
    plan.write(tmp_path / "key.pem", b"k", 0o600, order=0)
    plan.apply()
    assert written == ["key.pem", "cert.pem", "chain.pem"]
    assert plan.done == [str(tmp_path / n) for n in written]


def test_a_large_plan_is_written_in_order_and_leaves_no_temp(tmp_path, monkeypatch):
    renamed = []
    real = os.replace
    monkeypatch.setattr(_io.os, "replace", lambda a, b: (renamed.append(os.path.basename(b)), real(a, b)))
    plan = WritePlan()
    count = _io.BATCH_FROM + 4
    for i in range(count):
        plan.write(tmp_path / f"c{i}.pem", b"c", 0o644, order=1)
        plan.write(tmp_path / f"k{i}.pem", b"k", 0o600, order=0)
    plan.apply()
    assert renamed[:count] == [f"k{i}.pem" for i in range(count)]
    assert renamed[count:] == [f"c{i}.pem" for i in range(count)]
    assert temps_in(tmp_path) == []
    assert all(mode(tmp_path / f"k{i}.pem") == 0o600 for i in range(count))


def test_a_read_only_folder_refuses_the_whole_plan_before_any_write(tmp_path, monkeypatch):
    (tmp_path / "certs").mkdir()
    (tmp_path / "keys").mkdir()
    deny_writes_under(monkeypatch, tmp_path / "keys")
    before = tree(tmp_path)
    plan = WritePlan()
    plan.write(tmp_path / "keys" / "ca.key.pem", b"k", 0o600, what="the root CA key", order=0)
    plan.write(tmp_path / "certs" / "ca.pem", b"c", 0o644, what="the root CA certificate", order=1)
    with pytest.raises(WriteError, match=r"nothing was written: cannot write the root CA key .*not writable") as info:
        plan.apply()
    assert info.value.changed is False
    assert tree(tmp_path) == before


def test_a_read_only_file_system_is_named(tmp_path, monkeypatch):
    deny_writes_under(monkeypatch, tmp_path)

    class ReadOnly:
        f_flag = os.ST_RDONLY

    monkeypatch.setattr(_io.os, "statvfs", lambda path: ReadOnly())
    plan = WritePlan()
    plan.write(tmp_path / "k.pem", b"k", 0o600, what="the key")
    with pytest.raises(WriteError, match="mounted read-only"):
        plan.check()


def test_a_file_where_a_folder_is_expected(tmp_path):
    (tmp_path / "pki").write_bytes(b"not a folder")
    before = tree(tmp_path)
    plan = WritePlan()
    plan.write(tmp_path / "pki" / "sub" / "k.pem", b"k", 0o600, what="the key")
    with pytest.raises(WriteError, match=r"pki is a file, not a folder; move it or choose another path"):
        plan.apply()
    assert tree(tmp_path) == before


def test_a_folder_where_a_file_is_expected(tmp_path):
    (tmp_path / "k.pem").mkdir()
    with pytest.raises(WriteError, match=r"the key .*k.pem is a folder; give the path of a file"):
        WritePlan().write(tmp_path / "k.pem", b"k", 0o600, what="the key")


def test_unknown_owner_and_group_are_refused_before_any_write(tmp_path):
    before = tree(tmp_path)
    plan = WritePlan()
    plan.write(tmp_path / "a.pem", b"a", 0o644, order=0)
    plan.write(tmp_path / "b.pem", b"b", 0o644, owner="no-such-user-edgeops", group="no-such-group-edgeops")
    with pytest.raises(WriteError) as info:
        plan.apply()
    message = str(info.value)
    assert "the owner 'no-such-user-edgeops'" in message and "create the user first" in message
    assert "the group 'no-such-group-edgeops'" in message
    assert tree(tmp_path) == before


@pytest.mark.parametrize("bad", ["rw-r--r--", "0999", "", 0o17777, -1, True])
def test_invalid_modes_are_refused(tmp_path, bad):
    with pytest.raises(WriteError, match="mode"):
        WritePlan().write(tmp_path / "a.pem", b"a", bad)
    assert not (tmp_path / "a.pem").exists()


def test_one_path_twice_is_refused(tmp_path):
    plan = WritePlan()
    plan.claim(tmp_path / "a.pem", "the certificate")
    with pytest.raises(WriteError, match="both use the path"):
        plan.claim(tmp_path / "a.pem", "the chain")


def test_a_failure_halfway_reports_changed_and_what_was_written(tmp_path, monkeypatch):
    real = _io.write_atomic

    def fail_on_cert(path, *args):
        if str(path).endswith("cert.pem"):
            raise OSError(28, "No space left on device", str(path))
        return real(path, *args)

    monkeypatch.setattr(_io, "write_atomic", fail_on_cert)
    plan = WritePlan()
    plan.write(tmp_path / "key.pem", b"k", 0o600, order=0)
    plan.write(tmp_path / "cert.pem", b"c", 0o644, order=1)
    with pytest.raises(WriteError, match=r"the file system is full.*already written: .*key.pem") as info:
        plan.apply()
    assert info.value.changed is True
    assert not (tmp_path / "cert.pem").exists()


def test_check_mode_checks_but_writes_nothing(tmp_path, monkeypatch):
    plan = WritePlan()
    plan.write(tmp_path / "new" / "k.pem", b"k", 0o600)
    plan.apply(check_mode=True)
    assert os.listdir(tmp_path) == []
    deny_writes_under(monkeypatch, tmp_path)
    with pytest.raises(WriteError, match="not writable"):
        plan.apply(check_mode=True)


def test_write_atomic_leaves_no_temp_when_the_rename_fails(tmp_path, monkeypatch):
    def broken(src, dst):
        raise OSError(5, "Input/output error", dst)

    monkeypatch.setattr(_io.os, "replace", broken)
    with pytest.raises(OSError):
        _io.write_atomic(str(tmp_path / "a.pem"), b"a", 0o644)
    assert os.listdir(tmp_path) == []


def dead_pid():
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"], check=True, capture_output=True, text=True
    )
    return int(proc.stdout)


def test_stale_temps_of_a_dead_process_are_removed_and_a_live_ones_kept(tmp_path):
    dead = tmp_path / f"{_io.TEMP_PREFIX}{dead_pid()}-abc{_io.TEMP_SUFFIX}"
    live = tmp_path / f"{_io.TEMP_PREFIX}{os.getppid()}-abc{_io.TEMP_SUFFIX}"
    own = tmp_path / f"{_io.TEMP_PREFIX}{os.getpid()}-abc{_io.TEMP_SUFFIX}"
    legacy = tmp_path / ".edgeops-pki-x1y2z3"
    other = tmp_path / ".edgeops-notes.txt"
    for path in (dead, live, own, legacy, other):
        path.write_bytes(b"partial")
    removed = clean_stale_temps(str(tmp_path))
    assert sorted(removed) == sorted([str(dead), str(legacy)])
    assert live.exists() and own.exists() and other.exists()


def test_a_plan_cleans_stale_temps_in_the_folders_it_writes(tmp_path):
    stale = tmp_path / f"{_io.TEMP_PREFIX}{dead_pid()}-zz{_io.TEMP_SUFFIX}"
    stale.write_bytes(b"partial key")
    plan = WritePlan()
    plan.write(tmp_path / "k.pem", b"k", 0o600)
    plan.apply()
    assert not stale.exists()
    assert sorted(os.listdir(tmp_path)) == ["k.pem"]


def test_remove_and_links(tmp_path):
    (tmp_path / "target.pem").write_bytes(b"old")
    os.symlink(tmp_path / "target.pem", tmp_path / "link.pem")
    (tmp_path / "gone.pem").write_bytes(b"x")
    plan = WritePlan()
    assert plan.write(tmp_path / "link.pem", b"new", 0o644)
    assert plan.remove(tmp_path / "gone.pem", what="the old anchor")
    assert not plan.remove(tmp_path / "never.pem")
    plan.apply()
    assert os.path.islink(tmp_path / "link.pem") and (tmp_path / "target.pem").read_bytes() == b"new"
    assert not (tmp_path / "gone.pem").exists()
