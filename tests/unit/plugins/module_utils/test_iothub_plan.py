# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The IoT Hub plan: its JSON, the Azure CLI script (parsed, quoted, run twice against a fake az that keeps
state) and the IoT Hub connection string check."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
import textwrap

import pytest

from ansible_collections.edgeops.gateway.plugins.module_utils._hierarchy import build
from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_names import (
    IotHubNameError,
    device_id_problem,
    parse_hub_connection_string,
)
from ansible_collections.edgeops.gateway.plugins.module_utils._iothub_plan import (
    PlanError,
    build_plan,
    render_script,
)

TP = {name: (name.encode().hex().upper() * 64)[:64] for name in ("top-id", "top-next", "dtop", "root", "inter")}
CERTS = [
    {"relative_path": "gateways/top/identity.pem", "thumbprint_sha256": TP["top-id"]},
    {"relative_path": "next/gateways/top/identity.pem", "thumbprint_sha256": TP["top-next"]},
    {"relative_path": "devices/d-top/device.pem", "thumbprint_sha256": TP["dtop"]},
    {"relative_path": "root-ca.pem", "thumbprint_sha256": TP["root"]},
    {"relative_path": "gateways/top/server.pem", "thumbprint_sha256": TP["inter"]},
]


def gw(name, parent=None, **kw):
    return dict({"name": name, "parent": parent, "site": "site-a"}, **kw)


def dev(name, gateway, **kw):
    return dict({"name": name, "gateway": gateway, "site": "site-a"}, **kw)


def site_hierarchy(top_id="top", mid_id="mid", dev_ids=None):
    ids = dev_ids or {}
    return build(
        [
            gw("top", provisioning="manual_x509", device_id=top_id, hostname="top.plant.example"),
            gw("mid", "top", device_id=mid_id),
            gw("mq", runtime="mosquitto"),
        ],
        [
            dev("d-top", "top", device_id=ids.get("d-top")),
            dev("d-mid", "mid", device_id=ids.get("d-mid")),
            dev("d-ca", "mid", auth="x509_ca", device_id=ids.get("d-ca")),
            dev("d-mq", "mq"),
        ],
    )


DEPLOYMENTS = {"top": "/srv/reports/site-a/gateways/top/deployment.json"}


def test_the_plan_lists_devices_auth_links_and_deployments():
    plan = build_plan("site-a", site_hierarchy(), CERTS, hub_name="contoso-hub", deployments=DEPLOYMENTS)
    assert plan["hub"] == {"name": "contoso-hub", "hostname": None}
    assert plan["edge_devices"] == [
        {
            "host": "top",
            "device_id": "top",
            "edge_enabled": True,
            "hostname": "top.plant.example",
            "layer": 0,
            "parent": None,
            "auth": {
                "type": "x509_thumbprint",
                "primary_thumbprint": TP["top-id"],
                "certificate": "gateways/top/identity.pem",
                "secondary_thumbprint": TP["top-next"],
                "secondary_certificate": "next/gateways/top/identity.pem",
            },
            "deployment": DEPLOYMENTS["top"],
        },
        {
            "host": "mid",
            "device_id": "mid",
            "edge_enabled": True,
            "hostname": "mid",
            "layer": 1,
            "parent": "top",
            "auth": {"type": "sas"},
            "deployment": None,
        },
    ]
    assert plan["devices"] == [
        {
            "host": "d-ca",
            "device_id": "d-ca",
            "edge_enabled": False,
            "parent": "mid",
            "layer": 2,
            "auth": {"type": "x509_ca"},
        },
        {
            "host": "d-mid",
            "device_id": "d-mid",
            "edge_enabled": False,
            "parent": "mid",
            "layer": 2,
            "auth": {"type": "sas"},
        },
        {
            "host": "d-top",
            "device_id": "d-top",
            "edge_enabled": False,
            "parent": "top",
            "layer": 1,
            "auth": {
                "type": "x509_thumbprint",
                "primary_thumbprint": TP["dtop"],
                "certificate": "devices/d-top/device.pem",
            },
        },
    ]
    assert plan["links"] == [
        {"child": "mid", "parent": "top", "kind": "gateway"},
        {"child": "d-ca", "parent": "mid", "kind": "device"},
        {"child": "d-mid", "parent": "mid", "kind": "device"},
        {"child": "d-top", "parent": "top", "kind": "device"},
    ]
    assert plan["ca_certificates"] == [{"certificate": "root-ca.pem", "thumbprint_sha256": TP["root"]}]
    assert [e["host"] for e in plan["not_registered"]] == ["mq", "d-mq"]
    assert "runtime mosquitto is not IoT Edge" in plan["not_registered"][0]["reason"]
    assert plan["steps"] == [
        ["ensure_device", "top", "--edge-enabled", "--auth-method", "x509_thumbprint", "--primary-thumbprint",
         TP["top-id"], "--secondary-thumbprint", TP["top-next"]],
        ["ensure_device", "mid", "--edge-enabled", "--auth-method", "shared_private_key"],
        ["ensure_device", "d-ca", "--auth-method", "x509_ca"],
        ["ensure_device", "d-mid", "--auth-method", "shared_private_key"],
        ["ensure_device", "d-top", "--auth-method", "x509_thumbprint", "--primary-thumbprint", TP["dtop"]],
        ["ensure_parent", "mid", "top"],
        ["ensure_parent", "d-ca", "mid"],
        ["ensure_parent", "d-mid", "mid"],
        ["ensure_parent", "d-top", "top"],
        ["set_modules", "top", DEPLOYMENTS["top"]],
    ]  # fmt: skip


