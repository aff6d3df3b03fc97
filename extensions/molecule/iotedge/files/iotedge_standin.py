# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A TEST STAND-IN for Azure IoT Edge's `iotedge` command, for the molecule scenario `iotedge` only.

WHAT IT IS: a Python script (standard library + the `openssl` and `mosquitto` programs) that answers the
commands the edgeops.gateway.gateway role runs on an IoT Edge gateway, following the behaviour read from the
upstream sources (Azure/iotedge edgelet/iotedge/src/config/apply.rs and super_config.rs, Azure/iot-identity-service
aziotctl-common): `iotedge config apply -c FILE` parses config.toml with its untagged enums, file:// URLs and
required keys, refuses a hostname change while modules exist with upstream's message, and "restarts" the daemons,
whose state it records; `systemctl is-active aziot-*` reports that state; `iotedge list` lists edgeAgent, and
edgeHub once deployed; `docker ps -aq` / `docker rm -f` list and remove those module "containers" (entries of
the stand-in's state, nothing runs in a container). `iotedge-standin deploy` stands for IoT Hub setting a deployment manifest: it issues
edgeHub's server certificate from the configured Edge CA with openssl (CN = hostname, SANs DNS hostname and
edgeHub, EKU serverAuth; chain = server certificate + the Edge CA full chain) and serves it on 8883 with
Mosquitto (TLS 1.2 and 1.3). Before that nothing listens on 8883. When the deployed manifest has the
IoTEdgeAPIProxy module with host port 443 bound (a gateway with child gateways), a second Mosquitto serves the
same certificate chain on 443, as the API proxy presents edgeHub's certificate chain to the layer below; a
deployment without it serves nothing on 443. `parent_hostname` (a child layer) is parsed and recorded.

WHAT IT IS NOT: it does not run aziot-keyd, aziot-certd, aziot-identityd or aziot-edged (no daemon process
exists; their state is a file), it talks to no IoT Hub or DPS (nothing is provisioned; connection strings and
keys are only parsed), it runs no containers (no edgeAgent or edgeHub, no Docker: its `docker` answers two commands from a list in
its state file; no routes, no AMQP on 5671),
and Mosquitto is not edgeHub (no device authentication or device scope). The listener on 443 is not the API proxy:
no nginx, no registry or blob routes, no image pull through a parent (a child's `$upstream:443` images are
recorded, never pulled), and a child's edgeHub does not connect to its parent. It is not shipped in the collection.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import tomllib
import urllib.parse

STATE_DIR = "/var/lib/iotedge-standin"
STATE_FILE = f"{STATE_DIR}/state.json"
EDGEHUB_DIR = f"{STATE_DIR}/edgehub"
MOSQUITTO_CONF = f"{STATE_DIR}/mosquitto.conf"
API_PROXY_CONF = f"{STATE_DIR}/api-proxy.conf"
RUN_DIR = "/run/iotedge-standin"
MOSQUITTO_PID = f"{RUN_DIR}/mosquitto.pid"
API_PROXY_PID = f"{RUN_DIR}/api-proxy.pid"
API_PROXY = "IoTEdgeAPIProxy"
# The listener each served module has: (port, Mosquitto configuration, pid file).
LISTENERS = {"edgeHub": (8883, MOSQUITTO_CONF, MOSQUITTO_PID), API_PROXY: (443, API_PROXY_CONF, API_PROXY_PID)}
IDENTITYD_SUPER = "/etc/aziot/identityd/config.d/00-super.toml"
DAEMONS = ["aziot-keyd", "aziot-certd", "aziot-identityd", "aziot-tpmd", "aziot-edged"]
SERVICE_USERS = ["aziotks", "aziotcs", "aziotid", "aziottpm", "iotedge"]
# Upstream's message, word for word; upstream fills in the previous hostname first and the new one second.
HOSTNAME_CHANGE = (
    "Cannot apply config because the hostname in the config {old} is different from the previous hostname "
    "{new}. To update the hostname, run the following command which deletes all IoT Edge modules and reapplies "
    "the configuration. Or, revert the hostname change in the config.toml file.\n"
    '    sudo iotedge system stop && sudo docker rm -f $(sudo docker ps -aq -f "label=net.azure-devices.edge.owner='
    'Microsoft.Azure.Devices.Edge.Agent") && sudo iotedge config apply\n'
    "Warning: Data stored in the modules is lost when above command is executed."
)


