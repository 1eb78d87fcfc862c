"""The Python helpers against the real runtime API: run inside a Cronium run by
scripts/test-helpers.sh, which starts the run with the input {"case": "helpers"} and a
runtime rate limit low enough for the retry test to meet it."""

import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import pytest  # noqa: E402

import cronium  # noqa: E402


def test_it_is_the_file_under_test():
    assert cronium.__file__.startswith(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_input_and_context():
    assert cronium.input() == {"case": "helpers"}
    context = cronium.event()
    assert context["eventName"] == "python helper tests"
    assert context["eventType"] == "BASH"
    assert context["executionId"] == int(os.environ["CRONIUM_EXECUTION_ID"])
    assert context["attempt"] == 1 and context["trigger"] == "MANUAL"


def test_output_and_condition():
    cronium.output({"language": "python", "ok": True, "nested": [1, 2.5, None]})
    cronium.set_condition(True)
    cronium.setCondition(True)
    with pytest.raises(cronium.CroniumError, match="True or False"):
        cronium.set_condition(1)


def test_variables_round_trip():
    cronium.set_variable("PY_HELPER_TEXT", "héllo wörld ✓")
    assert cronium.get_variable("PY_HELPER_TEXT") == "héllo wörld ✓"
    cronium.setVariable("PY_HELPER_JSON", {"a": [1, 2]})
    assert cronium.getVariable("PY_HELPER_JSON") == '{"a": [1, 2]}'
    cronium.delete_variable("PY_HELPER_TEXT")
    cronium.deleteVariable("PY_HELPER_TEXT")
    assert cronium.get_variable("PY_HELPER_TEXT") is None
    assert cronium.get_variable("PY_HELPER_TEXT", "fallback") == "fallback"
    assert cronium.get_variable("HELPER_TEST_SECRET") == "s3cret-for-helper-tests"


def test_a_refused_call_carries_the_servers_message():
    with pytest.raises(cronium.CroniumError) as refused:
        cronium.set_variable("lower case", "x")
    assert refused.value.status == 422
    assert "is not a key" in str(refused.value)
    with pytest.raises(cronium.CroniumError, match="non-empty string"):
        cronium.get_variable("")


def test_a_wrong_token_is_refused(monkeypatch):
    monkeypatch.setenv("CRONIUM_RUNTIME_TOKEN", "not-a-token")
    with pytest.raises(cronium.CroniumError) as refused:
        cronium.input()
    assert refused.value.status == 401 and refused.value.code == "UNAUTHORIZED"


def test_missing_settings_say_so(monkeypatch):
    monkeypatch.delenv("CRONIUM_RUNTIME_URL")
    with pytest.raises(cronium.CroniumError, match="CRONIUM_RUNTIME_URL and CRONIUM_RUNTIME_TOKEN are not set"):
        cronium.input()


def test_an_unreachable_api_fails_within_the_timeout(monkeypatch):
    monkeypatch.setenv("CRONIUM_RUNTIME_URL", "unix:/tmp/no-such-cronium.sock")
    monkeypatch.setenv("CRONIUM_RUNTIME_TIMEOUT", "1")
    started = time.monotonic()
    with pytest.raises(cronium.CroniumError, match="cannot reach Cronium's runtime API"):
        cronium.event()
    assert time.monotonic() - started < 3


def test_calls_over_the_rate_limit_wait_and_go_on():
    # The run's limit is 20 calls a second, 40 at once: 80 calls meet it, and all succeed.
    started = time.monotonic()
    for number in range(80):
        cronium.set_variable("PY_HELPER_COUNT", str(number))
    assert cronium.get_variable("PY_HELPER_COUNT") == "79"
    assert time.monotonic() - started >= 1
