# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""pki_ca, pki_cert and pki_report as Ansible runs them: four runs, diffs, guards, no key material out."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

from ansible_collections.edgeops.gateway.plugins.modules import pki_ca, pki_cert, pki_report

# A test passphrase that must never show up in any output.
PASSPHRASE = "root-pass-7f3a"


def run(capsys, module, args, check_mode=False, diff=True):
    args = dict(args, _ansible_check_mode=check_mode, _ansible_diff=diff)
    with patch_module_args(args), pytest.raises(SystemExit) as info:
        module.main()
    out = capsys.readouterr().out
    result = json.loads(out)
    result["rc"] = info.value.code
    result["raw"] = out
    return result


def four(capsys, module, args):
    return [
        run(capsys, module, args, check_mode=True),
        run(capsys, module, args),
        run(capsys, module, args, check_mode=True),
        run(capsys, module, args),
    ]


def files_of(path):
    return sorted(str(p.relative_to(path)) for p in path.rglob("*"))


@pytest.fixture
def root(tmp_path, capsys):
    args = {
        "path": str(tmp_path / "root-ca.pem"),
        "key_path": str(tmp_path / "root-ca.key.pem"),
        "key_passphrase": PASSPHRASE,
        "common_name": "site-a root CA",
    }
    result = run(capsys, pki_ca, args)
    assert result["rc"] == 0, result
    return args


def test_pki_ca_four_runs(tmp_path, capsys):
    args = {
        "path": str(tmp_path / "pki" / "root-ca.pem"),
        "key_path": str(tmp_path / "pki" / "root-ca.key.pem"),
        "key_passphrase": PASSPHRASE,
        "common_name": "site-a root CA",
    }
    results = four(capsys, pki_ca, args)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert results[0]["serial"] is None  # check mode: nothing with a serial exists yet
    assert results[0]["diff"]["after"][args["path"]]["state"] == "would be (re)issued"
    assert results[1]["reasons"] == ["no key yet", "no certificate yet"]
    assert results[3]["serial"] == results[1]["serial"]
    assert oct(os.stat(tmp_path / "pki").st_mode & 0o777) == "0o700"
    key = (tmp_path / "pki" / "root-ca.key.pem").read_text()
    assert "ENCRYPTED PRIVATE KEY" in key
    for result in results:
        assert PASSPHRASE not in result["raw"]
        assert "PRIVATE KEY" not in result["raw"]