class ParseError(Exception):
    """config.toml does not deserialize the way upstream's serde structs would."""


def help_text():
    return __doc__


# ---- parsing ---------------------------------------------------------------------------------------------------


def untagged(name, key):
    return ParseError(f"data did not match any variant of untagged enum {name} for key `{key}`")


def url(value, key):
    """A URL as the url crate parses it: a plain path is 'relative URL without a base'."""
    if not isinstance(value, str):
        raise ParseError(f"invalid type: expected a URL string for key `{key}`")
    parsed = urllib.parse.urlsplit(value)
    if not parsed.scheme or not re.fullmatch(r"[A-Za-z][A-Za-z0-9+.-]*", parsed.scheme):
        raise ParseError(f"relative URL without a base for key `{key}`")
    if parsed.scheme in ("http", "https") and not parsed.hostname:
        raise ParseError(f"empty host for key `{key}`")
    return parsed


def file_path(value):
    """The local path of a file:// URL (percent-decoded), or None for another scheme (pkcs11:)."""
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme != "file":
        return None
    return urllib.parse.unquote(parsed.path)


def policy_value(value):
    # cert-renewal's policy units: N% (1..99), Nmin, Nday, positive.
    match = re.fullmatch(r"(\d+)(%|min|day)", value) if isinstance(value, str) else None
    if not match or int(match.group(1)) <= 0 or (match.group(2) == "%" and int(match.group(1)) >= 100):
        return False
    return True


def auto_renew_ok(table):
    return (
        isinstance(table, dict)
        and isinstance(table.get("rotate_key"), bool)
        and policy_value(table.get("threshold"))
        and policy_value(table.get("retry"))
    )


def parse_edge_ca(edge_ca):
    """EdgeCa is untagged: Issued, Preloaded, Quickstart are tried in this order."""
    if not isinstance(edge_ca, dict):
        raise untagged("EdgeCa", "edge_ca")
    if edge_ca.get("method") in ("est", "local_ca", "self_signed"):
        if "auto_renew" not in edge_ca or auto_renew_ok(edge_ca["auto_renew"]):
            return {"variant": "issued", "method": edge_ca["method"]}
    if "cert" in edge_ca and "pk" in edge_ca:
        try:
            url(edge_ca["cert"], "cert")
            url(edge_ca["pk"], "pk")
        except ParseError:
            pass
        else:
            return {"variant": "preloaded", "cert": edge_ca["cert"], "pk": edge_ca["pk"]}
    days = edge_ca.get("auto_generated_edge_ca_expiry_days")
    if isinstance(days, int) and not isinstance(days, bool) and 0 <= days < 2**32:
        if "auto_renew" not in edge_ca or auto_renew_ok(edge_ca["auto_renew"]):
            return {"variant": "quickstart", "days": days}
    raise untagged("EdgeCa", "edge_ca")


def parse_connection_string(value):
    # Keys matched exactly and case-sensitively, no trimming; SharedAccessKey must be base64.
    fields = {}
    for part in value.split(";"):
        key, sep, val = part.partition("=")
        if sep:
            fields[key] = val
    for key in ("HostName", "DeviceId", "SharedAccessKey"):
        if key not in fields:
            return None
    try:
        base64.b64decode(fields["SharedAccessKey"], validate=True)
    except (binascii.Error, ValueError):
        return None
    return fields


def key_value_or_uri(table):
    if not isinstance(table, dict):
        return False
    if "value" in table:
        try:
            base64.b64decode(table["value"], validate=True)
        except (binascii.Error, ValueError, TypeError):
            return False
        return True
    if "uri" in table:
        try:
            url(table["uri"], "uri")
        except ParseError:
            return False
        return True
    return False


