# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""runtime_trust as Ansible runs it, with the real runtimes of this machine.

Files go to a temporary directory (the systemd folder and /etc/environment are redirected there);
Node.js and keytool are the real binaries on the PATH, and the keystores are real keystores that keytool
creates and changes. Tests that need a runtime are skipped where it is not installed.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tls_lab import TlsServer, issue
from trust_lab import DAY, NOW, make_cert

from ansible_collections.edgeops.gateway.plugins.module_utils import _runtime_trust
from ansible_collections.edgeops.gateway.plugins.modules import runtime_trust

NODE = shutil.which("node")
KEYTOOL = shutil.which("keytool")
needs_node = pytest.mark.skipif(NODE is None, reason="Node.js is not installed")
needs_keytool = pytest.mark.skipif(KEYTOOL is None, reason="keytool is not installed")
PASSWORD = "s3cret-Store-pass"


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        runtime_trust.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["rc"] = info.value.code
    result["raw"] = out
    return result


def four_runs(capsys, args):
    return [run(capsys, args, check_mode=check) for check in (True, False, True, False)]


def assert_four(results):
    assert [r["rc"] for r in results] == [0, 0, 0, 0], [r.get("msg") for r in results]
    assert [r["changed"] for r in results] == [True, True, False, False]


@pytest.fixture(scope="module")
def root():
    return make_cert("edgeops site-a root CA")


@pytest.fixture(scope="module")
def other_root():
    return make_cert("edgeops site-b root CA")


@pytest.fixture
def host(tmp_path, monkeypatch):
    """Redirect the host-wide paths into tmp_path."""
    systemd = tmp_path / "systemd"
    systemd.mkdir()
    (systemd / "telemetry-agent.service").write_text("[Service]\nExecStart=/usr/bin/node /opt/agent.js\n")
    env = tmp_path / "environment"
    env.write_text('PATH="/usr/local/bin:/usr/bin:/bin"\n')
    monkeypatch.setattr(_runtime_trust, "SYSTEMD_DIR", str(systemd))
    monkeypatch.setattr(_runtime_trust, "UNIT_DIRS", (str(systemd),))
    monkeypatch.setattr(_runtime_trust, "ENVIRONMENT_FILE", str(env))
    return tmp_path


# -- bundle ------------------------------------------------------------------------------


def test_bundle_present_then_absent_run_twice_unchanged(capsys, tmp_path, root):
    path = tmp_path / "app" / "site-ca.pem"
    args = {"runtime": "bundle", "name": "site-ca", "content": root.pem.decode(), "path": str(path)}
    results = four_runs(capsys, args)
    assert_four(results)
    assert not results[0]["proof"]  # check mode proves nothing
    assert results[1]["proof"] == {"bundle_contains": True, "ok": True}
    assert path.read_bytes() == root.pem
    assert oct(path.stat().st_mode & 0o777) == "0o644"
    assert root.sha256 in results[0]["diff"]["after"] and results[0]["diff"]["before"] == ""
    gone = four_runs(capsys, dict(args, state="absent"))
    assert_four(gone)
    assert not path.exists()


def test_bundle_absent_leaves_a_file_with_other_certificates(capsys, tmp_path, root, other_root):
    path = tmp_path / "site-ca.pem"
    path.write_bytes(other_root.pem)
    result = run(
        capsys,
        {"runtime": "bundle", "name": "x", "content": root.pem.decode(), "path": str(path)} | {"state": "absent"},
    )
    assert result["rc"] == 0 and result["changed"] is False
    assert path.read_bytes() == other_root.pem


# -- bad input ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "expected"),
    [
        (lambda r: r.pem.decode() + r.key_pem.decode(), "contains a private key"),
        (lambda r: "hello", "holds no PEM certificate"),
        (lambda r: make_cert("leaf", issuer=r, ca=False).pem.decode(), "is not a CA certificate"),
        (
            lambda r: make_cert("old", not_before=NOW - 30 * DAY, not_after=NOW - DAY).pem.decode(),
            "expired on",
        ),
    ],
)
@pytest.mark.parametrize("runtime", ["bundle", "node", "java"])
def test_bad_input_refused_before_anything_is_written(capsys, host, root, make, expected, runtime):
    path = host / "ca.pem"
    keystore = host / "trust.p12"
    args = {
        "runtime": runtime,
        "name": "site-ca",
        "content": make(root),
        "path": str(path),
        "node_services": ["telemetry-agent"],
        "keystore": str(keystore),
        "keystore_password": PASSWORD,
    }
    result = run(capsys, args)
    assert result["rc"] == 1 and result["changed"] is False
    assert expected in result["msg"]
    assert not path.exists() and not keystore.exists()
    assert not (host / "systemd" / "telemetry-agent.service.d").exists()
    assert "PRIVATE KEY" not in result["raw"]