def test_a_dps_gateway_is_required_not_created():
    tree = build([gw("top", provisioning="dps_x509")], [dev("d1", "top")])
    plan = build_plan("site-a", tree, [])
    assert plan["edge_devices"][0]["auth"]["type"] == "dps"
    assert plan["steps"][0][0:2] == ["require_device", "top"]


def test_a_missing_identity_certificate_is_refused():
    with pytest.raises(
        PlanError,
        match=r"gateway top authenticates with x509_thumbprint but the site PKI has no gateways/top/identity.pem",
    ):
        build_plan("site-a", site_hierarchy(), [])


def test_an_unknown_auth_and_an_unknown_site_are_refused():
    tree = build([gw("top")], [dev("d1", "top", auth="password")])
    with pytest.raises(
        PlanError, match="device d1: edgeops_iothub_auth 'password' is not one of sas, x509_thumbprint, x509_ca"
    ):
        build_plan("site-a", tree, [])
    with pytest.raises(PlanError, match="the hierarchy has no host of site 'site-z'"):
        build_plan("site-z", tree, [])
    with pytest.raises(PlanError, match="is not an IoT Hub name"):
        build_plan("site-a", tree, [], hub_name="contoso-hub.azure-devices.net")


# ids IoT Hub accepts that a shell would not leave alone: quotes, $, command substitution, globs,
# comments, history expansion, a leading dash (read as a flag unless passed as --flag=value)
HOSTILE = {
    "top": "top'$(edgeops-canary)",
    "mid": "--force",
    "d-top": "d;$HOME*?!#",
    "d-mid": "$(edgeops-canary)'",
    "d-ca": "a,b=c@d:e+f%g(h)",
}


@pytest.mark.parametrize(
    "bad",
    ["with space", "new\nline", 'dou"ble', "back\\slash", "sla/sh", "ümlaut", "x" * 129, "tab\there", "{brace}"],
)
def test_ids_iot_hub_refuses_are_refused(bad):
    problem = device_id_problem(bad, "the device id of d1")
    assert problem and "the device id of d1" in problem
    tree = build([gw("top", runtime="mosquitto")], [dev("d1", "top", device_id=bad)])  # not registered: no check
    assert build_plan("site-a", tree, [])["devices"] == []


def test_every_special_character_iot_hub_accepts_passes():
    assert device_id_problem("aZ9-:.+%_#*?!(),=@;$'") is None


def hostile_plan(tmp_path):
    ids = HOSTILE
    certs = [
        {"relative_path": "gateways/top/identity.pem", "thumbprint_sha256": TP["top-id"]},
        {"relative_path": "devices/d-top/device.pem", "thumbprint_sha256": TP["dtop"]},
    ]
    deployment = tmp_path / "dep loy'$x" / "deployment.json"
    deployment.parent.mkdir()
    deployment.write_text(json.dumps({"modulesContent": {"$edgeAgent": {}, "$edgeHub": {}}}))
    tree = site_hierarchy(top_id=ids["top"], mid_id=ids["mid"], dev_ids=ids)
    return build_plan("site-a", tree, certs, hub_name="contoso-hub", deployments={"top": str(deployment)})