def x509_identity_ok(table):
    if "identity_pk" not in table:
        return False
    try:
        url(table["identity_pk"], "identity_pk")
    except ParseError:
        return False
    cert = table.get("identity_cert")
    if isinstance(cert, str):
        try:
            url(cert, "identity_cert")
        except ParseError:
            return False
        return True
    return isinstance(cert, dict) and cert.get("method") in ("est", "local_ca")


def parse_provisioning(prov, config):
    if not isinstance(prov, dict) or "source" not in prov:
        raise ParseError("missing field `source` for key `provisioning`")
    source = prov["source"]
    if source == "manual":
        if isinstance(prov.get("connection_string"), str):
            fields = parse_connection_string(prov["connection_string"])
            if fields is not None:
                return {"source": "manual", "iothub": fields["HostName"], "device_id": fields["DeviceId"]}
        auth = prov.get("authentication")
        if isinstance(prov.get("iothub_hostname"), str) and isinstance(prov.get("device_id"), str):
            if isinstance(auth, dict) and auth.get("method") == "sas" and key_value_or_uri(auth.get("device_id_pk")):
                return {"source": "manual", "iothub": prov["iothub_hostname"], "device_id": prov["device_id"]}
            if isinstance(auth, dict) and auth.get("method") == "x509" and x509_identity_ok(auth):
                return {
                    "source": "manual",
                    "iothub": prov["iothub_hostname"],
                    "device_id": prov["device_id"],
                    "identity_cert": auth["identity_cert"] if isinstance(auth["identity_cert"], str) else None,
                    "identity_pk": auth["identity_pk"],
                }
        raise untagged("ManualProvisioning", "provisioning")
    if source == "dps":
        url(prov.get("global_endpoint", "https://global.azure-devices-provisioning.net"), "global_endpoint")
        if not isinstance(prov.get("id_scope"), str):
            raise ParseError("missing field `id_scope` for key `provisioning`")
        att = prov.get("attestation")
        if not isinstance(att, dict) or "method" not in att:
            raise ParseError("missing field `attestation` for key `provisioning`")
        if att["method"] == "symmetric_key":
            if not isinstance(att.get("registration_id"), str) or not key_value_or_uri(att.get("symmetric_key")):
                raise untagged("SymmetricKey", "provisioning.attestation")
        elif att["method"] == "x509":
            if not x509_identity_ok(att):
                raise untagged("X509Identity", "provisioning.attestation")
        elif att["method"] == "tpm":
            if not isinstance(att.get("registration_id"), str):
                raise ParseError("missing field `registration_id` for key `provisioning.attestation`")
        else:
            raise ParseError(f"unknown variant `{att['method']}` for key `provisioning.attestation.method`")
        if config.get("parent_hostname") or config.get("local_gateway_hostname"):
            raise ParseError("DPS provisioning is not supported in nested mode")
        return {"source": "dps", "id_scope": prov["id_scope"]}
    raise ParseError(f"unknown variant `{source}`, expected `manual` or `dps` for key `provisioning.source`")