def test_bad_name_is_refused(capsys, tmp_path, root):
    result = run(capsys, {"runtime": "bundle", "name": "../etc/x", "content": root.pem.decode()})
    assert result["rc"] == 1 and "not usable as a file name" in result["msg"]


# -- Node.js -----------------------------------------------------------------------------


@needs_node
def test_node_dropin_and_environment_run_twice_unchanged(capsys, host, root):
    ca = host / "ca" / "site-ca.pem"
    args = {
        "runtime": "node",
        "name": "site-ca",
        "content": root.pem.decode(),
        "path": str(ca),
        "node_services": ["telemetry-agent"],
        "node_environment": True,
    }
    results = four_runs(capsys, args)
    assert_four(results)
    dropin = host / "systemd" / "telemetry-agent.service.d" / "edgeops-node-ca.conf"
    assert f'Environment="NODE_EXTRA_CA_CERTS={ca}"' in dropin.read_text()
    env = (host / "environment").read_text()
    assert env == f'PATH="/usr/local/bin:/usr/bin:/bin"\nNODE_EXTRA_CA_CERTS={ca}\n'
    assert results[1]["proof"]["node_loads_ca"] is True
    assert results[1]["restart_services"] == ["telemetry-agent.service"]
    assert results[3]["restart_services"] == []
    assert "NODE_EXTRA_CA_CERTS" in results[0]["diff"]["after"]

    gone = four_runs(capsys, dict(args, state="absent", content=None))
    assert_four(gone)
    assert not dropin.exists() and not ca.exists()
    assert (host / "environment").read_text() == 'PATH="/usr/local/bin:/usr/bin:/bin"\n'


@needs_node
def test_node_proof_is_a_real_tls_client(tmp_path, root):
    """What the proof claims, checked independently: an official Node.js build with only its bundled roots
    rejects a server of the site, and accepts it with NODE_EXTRA_CA_CERTS (tls_lab's server)."""
    leaf = issue("gw1.site-a.example", root, sans=["gw1.site-a.example"])
    ca = tmp_path / "ca.pem"
    ca.write_bytes(root.pem)
    script = (
        "const tls=require('tls');const s=tls.connect({host:'127.0.0.1',port:+process.argv[1],"
        "servername:'gw1.site-a.example'},()=>{console.log('ok');s.end();});"
        "s.on('error',e=>{console.log(e.code);process.exit(2);});"
    )
    with TlsServer(tmp_path, [leaf], leaf) as server:
        port = server.port
        env = {k: v for k, v in os.environ.items() if not k.startswith(("NODE_", "SSL_CERT"))}
        env_no = subprocess.run(
            [NODE, "--use-bundled-ca", "-e", script, str(port)], env=env, capture_output=True, text=True, check=False
        )
        env_yes = subprocess.run(
            [NODE, "--use-bundled-ca", "-e", script, str(port)],
            env=dict(env, NODE_EXTRA_CA_CERTS=str(ca)),
            capture_output=True,
            text=True,
            check=False,
        )
    assert env_no.returncode == 2 and "UNABLE_TO_VERIFY_LEAF_SIGNATURE" in env_no.stdout
    assert env_yes.returncode == 0 and env_yes.stdout.strip() == "ok"


def test_node_missing_is_a_clear_error(capsys, host, root):
    args = {
        "runtime": "node",
        "name": "site-ca",
        "content": root.pem.decode(),
        "path": str(host / "ca.pem"),
        "node_services": ["telemetry-agent"],
        "node_executable": str(host / "no-node"),
    }
    result = run(capsys, args)
    assert result["rc"] == 1 and "Node.js is not installed" in result["msg"]
    assert not (host / "ca.pem").exists()
    assert not (host / "systemd" / "telemetry-agent.service.d").exists()