def test_the_script_parses_and_quotes_every_id(tmp_path):
    plan = hostile_plan(tmp_path)
    script = render_script(plan)
    path = tmp_path / "plan.sh"
    path.write_text(script)
    subprocess.run(["bash", "-n", str(path)], check=True)
    body = script.rsplit("\n\n", maxsplit=1)[-1].splitlines()
    commands = [shlex.split(line) for line in body if line and not line.startswith("#")]
    assert commands[:-1] == plan["steps"]
    assert commands[-1] == ["echo", "done: IoT Hub plan of site site-a"]
    for step in plan["steps"]:
        for arg in step:
            assert shlex.quote(arg) in script
    # nothing in the functions passes an id other than as --flag="$var"
    for line in script.splitlines():
        if line.strip().startswith("az "):
            assert ' "$1"' not in line and ' "$2"' not in line and ' "$id"' not in line


FAKE_AZ = r'''#!{python}
"""A stand-in for the Azure CLI's azure-iot commands the plan script uses; keeps IoT Hub state in a file."""
import json, os, sys

STATE = os.environ["FAKE_AZ_STATE"]
FLAGS = {{
    ("iot", "hub", "device-identity", "show"): {{"--device-id"}},
    ("iot", "hub", "device-identity", "create"): {{"--device-id", "--edge-enabled", "--auth-method",
        "--primary-thumbprint", "--secondary-thumbprint"}},
    ("iot", "hub", "device-identity", "parent", "show"): {{"--device-id"}},
    ("iot", "hub", "device-identity", "parent", "set"): {{"--device-id", "--parent-device-id", "--force"}},
    ("iot", "edge", "set-modules"): {{"--device-id", "--content"}},
}}
GLOBAL = {{"--hub-name", "--login", "--output", "--query"}}
SWITCHES = {{"--edge-enabled", "--force"}}
argv = sys.argv[1:]
with open(os.environ["FAKE_AZ_LOG"], "a") as log:
    log.write(json.dumps(argv) + "\n")
command = next(c for c in sorted(FLAGS, key=len, reverse=True) if tuple(argv[:len(c)]) == c)
args, rest = {{}}, argv[len(command):]
while rest:
    flag = rest.pop(0)
    name, eq, value = flag.partition("=")
    if name not in FLAGS[command] | GLOBAL:
        sys.exit(f"az: unrecognized arguments: {{flag}}")
    if not eq and name not in SWITCHES:
        value = rest.pop(0)
    args[name] = value if (eq or name not in SWITCHES) else True
if not ("--hub-name" in args or "--login" in args):
    sys.exit("az: the hub is needed (--hub-name or --login)")
state = json.load(open(STATE)) if os.path.exists(STATE) else {{"devices": {{}}, "modules": {{}}}}
devices = state["devices"]
dev = args["--device-id"]
def fail(msg):
    sys.stderr.write(msg + "\n")
    sys.exit(1)
if command[-1] == "show" and command[-2] == "device-identity":
    if dev not in devices:
        fail("DeviceNotFound")
elif command[-1] == "create":
    if dev in devices:
        fail("DeviceAlreadyExists")
    devices[dev] = {{"edge": "--edge-enabled" in args, "auth": args["--auth-method"],
                    "primary": args.get("--primary-thumbprint"), "secondary": args.get("--secondary-thumbprint"), "parent": None}}
elif command[-2:] == ("parent", "show"):
    if dev not in devices or not devices[dev]["parent"]:
        fail(f"Device {{dev}} doesn't have any parent device.")
    print(devices[dev]["parent"])
elif command[-2:] == ("parent", "set"):
    parent = args["--parent-device-id"]
    if parent not in devices or not devices[parent]["edge"]:
        fail(f"The device {{parent}} should be an edge device.")
    if dev not in devices:
        fail("DeviceNotFound")
    if devices[dev]["parent"] and not args.get("--force"):
        fail(f"The entered device {{dev}} already has a parent device, please use '--force' to overwrite")
    devices[dev]["parent"] = parent
elif command[-1] == "set-modules":
    if dev not in devices or not devices[dev]["edge"]:
        fail("not an edge device")
    with open(args["--content"]) as handle:
        state["modules"][dev] = json.load(handle)
json.dump(state, open(STATE, "w"), sort_keys=True)
'''


