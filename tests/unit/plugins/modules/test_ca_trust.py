# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""ca_trust as Ansible runs it on a Linux host, against a store in a temporary directory.

The distribution's update command is replaced by a script that rebuilds the bundle from the anchors (and counts its
runs); everything else is real: files, atomic moves, modes, diffs. The RHEL family layout is used with overridden
paths, so its code path (every file below the anchor directory counts) runs here too.
"""

from __future__ import annotations

import hashlib
import json
import os
import stat
import sys
from pathlib import Path

import pytest
from ansible.module_utils.common.parameters import PASS_VARS
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from trust_lab import DAY, NOW, fake_update_command, make_cert, update_runs

from ansible_collections.edgeops.gateway.plugins.modules import ca_trust

# ansible-core 2.21 and later return the module's arguments (`invocation`) only when asked
# (inject_invocation); 2.19 always returns them and refuses the request as an unknown parameter.
ASK_FOR_INVOCATION = {"_ansible_inject_invocation": True} if "inject_invocation" in PASS_VARS else {}


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff, **ASK_FOR_INVOCATION)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        ca_trust.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = info.value.code
    return result


def warnings(result):
    """Warning texts; ansible-core 2.19 returns them as structured events."""
    return [w["event"]["msg"] if isinstance(w, dict) else w for w in result.get("warnings", [])]


def four_runs(capsys, args):
    return [run(capsys, args, check_mode=check) for check in (True, False, True, False)]


@pytest.fixture(scope="module")
def root():
    return make_cert("edgeops site-a root CA")


@pytest.fixture(params=["debian", "rhel"])
def store(request, tmp_path):
    anchors = tmp_path / "anchors"
    anchors.mkdir()
    bundle = tmp_path / "bundle.pem"
    distro = make_cert("distribution CA")
    script, runs = fake_update_command(str(tmp_path), str(anchors), str(bundle), base_bundle=distro.pem)
    bundle.write_bytes(distro.pem)
    args = {
        "family": request.param,
        "anchor_dir": str(anchors),
        "update_command": [script],
        "bundle_path": str(bundle),
        "verify": False,
    }
    return {"args": args, "anchors": anchors, "bundle": bundle, "runs": runs, "distro": distro}


def snapshot(store):
    files = {p.relative_to(store["anchors"]).as_posix(): p.read_bytes() for p in store["anchors"].rglob("*")}
    return hashlib.sha256(store["bundle"].read_bytes()).hexdigest(), files


def test_present_four_runs_then_absent_four_runs(capsys, store, root):
    args = dict(store["args"], content=root.pem.decode(), name="edgeops-site-a-root-ca")
    results = four_runs(capsys, args)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert all(r["rc"] == 0 for r in results)
    assert update_runs(store["runs"]) == 1  # only the real first run updated the bundle
    path = store["anchors"] / "edgeops-site-a-root-ca.crt"
    assert results[1]["path"] == str(path)
    assert results[1]["fingerprint"] == root.sha256
    assert results[1]["thumbprint"] == root.sha1
    assert results[1]["bundle_path"] == str(store["bundle"])
    assert results[1]["store_updated"] is True
    assert results[1]["proof"] == {"bundle_contains": True}
    assert results[3]["store_updated"] is False
    assert stat.S_IMODE(path.stat().st_mode) == 0o644
    assert path.stat().st_uid == 0
    assert root.pem.decode() == path.read_text()
    assert root.pem in store["bundle"].read_bytes()
    assert results[0]["diff"]["after"] == f"{path}: {root.sha256} (CN=edgeops site-a root CA, O=edgeops test)\n"
    assert results[0]["diff"]["before"] == ""
    assert results[2]["diff"]["before"] == results[2]["diff"]["after"]

    absent = dict(store["args"], content=root.pem.decode(), state="absent")
    results = four_runs(capsys, absent)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert update_runs(store["runs"]) == 2
    assert not path.exists()
    assert root.pem not in store["bundle"].read_bytes()
    assert store["distro"].pem in store["bundle"].read_bytes()
    assert results[1]["removed"] == [str(path)]
    assert results[1]["proof"] == {"bundle_contains": False}
    assert results[0]["diff"]["before"].startswith(f"{path}: {root.sha256}")
    assert results[0]["diff"]["after"] == ""


def test_check_mode_writes_nothing(capsys, store, root):
    before = snapshot(store)
    result = run(capsys, dict(store["args"], content=root.pem.decode()), check_mode=True)
    assert result["changed"]
    assert result["path"] == str(store["anchors"] / f"ca-{root.sha256[:16].lower()}.crt")
    assert snapshot(store) == before
    assert update_runs(store["runs"]) == 0


def test_same_ca_under_another_name_is_not_installed_twice(capsys, store, root):
    run(capsys, dict(store["args"], content=root.pem.decode(), name="first-name"))
    result = run(capsys, dict(store["args"], content=root.pem.decode(), name="second-name"))
    assert not result["changed"]
    assert result["path"] == str(store["anchors"] / "first-name.crt")
    assert any("already trusted" in w for w in warnings(result))
    assert sorted(p.name for p in store["anchors"].iterdir()) == ["first-name.crt"]
    assert update_runs(store["runs"]) == 1


def test_different_certificate_under_the_same_name_is_replaced(capsys, store, root):
    old = make_cert("old site root")
    run(capsys, dict(store["args"], content=old.pem.decode(), name="site-root"))
    result = run(capsys, dict(store["args"], content=root.pem.decode(), name="site-root"))
    path = store["anchors"] / "site-root.crt"
    assert result["changed"]
    assert result["replaced"] == [{"path": str(path), "fingerprint": old.sha256}]
    assert old.sha256 in result["diff"]["before"]
    assert root.sha256 in result["diff"]["after"]
    assert path.read_bytes() == root.pem
    assert old.pem not in store["bundle"].read_bytes()


def test_stale_bundle_is_repaired(capsys, store, root):
    # A file copied by hand without running the update command: the store the clients read is stale.
    (store["anchors"] / "by-hand.crt").write_bytes(root.pem)
    result = run(capsys, dict(store["args"], content=root.pem.decode(), name="by-hand"))
    assert result["changed"]
    assert result["store_updated"]
    assert root.pem in store["bundle"].read_bytes()
    assert not run(capsys, dict(store["args"], content=root.pem.decode(), name="by-hand"))["changed"]


def test_absent_by_fingerprint_and_by_name(capsys, store, root):
    run(capsys, dict(store["args"], content=root.pem.decode(), name="a"))
    colons = ":".join(root.sha256[i : i + 2] for i in range(0, 64, 2))
    result = run(capsys, dict(store["args"], fingerprint=colons, state="absent"))
    assert result["changed"]
    assert result["fingerprint"] == root.sha256
    assert not (store["anchors"] / "a.crt").exists()
    other = make_cert("other")
    run(capsys, dict(store["args"], content=other.pem.decode(), name="b"))
    result = run(capsys, dict(store["args"], name="b", state="absent"))
    assert result["changed"]
    assert result["removed"] == [str(store["anchors"] / "b.crt")]
    assert not run(capsys, dict(store["args"], name="b", state="absent"))["changed"]


def test_remote_src_and_chain_selection(capsys, store, root, tmp_path):
    inter = make_cert("intermediate", issuer=root, path_length=0)
    chain = tmp_path / "chain.pem"
    chain.write_bytes(inter.pem + root.pem)
    args = dict(store["args"], src=str(chain), remote_src=True)
    before = snapshot(store)
    failed = run(capsys, args)
    assert failed["failed"]
    assert "2 certificates" in failed["msg"]
    assert "multiple=root" in failed["msg"]
    assert snapshot(store) == before
    result = run(capsys, dict(args, multiple="root"))
    assert result["changed"]
    assert result["fingerprint"] == root.sha256
    missing = run(capsys, dict(args, src=str(tmp_path / "nope.pem")))
    assert "not a file on the managed host" in missing["msg"]


KEY_BODY_MARK = "THIS-KEY-MUST-NOT-LEAK"


@pytest.mark.parametrize(
    ("make_input", "expected"),
    [
        (lambda root: "just some text\n", "is not a certificate"),
        (lambda root: root.key_pem.decode(), "PRIVATE KEY"),
        (lambda root: root.pem.decode() + root.key_pem.decode(), "PRIVATE KEY"),
        (lambda root: make_cert("leaf.site-a.lab", ca=False).pem.decode(), "not a CA"),
        (lambda root: root.pem.decode()[:300], "without its -----END CERTIFICATE----- line: the file is truncated"),
    ],
    ids=["not-a-cert", "private-key", "cert-plus-key", "leaf", "truncated"],
)
def test_bad_input_is_refused_and_the_store_is_untouched(capsys, store, root, make_input, expected):
    run(capsys, dict(store["args"], content=root.pem.decode(), name="site-root"))
    before = snapshot(store)
    runs = update_runs(store["runs"])
    data = make_input(root)
    result = run(capsys, dict(store["args"], content=data, name="site-root"))
    assert result["failed"]
    assert result["rc"] == 1
    assert expected in result["msg"]
    assert snapshot(store) == before
    assert update_runs(store["runs"]) == runs
    text = json.dumps(result)
    for line in root.key_pem.decode().splitlines()[1:-1]:
        assert line not in text
    assert result["invocation"]["module_args"]["content"] == "VALUE_SPECIFIED_IN_NO_LOG_PARAMETER"


def test_leaf_allowed_on_purpose(capsys, store):
    leaf = make_cert("selfsigned-server.lab", ca=False)
    result = run(capsys, dict(store["args"], content=leaf.pem.decode(), allow_non_ca=True))
    assert result["changed"]
    assert any("allow_non_ca=true" in w for w in warnings(result))


def test_proof_fails_when_the_bundle_does_not_pick_the_file_up(capsys, store, root, tmp_path):
    # An update command that does not read the anchor directory: the module must not claim success.
    args = dict(store["args"], content=root.pem.decode(), update_command=["true"])
    result = run(capsys, args)
    assert result["failed"]
    assert "does not contain the certificate" in result["msg"]
    assert "set anchor_dir, update_command and bundle_path" in result["msg"]


def test_openssl_proof_with_system_defaults_fails_for_a_fake_store(capsys, store, root):
    # The bundle here is not the one OpenSSL reads by default, so 'openssl verify' must reject the root.
    result = run(capsys, dict(store["args"], content=root.pem.decode(), verify=True))
    assert result["failed"]
    assert "'openssl verify' with the system defaults still rejects it" in result["msg"]


def test_windows_options_warn_on_linux(capsys, store, root):
    result = run(capsys, dict(store["args"], content=root.pem.decode(), store_location="CurrentUser"))
    assert any("Windows only" in w for w in warnings(result))


def test_argument_errors(capsys, store, root):
    pem = root.pem.decode()
    assert "mutually exclusive" in run(capsys, dict(store["args"], content=pem, fingerprint=root.sha256))["msg"]
    assert "missing: src, content" in run(capsys, dict(store["args"]))["msg"]
    assert "remote_src is True" in run(capsys, dict(store["args"], content=pem, remote_src=True))["msg"]
    assert ".crt suffix" in run(capsys, dict(store["args"], content=root.pem.decode(), name="../x"))["msg"]
    assert os.listdir(store["anchors"]) == []


# ---------------------------------------------------------------------------------------------------------------
# Everything is checked before the first write; a failure after it reports changed
# ---------------------------------------------------------------------------------------------------------------


def tree_hash(folder):
    """One hash of every path, mode and content below ``folder`` (and of ``folder`` itself when it is a file)."""
    digest = hashlib.sha256()
    base = Path(folder)
    for path in sorted([base, *base.rglob("*")] if base.is_dir() else [base]):
        digest.update(str(path).encode())
        if path.exists():
            digest.update(str(stat.S_IMODE(path.lstat().st_mode)).encode())
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
@pytest.mark.parametrize(
    ("make_command", "expected"),
    [
        (lambda tmp: [str(tmp / "no-such-update")], "does not exist on the host"),
        (lambda tmp: ["no-such-update-command-xyz"], "was not found on the host's PATH"),
        (lambda tmp: [str(tmp / "not-executable")], "is not executable"),
    ],
    ids=["missing-path", "missing-name", "not-executable"],
)
def test_unusable_update_command_is_refused_before_writing(
    capsys, store, root, tmp_path, make_command, expected, check_mode
):
    (tmp_path / "not-executable").write_text("#!/bin/sh\nexit 0\n")
    before = tree_hash(tmp_path)
    command = make_command(tmp_path)
    result = run(capsys, dict(store["args"], content=root.pem.decode(), update_command=command), check_mode=check_mode)
    assert result["failed"]
    assert expected in result["msg"]
    assert "update_command" in result["msg"]
    assert result["changed"] is False
    assert tree_hash(tmp_path) == before


@pytest.mark.parametrize("check_mode", [False, True], ids=["real", "check"])
def test_anchor_dir_that_is_a_file_is_refused(capsys, store, root, tmp_path, check_mode):
    blocker = tmp_path / "anchors-file"
    blocker.write_text("not a folder\n")
    before = tree_hash(tmp_path)
    result = run(capsys, dict(store["args"], content=root.pem.decode(), anchor_dir=str(blocker)), check_mode=check_mode)
    assert result["failed"]
    assert f"{blocker} is a file, not a folder" in result["msg"]
    assert "nothing was written" in result["msg"]
    assert "Set anchor_dir" in result["msg"]
    assert tree_hash(tmp_path) == before
    assert update_runs(store["runs"]) == 0


def test_missing_openssl_is_refused_before_writing(capsys, store, root, tmp_path, monkeypatch):
    import shutil

    empty = tmp_path / "empty-path"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    if shutil.which("openssl", path="/sbin:/usr/sbin:/usr/local/sbin"):
        pytest.skip("openssl sits in an sbin folder, which get_bin_path always searches")
    before = tree_hash(tmp_path)
    result = run(capsys, dict(store["args"], content=root.pem.decode(), verify=True))
    assert result["failed"]
    assert "openssl was not found on the host" in result["msg"]
    assert "verify=false" in result["msg"]
    assert tree_hash(tmp_path) == before


def test_failing_update_reports_changed(capsys, store, root, tmp_path):
    failing = tmp_path / "failing-update"
    failing.write_text("#!/bin/sh\necho 'no space left' >&2\nexit 3\n")
    failing.chmod(0o755)
    result = run(
        capsys, dict(store["args"], content=root.pem.decode(), name="site-root", update_command=[str(failing)])
    )
    assert result["failed"]
    assert "failed with exit code 3: no space left" in result["msg"]
    assert result["changed"] is True  # the anchor was written before the update failed
    assert (store["anchors"] / "site-root.crt").read_bytes() == root.pem
    # The next run with a working command repairs the stale bundle.
    fixed = run(capsys, dict(store["args"], content=root.pem.decode(), name="site-root"))
    assert fixed["changed"]
    assert root.pem in store["bundle"].read_bytes()


def test_failing_proof_reports_changed(capsys, store, root):
    result = run(capsys, dict(store["args"], content=root.pem.decode(), update_command=["true"]))
    assert result["failed"]
    assert "does not contain the certificate" in result["msg"]
    assert result["changed"] is True


def test_read_only_anchor_folder_is_refused_and_nothing_is_written(store, root, tmp_path):
    """The anchor folder on a read-only mount (a private mount namespace; root ignores mode bits)."""
    import shutil
    import subprocess
    import textwrap

    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], check=False).returncode != 0:
        pytest.skip("no private mount namespaces here")
    anchors = store["anchors"]
    (anchors / "existing.crt").write_bytes(store["distro"].pem)
    args = dict(store["args"], content=root.pem.decode(), name="site-root", _ansible_check_mode=False)
    script = tmp_path / "run_module.py"
    script.write_text(
        textwrap.dedent(
            f"""\
            import json, sys
            from ansible.module_utils.testing import patch_module_args
            from ansible_collections.edgeops.gateway.plugins.modules import ca_trust
            with patch_module_args(json.loads({json.dumps(json.dumps(args))})):
                ca_trust.main()
            """
        )
    )
    before = tree_hash(tmp_path)
    collections = Path(ca_trust.__file__).resolve().parents[2] / ".collections"
    shell = f"mount --bind {anchors} {anchors} && mount -o remount,bind,ro {anchors} && exec {sys.executable} {script}"
    proc = subprocess.run(
        ["unshare", "-m", "sh", "-c", shell],
        capture_output=True,
        text=True,
        check=False,
        env=dict(os.environ, PYTHONPATH=str(collections)),
    )
    if "mount:" in proc.stderr:
        pytest.skip(f"cannot remount read-only here: {proc.stderr.strip()}")
    result = json.loads(proc.stdout)
    assert result["failed"], result
    assert "nothing was written" in result["msg"]
    assert "mounted read-only" in result["msg"]
    assert result["changed"] is False
    assert "Traceback" not in proc.stdout + proc.stderr
    assert tree_hash(tmp_path) == before


# ---------------------------------------------------------------------------------------------------------------
# A device clock outside the CA's validity: install, warn, and prove with the time check off
# ---------------------------------------------------------------------------------------------------------------


@pytest.fixture
def openssl_on_test_bundle(store, tmp_path, monkeypatch):
    """The real openssl, made to read the test bundle as its default store (the proof strips SSL_CERT_FILE)."""
    import shutil

    real = shutil.which("openssl")
    if not real:
        pytest.skip("no openssl")
    folder = tmp_path / "bin"
    folder.mkdir()
    wrapper = folder / "openssl"
    wrapper.write_text(f'#!/bin/sh\ncmd="$1"; shift\nexec {real} "$cmd" -CAfile {store["bundle"]} "$@"\n')
    wrapper.chmod(0o755)
    monkeypatch.setenv("PATH", f"{folder}:{os.environ['PATH']}")
    return real


@pytest.mark.parametrize(
    ("validity", "expected"),
    [
        ({"not_before": NOW + 30 * DAY, "not_after": NOW + 400 * DAY}, "the device clock is behind the CA's notBefore"),
        ({"not_before": NOW - 400 * DAY, "not_after": NOW - DAY}, "the device clock is past the CA's notAfter"),
    ],
    ids=["clock-behind", "clock-ahead"],
)
def test_clock_outside_validity_installs_warns_and_proves(capsys, store, openssl_on_test_bundle, validity, expected):
    import subprocess

    ca = make_cert("fresh site root", **validity)
    args = dict(store["args"], content=ca.pem.decode(), name="site-root", verify=True)
    results = four_runs(capsys, args)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert all(r["rc"] == 0 for r in results), results[1].get("msg")
    real = results[1]
    assert real["proof"] == {"bundle_contains": True, "openssl_verify": True, "time_checked": False}
    (warning,) = [w for w in warnings(real) if "device clock" in w]
    assert expected in warning
    assert "NTP" in warning
    assert ca.pem in store["bundle"].read_bytes()
    # The same openssl with the time check on rejects the anchor: the warning is about a real failure.
    pem = store["anchors"] / "site-root.crt"
    check = subprocess.run(["openssl", "verify", str(pem)], capture_output=True, text=True, check=False)
    assert check.returncode != 0
    assert "not yet valid" in check.stdout + check.stderr or "expired" in check.stdout + check.stderr


def test_valid_ca_is_proven_with_the_time_check(capsys, store, root, openssl_on_test_bundle):
    result = run(capsys, dict(store["args"], content=root.pem.decode(), verify=True))
    assert result["proof"] == {"bundle_contains": True, "openssl_verify": True, "time_checked": True}
    assert not [w for w in warnings(result) if "device clock" in w]


# handshake: the trust store's check and a TLS handshake in one module run. The handshake verifies against the
# store's bundle (ca_file), so it passes only once the anchor this run installed is in that bundle.


@pytest.fixture(scope="module")
def site_tls():
    from tls_lab import issue

    root = issue("Site Root CA", ca=True)
    edge = issue("gw1.ca", root, ca=True, path_len=0)
    return {"root": root, "edge": edge, "server": issue("localhost", edge, sans=["localhost"])}


def test_handshake_after_the_install_passes_and_runs_twice_unchanged(capsys, store, site_tls, tmp_path):
    from tls_lab import TlsServer

    with TlsServer(tmp_path, [site_tls["server"], site_tls["edge"]], site_tls["server"]) as server:
        handshake = {"hostname": "localhost", "port": server.port, "ca_file": str(store["bundle"]), "retries": 0}
        args = dict(store["args"], content=site_tls["root"].pem.decode(), name="site-root", handshake=handshake)
        # check mode first: nothing installed, so the handshake against the bundle as it is fails (not the task)
        results = [run(capsys, args, check_mode=check) for check in (True, False, False, True)]
    first_check, first, second, last_check = results
    assert [r["rc"] for r in results] == [0, 0, 0, 0]
    assert not any(r.get("failed") for r in results)
    assert first_check["changed"] is True and first_check["handshake"]["failed"] is True
    assert first_check["handshake"]["diagnosis"] == "untrusted_root"
    assert first_check["handshake"]["hint"]
    assert first["changed"] is True and first["handshake"]["failed"] is False
    assert first["handshake"]["diagnosis"] is None and first["handshake"]["msg"] is None
    assert [c["subject"] for c in first["handshake"]["verified_chain"]] == [
        "CN=localhost",
        "CN=gw1.ca",
        "CN=Site Root CA",
    ]
    assert second["changed"] is False and last_check["changed"] is False
    assert second["handshake"]["failed"] is False and last_check["handshake"]["failed"] is False
    assert second["handshake"]["verified_chain"] == first["handshake"]["verified_chain"]
    assert update_runs(store["runs"]) == 1


def test_handshake_failure_does_not_fail_the_task_and_says_why(capsys, store, root):
    args = dict(
        store["args"],
        content=root.pem.decode(),
        name="site-root",
        handshake={"hostname": "localhost", "port": 1, "retries": 0, "ca_file": str(store["bundle"])},
    )
    result = run(capsys, args)
    assert result["rc"] == 0 and not result.get("failed") and result["changed"] is True
    assert result["handshake"]["failed"] is True
    assert result["handshake"]["diagnosis"] == "connection_refused"
    assert result["handshake"]["msg"] and result["handshake"]["hint"]
    assert update_runs(store["runs"]) == 1  # the store was brought in order all the same


def test_handshake_input_errors(capsys, store, root):
    base = dict(store["args"], content=root.pem.decode(), name="site-root")
    absent = run(capsys, dict(base, state="absent", handshake={"hostname": "localhost"}))
    assert absent["failed"] and "only with state=present" in absent["msg"]
    assert snapshot(store)[1] == {}
    no_name = run(capsys, dict(base, handshake={"port": 8883}))
    assert no_name["failed"] and "hostname" in no_name["msg"]
    key_alone = run(capsys, dict(base, handshake={"hostname": "localhost", "client_cert": "/etc/c.pem"}))
    assert key_alone["failed"] and "client_key" in key_alone["msg"]
    # a handshake input the check refuses (no name to dial) is the handshake's failure, the store is in place
    bad_name = run(capsys, dict(base, handshake={"hostname": "gw:8883", "retries": 0}))
    assert bad_name["rc"] == 0 and bad_name["handshake"]["failed"] is True
    assert bad_name["handshake"]["diagnosis"] is None and "not a host name" in bad_name["handshake"]["msg"]