def parse_config(text):
    try:
        config = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ParseError(str(exc)) from None
    parsed = {"hostname": config.get("hostname")}
    if parsed["hostname"] is not None and not isinstance(parsed["hostname"], str):
        raise ParseError("invalid type: expected a string for key `hostname`")
    if "parent_hostname" in config:
        if not isinstance(config["parent_hostname"], str):
            raise ParseError("invalid type: expected a string for key `parent_hostname`")
        parsed["parent_hostname"] = config["parent_hostname"]
    if "trust_bundle_cert" in config:
        url(config["trust_bundle_cert"], "trust_bundle_cert")
        parsed["trust_bundle_cert"] = config["trust_bundle_cert"]
    if "provisioning" not in config:
        raise ParseError("missing field `provisioning`")
    parsed["provisioning"] = parse_provisioning(config["provisioning"], config)
    parsed["edge_ca"] = (
        parse_edge_ca(config["edge_ca"]) if "edge_ca" in config else {"variant": "quickstart", "days": 90}
    )
    agent = config.get("agent")
    if agent is not None:
        for key in ("name", "type", "config"):
            if key not in agent:
                raise ParseError(f"missing field `{key}` for key `agent`")
        if "image" not in agent["config"]:
            raise ParseError("missing field `image` for key `agent.config`")
        parsed["agent_image"] = agent["config"]["image"]
    for table, keys in (("moby_runtime", ("uri", "network")), ("connect", ("workload_uri", "management_uri"))):
        if table in config:
            for key in keys:
                if key not in config[table]:
                    raise ParseError(f"missing field `{key}` for key `{table}`")
    if "listen" in config:
        for key in ("workload_uri", "management_uri"):
            if key not in config["listen"]:
                raise ParseError(f"missing field `{key}` for key `listen`")
    if "cloud_timeout_sec" in config and config["cloud_timeout_sec"] < 70:
        raise ParseError("cloud_timeout_sec must be at least 70")
    mode = config.get("auto_reprovisioning_mode")
    if mode is not None and mode not in ("Dynamic", "AlwaysOnStartup", "OnErrorOnly"):
        raise ParseError(f"unknown variant `{mode}` for key `auto_reprovisioning_mode`")
    return parsed


# ---- state -----------------------------------------------------------------------------------------------------


def load_state():
    try:
        with open(STATE_FILE, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        return {"daemons": {}, "modules": [], "deployed": False}


def save_state(state):
    os.makedirs(STATE_DIR, mode=0o755, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=STATE_DIR)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        json.dump(state, handle, indent=2, sort_keys=True)
    os.replace(tmp, STATE_FILE)


def previous_hostname():
    try:
        with open(IDENTITYD_SUPER, "rb") as handle:
            return tomllib.load(handle).get("hostname")
    except (OSError, tomllib.TOMLDecodeError):
        print("Warning: the previous identity config file is unreadable")
        return None


def readable_as(user, path):
    """Whether ``user`` (a service user) can read ``path``: checked in a child that takes the user's ids."""
    entry = pwd.getpwnam(user)
    pid = os.fork()
    if pid == 0:
        try:
            os.setgroups([])
            os.setgid(entry.pw_gid)
            os.setuid(entry.pw_uid)
            with open(path, "rb") as handle:
                handle.read(1)
            os._exit(0)
        except BaseException:
            os._exit(1)
    _pid, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status) == 0


def openssl(*args, data=None):
    return subprocess.run(["/usr/bin/openssl", *args], input=data, capture_output=True, check=False)


def public_key(path, kind):
    if kind == "cert":
        out = openssl("x509", "-in", path, "-noout", "-pubkey")
    else:
        out = openssl("pkey", "-in", path, "-pubout")
    return out.stdout if out.returncode == 0 else None


def start_daemons(parsed, state):
    """What the daemons would find on start: keyd reads keys as aziotks, certd certificates as aziotcs; edged
    needs its Edge CA certificate and key (a failure there leaves aziot-edged failed, as a restart loop would)."""
    daemons = {name: {"state": "active", "reason": ""} for name in DAEMONS}
    problems = []
    trust = parsed.get("trust_bundle_cert")
    if trust and file_path(trust):
        path = file_path(trust)
        if not readable_as("aziotcs", path):
            problems.append(("aziot-certd", f"trust_bundle_cert {path} cannot be read by aziotcs"))
        elif openssl("x509", "-in", path, "-noout").returncode != 0:
            problems.append(("aziot-certd", f"trust_bundle_cert {path} holds no certificate"))
    edge_ca = parsed["edge_ca"]
    if edge_ca["variant"] == "preloaded":
        cert, key = file_path(edge_ca["cert"]), file_path(edge_ca["pk"])
        if cert is None or key is None:
            problems.append(("aziot-edged", "the stand-in reads file:// Edge CA files only (pkcs11: is not simulated)"))
        elif not readable_as("aziotcs", cert):
            problems.append(
                ("aziot-edged", f"could not load the Edge CA certificate {cert}: permission denied for aziotcs")
            )
        elif not readable_as("aziotks", key):
            problems.append(("aziot-edged", f"could not load the Edge CA key {key}: permission denied for aziotks"))
        elif public_key(cert, "cert") is None or public_key(cert, "cert") != public_key(key, "key"):
            problems.append(("aziot-edged", f"the Edge CA key {key} is not the key of {cert}"))
    elif edge_ca["variant"] == "issued":
        problems.append(("aziot-edged", f"the stand-in does not issue an Edge CA by {edge_ca['method']}"))
    for daemon, reason in problems:
        daemons[daemon] = {"state": "failed", "reason": reason}
        if daemon != "aziot-edged":
            daemons["aziot-edged"] = {"state": "failed", "reason": f"{daemon} failed: {reason}"}
    state["daemons"] = daemons
    edged_up = daemons["aziot-edged"]["state"] == "active"
    if edged_up and "edgeAgent" not in state["modules"]:
        state["modules"].append("edgeAgent")
    return edged_up