def test_pki_cert_four_runs_for_a_bulk_request(tmp_path, capsys, root):
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "validity_days": 90,
        "certificates": [
            {"path": str(tmp_path / "devices" / f"dev{i}" / "device.pem"), "common_name": f"dev{i}"} for i in range(20)
        ]
        + [
            {
                "path": str(tmp_path / "devices" / "win1" / "device.pem"),
                "common_name": "win1",
                "pkcs12_path": str(tmp_path / "devices" / "win1" / "device.pfx"),
                "pkcs12_passphrase": "pfx-pass-91c",
            }
        ],
    }
    results = four(capsys, pki_cert, args)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert not (tmp_path / "devices").exists() or results[1]["changed"]
    assert len(results[1]["certificates"]) == 21
    assert all(c["reissued"] for c in results[1]["certificates"])
    assert not any(c["reissued"] for c in results[3]["certificates"])
    diff = results[1]["diff"]
    assert set(diff["after"]) == {c["path"] for c in args["certificates"]}
    assert diff["before"][args["certificates"][0]["path"]] is None
    for result in results:
        assert PASSPHRASE not in result["raw"] and "pfx-pass-91c" not in result["raw"]
        assert "PRIVATE KEY" not in result["raw"]
    chain = subprocess.run(
        ["openssl", "verify", "-CAfile", root["path"], str(tmp_path / "devices" / "dev7" / "device-full-chain.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert chain.returncode == 0, chain.stderr
    assert oct(os.stat(tmp_path / "devices" / "dev7" / "device.key.pem").st_mode & 0o777) == "0o600"


def test_check_mode_writes_nothing(tmp_path, capsys, root):
    before = files_of(tmp_path)
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "certificates": [{"path": str(tmp_path / "devices" / "dev1" / "device.pem"), "common_name": "dev1"}],
    }
    result = run(capsys, pki_cert, args, check_mode=True)
    assert result["changed"] and result["certificates"][0]["reasons"] == ["no key yet", "no certificate yet"]
    assert files_of(tmp_path) == before


def test_a_bad_entry_stops_the_whole_task_before_any_write(tmp_path, capsys, root):
    before = files_of(tmp_path)
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "certificates": [
            {"path": str(tmp_path / "devices" / "dev1" / "device.pem"), "common_name": "dev1"},
            {
                "path": str(tmp_path / "gateways" / "GW1" / "server.pem"),
                "common_name": "GW1.site-a.lab",
                "profile": "gateway_server",
            },
        ],
    }
    result = run(capsys, pki_cert, args)
    assert result["rc"] == 1 and result["failed"]
    assert "certificates[1]" in result["msg"]
    assert "not lowercase" in result["msg"] and "Use 'gw1.site-a.lab'" in result["msg"]
    assert files_of(tmp_path) == before


def test_wrong_issuer_passphrase_fails_with_a_fix(tmp_path, capsys, root):
    before = files_of(tmp_path)
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": "not-the-root-pass",
        "certificates": [{"path": str(tmp_path / "d.pem"), "common_name": "dev1"}],
    }
    result = run(capsys, pki_cert, args)
    assert result["failed"] and "passphrase is wrong" in result["msg"]
    assert files_of(tmp_path) == before


def test_csr_and_key_path_are_mutually_exclusive(tmp_path, capsys, root):
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "certificates": [
            {"path": str(tmp_path / "d.pem"), "common_name": "d", "csr_path": "/x.csr", "key_path": "/x.key"}
        ],
    }
    result = run(capsys, pki_cert, args)
    assert result["failed"] and "mutually exclusive" in result["msg"]


