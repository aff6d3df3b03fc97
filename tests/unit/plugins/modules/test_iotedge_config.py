# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""iotedge_config as Ansible runs it: check, real, check, real; diffs; backups; owner and mode."""

from __future__ import annotations

import json
import os
import stat
import sys
import tomllib

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tls_lab import issue, write

from ansible_collections.edgeops.gateway.plugins.modules import iotedge_config

SECRET = "c2VjcmV0a2V5MTIzNA=="
CONN = f"HostName=hub1.azure-devices.net;DeviceId=gw1;SharedAccessKey={SECRET}"


def run(capsys, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        iotedge_config.main()
    result = json.loads(capsys.readouterr().out)
    result["rc"] = info.value.code
    return result


@pytest.fixture
def site(tmp_path):
    certs = tmp_path / "certs"
    secrets = tmp_path / "secrets"
    certs.mkdir()
    secrets.mkdir()
    root = issue("site-a root", ca=True)
    edge_ca = issue("gw1.site-a.example.ca", issuer=root, ca=True, path_len=0)
    write(certs / "root-ca.pem", root)
    write(certs / "edge-ca-full-chain.pem", edge_ca, root)
    (secrets / "edge-ca.key.pem").write_bytes(edge_ca.key_pem)
    owner = os.getuid()
    import grp
    import pwd

    return {
        "path": str(tmp_path / "config.toml"),
        "hostname": "gw1.site-a.example",
        "trust_bundle_cert": str(certs / "root-ca.pem"),
        "edge_ca_cert": str(certs / "edge-ca-full-chain.pem"),
        "edge_ca_pk": str(secrets / "edge-ca.key.pem"),
        "provisioning": "manual_connection_string",
        "connection_string": CONN,
        "owner": pwd.getpwuid(owner).pw_name,
        "group": grp.getgrgid(os.getgid()).gr_name,
    }


def test_four_runs_check_real_check_real(capsys, site):
    results = [
        run(capsys, site, check_mode=True),
        run(capsys, site),
        run(capsys, site, check_mode=True),
        run(capsys, site),
    ]
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert all(r["rc"] == 0 for r in results)
    data = tomllib.loads(open(site["path"]).read())
    assert data["provisioning"] == {"source": "manual", "connection_string": CONN}
    assert stat.S_IMODE(os.stat(site["path"]).st_mode) == 0o600
    assert "backup_file" not in results[1]  # nothing to back up the first time


def test_check_mode_writes_nothing(capsys, site):
    result = run(capsys, site, check_mode=True)
    assert result["changed"]
    assert not os.path.exists(site["path"])


def test_secret_never_in_result_or_diff(capsys, site):
    first = run(capsys, site)
    assert SECRET not in json.dumps(first)
    assert "********" in first["diff"]["after"]
    changed = dict(site, connection_string=CONN.replace(SECRET, "bmV3c2VjcmV0"))
    second = run(capsys, changed)
    assert second["changed"]
    text = json.dumps(second)
    assert SECRET not in text
    assert "bmV3c2VjcmV0" not in text
    assert "a secret value changed" in second["diff"]["after_header"]


def test_change_makes_a_backup_and_a_real_diff(capsys, site):
    run(capsys, site)
    before = open(site["path"]).read()
    result = run(capsys, dict(site, hostname="gw2.site-a.example"))
    assert result["changed"]
    assert open(result["backup_file"]).read() == before
    assert 'hostname = "gw1.site-a.example"' in result["diff"]["before"]
    assert 'hostname = "gw2.site-a.example"' in result["diff"]["after"]


def test_mode_drift_is_repaired(capsys, site):
    run(capsys, site)
    os.chmod(site["path"], 0o644)
    result = run(capsys, site)
    assert result["changed"]
    assert stat.S_IMODE(os.stat(site["path"]).st_mode) == 0o600


def test_missing_referenced_file_fails_before_writing(capsys, site):
    os.unlink(site["edge_ca_pk"])
    result = run(capsys, site)
    assert result["failed"]
    assert "edge_ca_pk=" in result["msg"]
    assert "deploy the certificates" in result["msg"]
    assert not os.path.exists(site["path"])


def test_missing_referenced_file_only_warns_in_check_mode(capsys, site):
    os.unlink(site["edge_ca_pk"])
    result = run(capsys, site, check_mode=True)
    assert result["changed"]
    assert "edge_ca_pk=" in json.dumps(result["warnings"]), result["warnings"]


def test_validation_error_fails_without_writing(capsys, site):
    result = run(capsys, dict(site, hostname="GW1.example"))
    assert result["failed"]
    assert "Use 'gw1.example'" in result["msg"]
    assert not os.path.exists(site["path"])


def test_required_if_refuses_a_variant_without_its_options(capsys, site):
    args = dict(site, provisioning="dps_symmetric_key")
    del args["connection_string"]
    result = run(capsys, args)
    assert result["failed"]
    assert "id_scope" in result["msg"]


def test_auto_renew_and_edge_ca_files_are_mutually_exclusive(capsys, site):
    result = run(capsys, dict(site, edge_ca_auto_renew={"threshold": "80%"}))
    assert result["failed"]
    assert "mutually exclusive" in result["msg"]


def test_missing_directory_says_how_to_fix(capsys, site, tmp_path):
    result = run(capsys, dict(site, path=str(tmp_path / "nodir" / "config.toml")))
    assert result["failed"]
    assert "install aziot-edge first" in result["msg"]


def test_missing_directory_only_warns_in_check_mode(capsys, site, tmp_path):
    result = run(capsys, dict(site, path=str(tmp_path / "nodir" / "config.toml")), check_mode=True)
    assert result["changed"]
    assert "install aziot-edge first" in json.dumps(result["warnings"])


# -- every write goes through one checked plan: a bad target is refused before anything changes --


@pytest.fixture
def existing(capsys, site):
    """A site whose config.toml was written once; returns (args, the file's bytes)."""
    assert run(capsys, site)["changed"]
    with open(site["path"], "rb") as handle:
        return site, handle.read()


def assert_untouched(site, before):
    with open(site["path"], "rb") as handle:
        assert handle.read() == before
    folder = os.path.dirname(site["path"])
    assert [n for n in os.listdir(folder) if n != "config.toml" and n.startswith("config.toml")] == []
    assert not [n for n in os.listdir(folder) if n.startswith(".edgeops-")]


@pytest.mark.parametrize("check_mode", [False, True])
def test_unknown_owner_is_refused_before_the_file_changes(capsys, existing, check_mode):
    site, before = existing
    result = run(capsys, dict(site, hostname="gw2.site-a.example", owner="no-such-user-edgeops"), check_mode)
    assert result["failed"] and not result["changed"]
    assert "the owner 'no-such-user-edgeops'" in result["msg"]
    assert "create the user first" in result["msg"]
    assert_untouched(site, before)


@pytest.mark.parametrize("check_mode", [False, True])
def test_unknown_group_is_refused_before_the_file_changes(capsys, existing, check_mode):
    site, before = existing
    result = run(capsys, dict(site, hostname="gw2.site-a.example", group="no-such-group-edgeops"), check_mode)
    assert result["failed"] and not result["changed"]
    assert "the group 'no-such-group-edgeops'" in result["msg"]
    assert_untouched(site, before)


def test_unknown_owner_with_unchanged_content_is_refused_too(capsys, existing):
    site, before = existing
    result = run(capsys, dict(site, owner="no-such-user-edgeops"))
    assert result["failed"] and not result["changed"]
    assert "the owner 'no-such-user-edgeops'" in result["msg"]
    assert_untouched(site, before)


@pytest.mark.parametrize("mode", ["0999", "rw-r--r--", "", 0o17777])
def test_invalid_mode_is_refused_before_the_file_changes(capsys, existing, mode):
    site, before = existing
    result = run(capsys, dict(site, hostname="gw2.site-a.example", mode=mode))
    assert result["failed"] and not result["changed"]
    assert "mode" in result["msg"] and ("0600" in result["msg"] or "0000 to 7777" in result["msg"])
    assert_untouched(site, before)


@pytest.mark.parametrize("check_mode", [False, True])
def test_path_that_is_a_folder_is_refused(capsys, site, tmp_path, check_mode):
    folder = tmp_path / "config.toml.d"
    folder.mkdir()
    result = run(capsys, dict(site, path=str(folder)), check_mode)
    assert result["failed"] and not result["changed"]
    assert f"{folder} is a folder; give the path of a file" in result["msg"]
    assert os.listdir(folder) == []


def test_empty_path_is_refused(capsys, site, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    before = sorted(os.listdir(tmp_path))
    result = run(capsys, dict(site, path=""))
    assert result["failed"] and not result["changed"]
    assert "path is empty" in result["msg"] and "/etc/aziot/config.toml" in result["msg"]
    assert sorted(os.listdir(tmp_path)) == before


def run_on_read_only_mount(folder, args):
    """Run the module with ``folder`` bind-mounted read-only in a private mount namespace (root ignores mode bits)."""
    import shutil
    import subprocess
    import textwrap

    if not shutil.which("unshare") or subprocess.run(["unshare", "-m", "true"], check=False).returncode != 0:
        pytest.skip("no private mount namespaces here")
    import tempfile

    script = os.path.join(tempfile.mkdtemp(prefix="edgeops-ro-"), "run_module.py")
    with open(script, "w") as handle:
        handle.write(
            textwrap.dedent(
                f"""\
                import json
                from ansible.module_utils.testing import patch_module_args
                from ansible_collections.edgeops.gateway.plugins.modules import iotedge_config
                with patch_module_args(json.loads({json.dumps(json.dumps(args))})):
                    iotedge_config.main()
                """
            )
        )
    collections = os.path.join(os.path.dirname(os.path.realpath(iotedge_config.__file__)), "..", "..", ".collections")
    shell = f"mount --bind {folder} {folder} && mount -o remount,bind,ro {folder} && exec {sys.executable} {script}"
    try:
        proc = subprocess.run(
            ["unshare", "-m", "sh", "-c", shell],
            capture_output=True,
            text=True,
            check=False,
            env=dict(os.environ, PYTHONPATH=os.path.abspath(collections)),
        )
    finally:
        shutil.rmtree(os.path.dirname(script))
    if "mount:" in proc.stderr:
        pytest.skip(f"cannot remount read-only here: {proc.stderr.strip()}")
    assert "Traceback" not in proc.stdout + proc.stderr
    return json.loads(proc.stdout)


@pytest.mark.parametrize("check_mode", [False, True])
def test_read_only_folder_is_refused_before_the_backup(capsys, existing, check_mode):
    site, before = existing
    folder = os.path.dirname(site["path"])
    args = dict(site, hostname="gw2.site-a.example")
    if os.geteuid() == 0:
        result = run_on_read_only_mount(folder, dict(args, _ansible_check_mode=check_mode, _ansible_diff=True))
    else:
        os.chmod(folder, 0o500)
        try:
            result = run(capsys, args, check_mode)
        finally:
            os.chmod(folder, 0o700)
    assert result["failed"] and not result["changed"]
    assert "nothing was written" in result["msg"]
    assert "not writable" in result["msg"] or "mounted read-only" in result["msg"], result["msg"]
    assert_untouched(site, before)


def test_backup_is_written_through_the_plan_before_the_replacement(capsys, existing):
    site, before = existing
    result = run(capsys, dict(site, hostname="gw2.site-a.example"))
    assert result["changed"]
    with open(result["backup_file"], "rb") as handle:
        assert handle.read() == before
    assert stat.S_IMODE(os.stat(result["backup_file"]).st_mode) == 0o600
    assert 'hostname = "gw2.site-a.example"' in open(site["path"]).read()


def test_no_backup_when_disabled_or_in_check_mode(capsys, existing):
    site, _before = existing
    folder = os.path.dirname(site["path"])
    checked = run(capsys, dict(site, hostname="gw2.site-a.example"), check_mode=True)
    assert checked["changed"] and "backup_file" not in checked
    real = run(capsys, dict(site, hostname="gw2.site-a.example", backup=False))
    assert real["changed"] and "backup_file" not in real
    assert [n for n in os.listdir(folder) if n.startswith("config.toml.")] == []


def test_a_swapped_edge_ca_key_is_refused_before_writing(capsys, existing, tmp_path):
    site, before = existing
    other = issue("other.ca", ca=True, path_len=0)
    (tmp_path / "secrets" / "edge-ca.key.pem").write_bytes(other.key_pem)
    result = run(capsys, dict(site, hostname="gw2.site-a.example"))
    assert result["failed"] and not result["changed"]
    assert "is not the key of edge_ca_cert" in result["msg"]
    assert "BEGIN" not in result["msg"]
    assert_untouched(site, before)


def test_a_garbage_trust_bundle_is_refused_in_check_mode_too(capsys, existing, tmp_path):
    site, before = existing
    (tmp_path / "certs" / "root-ca.pem").write_bytes(b"\x00garbage" * 1000)
    result = run(capsys, dict(site, hostname="gw2.site-a.example"), check_mode=True)
    assert result["failed"] and not result["changed"]
    assert "holds no PEM certificate" in result["msg"]
    assert_untouched(site, before)


# -- options of issue 12: key files, registry credentials, EST files, the OS host name --------------


@pytest.fixture
def sas(site, tmp_path):
    """A manual symmetric key gateway whose key is a file of raw bytes."""
    key = tmp_path / "secrets" / "device-id.key"
    key.write_bytes(bytes(range(200, 232)))
    args = dict(site, provisioning="manual_symmetric_key", iothub_hostname="hub1.azure-devices.net", device_id="gw1")
    del args["connection_string"]
    args["symmetric_key_file"] = str(key)
    return args


def test_symmetric_key_file_four_runs(capsys, sas):
    results = [run(capsys, sas, True), run(capsys, sas), run(capsys, sas, True), run(capsys, sas)]
    assert [r["changed"] for r in results] == [True, True, False, False]
    data = tomllib.loads(open(sas["path"]).read())
    assert data["provisioning"]["authentication"] == {
        "method": "sas",
        "device_id_pk": {"uri": "file://" + sas["symmetric_key_file"]},
    }
    assert sas["symmetric_key_file"] in results[1]["referenced_files"]


@pytest.mark.parametrize(
    ("content", "fragment"),
    [
        (b"", "is empty"),
        (SECRET.encode() + b"\n", "holds the key as base64 text"),
        (b"c3ltbWV0cmljLWtleS0xMjM0NTY3OA==", "holds the key as base64 text"),
    ],
)
def test_an_unusable_symmetric_key_file_is_refused_before_writing(capsys, sas, content, fragment):
    with open(sas["symmetric_key_file"], "wb") as handle:
        handle.write(content)
    result = run(capsys, sas)
    assert result["failed"] and not result["changed"]
    assert fragment in result["msg"] and "base64 -d" in result["msg"]
    assert SECRET not in result["msg"]
    assert not os.path.exists(sas["path"])


def test_a_missing_symmetric_key_file_is_refused(capsys, sas):
    os.unlink(sas["symmetric_key_file"])
    result = run(capsys, sas)
    assert result["failed"] and "symmetric_key_file=" in result["msg"]


def test_inline_key_and_key_file_are_mutually_exclusive(capsys, sas):
    result = run(capsys, dict(sas, symmetric_key=SECRET))
    assert result["failed"] and "mutually exclusive" in result["msg"]
    assert SECRET not in json.dumps(result)


def test_registry_password_never_in_result_or_diff(capsys, site):
    auth = {"serveraddress": "myregistry.azurecr.io", "username": "gateways", "password": "Registry-Pa55"}
    args = dict(site, agent_image="myregistry.azurecr.io/azureiotedge-agent:1.5", agent_registry_auth=auth)
    first = run(capsys, args)
    assert first["changed"]
    assert "Registry-Pa55" not in json.dumps(first)
    assert tomllib.loads(open(site["path"]).read())["agent"]["config"]["auth"] == auth
    second = run(capsys, dict(args, agent_registry_auth=dict(auth, password="Registry-Pa56")))
    assert second["changed"]
    assert "Registry-Pa5" not in json.dumps(second)
    assert "a secret value changed" in second["diff"]["after_header"]


def test_registry_credentials_need_all_three_keys(capsys, site):
    auth = {"serveraddress": "myregistry.azurecr.io", "username": "gateways"}
    result = run(capsys, dict(site, agent_image="img:1.5", agent_registry_auth=auth))
    assert result["failed"] and "password" in result["msg"]


def test_moby_runtime_with_one_key_is_refused_with_the_defaults_named(capsys, site):
    result = run(capsys, dict(site, moby_runtime={"uri": "unix:///var/run/docker.sock"}))
    assert result["failed"] and not result["changed"]
    assert "needs both uri and network" in result["msg"] and "azure-iot-edge" in result["msg"]


def test_os_hostname_mismatch_is_refused(capsys, site):
    result = run(capsys, dict(site, os_hostname="edge-line2"))
    assert result["failed"] and not result["changed"]
    assert "'gw1.site-a.example' is neither the gateway's OS host name 'edge-line2'" in result["msg"]
    assert run(capsys, dict(site, os_hostname="gw1"))["changed"]


def test_est_trusted_certs_and_identity_are_read_before_writing(capsys, site, tmp_path):
    est_ca = issue("est server ca", ca=True)
    identity = issue("est identity", issuer=est_ca)
    write(tmp_path / "certs" / "est-ca.pem", est_ca)
    write(tmp_path / "certs" / "est-id.pem", identity)
    (tmp_path / "secrets" / "est-id.key.pem").write_bytes(identity.key_pem)
    args = dict(site, provisioning="manual_connection_string")
    for name in ("edge_ca_cert", "edge_ca_pk"):
        del args[name]
    args["edge_ca_est"] = {"common_name": "gw1.site-a.example.ca", "password": "Est-Pa55", "username": "gw1"}
    args["est"] = {
        "url": "https://est.site-a.example/.well-known/est",
        "trusted_certs": [str(tmp_path / "certs" / "est-ca.pem")],
        "identity_cert": str(tmp_path / "certs" / "est-id.pem"),
        "identity_pk": str(tmp_path / "secrets" / "est-id.key.pem"),
    }
    result = run(capsys, args)
    assert result["changed"], result
    assert "Est-Pa55" not in json.dumps(result)
    data = tomllib.loads(open(site["path"]).read())
    assert data["edge_ca"]["method"] == "est"
    assert data["cert_issuance"]["est"]["auth"]["identity_cert"] == "file://" + args["est"]["identity_cert"]
    other = issue("other identity")
    (tmp_path / "secrets" / "est-id.key.pem").write_bytes(other.key_pem)
    result = run(capsys, dict(args, hostname="gw2.site-a.example"))
    assert (
        result["failed"]
        and "est.identity_pk" in result["msg"]
        and "is not the key of est.identity_cert" in result["msg"]
    )
    (tmp_path / "certs" / "est-ca.pem").write_bytes(b"not a certificate")
    result = run(capsys, dict(args, hostname="gw2.site-a.example"))
    assert result["failed"] and "est.trusted_certs[0]" in result["msg"] and "holds no PEM certificate" in result["msg"]


def test_check_os_hostname_reads_the_host_name_on_the_gateway(capsys, site, monkeypatch):
    monkeypatch.setattr(iotedge_config.socket, "gethostname", lambda: "edge-line2")
    result = run(capsys, dict(site, check_os_hostname=True))
    assert result["failed"]
    assert "neither the gateway's OS host name 'edge-line2'" in result["msg"]
    assert "hostnamectl set-hostname gw1" in result["msg"]
    assert not os.path.exists(site["path"])
    # The name the kernel has, or its first label: accepted; without the option nothing is compared.
    for name in ("gw1.site-a.example", "GW1"):
        monkeypatch.setattr(iotedge_config.socket, "gethostname", lambda name=name: name)
        assert run(capsys, dict(site, check_os_hostname=True), check_mode=True)["rc"] == 0
    monkeypatch.setattr(iotedge_config.socket, "gethostname", lambda: "edge-line2")
    assert run(capsys, site, check_mode=True)["rc"] == 0