def quickstart_ca(parsed):
    """aziot-certd's self-signed quickstart Edge CA, made once per hostname in the stand-in's directory."""
    cert, key = f"{STATE_DIR}/quickstart-ca.pem", f"{STATE_DIR}/quickstart-ca.key.pem"
    if not os.path.exists(cert):
        subj = f"/CN=iotedged workload ca {parsed['hostname']}"
        out = openssl(
            "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes", "-keyout", key,
            "-out", cert, "-subj", subj, "-days", str(parsed["edge_ca"]["days"]),
            "-addext", "basicConstraints=critical,CA:TRUE,pathlen:0",
            "-addext", "keyUsage=critical,digitalSignature,keyCertSign",
        )  # fmt: skip
        if out.returncode != 0:
            raise RuntimeError(out.stderr.decode(errors="replace"))
    return cert, key


# ---- edgeHub ---------------------------------------------------------------------------------------------------


def issue_edgehub_certificate(state):
    """edgeHub's server certificate, issued now by the configured Edge CA (as aziot-edged's workload API does)."""
    parsed = state["config"]
    hostname = parsed["hostname"]
    if parsed["edge_ca"]["variant"] == "preloaded":
        ca_chain, ca_key = file_path(parsed["edge_ca"]["cert"]), file_path(parsed["edge_ca"]["pk"])
    else:
        ca_chain, ca_key = quickstart_ca(parsed)
    os.makedirs(EDGEHUB_DIR, mode=0o755, exist_ok=True)
    with tempfile.TemporaryDirectory() as work:
        ca_cert = f"{work}/edge-ca.pem"
        with open(ca_chain, encoding="ascii") as handle:
            chain_text = handle.read()
        first = re.search(r"-----BEGIN CERTIFICATE-----.*?-----END CERTIFICATE-----\n?", chain_text, re.S)
        with open(ca_cert, "w", encoding="ascii") as handle:
            handle.write(first.group(0))
        key, csr, cert, ext = f"{work}/server.key.pem", f"{work}/server.csr", f"{work}/server.pem", f"{work}/ext.cnf"
        with open(ext, "w", encoding="ascii") as handle:
            handle.write(
                "basicConstraints=critical,CA:FALSE\n"
                "keyUsage=critical,digitalSignature,keyEncipherment\n"
                "extendedKeyUsage=serverAuth\n"
                f"subjectAltName=DNS:{hostname},DNS:edgeHub\n"
                "subjectKeyIdentifier=hash\nauthorityKeyIdentifier=keyid\n"
            )
        steps = [
            ("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", key),
            ("req", "-new", "-key", key, "-subj", f"/CN={hostname}", "-out", csr),
            ("x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key, "-CAcreateserial", "-days", "30",
             "-sha256", "-extfile", ext, "-out", cert),
        ]  # fmt: skip
        for step in steps:
            out = openssl(*step)
            if out.returncode != 0:
                raise RuntimeError(f"openssl {step[0]} failed: {out.stderr.decode(errors='replace')}")
        mosquitto = pwd.getpwnam("mosquitto")
        with open(cert, encoding="ascii") as handle:
            full_chain = handle.read() + chain_text
        for name, content, mode in (("server-full-chain.pem", full_chain, 0o644), ("server.key.pem", None, 0o600)):
            dest = f"{EDGEHUB_DIR}/{name}"
            if content is None:
                shutil.copyfile(key, dest)
            else:
                with open(dest, "w", encoding="ascii") as handle:
                    handle.write(content)
            os.chown(dest, mosquitto.pw_uid, mosquitto.pw_gid)
            os.chmod(dest, mode)


