# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Clock skew against real TLS servers on 127.0.0.1.

OpenSSL verifies with this machine's clock, which plays the device's clock. A device whose clock is
behind is modelled by a certificate that starts in the future (not_yet_valid here) and a reference
clock that is as far ahead; a device whose clock is ahead by a certificate that has already expired
and a reference clock in the past, when it was valid.
"""

from __future__ import annotations

import datetime
import json
import os
import sys

import pytest
from ansible.module_utils.testing import patch_module_args

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from tls_lab import DAY, NOW, TlsServer, issue, write

from ansible_collections.edgeops.gateway.plugins.module_utils._tls import (
    TlsCheckError,
    check_handshake,
    parse_reference_time,
    which_clock,
)
from ansible_collections.edgeops.gateway.plugins.modules import tls_handshake

UTC = datetime.UTC


@pytest.fixture(scope="module")
def root():
    return issue("Site Root CA", ca=True)


def failing(tmp_path, root, leaf, **kwargs):
    with TlsServer(tmp_path, [leaf], leaf) as server:
        with pytest.raises(TlsCheckError) as err:
            check_handshake(
                "localhost",
                port=server.port,
                ca_file=write(tmp_path / "trust.pem", root),
                retries=0,
                timeout=5,
                **kwargs,
            )
    return err.value


def test_clock_behind_is_clock_skew_not_the_certificate(tmp_path, root):
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW + 2 * DAY, not_after=NOW + 30 * DAY)
    reference = datetime.datetime.now(UTC) + 3 * DAY
    err = failing(tmp_path, root, leaf, reference_time=reference)
    assert err.diagnosis == "clock_skew"
    assert err.result["clock_diagnosis"] == "not_yet_valid"
    assert -3 * 86400 - 5 < err.result["clock_offset"] < -3 * 86400 + 5
    assert "3 d 0 h" in err.hint and "behind" in err.hint and "NTP" in err.hint


def test_clock_ahead_explains_expired(tmp_path, root):
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    reference = datetime.datetime.now(UTC) - 10 * DAY
    err = failing(tmp_path, root, leaf, reference_time=reference)
    assert err.diagnosis == "clock_skew"
    assert err.result["clock_diagnosis"] == "expired"
    assert "ahead of" in err.hint and err.result["clock_offset"] > 9 * 86400


def test_a_really_expired_certificate_stays_expired(tmp_path, root):
    """The clocks agree: the certificate is to blame, and the offset is still reported."""
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    err = failing(tmp_path, root, leaf, reference_time=datetime.datetime.now(UTC))
    assert err.diagnosis == "expired"
    assert abs(err.result["clock_offset"]) < 5


def test_skew_that_does_not_explain_the_failure_keeps_the_diagnosis(tmp_path, root):
    """Clock 3 days behind, but the certificate starts in 10 days: not valid at the reference time either."""
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW + 10 * DAY, not_after=NOW + 30 * DAY)
    err = failing(tmp_path, root, leaf, reference_time=datetime.datetime.now(UTC) + 3 * DAY)
    assert err.diagnosis == "not_yet_valid"
    assert err.result["clock_offset"] < -2 * 86400


def test_without_reference_nothing_changes(tmp_path, root):
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW + 2 * DAY, not_after=NOW + 30 * DAY)
    err = failing(tmp_path, root, leaf)
    assert err.diagnosis == "not_yet_valid" and "clock_offset" not in err.result


def test_success_reports_the_offset(tmp_path, root):
    leaf = issue("localhost", root, sans=["localhost"])
    with TlsServer(tmp_path, [leaf], leaf) as server:
        result = check_handshake(
            "localhost",
            port=server.port,
            ca_file=write(tmp_path / "trust.pem", root),
            retries=0,
            reference_time=datetime.datetime.now(UTC) - datetime.timedelta(seconds=600),
        )
    assert result["diagnosis"] is None and 595 < result["clock_offset"] < 610


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2026-12-02T14:50:00Z", datetime.datetime(2026, 12, 2, 14, 50, tzinfo=UTC)),
        ("2026-12-02T14:50:00.123456", datetime.datetime(2026, 12, 2, 14, 50, 0, 123456, tzinfo=UTC)),
        ("2026-12-02T16:50:00+02:00", datetime.datetime(2026, 12, 2, 14, 50, tzinfo=UTC)),
    ],
)
def test_reference_time_parsing(text, expected):
    assert parse_reference_time(text) == expected


def run_module(capsys, args):
    with patch_module_args(args), pytest.raises(SystemExit):
        tls_handshake.main()
    return json.loads(capsys.readouterr().out)


def test_module_refuses_a_bad_reference_time(capsys):
    result = run_module(capsys, {"hostname": "localhost", "reference_time": "yesterday"})
    assert result["failed"] is True and "not an ISO 8601 time" in result["msg"]
    assert result["diagnosis"] is None


def test_module_reports_clock_skew(capsys, tmp_path, root):
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW + 2 * DAY, not_after=NOW + 30 * DAY)
    reference = (datetime.datetime.now(UTC) + 3 * DAY).strftime("%Y-%m-%dT%H:%M:%SZ")
    with TlsServer(tmp_path, [leaf], leaf) as server:
        result = run_module(
            capsys,
            {
                "hostname": "localhost",
                "port": server.port,
                "ca_file": write(tmp_path / "trust.pem", root),
                "retries": 0,
                "reference_time": reference,
            },
        )
    assert result["failed"] is True and result["diagnosis"] == "clock_skew"
    assert result["clock_offset"] < -2 * 86400


# -- three clocks: the device's, the controller's and the gateway's ------------------------------


class _Cert:
    def __init__(self, not_before, not_after):
        self.not_before = not_before
        self.not_after = not_after


T0 = datetime.datetime(2026, 12, 3, 12, 0, tzinfo=UTC)
HOUR = 3600


@pytest.mark.parametrize(
    ("case", "cert", "offset", "gateway_offset", "expected"),
    [
        # gateway 2 h ahead issued edgeHub's certificate from its own "now": not yet valid for the device,
        # whose clock agrees with the controller's
        (
            "gateway ahead",
            _Cert(T0 + datetime.timedelta(hours=2), T0 + datetime.timedelta(days=90)),
            0.0,
            -2 * HOUR,
            ("gateway", 2 * HOUR, "the controller's and the device's clocks"),
        ),
        # the device is 3 days behind both others, which agree
        (
            "device behind",
            _Cert(T0 + datetime.timedelta(days=1), T0 + datetime.timedelta(days=90)),
            -3 * 86400.0,
            -3 * 86400.0,
            ("device", -3 * 86400, "the controller's and the gateway's clocks"),
        ),
        # the controller is 1 day ahead: it issued the PKI by its clock; the device and gateway agree
        (
            "controller ahead",
            _Cert(T0 + datetime.timedelta(days=1) - datetime.timedelta(minutes=5), T0 + datetime.timedelta(days=90)),
            -86400.0,
            0.0,
            ("controller", 86400, "the device's and the gateway's clocks"),
        ),
        # only the gateway's clock is known: the device is compared with it
        (
            "device ahead of the gateway only",
            _Cert(T0 - datetime.timedelta(days=30), T0 - datetime.timedelta(days=1)),
            None,
            10 * 86400.0,
            ("device", 10 * 86400, "the gateway's clock"),
        ),
        # all clocks agree: the certificate is to blame
        (
            "clocks agree",
            _Cert(T0 + datetime.timedelta(days=1), T0 + datetime.timedelta(days=90)),
            30.0,
            -20.0,
            None,
        ),
        # the gateway is off, but the certificate is not valid by its clock either
        (
            "gateway off but not the cause",
            _Cert(T0 + datetime.timedelta(days=10), T0 + datetime.timedelta(days=90)),
            0.0,
            -2 * HOUR,
            None,
        ),
    ],
)
def test_which_clock_is_off(case, cert, offset, gateway_offset, expected):
    found = which_clock(cert, T0, offset, 120, gateway_offset)
    if expected is None:
        assert found is None, case
    else:
        assert found[0] == expected[0], case
        assert abs(found[1] - expected[1]) < 1, case
        assert found[2] == expected[2], case


def test_gateway_ahead_is_clock_skew_of_the_gateway(tmp_path, root):
    """Against a real server: a certificate issued by a gateway whose clock is 2 h ahead."""
    leaf = issue(
        "localhost", root, sans=["localhost"], not_before=NOW + datetime.timedelta(hours=2), not_after=NOW + 90 * DAY
    )
    now = datetime.datetime.now(UTC)
    err = failing(
        tmp_path,
        root,
        leaf,
        reference_time=now,
        gateway_time=now + datetime.timedelta(hours=2, minutes=1),
    )
    assert err.diagnosis == "clock_skew"
    assert err.result["clock_off"] == "gateway"
    assert 2 * HOUR < err.result["clock_off_by"] < 2 * HOUR + 120
    assert err.result["clock_diagnosis"] == "not_yet_valid"
    assert -2 * HOUR - 120 < err.result["gateway_clock_offset"] < -2 * HOUR
    assert "the gateway's clock is 2 h 1 min" in err.hint and "ahead of the controller's and the device's" in err.hint
    assert "gateway playbook" in err.hint


def test_controller_behind_is_clock_skew_of_the_controller(tmp_path, root):
    """The controller's clock is 3 days behind the device's and the gateway's; its PKI's leaf has expired."""
    leaf = issue("localhost", root, sans=["localhost"], not_before=NOW - 30 * DAY, not_after=NOW - DAY)
    now = datetime.datetime.now(UTC)
    err = failing(tmp_path, root, leaf, reference_time=now - 3 * DAY, gateway_time=now)
    assert err.diagnosis == "clock_skew"
    assert err.result["clock_off"] == "controller"
    assert err.result["clock_off_by"] < -3 * 86400 + 10
    assert "the controller's clock is 3 d 0 h" in err.hint and "renew" in err.hint


def test_module_takes_the_gateway_clock(capsys, tmp_path, root):
    leaf = issue(
        "localhost", root, sans=["localhost"], not_before=NOW + datetime.timedelta(hours=2), not_after=NOW + 90 * DAY
    )
    now = datetime.datetime.now(UTC)
    with TlsServer(tmp_path, [leaf], leaf) as server:
        args = {
            "hostname": "localhost",
            "port": server.port,
            "ca_file": write(tmp_path / "trust.pem", root),
            "retries": 0,
            "reference_time": now.strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        without = run_module(capsys, args)
        with_gateway = run_module(
            capsys,
            dict(args, gateway_time=(now + datetime.timedelta(hours=2, minutes=1)).strftime("%Y-%m-%dT%H:%M:%SZ")),
        )
        bad = run_module(capsys, dict(args, gateway_time="noon"))
    assert without["diagnosis"] == "not_yet_valid"
    assert with_gateway["diagnosis"] == "clock_skew" and with_gateway["clock_off"] == "gateway"
    assert bad["failed"] is True and "gateway_time 'noon' is not an ISO 8601 time" in bad["msg"]