def test_intermediate_then_edge_ca_from_it(tmp_path, capsys, root):
    inter = {
        "type": "intermediate",
        "path": str(tmp_path / "intermediate-ca.pem"),
        "key_path": str(tmp_path / "intermediate-ca.key.pem"),
        "common_name": "site-a intermediate CA",
        "validity_days": 1825,
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
    }
    results = four(capsys, pki_ca, inter)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert results[1]["issuer"] == "CN=site-a root CA"
    gw = tmp_path / "gateways" / "gw1"
    edge = {
        "issuer_cert": inter["path"],
        "issuer_key": inter["key_path"],
        "issuer_chain": [root["path"]],
        "full_chain_include_root": True,
        "certificates": [
            {
                "path": str(gw / "edge-ca.pem"),
                "profile": "edge_ca",
                "common_name": "gw1.site-a.lab.ca",
                "gateway_hostname": "gw1.site-a.lab",
            }
        ],
    }
    results = four(capsys, pki_cert, edge)
    assert [r["changed"] for r in results] == [True, True, False, False]
    chain = (gw / "edge-ca-full-chain.pem").read_text()
    assert chain.count("BEGIN CERTIFICATE") == 3  # Edge CA, intermediate, root
    out = subprocess.run(
        ["openssl", "verify", "-CAfile", root["path"], "-untrusted", inter["path"], str(gw / "edge-ca.pem")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0, out.stderr


def test_import_root_and_intermediate(tmp_path, capsys, root):
    inter_src = {
        "type": "intermediate",
        "path": str(tmp_path / "src" / "int.pem"),
        "key_path": str(tmp_path / "src" / "int.key.pem"),
        "common_name": "company issuing CA",
        "validity_days": 1000,
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
    }
    assert run(capsys, pki_ca, inter_src)["rc"] == 0
    site = tmp_path / "site"
    imported_root = {"path": str(site / "root-ca.pem"), "import_cert": root["path"]}
    results = four(capsys, pki_ca, imported_root)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert not (site / "root-ca.key.pem").exists()
    imported_int = {
        "type": "intermediate",
        "path": str(site / "intermediate-ca.pem"),
        "key_path": str(site / "intermediate-ca.key.pem"),
        "import_cert": inter_src["path"],
        "import_key": inter_src["key_path"],
        "issuer_cert": str(site / "root-ca.pem"),
    }
    results = four(capsys, pki_ca, imported_int)
    assert [r["changed"] for r in results] == [True, True, False, False]
    assert (site / "intermediate-ca.key.pem").read_bytes() == (tmp_path / "src" / "int.key.pem").read_bytes()
    assert oct(os.stat(site / "intermediate-ca.key.pem").st_mode & 0o777) == "0o600"


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ({"type": "root", "import_cert": "INT"}, "is not self-signed, so it is not a root CA"),
        ({"import_key": None}, "its key is needed; give import_key"),
        ({"import_key": "OTHERKEY"}, "does not match"),
        ({"import_cert": "LEAF", "import_key": "LEAFKEY"}, "is not a CA certificate"),
        ({"import_cert": "GARBAGE", "import_key": None, "type": "root"}, "holds no PEM certificate"),
    ],
)
def test_import_guards(tmp_path, capsys, root, change, match):
    inter_src = {
        "type": "intermediate",
        "path": str(tmp_path / "src" / "int.pem"),
        "key_path": str(tmp_path / "src" / "int.key.pem"),
        "common_name": "company issuing CA",
        "validity_days": 1000,
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
    }
    assert run(capsys, pki_ca, inter_src)["rc"] == 0
    leaf = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "certificates": [{"path": str(tmp_path / "src" / "leaf.pem"), "common_name": "leaf"}],
    }
    assert run(capsys, pki_cert, leaf)["rc"] == 0
    (tmp_path / "src" / "garbage.pem").write_text("not a certificate\n")
    names = {
        "INT": inter_src["path"],
        "OTHERKEY": str(tmp_path / "src" / "leaf.key.pem"),
        "LEAF": str(tmp_path / "src" / "leaf.pem"),
        "LEAFKEY": str(tmp_path / "src" / "leaf.key.pem"),
        "GARBAGE": str(tmp_path / "src" / "garbage.pem"),
    }
    site = tmp_path / "site"
    args = {
        "type": "intermediate",
        "path": str(site / "intermediate-ca.pem"),
        "key_path": str(site / "intermediate-ca.key.pem"),
        "import_cert": inter_src["path"],
        "import_key": inter_src["key_path"],
        "issuer_cert": root["path"],
    }
    for key, value in change.items():
        args[key] = names.get(value, value)
    result = run(capsys, pki_ca, {k: v for k, v in args.items() if v is not None})
    assert result["failed"], result
    assert match in result["msg"]
    assert not site.exists()