def listener_pid(module="edgeHub"):
    """The pid of the Mosquitto that plays ``module``'s TLS listener, or None when it does not run."""
    try:
        with open(LISTENERS[module][2], encoding="ascii") as handle:
            pid = int(handle.read().strip())
        os.kill(pid, 0)
        return pid
    except (OSError, ValueError):
        return None


def stop_listener(module):
    pid = listener_pid(module)
    if pid is None:
        return
    os.kill(pid, signal.SIGTERM)
    for _attempt in range(50):
        if listener_pid(module) is None:
            break
        time.sleep(0.1)


def start_listener(module):
    """(Re)start the Mosquitto that serves edgeHub's certificate chain on ``module``'s port."""
    port, conf, pid_file = LISTENERS[module]
    stop_listener(module)
    mosquitto = pwd.getpwnam("mosquitto")
    with open(conf, "w", encoding="ascii") as handle:
        handle.write(
            f"# written by the iotedge stand-in (test suite): Mosquitto plays {module}'s TLS listener\n"
            f"pid_file {pid_file}\n"
            "user mosquitto\n"
            "per_listener_settings true\n"
            f"listener {port} 0.0.0.0\n"
            "allow_anonymous true\n"
            f"certfile {EDGEHUB_DIR}/server-full-chain.pem\n"
            f"keyfile {EDGEHUB_DIR}/server.key.pem\n"
            "tls_version tlsv1.2\n"
        )
    # mosquitto writes its pid file after dropping to the mosquitto user
    os.makedirs(RUN_DIR, mode=0o755, exist_ok=True)
    os.chown(RUN_DIR, mosquitto.pw_uid, mosquitto.pw_gid)
    out = subprocess.run(["/usr/sbin/mosquitto", "-c", conf, "-d"], capture_output=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"mosquitto ({module}) did not start: {out.stderr.decode(errors='replace')}")
    for _attempt in range(50):
        if listener_pid(module) is not None:
            break
        time.sleep(0.1)


def start_edgehub(state):
    """(Re)start "edgeHub": a fresh server certificate, then Mosquitto on 8883 with it; and, when the
    deployment has the API proxy, the same certificate chain on 443."""
    issue_edgehub_certificate(state)
    served = ["edgeHub"] + ([API_PROXY] if state.get("api_proxy") else [])
    for module in served:
        start_listener(module)
        if module not in state["modules"]:
            state["modules"].append(module)
    if not state.get("api_proxy"):
        stop_listener(API_PROXY)
        if API_PROXY in state["modules"]:
            state["modules"].remove(API_PROXY)


def api_proxy_image(content):
    """The API proxy's image when the manifest runs it with host port 443 bound, else None."""
    proxy = content["$edgeAgent"]["properties.desired"].get("modules", {}).get(API_PROXY)
    if not proxy:
        return None
    options = json.loads(proxy["settings"].get("createOptions") or "{}")
    if "443/tcp" not in options.get("HostConfig", {}).get("PortBindings", {}):
        return None
    return proxy["settings"]["image"]


# ---- commands --------------------------------------------------------------------------------------------------


