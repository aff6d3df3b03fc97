# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The one host name rule: every user of it refuses and accepts the same names."""

from __future__ import annotations

import pytest

from ansible_collections.edgeops.gateway.plugins.filter.gateway import hostname_problem as hostname_filter
from ansible_collections.edgeops.gateway.plugins.module_utils import _gateway, _iotedge
from ansible_collections.edgeops.gateway.plugins.module_utils import _pki_names as _pki
from ansible_collections.edgeops.gateway.plugins.module_utils._hostname import hostname_problem

CONN = "HostName=hub1.azure-devices.net;DeviceId=dev1;SharedAccessKey=c2VjcmV0"
BAD = {
    "GW1.example": "Use 'gw1.example'",
    "gw_1.example": "not a valid RFC 1035 name",
    "1gw.example": "start with a letter",
    "gw-.example": "end with a letter or digit",
    "gw..example": "RFC 1035",
    "a" * 65: "at most 64",
    "": "is empty",
}
GOOD = ("gw1", "gw1.site-a.example", "edge-line2.site-a.example", "a" * 30 + "." + "b" * 33)


@pytest.mark.parametrize(("name", "hint"), sorted(BAD.items()))
def test_every_user_refuses_the_same_names(name, hint):
    assert hint in hostname_problem(name)
    with pytest.raises(_iotedge.IotEdgeConfigError, match="hostname"):
        _iotedge.validate_hostname(name, "hostname")
    with pytest.raises(_pki.PKIError):
        _pki.validate_hostname(name)
    with pytest.raises(_gateway.GatewayError):
        _gateway.downstream_connection_string(CONN, name)
    assert hint in hostname_filter(name)


@pytest.mark.parametrize("name", GOOD)
def test_every_user_accepts_the_same_names(name):
    assert hostname_problem(name) is None
    _iotedge.validate_hostname(name, "hostname")
    assert _pki.validate_hostname(name) == name
    assert _gateway.downstream_connection_string(CONN, name).endswith(f";GatewayHostName={name}")
    assert hostname_filter(name) is None


@pytest.mark.parametrize("address", ["192.0.2.10", "2001:db8::1"])
def test_ip_address_is_a_config_toml_hostname_but_not_a_certificate_name(address):
    # config.toml's hostname and parent_hostname accept an IP address; the PKI issues DNS names.
    _iotedge.validate_hostname(address, "parent_hostname")
    assert hostname_filter(address) is None
    assert "RFC 1035" in hostname_filter(address, "gateway_hostname", False)
    with pytest.raises(_pki.PKIError, match="RFC 1035"):
        _pki.validate_hostname(address)


def test_the_message_names_the_variable():
    assert hostname_filter("GW1", "gateway_hostname (edgeops_gateway_hostname)").startswith(
        "gateway_hostname (edgeops_gateway_hostname) 'GW1'"
    )


@pytest.mark.parametrize(
    ("hostname", "os_hostname", "refused"),
    [
        ("gw1.site-a.example", "gw1", False),
        ("gw1.site-a.example", "gw1.site-a.example\n", False),
        ("gw1.site-a.example", "GW1", False),
        ("10.0.0.5", "gw1", False),
        ("gw1.site-a.example", "", False),
        ("edge-line2.site-a.example", "gw1", True),
        ("gw10.site-a.example", "gw1", True),
    ],
)
def test_the_filter_and_iotedge_config_apply_the_same_os_hostname_rule(hostname, os_hostname, refused):
    problem = hostname_filter(hostname, os_hostname=os_hostname)
    params = dict(hostname=hostname, os_hostname=os_hostname)
    if refused:
        assert "'iotedge check' fails on it" in problem
        with pytest.raises(_iotedge.IotEdgeConfigError, match="iotedge check"):
            _iotedge.validate_os_hostname(params)
    else:
        assert problem is None
        _iotedge.validate_os_hostname(params)
