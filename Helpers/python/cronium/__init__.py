"""Cronium's runtime helpers for Python scripts: read the run's input, set its output and
condition, read and write your variables, and see which event and run this is.

Inside a Cronium run this module is importable with no setup. Elsewhere, install it
(``pip install ./Helpers/python``) and set ``CRONIUM_RUNTIME_URL`` and ``CRONIUM_RUNTIME_TOKEN``.
Standard library only.
"""

import http.client
import json
import os
import socket
import time
import urllib.parse

__all__ = [
    "CroniumError", "input", "output", "get_variable", "set_variable", "delete_variable",
    "set_condition", "event", "send_message", "send_slack_message", "send_discord_message", "send_teams_message",
    "send_email", "execute_tool_action", "getVariable", "setVariable", "deleteVariable", "setCondition", "sendMessage",
    "sendSlackMessage", "sendDiscordMessage", "sendTeamsMessage", "sendEmail", "executeToolAction",
]

_TRANSIENT_STATUSES = {429, 502, 503, 504}
_ATTEMPTS = 6


class CroniumError(Exception):
    """A helper call failed. ``status`` is the HTTP status (None when the server was not
    reached), ``code`` Cronium's error code, and the message is the server's own sentence."""

    def __init__(self, message, status=None, code=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def _timeout():
    """Seconds a call may take, retries included (CRONIUM_RUNTIME_TIMEOUT, default 30)."""
    try:
        return float(os.environ.get("CRONIUM_RUNTIME_TIMEOUT", "30"))
    except ValueError:
        return 30.0


class _UnixConnection(http.client.HTTPConnection):
    def __init__(self, path, timeout):
        super().__init__("cronium", timeout=timeout)
        self._path = path

    def connect(self):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(self.timeout)
        try:
            sock.connect(self._path)
        except OSError:
            sock.close()
            raise
        self.sock = sock


class _Client:
    """One kept-alive connection to the runtime API, opened on first use."""

    def __init__(self):
        self._connection = None
        self._url = None

    def _settings(self):
        url = os.environ.get("CRONIUM_RUNTIME_URL")
        token = os.environ.get("CRONIUM_RUNTIME_TOKEN")
        if not url or not token:
            raise CroniumError(
                "CRONIUM_RUNTIME_URL and CRONIUM_RUNTIME_TOKEN are not set: "
                "the helpers work inside a Cronium run (or with both set by hand)")
        return url, token

    def _connect(self, url):
        if url.startswith("unix:"):
            return _UnixConnection(url[len("unix:"):], _timeout()), ""
        parts = urllib.parse.urlsplit(url)
        if parts.scheme == "https":
            connection = http.client.HTTPSConnection(parts.hostname, parts.port, timeout=_timeout())
        elif parts.scheme == "http":
            connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=_timeout())
        else:
            raise CroniumError(f"CRONIUM_RUNTIME_URL must start with unix:, http:// or https://, not {url!r}")
        return connection, parts.path.rstrip("/")

    def request(self, method, path, body=None):
        url, token = self._settings()
        headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        deadline = time.monotonic() + _timeout()
        delay = 0.1
        for attempt in range(1, _ATTEMPTS + 1):
            retry_after = None
            try:
                if self._connection is not None and self._url != url:
                    self._close()
                if self._connection is None:
                    self._connection, self._prefix = self._connect(url)
                    self._url = url
                self._connection.request(method, self._prefix + path, body=data, headers=headers)
                response = self._connection.getresponse()
                payload = response.read()
                if response.getheader("Connection", "").lower() == "close":
                    self._close()
                if response.status < 300:
                    return json.loads(payload) if payload else None
                error = self._error(response.status, payload)
                if response.status not in _TRANSIENT_STATUSES:
                    raise error
                retry_after = response.getheader("Retry-After")
            except (ConnectionError, socket.timeout, http.client.HTTPException, OSError) as problem:
                self._close()
                if isinstance(problem, CroniumError):
                    raise
                error = CroniumError(f"cannot reach Cronium's runtime API at {url}: {problem}")
            if attempt == _ATTEMPTS:
                raise error
            wait = max(delay, float(retry_after)) if retry_after and retry_after.replace(".", "", 1).isdigit() else delay
            if time.monotonic() + wait > deadline:
                raise error
            time.sleep(wait)
            delay = min(delay * 2, 2.0)

    def _close(self):
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    @staticmethod
    def _error(status, payload):
        try:
            problem = json.loads(payload)
            return CroniumError(problem.get("detail") or f"HTTP {status}", status, problem.get("code"))
        except ValueError:
            return CroniumError(f"HTTP {status}: {payload[:200].decode(errors='replace')}", status)