def config_apply(path):
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read()
    except OSError as exc:
        return fail(f"could not read config file {path}: {exc.strerror}")
    for user in SERVICE_USERS:
        try:
            pwd.getpwnam(user)
        except KeyError:
            return fail(f"could not query {user} user information")
    try:
        parsed = parse_config(text)
    except ParseError as exc:
        return fail(f"could not parse config file: {exc}")
    if parsed["hostname"] is None:
        parsed["hostname"] = os.uname().nodename
    state = load_state()
    old = previous_hostname()
    if old is not None and old != parsed["hostname"] and state["modules"]:
        return fail(HOSTNAME_CHANGE.format(new=parsed["hostname"], old=old))
    os.makedirs(os.path.dirname(IDENTITYD_SUPER), mode=0o755, exist_ok=True)
    with open(IDENTITYD_SUPER, "w", encoding="utf-8") as handle:
        handle.write(
            "# This file is auto-generated by `iotedge config apply` (here: the test stand-in)\n"
            f"hostname = {json.dumps(parsed['hostname'])}\n"
        )
    print("Azure IoT Edge has been configured successfully!")
    print()
    print("Restarting service for configuration to take effect...")
    state["config"] = parsed
    state["config_file"] = os.path.abspath(path)
    edged_up = start_daemons(parsed, state)
    if edged_up and state["deployed"]:
        start_edgehub(state)
    save_state(state)
    print("Done.")
    return 0


def fail(message):
    print(message, file=sys.stderr)
    return 1


def system(args):
    state = load_state()
    if args[:1] == ["status"]:
        print("System services:")
        for name in DAEMONS:
            entry = state["daemons"].get(name, {"state": "inactive"})
            print(f"    {name:<24}{'Running' if entry['state'] == 'active' else entry['state'].capitalize()}")
        return 0
    if args[:1] == ["stop"]:
        for name in DAEMONS:
            state["daemons"][name] = {"state": "inactive", "reason": "stopped with iotedge system stop"}
        save_state(state)
        return 0
    if args[:1] == ["logs"]:
        for name, entry in state["daemons"].items():
            if entry.get("reason"):
                print(f"{name}: {entry['reason']}")
        return 0
    return fail(f"iotedge stand-in: `iotedge system {' '.join(args)}` is not simulated")


def list_modules():
    state = load_state()
    if state["daemons"].get("aziot-edged", {}).get("state") != "active":
        return fail("A module runtime error occurred: could not connect to aziot-edged (it is not running)")
    images = {
        "edgeAgent": state.get("config", {}).get("agent_image") or "mcr.microsoft.com/azureiotedge-agent:1.5",
        "edgeHub": "mcr.microsoft.com/azureiotedge-hub:1.5",
        API_PROXY: state.get("api_proxy") or "",
    }
    print(f"{'NAME':<17}{'STATUS':<17}{'DESCRIPTION':<17}CONFIG")
    for name in state["modules"]:
        running = name not in LISTENERS or listener_pid(name) is not None
        print(f"{name:<17}{'running' if running else 'failed':<17}{'Up' if running else 'Down':<17}{images[name]}")
    return 0


def standin(args):
    state = load_state()
    if args[:1] == ["deploy"]:
        if state["daemons"].get("aziot-edged", {}).get("state") != "active":
            return fail("iotedge-standin deploy: aziot-edged is not running; run iotedge config apply first")
        manifest = args[1] if len(args) > 1 else None
        if manifest:
            with open(manifest, encoding="utf-8") as handle:
                content = json.load(handle)["modulesContent"]
            hub = content["$edgeAgent"]["properties.desired"]["systemModules"]["edgeHub"]
            bindings = json.loads(hub["settings"]["createOptions"])["HostConfig"]["PortBindings"]
            if "8883/tcp" not in bindings:
                return fail("iotedge-standin deploy: the manifest does not bind 8883/tcp for edgeHub")
            state["api_proxy"] = api_proxy_image(content)
        else:
            state["api_proxy"] = None
        state["deployed"] = True
        start_edgehub(state)
        save_state(state)
        print(
            "deployed: edgeHub's server certificate issued by the Edge CA; Mosquitto serves it on 8883"
            + (" and, for the API proxy, on 443" if state["api_proxy"] else "")
        )
        return 0
    if args[:1] == ["state"]:
        print(json.dumps(state, indent=2, sort_keys=True))
        return 0
    print(help_text())
    print("usage: iotedge-standin deploy [MANIFEST.json]   stands for IoT Hub setting the deployment manifest")
    print("       iotedge-standin state                     the recorded state of the simulated daemons")
    return 0 if args[:1] in (["help"], ["--help"], []) else 2


