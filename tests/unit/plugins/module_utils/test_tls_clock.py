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