def test_node_other_extra_ca_in_environment_is_refused(capsys, host, root):
    (host / "environment").write_text("NODE_EXTRA_CA_CERTS=/opt/vendor/ca.pem\n")
    args = {
        "runtime": "node",
        "name": "site-ca",
        "content": root.pem.decode(),
        "path": str(host / "ca.pem"),
        "node_environment": True,
        "node_executable": NODE or "/bin/true",
    }
    result = run(capsys, args)
    assert result["rc"] == 1 and "already sets NODE_EXTRA_CA_CERTS=/opt/vendor/ca.pem" in result["msg"]
    assert (host / "environment").read_text() == "NODE_EXTRA_CA_CERTS=/opt/vendor/ca.pem\n"
    assert not (host / "ca.pem").exists()


def test_node_needs_a_target(capsys, host, root):
    result = run(capsys, {"runtime": "node", "name": "site-ca", "content": root.pem.decode()})
    assert result["rc"] == 1 and "needs node_services" in result["msg"]


# -- Java --------------------------------------------------------------------------------


def keytool_list(keystore, password=PASSWORD):
    out = subprocess.run(
        [KEYTOOL, "-list", "-keystore", str(keystore), "-storepass", password],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return out


@needs_keytool
def test_java_keystore_run_twice_unchanged_replace_and_absent(capsys, tmp_path, root, other_root):
    keystore = tmp_path / "app-truststore.p12"
    args = {
        "runtime": "java",
        "name": "edgeops-site-a-root-ca",
        "content": root.pem.decode(),
        "keystore": str(keystore),
        "keystore_password": PASSWORD,
    }
    results = four_runs(capsys, args)
    assert_four(results)
    assert results[1]["proof"] == {"keystore_contains": True, "fingerprint": root.sha256, "ok": True}
    assert "edgeops-site-a-root-ca" in keytool_list(keystore)
    assert all(PASSWORD not in r["raw"] for r in results)
    assert root.sha256 in results[0]["diff"]["after"]

    replaced = run(capsys, dict(args, content=other_root.pem.decode()))
    assert replaced["changed"] is True and replaced["proof"]["fingerprint"] == other_root.sha256
    assert root.sha256 in replaced["diff"]["before"] and other_root.sha256 in replaced["diff"]["after"]

    # Absent with the old root leaves the alias alone: it holds another certificate now.
    kept = run(capsys, dict(args, state="absent"))
    assert kept["changed"] is False and "edgeops-site-a-root-ca" in keytool_list(keystore)

    gone = four_runs(capsys, dict(args, state="absent", content=None))
    assert_four(gone)
    assert "edgeops-site-a-root-ca" not in keytool_list(keystore)


@needs_keytool
def test_java_wrong_password_is_a_clear_error(capsys, tmp_path, root):
    keystore = tmp_path / "app-truststore.p12"
    args = {
        "runtime": "java",
        "name": "site-ca",
        "content": root.pem.decode(),
        "keystore": str(keystore),
        "keystore_password": PASSWORD,
    }
    assert run(capsys, args)["changed"] is True
    before = keystore.read_bytes()
    result = run(capsys, dict(args, name="other", keystore_password="wrong-password"))
    assert result["rc"] == 1 and "refused the password" in result["msg"]
    assert "wrong-password" not in result["raw"]
    assert keystore.read_bytes() == before


@needs_keytool
def test_java_default_keystore_is_the_jre_cacerts(capsys, root):
    """Check mode only: the JRE's cacerts is found from java on the PATH and read, never changed."""
    java = shutil.which("java")
    if java is None:
        pytest.skip("java is not installed")
    result = run(capsys, {"runtime": "java", "name": "edgeops-test-only", "content": root.pem.decode()}, True)
    assert result["rc"] == 0, result.get("msg")
    assert result["keystore"].endswith("lib/security/cacerts")
    assert os.path.realpath(result["keystore"]).startswith("/")
    assert result["changed"] is True and result["proof"] == {}


def test_java_missing_is_a_clear_error(capsys, tmp_path, root, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))
    result = run(
        capsys,
        {"runtime": "java", "name": "site-ca", "content": root.pem.decode(), "keystore": str(tmp_path / "k.p12")},
    )
    assert result["rc"] == 1 and "keytool is not installed" in result["msg"]


def test_java_bad_executable_is_named(capsys, tmp_path, root):
    result = run(
        capsys,
        {
            "runtime": "java",
            "name": "site-ca",
            "content": root.pem.decode(),
            "keytool_executable": str(tmp_path / "keytool"),
        },
    )
    assert result["rc"] == 1 and "keytool_executable" in result["msg"]