def test_pki_report_reads_only(tmp_path, capsys, root):
    args = {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "validity_days": 3,
        "renew_window": "5d",
        "certificates": [{"path": str(tmp_path / "devices" / "dev1" / "device.pem"), "common_name": "dev1"}],
    }
    assert run(capsys, pki_cert, args)["rc"] == 0
    before = {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")}
    result = run(capsys, pki_report, {"path": str(tmp_path), "renew_window": "5d"})
    assert not result["changed"]
    # what was read, for a later play of the run to tell whether it can use this reading
    assert (result["path"], result["renew_window"]) == (str(tmp_path), "5d")
    assert result["renew"] == ["devices/dev1/device.pem"]
    assert result["certificates"][0]["days_left"] in (2, 3)
    assert "inside its renew window" in result["certificates"][0]["reasons"][0]
    assert {p: p.stat().st_mtime_ns for p in tmp_path.rglob("*")} == before
    # The encrypted root key is skipped, not an error; the root itself is reported.
    assert any(c["relative_path"] == "root-ca.pem" and not c["renew"] for c in result["certificates"])


def test_pki_report_takes_pki_dir_as_an_alias(tmp_path, capsys, root):
    result = run(capsys, pki_report, {"pki_dir": str(tmp_path)})
    assert result["rc"] == 0
    assert (result["path"], result["renew_window"]) == (str(tmp_path), None)
    assert [c["relative_path"] for c in result["certificates"]] == ["root-ca.pem"]


# ---------------------------------------------------------------------------------------------------------------
# Bad input: a message that says what is wrong and how to fix it, and nothing written


def digest_of(path):
    """Names, modes and contents of everything under ``path``: equal digests mean nothing was touched."""
    out = []
    for item in sorted(path.rglob("*")):
        st = item.lstat()
        content = item.read_bytes() if item.is_file() and not item.is_symlink() else b""
        out.append((str(item.relative_to(path)), st.st_mode, hashlib.sha256(content).hexdigest()))
    return out


def device_args(root, tmp_path, **entry):
    cert = {"path": str(tmp_path / "devices" / "dev1" / "device.pem"), "common_name": "dev1"}
    cert.update(entry)
    return {
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
        "certificates": [cert],
    }


@pytest.mark.parametrize("check_mode", [False, True])
@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"validity_days": 3_000_000}, ["ends after 9999-12-31", "ask for at most"]),
        ({"dns_names": ["gerät.site-a.lab"]}, ["is not ASCII", "IDNA A-labels", "xn--gert-noa.site-a.lab"]),
        ({"dns_names": [""]}, ["a DNS name is empty", "remove the empty entry"]),
        ({"dns_names": ["dev 1.lab"]}, ["'dev 1.lab' holds a space", "one name per list item"]),
        ({"path": ""}, ["a path is empty", "give the file's path"]),
        (
            {"profile": "edge_ca", "common_name": "gw1.ca", "device_id": "gw 1"},
            ["'gw 1' is not an IoT Hub device id", "not allowed: ' '", "no spaces"],
        ),
        ({"profile": "intermediate_ca", "common_name": "int", "path_length": -1}, ["path_length must be 0 or more"]),
        ({"backdate_minutes": -5}, ["backdate_minutes must be a whole number of minutes"]),
    ],
)
def test_pki_cert_bad_input_says_how_to_fix_and_writes_nothing(tmp_path, capsys, root, entry, expected, check_mode):
    before = digest_of(tmp_path)
    args = device_args(root, tmp_path, **entry)
    if "backdate_minutes" in entry:
        args["backdate_minutes"] = args["certificates"][0].pop("backdate_minutes")
    result = run(capsys, pki_cert, args, check_mode=check_mode)
    assert result["failed"] and result["changed"] is False, result
    for text in expected:
        assert text in result["msg"], result["msg"]
    assert "Traceback" not in result["raw"] and "Error(" not in result["msg"]
    assert digest_of(tmp_path) == before


def test_pki_ca_validity_past_9999_and_negative_path_length(tmp_path, capsys):
    base = {"path": str(tmp_path / "ca.pem"), "key_path": str(tmp_path / "ca.key.pem"), "common_name": "r"}
    result = run(capsys, pki_ca, dict(base, validity_days=3_000_000))
    assert result["failed"] and "ends after 9999-12-31" in result["msg"]
    result = run(capsys, pki_ca, dict(base, path_length=-2))
    assert result["failed"] and "path_length must be 0 or more" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_pki_ca_empty_path(tmp_path, capsys):
    result = run(capsys, pki_ca, {"path": "", "key_path": str(tmp_path / "ca.key.pem"), "common_name": "r"})
    assert result["failed"] and "a path is empty" in result["msg"]
    assert list(tmp_path.iterdir()) == []