@pytest.fixture
def fake_az(tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    az = bin_dir / "az"
    az.write_text(FAKE_AZ.format(python=sys.executable))
    az.chmod(0o755)
    canary = bin_dir / "edgeops-canary"
    canary.write_text(f"#!/bin/sh\ntouch {tmp_path}/CANARY\n")
    canary.chmod(0o755)
    env = dict(
        os.environ,
        PATH=f"{bin_dir}:/usr/bin:/bin",
        FAKE_AZ_STATE=str(tmp_path / "hub.json"),
        FAKE_AZ_LOG=str(tmp_path / "calls.jsonl"),
        HOME=str(tmp_path),
    )
    env.pop("EDGEOPS_IOTHUB_CONNECTION_STRING", None)
    env.pop("EDGEOPS_IOTHUB_NAME", None)

    def run(script_text, **extra):
        path = tmp_path / "iothub-plan.sh"
        path.write_text(script_text)
        path.chmod(0o755)
        log = tmp_path / "calls.jsonl"
        log.unlink(missing_ok=True)
        proc = subprocess.run([str(path)], capture_output=True, text=True, env=dict(env, **extra), check=False)
        calls = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
        state = json.loads((tmp_path / "hub.json").read_text()) if (tmp_path / "hub.json").exists() else None
        return proc, calls, state

    run.tmp_path = tmp_path
    return run


def verbs(calls):
    return [
        " ".join(c[:5]) if c[3] == "parent" else " ".join(c[:4]) if c[1] == "hub" else " ".join(c[:3]) for c in calls
    ]


def test_the_script_run_twice_creates_nothing_the_second_time(tmp_path, fake_az):
    plan = hostile_plan(tmp_path)
    script = render_script(plan)
    first, calls1, state1 = fake_az(script)
    assert first.returncode == 0, first.stderr
    created = [c[c.index("create") + 1] for c in calls1 if "create" in c]
    assert created == ["--device-id=" + HOSTILE["top"], "--device-id=--force", "--device-id=" + HOSTILE["d-ca"],
                       "--device-id=$(edgeops-canary)'", "--device-id=" + HOSTILE["d-top"]]  # fmt: skip
    assert state1["devices"][HOSTILE["top"]] == {
        "edge": True,
        "auth": "x509_thumbprint",
        "primary": TP["top-id"],
        "secondary": None,
        "parent": None,
    }
    assert state1["devices"]["--force"]["parent"] == HOSTILE["top"]
    assert state1["devices"]["$(edgeops-canary)'"]["parent"] == "--force"
    assert state1["devices"][HOSTILE["d-top"]]["auth"] == "x509_thumbprint"
    assert state1["devices"][HOSTILE["d-ca"]]["auth"] == "x509_ca"
    assert state1["modules"] == {HOSTILE["top"]: {"modulesContent": {"$edgeAgent": {}, "$edgeHub": {}}}}
    assert sum(1 for c in calls1 if c[3:5] == ["parent", "set"]) == 4
    assert all("--hub-name=contoso-hub" in c for c in calls1)
    assert not (tmp_path / "CANARY").exists()

    second, calls2, state2 = fake_az(script)
    assert second.returncode == 0, second.stderr
    assert state2 == state1
    assert not [c for c in calls2 if "create" in c or c[3:5] == ["parent", "set"]]
    assert verbs(calls2).count("iot hub device-identity show") == 5
    assert verbs(calls2).count("iot hub device-identity parent show") == 4
    assert verbs(calls2).count("iot edge set-modules") == 1
    assert "parent:  --force -> " + HOSTILE["top"] + " (already set)" in second.stdout
    assert not (tmp_path / "CANARY").exists()


def test_the_script_moves_a_device_to_another_parent_only_when_asked(tmp_path, fake_az):
    tree = build([gw("a"), gw("b")], [dev("d1", "a")])
    fake_az(render_script(build_plan("site-a", tree, [], hub_name="contoso-hub")))
    moved = build([gw("a"), gw("b")], [dev("d1", "b")])
    script = render_script(build_plan("site-a", moved, [], hub_name="contoso-hub"))
    refused, calls, state = fake_az(script)
    assert refused.returncode == 1
    assert "refused: d1 has the parent a, the plan says b; set EDGEOPS_IOTHUB_REPARENT=1 to move it" in refused.stderr
    assert state["devices"]["d1"]["parent"] == "a"
    done, calls, state = fake_az(script, EDGEOPS_IOTHUB_REPARENT="1")
    assert done.returncode == 0, done.stderr
    assert state["devices"]["d1"]["parent"] == "b"
    parent_set = next(c for c in calls if c[3:5] == ["parent", "set"])
    assert parent_set[-3:] == ["--hub-name=contoso-hub", "--output", "none"]
    assert "--force" in parent_set


def test_the_script_takes_the_hub_from_the_environment(tmp_path, fake_az):
    tree = build([gw("top", provisioning="dps_symmetric_key")], [])
    script = render_script(build_plan("site-a", tree, []))
    proc, calls, state = fake_az(script)
    assert proc.returncode == 2
    assert calls == [] and state is None
    assert "set EDGEOPS_IOTHUB_NAME (after az login) or EDGEOPS_IOTHUB_CONNECTION_STRING" in proc.stderr
    conn = "HostName=h1.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=a2V5"
    proc, calls, state = fake_az(script, EDGEOPS_IOTHUB_CONNECTION_STRING=conn)
    assert state is None  # nothing was created
    # a DPS gateway is not created: the script stops until its enrollment has registered it
    assert proc.returncode == 1
    assert "missing: top (provisioned through DPS" in proc.stderr
    assert calls == [
        ["iot", "hub", "device-identity", "show", "--device-id=top", f"--login={conn}", "--output", "none"]
    ]


VALID = (
    "HostName=contoso-hub.azure-devices.net;SharedAccessKeyName=iothubowner;SharedAccessKey=c2VjcmV0LWtleS0xMjM0NQ=="
)


def test_a_hub_connection_string_is_parsed():
    assert parse_hub_connection_string(VALID) == {
        "hostname": "contoso-hub.azure-devices.net",
        "hub_name": "contoso-hub",
        "policy": "iothubowner",
    }


@pytest.mark.parametrize(
    ("value", "hint"),
    [
        ("", "lacks HostName, SharedAccessKeyName, SharedAccessKey"),
        ("HostName=contoso-hub.azure-devices.net;SharedAccessKey=c2VjcmV0", "lacks SharedAccessKeyName"),
        (
            VALID.replace("c2VjcmV0LWtleS0xMjM0NQ==", "not base64!"),
            "SharedAccessKey in the IoT Hub connection string is not base64",
        ),
        (VALID + ";DeviceId=gw1", "is a device connection string"),
        ("contoso-hub.azure-devices.net", "is not a list of Key=Value pairs"),
        (VALID.replace("contoso-hub.azure-devices.net", "contoso hub"), "is not a hub host name"),
        (VALID + ";HostName=x.azure-devices.net", "names HostName twice"),
    ],
)
def test_a_malformed_hub_connection_string_is_refused_with_a_hint(value, hint):
    with pytest.raises(IotHubNameError) as info:
        parse_hub_connection_string(value)
    assert hint in str(info.value)
    assert (
        "HostName=<hub>.azure-devices.net" in str(info.value) or "copy" in str(info.value) or "once" in str(info.value)
    )
    assert "c2VjcmV0" not in str(info.value)


def test_the_plan_script_header_explains_what_is_safe(tmp_path):
    script = render_script(
        build_plan("site-a", site_hierarchy(), CERTS, hub_name="contoso-hub", deployments=DEPLOYMENTS)
    )
    assert script.startswith("#!/usr/bin/env bash\n")
    assert "DEFAULT_HUB=contoso-hub" in script
    assert "# not registered: mq: runtime mosquitto is not IoT Edge" in script
    assert "# no deployment manifest for mid: set-modules left out" in script
    assert "# x509_ca devices: upload root-ca.pem" in script
    assert (
        textwrap.dedent("""\
        ensure_device d-ca --auth-method x509_ca
        ensure_device d-mid --auth-method shared_private_key""")
        in script
    )