# edgeAgent labels the containers it makes; the documented hostname-change procedure filters on it.
MODULE_LABEL = "label=net.azure-devices.edge.owner=Microsoft.Azure.Devices.Edge.Agent"


def container_id(name):
    """A stable 12-hex-digit "container id" for a module name."""
    return hashlib.sha256(name.encode()).hexdigest()[:12]


def docker(args):
    """Only what the hostname-change procedure runs: `docker ps` of the modules and `docker rm -f` of them.

    The module "containers" are the stand-in's state (edgeAgent, and edgeHub and IoTEdgeAPIProxy once deployed);
    removing edgeHub or IoTEdgeAPIProxy stops the Mosquitto that plays its listener. edgeAgent makes them again on the next `iotedge config apply`, and edgeHub
    comes back from the deployment, as it would once edgeAgent reads the deployment again."""
    state = load_state()
    if args[:1] == ["ps"]:
        flags = args[1:]
        quiet = any(f in ("-q", "--quiet", "-aq", "-qa") for f in flags)
        filters = [flags[i + 1] for i, f in enumerate(flags[:-1]) if f in ("-f", "--filter")]
        if any(f != MODULE_LABEL for f in filters):
            return fail(f"docker stand-in (iotedge test suite): only the filter {MODULE_LABEL} is simulated")
        for name in state["modules"]:
            print(container_id(name) if quiet else f"{container_id(name)}   {name}")
        return 0
    if args[:1] == ["rm"]:
        ids = [a for a in args[1:] if not a.startswith("-")]
        by_id = {container_id(name): name for name in state["modules"]}
        unknown = [i for i in ids if i not in by_id and i not in state["modules"]]
        if unknown:
            return fail(f"Error response from daemon: No such container: {unknown[0]}")
        for ident in ids:
            name = by_id.get(ident, ident)
            if name in LISTENERS:
                stop_listener(name)
            state["modules"].remove(name)
            print(ident)
        save_state(state)
        return 0
    return fail(f"docker stand-in (iotedge test suite): `docker {' '.join(args)}` is not simulated")


def systemctl(args):
    """Only `systemctl is-active UNIT...` for the simulated aziot daemons (the lab has no systemd)."""
    if not args or args[0] != "is-active":
        return fail("systemctl stand-in (iotedge test suite): only `is-active` of the aziot daemons is simulated")
    state = load_state()
    rc = 0
    for unit in args[1:]:
        name = unit.removesuffix(".service")
        current = state["daemons"].get(name, {}).get("state", "inactive")
        print(current)
        if current != "active":
            rc = 3
    return rc


def main(argv):
    # The installed wrappers (/usr/local/bin/iotedge, iotedge-standin, systemctl) pass their own name first.
    if len(argv) < 2:
        print(help_text())
        return 2
    command, args = argv[1], argv[2:]
    if command == "systemctl":
        return systemctl(args)
    if command == "iotedge-standin":
        return standin(args)
    if command == "docker":
        return docker(args)
    if not args or args[0] in ("-h", "--help", "help"):
        print(help_text())
        print("usage: iotedge config apply [-c FILE] | iotedge system status|stop|logs | iotedge list")
        return 0
    if args[:2] == ["config", "apply"]:
        rest = args[2:]
        path = "/etc/aziot/config.toml"
        if rest[:1] in (["-c"], ["--config-file"]) and len(rest) == 2:
            path = rest[1]
        elif rest:
            return fail(f"iotedge stand-in: unexpected arguments {rest}")
        return config_apply(path)
    if args[0] == "system":
        return system(args[1:])
    if args[0] == "list":
        return list_modules()
    return fail(f"iotedge stand-in: `iotedge {' '.join(args)}` is not simulated (see iotedge --help)")


if __name__ == "__main__":
    sys.exit(main(sys.argv))