def test_read_only_key_folder_leaves_no_certificate_without_its_key(tmp_path, capsys, monkeypatch):
    """The root CA certificate's folder is writable, its key's is not: nothing at all may be written."""
    from ansible_collections.edgeops.gateway.plugins.module_utils import _io

    (tmp_path / "certs").mkdir()
    (tmp_path / "keys").mkdir()
    real_access = os.access
    keys = str(tmp_path / "keys")
    monkeypatch.setattr(
        _io.os,
        "access",
        lambda p, how, *a, **k: False if how & os.W_OK and str(p).startswith(keys) else real_access(p, how, *a, **k),
    )
    before = digest_of(tmp_path)
    args = {
        "path": str(tmp_path / "certs" / "root-ca.pem"),
        "key_path": str(tmp_path / "keys" / "root-ca.key.pem"),
        "common_name": "site-a root CA",
    }
    for check_mode in (True, False):
        result = run(capsys, pki_ca, args, check_mode=check_mode)
        assert result["failed"] and result["changed"] is False
        assert "nothing was written" in result["msg"] and "is not writable" in result["msg"]
        assert "root-ca.key.pem" in result["msg"]
        assert digest_of(tmp_path) == before


def test_a_folder_where_a_file_is_expected(tmp_path, capsys, root):
    (tmp_path / "devices" / "dev1" / "device.key.pem").mkdir(parents=True)
    before = digest_of(tmp_path)
    result = run(capsys, pki_cert, device_args(root, tmp_path))
    assert result["failed"] and "is a folder" in result["msg"] and "give the path of a file" in result["msg"]
    assert digest_of(tmp_path) == before


def test_a_file_where_a_folder_is_expected(tmp_path, capsys, root):
    (tmp_path / "devices").write_bytes(b"not a folder")
    before = digest_of(tmp_path)
    result = run(capsys, pki_cert, device_args(root, tmp_path))
    assert result["failed"] and "is a file, not a folder" in result["msg"]
    assert digest_of(tmp_path) == before


def test_an_encrypted_device_key_is_not_told_to_give_a_passphrase(tmp_path, capsys, root):
    dev = tmp_path / "devices" / "dev1"
    dev.mkdir(parents=True)
    key = pki_ca_key_pem(passphrase=b"dev-pass")
    (dev / "device.key.pem").write_bytes(key)
    before = digest_of(tmp_path)
    result = run(capsys, pki_cert, device_args(root, tmp_path))
    assert result["failed"] and "is encrypted" in result["msg"]
    assert "give its passphrase" not in result["msg"]
    assert "openssl pkey" in result["msg"] and "delete it" in result["msg"]
    assert digest_of(tmp_path) == before


def pki_ca_key_pem(passphrase):
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    return ec.generate_private_key(ec.SECP256R1()).private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.BestAvailableEncryption(passphrase),
    )


def test_an_issuer_bundle_with_the_wrong_certificate_first_names_the_right_one(tmp_path, capsys, root):
    inter = {
        "type": "intermediate",
        "path": str(tmp_path / "int.pem"),
        "key_path": str(tmp_path / "int.key.pem"),
        "common_name": "site-a intermediate CA",
        "validity_days": 1000,
        "issuer_cert": root["path"],
        "issuer_key": root["key_path"],
        "issuer_key_passphrase": PASSPHRASE,
    }
    assert run(capsys, pki_ca, inter)["rc"] == 0
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes((tmp_path / "root-ca.pem").read_bytes() + (tmp_path / "int.pem").read_bytes())
    args = {
        "issuer_cert": str(bundle),
        "issuer_key": inter["key_path"],
        "certificates": [{"path": str(tmp_path / "devices" / "dev1" / "device.pem"), "common_name": "dev1"}],
    }
    result = run(capsys, pki_cert, args)
    assert result["failed"]
    assert "holds 2 certificates" in result["msg"] and "the first one (CN=site-a root CA) is used" in result["msg"]
    assert "certificate #2 (CN=site-a intermediate CA) is the one that matches the key: put it first" in result["msg"]
    assert not (tmp_path / "devices").exists()
    # In the right order the bundle works: the rest of it becomes the chain.
    bundle.write_bytes((tmp_path / "int.pem").read_bytes() + (tmp_path / "root-ca.pem").read_bytes())
    args["full_chain_include_root"] = True
    results = four(capsys, pki_cert, args)
    assert [r["changed"] for r in results] == [True, True, False, False]
    chain = (tmp_path / "devices" / "dev1" / "device-full-chain.pem").read_text()
    assert chain.count("BEGIN CERTIFICATE") == 3