_client = _Client()


def _key_path(key):
    if not isinstance(key, str) or not key:
        raise CroniumError("a variable key must be a non-empty string")
    return "/runtime/v1/variables/" + urllib.parse.quote(key, safe="")


def input():
    """The input this run was started with (any JSON value), or None."""
    return _client.request("GET", "/runtime/v1/input")


def output(value):
    """Sets this run's output: any JSON value; what runs next receives it as its input."""
    _client.request("POST", "/runtime/v1/output", value)


def get_variable(key, default=None):
    """The value of your variable `key` (a string), or `default` when there is none."""
    try:
        return _client.request("GET", _key_path(key))["value"]
    except CroniumError as error:
        if error.status == 404:
            return default
        raise


def set_variable(key, value):
    """Sets your variable `key`. A value that is not a string is stored as its JSON text."""
    _client.request("PUT", _key_path(key), {"value": value if isinstance(value, str) else json.dumps(value)})


def delete_variable(key):
    """Removes your variable `key` (nothing happens when there is none)."""
    _client.request("DELETE", _key_path(key))


def set_condition(condition):
    """Decides this run's condition: its ON_CONDITION actions fire when it is True."""
    if not isinstance(condition, bool):
        raise CroniumError(f"set_condition takes True or False, not {condition!r}")
    _client.request("POST", "/runtime/v1/condition", {"condition": condition})


def event():
    """This run and its event: eventId, eventName, eventType, executionId, attempt, trigger,
    scheduledFor (and workflow ids when it runs in a workflow)."""
    return _client.request("GET", "/runtime/v1/context")


def send_message(tool, message, subject=None):
    """Sends `message` (and a `subject`, a card's title) through your tool named `tool`;
    returns what the far end answered. Raises CroniumError when it did not take it."""
    return _client.request("POST", "/runtime/v1/messages", {"tool": tool, "subject": subject, "message": message})


def _send_by_type(kind, text, title, tool):
    body = {"message": text, "subject": title, "type": kind}
    if tool is not None:
        body["tool"] = tool
    return _client.request("POST", "/runtime/v1/messages", body)


def send_slack_message(text, title=None, tool=None):
    """Sends `text` through your Slack tool (`tool` names it when you have several)."""
    return _send_by_type("SLACK", text, title, tool)


def send_discord_message(content, title=None, tool=None):
    """Sends `content` through your Discord tool (`tool` names it when you have several)."""
    return _send_by_type("DISCORD", content, title, tool)


def send_teams_message(text, title=None, tool=None):
    """Sends `text` through your Teams tool (`tool` names it when you have several)."""
    return _send_by_type("TEAMS", text, title, tool)


def send_email(to, subject, body, html=None, tool=None):
    """Emails `body` (with an `html` alternative if given) to `to`, an address or a list of
    them, through your email tool (`tool` names it when you have several)."""
    request = {"type": "EMAIL", "to": [to] if isinstance(to, str) else list(to), "subject": subject, "message": body}
    if html is not None:
        request["html"] = html
    if tool is not None:
        request["tool"] = tool
    return _client.request("POST", "/runtime/v1/messages", request)


def execute_tool_action(tool, action, params):
    """The predecessor's form: `action` "send" with params {"message" (or "text", "content",
    "body"), "subject" (or "title"), and for email "to" and "html"}."""
    return _client.request("POST", "/runtime/v1/messages", {"tool": tool, "action": action, "params": params})


# The predecessor's spellings, so its scripts run unchanged.
getVariable = get_variable
setVariable = set_variable
deleteVariable = delete_variable
setCondition = set_condition
sendMessage = send_message
sendSlackMessage = send_slack_message
sendDiscordMessage = send_discord_message
sendTeamsMessage = send_teams_message
sendEmail = send_email
executeToolAction = execute_tool_action
