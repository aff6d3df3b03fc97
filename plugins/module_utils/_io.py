# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one file-writing path of edgeops.gateway.

Private to the collection. Every module and action plugin that writes files builds a
:class:`WritePlan`, lets it check every target before the first write, and applies it:

* every target is checked first: the folder exists or can be created, it is writable, the
  target is not a folder, the owner and group exist, the mode is a valid mode;
* entries are written in ``order`` (keys before the certificates that need them), each one
  atomically: a temp file beside the target, fsync, rename, fsync of the folder;
* temp files are removed on every path, and stale ones left by a killed run (their process
  is gone) are removed by the next plan that writes into the same folder;
* the plan records what it changed, so a failure halfway still reports ``changed``.

Nothing here prints or returns file contents: keys pass through as bytes only.
"""

from __future__ import annotations

import errno
import grp
import os
import pwd
import stat
import tempfile

# Temp files are named ``.edgeops-<pid>-<random>.tmp`` so a later run can tell a live writer's
# file from one whose process was killed.
TEMP_PREFIX = ".edgeops-"
TEMP_SUFFIX = ".tmp"
# Temp file names of earlier releases (kept so their leftovers are cleaned up too).
_LEGACY_PREFIXES = (".edgeops-pki-", ".ca_trust-", ".iotedge_config.", ".site-report.")
# From this many files on, a plan syncs the file system once instead of fsyncing every file.
BATCH_FROM = 16


class WriteError(Exception):
    """A write that was refused or failed; ``changed`` says whether anything on disk changed first."""

    def __init__(self, message, changed=False):
        super().__init__(message)
        self.changed = changed


def _resolve_owner(owner, path):
    if owner is None or owner == "":
        return -1
    if isinstance(owner, int) or str(owner).isdigit():
        return int(owner)
    try:
        return pwd.getpwnam(owner).pw_uid
    except KeyError:
        raise WriteError(
            f"the owner '{owner}' of {path} does not exist on this host; create the user first "
            "(the package that owns it may not be installed yet) or set an existing owner"
        ) from None


def _resolve_group(group, path):
    if group is None or group == "":
        return -1
    if isinstance(group, int) or str(group).isdigit():
        return int(group)
    try:
        return grp.getgrnam(group).gr_gid
    except KeyError:
        raise WriteError(
            f"the group '{group}' of {path} does not exist on this host; create the group first "
            "(the package that owns it may not be installed yet) or set an existing group"
        ) from None


def is_unknown_id(kind, name, path):
    """Whether the owner (kind "owner") or group ("group") ``name`` does not exist on this host, by the same
    lookup a write makes (names and numeric ids; an empty name is no id)."""
    try:
        (_resolve_owner if kind == "owner" else _resolve_group)(name, path)
    except WriteError:
        return True
    return False


def parse_mode(mode, path):
    """An int mode from an int or an octal string ('0600', '600'); refuses anything else."""
    value = mode
    if isinstance(mode, str):
        text = mode.strip()
        digits = text[2:] if text.startswith("0o") else text  # str.removeprefix is Python 3.9+; targets run 3.8
        if not digits or any(ch not in "01234567" for ch in digits):
            raise WriteError(f"the mode '{mode}' for {path} is not an octal mode; write it like '0600'")
        value = int(digits, 8)
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value <= 0o7777:
        raise WriteError(f"the mode {mode!r} for {path} is not a file mode; use an octal mode from 0000 to 7777")
    return value


def mode_of(path):
    try:
        return os.stat(path).st_mode & 0o7777
    except FileNotFoundError:
        return None


def read_bytes(path):
    """The content of ``path``, or None when it does not exist."""
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except FileNotFoundError:
        return None


def _is_stale_temp(name):
    if name.startswith(_LEGACY_PREFIXES):
        return True
    if not (name.startswith(TEMP_PREFIX) and name.endswith(TEMP_SUFFIX)):
        return False
    pid_text = name[len(TEMP_PREFIX) :].split("-", 1)[0]
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def clean_stale_temps(directory):
    """Remove temp files a killed writer left in ``directory``; returns the paths removed."""
    removed = []
    try:
        names = os.listdir(directory)
    except OSError:
        return removed
    for name in names:
        if _is_stale_temp(name):
            path = os.path.join(directory, name)
            try:
                if stat.S_ISREG(os.lstat(path).st_mode):
                    os.unlink(path)
                    removed.append(path)
            except OSError:
                pass
    return removed


def _fsync_dir(directory):
    try:
        fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_temp(path, content, mode, uid=-1, gid=-1, sync=False):
    """A temp file beside ``path`` holding ``content`` with ``mode``; removed again if writing fails."""
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=f"{TEMP_PREFIX}{os.getpid()}-", suffix=TEMP_SUFFIX, dir=directory)
    try:
        try:
            os.fchmod(fd, mode)
            if uid != -1 or gid != -1:
                os.fchown(fd, uid, gid)
            with os.fdopen(fd, "wb") as handle:
                fd = None
                handle.write(content)
                if sync:
                    handle.flush()
                    os.fsync(handle.fileno())
        finally:
            if fd is not None:
                os.close(fd)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    return tmp


def write_atomic(path, content, mode, uid=-1, gid=-1):
    """Write ``content`` (bytes) to ``path`` atomically with ``mode``; the temp file never outlives the call."""
    directory = os.path.dirname(os.path.abspath(path))
    tmp = _write_temp(path, content, mode, uid, gid, sync=True)
    try:
        os.replace(tmp, path)
    finally:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
    _fsync_dir(directory)


def _nearest_existing(path):
    current = os.path.abspath(path)
    while not os.path.lexists(current):
        parent = os.path.dirname(current)
        if parent == current:
            break
        current = parent
    return current


def _describe_os_error(exc, path, what):
    reason = exc.strerror or str(exc)
    hint = "make it writable for the user Ansible runs as, or choose another path"
    if exc.errno == errno.EROFS:
        hint = "the file system is mounted read-only; remount it read-write or choose another path"
    elif exc.errno == errno.ENOSPC:
        hint = "the file system is full; free space and run again"
    return f"cannot write {what} {path}: {reason}; {hint}"


class _Entry:
    __slots__ = ("content", "gid", "group", "kind", "mode", "order", "owner", "path", "uid", "what")

    def __init__(self, kind, path, content, mode, owner, group, what, order):
        self.kind = kind
        self.path = path
        self.content = content
        self.mode = mode
        self.owner = owner
        self.group = group
        self.what = what
        self.order = order
        self.uid = -1
        self.gid = -1


class WritePlan:
    """Files one task will change, checked as a whole before the first write.

    ``write`` records a file whose content or attributes differ from what is on disk (it
    compares, and returns whether it recorded anything); ``remove`` records a deletion;
    ``directory`` a folder to create. ``check`` refuses the plan before anything is touched;
    ``apply`` writes in ``order``, then records every path it changed in ``done``.
    """

    def __init__(self):
        self.entries = []
        self.directories = {}
        self.done = []
        self._paths = {}

    # -- planning -----------------------------------------------------------------------

    def claim(self, path, what):
        """Refuse one path for two files of one task."""
        path = os.fspath(path)
        real = os.path.realpath(path)
        if real in self._paths:
            raise WriteError(f"{what} and {self._paths[real]} both use the path {path}; give every file its own path")
        self._paths[real] = what

    def directory(self, path, mode=0o700, owner=None, group=None):
        """Create ``path`` and its missing parents with ``mode`` when they are missing."""
        path = os.path.abspath(path)
        if os.path.isdir(path) or path in self.directories:
            return False
        self.directories[path] = (parse_mode(mode, path), owner, group)
        return True

    def directory_attrs(self, path, mode, owner=None, group=None, what="the folder"):
        """Create the folder ``path`` with these attributes, or give an existing one its mode, owner and group."""
        path = os.path.abspath(path)
        mode = parse_mode(mode, path)
        if not os.path.lexists(path):
            if path in self.directories:
                return False
            self.directories[path] = (mode, owner, group)
            return True
        if not os.path.isdir(path):
            raise WriteError(f"{what} {path} is a file, not a folder; move it or choose another path")
        if not self._attrs_differ(path, mode, owner, group):
            return False
        self.entries.append(_Entry("dirattrs", path, None, mode, owner, group, what, 0))
        return True

    def write(self, path, content, mode, *, owner=None, group=None, what="the file", order=1, dir_mode=0o700):
        """Record ``content`` for ``path`` unless the file already holds it with these attributes."""
        path = os.fspath(path)
        mode = parse_mode(mode, path)
        if os.path.isdir(path):
            raise WriteError(f"{what} {path} is a folder; give the path of a file")
        created_dir = self.directory(os.path.dirname(os.path.abspath(path)), dir_mode)
        existing = read_bytes(path) if os.path.isfile(path) else None
        if existing == content and not self._attrs_differ(path, mode, owner, group):
            return created_dir
        kind = "write" if existing != content else "attrs"
        self.entries.append(_Entry(kind, path, content, mode, owner, group, what, order))
        return True

    def remove(self, path, what="the file", order=1):
        path = os.fspath(path)
        if not os.path.lexists(path):
            return False
        if os.path.isdir(path) and not os.path.islink(path):
            raise WriteError(f"{what} {path} is a folder; it is not removed")
        self.entries.append(_Entry("remove", path, None, None, None, None, what, order))
        return True

    @staticmethod
    def _attrs_differ(path, mode, owner, group):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return True
        if st.st_mode & 0o7777 != mode:
            return True
        uid = _resolve_owner(owner, path)
        gid = _resolve_group(group, path)
        return uid not in (-1, st.st_uid) or gid not in (-1, st.st_gid)

    @property
    def changed(self):
        return bool(self.entries or self.directories)

    @property
    def paths(self):
        return [entry.path for entry in self.entries]

    # -- checking -----------------------------------------------------------------------

    def check(self):
        """Refuse the whole plan, naming every problem, before anything is written."""
        problems = []
        for entry in self.entries:
            try:
                entry.uid = _resolve_owner(entry.owner, entry.path)
            except WriteError as exc:
                problems.append(str(exc))
            try:
                entry.gid = _resolve_group(entry.group, entry.path)
            except WriteError as exc:
                problems.append(str(exc))
            problem = self._check_target(entry)
            if problem:
                problems.append(problem)
        for path, (_mode, owner, group) in self.directories.items():
            try:
                _resolve_owner(owner, path)
                _resolve_group(group, path)
            except WriteError as exc:
                problems.append(str(exc))
            base = _nearest_existing(path)
            if not os.path.isdir(base):
                problems.append(
                    f"cannot create the folder {path}: {base} is a file, not a folder; move it or choose another path"
                )
            elif not os.access(base, os.W_OK | os.X_OK):
                problems.append(
                    f"cannot create the folder {path}: {base} is not writable; make it writable for the user "
                    "Ansible runs as, or choose another path"
                )
        if problems:
            unique = list(dict.fromkeys(problems))
            raise WriteError("nothing was written: " + "; ".join(unique))

    def _check_target(self, entry):
        path = entry.path
        directory = os.path.dirname(os.path.abspath(path))
        if entry.kind == "dirattrs":
            return None
        if os.path.isdir(path) and not os.path.islink(path):
            return f"{entry.what} {path} is a folder; give the path of a file"
        if directory in self.directories:
            return None
        if not os.path.isdir(directory):
            return f"the folder of {entry.what} {path} is not a folder; choose another path"
        if entry.kind == "attrs":
            return None
        if not os.access(directory, os.W_OK | os.X_OK):
            if os.path.exists(directory) and _read_only_fs(directory):
                return f"cannot write {entry.what} {path}: the file system of {directory} is mounted read-only"
            return (
                f"cannot write {entry.what} {path}: the folder {directory} is not writable; make it writable "
                "for the user Ansible runs as, or choose another path"
            )
        return None

    # -- applying -----------------------------------------------------------------------

    def apply(self, check_mode=False):
        """Check, then write everything (nothing in check mode); raises WriteError with ``changed``.

        A small plan writes each file with :func:`write_atomic` (fsync of the file and its folder).
        A plan of more than ``BATCH_FROM`` files writes every temp file first, flushes them all to disk
        with one ``os.sync()``, then renames them in ``order`` and syncs once more: the same guarantee
        (no target is replaced by content that is not on disk) without an fsync per file and folder.
        """
        self.check()
        if check_mode:
            return
        cleaned = set()
        entries = sorted(self.entries, key=lambda e: e.order)
        try:
            for path, (mode, owner, group) in sorted(self.directories.items()):
                self._make_dirs(path, mode, _resolve_owner(owner, path), _resolve_group(group, path))
            for entry in entries:
                directory = os.path.dirname(os.path.abspath(entry.path))
                if directory not in cleaned:
                    clean_stale_temps(directory)
                    cleaned.add(directory)
            if sum(1 for e in entries if e.kind == "write") > BATCH_FROM:
                self._apply_batch(entries)
            else:
                for entry in entries:
                    self._apply_entry(entry)
                    self.done.append(entry.path)
        except OSError as exc:
            target = getattr(exc, "filename", None) or "a file"
            done = ", ".join(self.done) if self.done else "nothing"
            raise WriteError(
                _describe_os_error(exc, target, "the file") + f" (already written: {done})",
                changed=bool(self.done),
            ) from None

    def _apply_batch(self, entries):
        temps = {}
        try:
            for entry in entries:
                if entry.kind == "write":
                    temps[id(entry)] = _write_temp(_target_of(entry), entry.content, entry.mode, entry.uid, entry.gid)
            os.sync()
            for entry in entries:
                if entry.kind == "write":
                    os.replace(temps.pop(id(entry)), _target_of(entry))
                else:
                    self._apply_entry(entry)
                self.done.append(entry.path)
            os.sync()
        finally:
            for tmp in temps.values():
                try:
                    os.unlink(tmp)
                except FileNotFoundError:
                    pass

    def _make_dirs(self, path, mode, uid, gid):
        missing = []
        current = path
        while not os.path.isdir(current):
            missing.append(current)
            current = os.path.dirname(current)
        for directory in reversed(missing):
            os.mkdir(directory, mode)
            os.chmod(directory, mode)
            if uid != -1 or gid != -1:
                os.chown(directory, uid, gid)
            self.done.append(directory)

    @staticmethod
    def _apply_entry(entry):
        path = _target_of(entry)
        if entry.kind == "remove":
            os.unlink(path)
        elif entry.kind in ("attrs", "dirattrs"):
            os.chmod(path, entry.mode)
            if entry.uid != -1 or entry.gid != -1:
                os.chown(path, entry.uid, entry.gid)
        else:
            write_atomic(path, entry.content, entry.mode, entry.uid, entry.gid)


def _target_of(entry):
    """The file an entry changes: a link is followed (its target is written), except when removing."""
    if entry.kind != "remove" and os.path.islink(entry.path):
        return os.path.realpath(entry.path)
    return entry.path


def _read_only_fs(directory):
    try:
        return bool(os.statvfs(directory).f_flag & os.ST_RDONLY)
    except OSError:
        return False