def test_pki_ca_refuses_a_bundle_to_import(tmp_path, capsys, root):
    bundle = tmp_path / "bundle.pem"
    bundle.write_bytes((tmp_path / "root-ca.pem").read_bytes() * 2)
    result = run(capsys, pki_ca, {"path": str(tmp_path / "site" / "root.pem"), "import_cert": str(bundle)})
    assert result["failed"] and "holds 2 certificates (#1 CN=site-a root CA; #2 CN=site-a root CA)" in result["msg"]
    assert "import each CA with its own pki_ca task" in result["msg"]
    assert not (tmp_path / "site").exists()


def test_backdate_minutes_sets_not_before(tmp_path, capsys, root):
    import datetime

    args = device_args(root, tmp_path)
    args["backdate_minutes"] = 600
    result = run(capsys, pki_cert, args)
    cert = result["certificates"][0]
    start = datetime.datetime.fromisoformat(cert["not_before"].replace("Z", "+00:00"))
    now = datetime.datetime.fromisoformat(result["now"].replace("Z", "+00:00"))
    assert now - start == datetime.timedelta(minutes=600)
    args["backdate_minutes"] = 0
    assert run(capsys, pki_cert, args)["changed"] is False  # a new backdate does not reissue


def test_pki_report_names_what_it_cannot_read_and_reports_the_rest(tmp_path, capsys, root):
    args = device_args(root, tmp_path)
    args["certificates"].append({"path": str(tmp_path / "devices" / "dev2" / "device.pem"), "common_name": "dev2"})
    assert run(capsys, pki_cert, args)["rc"] == 0
    dev1 = tmp_path / "devices" / "dev1"
    csr = subprocess.run(
        ["openssl", "req", "-new", "-key", str(dev1 / "device.key.pem"), "-subj", "/CN=dev1"],
        capture_output=True,
        check=True,
    ).stdout
    (dev1 / "request.pem").write_bytes(csr)
    (dev1 / "saved-key.pem").write_bytes((dev1 / "device.key.pem").read_bytes())
    (dev1 / "empty.pem").write_bytes(b"")
    os.symlink(tmp_path / "nowhere.pem", dev1 / "dangling.pem")
    (dev1 / "cut.pem").write_bytes((dev1 / "device.pem").read_bytes()[:200])
    (tmp_path / "devices" / "dev2" / "device.key.pem").write_bytes(b"garbage")
    before = digest_of(tmp_path)
    result = run(capsys, pki_report, {"path": str(tmp_path)})
    assert result["rc"] == 0 and not result.get("failed"), result
    reasons = {u["relative_path"]: u["reason"] for u in result["unreadable"]}
    assert reasons == {
        "devices/dev1/cut.pem": reasons["devices/dev1/cut.pem"],
        "devices/dev1/dangling.pem": f"a link to '{tmp_path / 'nowhere.pem'}', which does not exist",
        "devices/dev1/empty.pem": "the file is empty",
        "devices/dev1/request.pem": "a certificate signing request, not a certificate",
        "devices/dev1/saved-key.pem": "a private key, not a certificate (keys are expected as <name>.key.pem)",
        "devices/dev2/device.key.pem": "not a well-formed PEM private key; the next run of the PKI refuses it",
    }
    assert reasons["devices/dev1/cut.pem"].startswith("is cut short")
    read = sorted(c["relative_path"] for c in result["certificates"])
    assert read == ["devices/dev1/device.pem", "devices/dev2/device.pem", "root-ca.pem"]
    dev2 = next(c for c in result["certificates"] if c["relative_path"] == "devices/dev2/device.pem")
    assert dev2["renew"] and "its key cannot be read" in dev2["reasons"]
    assert "PRIVATE KEY" not in result["raw"]
    assert digest_of(tmp_path) == before


# ---------------------------------------------------------------------------------------------------------------
# Kill test: SIGKILL pki_cert at random points while it issues; what is on disk must stay consistent


KILL_CERTS = 300
KILLS = 8


def module_process(module_file, args, workdir):
    """Run a module file the way Ansible's module runner does (arguments in a JSON file), in its own process."""
    args_file = workdir / "args.json"
    args_file.write_text(json.dumps({"ANSIBLE_MODULE_ARGS": args}))
    # .../ansible_collections/edgeops/gateway/plugins/modules/<module>.py: the folder above ansible_collections.
    collections = os.path.abspath(os.path.join(os.path.dirname(module_file), *[os.pardir] * 5))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([collections, os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, module_file, str(args_file)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=workdir,
    )


def assert_consistent(folder):
    """Every certificate has its key next to it, they match, and every key is 0600."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    certs = 0
    for cert_path in folder.rglob("device.pem"):
        key_path = cert_path.with_name("device.key.pem")
        assert key_path.exists(), f"{cert_path} was written without its key"
        cert = x509.load_pem_x509_certificate(cert_path.read_bytes())
        key = serialization.load_pem_private_key(key_path.read_bytes(), None)
        spki = serialization.PublicFormat.SubjectPublicKeyInfo
        assert cert.public_key().public_bytes(serialization.Encoding.DER, spki) == key.public_key().public_bytes(
            serialization.Encoding.DER, spki
        ), f"{cert_path} does not match its key"
        certs += 1
    for key_path in folder.rglob("*.key.pem"):
        assert os.stat(key_path).st_mode & 0o777 == 0o600, f"{key_path} is not 0600"
    return certs


def temps_under(folder):
    return list(folder.rglob(".edgeops-*"))


def test_kill_9_while_issuing_never_leaves_a_certificate_without_its_key(tmp_path, capsys, root):
    import random
    import signal
    import time

    module_file = pki_cert.__file__
    rng = random.Random(int(os.environ.get("EDGEOPS_KILL_SEED", "11")))

    def args_for(folder):
        return {
            "issuer_cert": root["path"],
            "issuer_key": root["key_path"],
            "issuer_key_passphrase": PASSPHRASE,
            "certificates": [
                {"path": str(folder / f"dev{i}" / "device.pem"), "common_name": f"dev{i}"} for i in range(KILL_CERTS)
            ],
        }

    # One uninterrupted run measures how long a run takes on this machine: the kills land inside it.
    timing = tmp_path / "timing"
    timing.mkdir()
    start = time.monotonic()
    proc = module_process(module_file, args_for(timing), timing)
    out, err = proc.communicate(timeout=60)
    duration = time.monotonic() - start
    assert proc.returncode == 0, err.decode()
    assert assert_consistent(timing) == KILL_CERTS

    killed_midway = 0
    folders = []
    for run_index in range(KILLS):
        folder = tmp_path / f"run{run_index}"
        folder.mkdir()
        folders.append(folder)
        proc = module_process(module_file, args_for(folder), folder)
        time.sleep(rng.uniform(0.05, 1.0) * duration)
        proc.send_signal(signal.SIGKILL)
        proc.communicate(timeout=60)
        if proc.returncode == -signal.SIGKILL:
            killed_midway += 1
        assert_consistent(folder)
    assert killed_midway >= KILLS // 2, "most kills came after the run had ended; the test proves little"

    for folder in folders:
        proc = module_process(module_file, args_for(folder), folder)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err.decode()
        assert json.loads(out)["changed"] in (True, False)
        assert assert_consistent(folder) == KILL_CERTS
        assert temps_under(folder) == [], f"temp files survived the next run: {temps_under(folder)}"
