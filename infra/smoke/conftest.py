"""Black-box smoke suite for a Connector Health API deployment (or the local stack).

    BASE_URL=https://abc123.execute-api.eu-west-1.amazonaws.com API_KEY=... pytest infra/smoke

BASE_URL is the API's root (what comes before /api/connector-health, a stage path included);
API_KEY a key that grants connector-health access. The suite only reads: GET and HEAD, plus
POST/PUT/PATCH/DELETE requests without a body, which the API refuses with 405.

Requests go through http.client, not requests/urllib3, because those rewrite malformed
percent-encodings (`%ZZ` would be sent as `%25ZZ`) and the 404 checks need the path as written.
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import ssl
import time
import urllib.parse
from dataclasses import dataclass, field

import pytest

LIST_PATH = "/api/connector-health"
TIMEOUT_SECONDS = 30


@dataclass
class Response:
    method: str
    path: str
    status: int
    headers: dict[str, list[str]] = field(default_factory=dict)
    body: bytes = b""

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[-1] if values else None

    def json(self):
        return json.loads(self.body.decode("utf-8"))

    def __str__(self) -> str:
        text = self.body[:300].decode("utf-8", "replace")
        return f"{self.method} {self.path} -> {self.status} {text!r}"


class Api:
    """A client for one deployment. Paths are sent exactly as given (no re-encoding)."""

    def __init__(self, base_url: str, key: str):
        parts = urllib.parse.urlsplit(base_url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise pytest.UsageError(f"BASE_URL must be an http(s) URL, got {base_url!r}")
        self.base_url = base_url.rstrip("/")
        self.scheme = parts.scheme
        self.host = parts.hostname
        self.port = parts.port
        self.prefix = parts.path.rstrip("/")
        self.key = key

    def call(
        self,
        method: str,
        path: str,
        headers: dict[str, str] | None = None,
        query: str = "",
    ) -> Response:
        target = self.prefix + path + (f"?{query}" if query else "")
        for attempt in range(4):
            if self.scheme == "https":
                conn = http.client.HTTPSConnection(
                    self.host, self.port, timeout=TIMEOUT_SECONDS, context=ssl.create_default_context()
                )
            else:
                conn = http.client.HTTPConnection(self.host, self.port, timeout=TIMEOUT_SECONDS)
            try:
                conn.request(method, target, headers=headers or {})
                raw = conn.getresponse()
                body = raw.read()
                collected: dict[str, list[str]] = {}
                for name, value in raw.getheaders():
                    collected.setdefault(name.lower(), []).append(value)
            finally:
                conn.close()
            # Stage throttling of a deployed API (429) is not what this suite checks: back off.
            if raw.status != 429 or attempt == 3:
                break
            time.sleep(2**attempt)
        return Response(method, path, raw.status, collected, body)

    # The key in each of the ways ProGet accepts it.
    def header_key(self, key: str | None = None) -> dict[str, str]:
        return {"X-ApiKey": self.key if key is None else key}

    def query_key(self, key: str | None = None) -> str:
        return "key=" + urllib.parse.quote(self.key if key is None else key, safe="")

    def basic(self, user: str = "api", key: str | None = None) -> dict[str, str]:
        token = base64.b64encode(f"{user}:{self.key if key is None else key}".encode()).decode()
        return {"Authorization": f"Basic {token}"}

    def get(self, path: str) -> Response:
        return self.call("GET", path, self.header_key())

    def head(self, path: str) -> Response:
        return self.call("HEAD", path, self.header_key())


def pytest_addoption(parser):
    parser.addoption("--base-url", default=os.environ.get("BASE_URL", ""), help="the API root (env BASE_URL)")
    parser.addoption("--api-key", default=os.environ.get("API_KEY", ""), help="a valid API key (env API_KEY)")


def pytest_configure(config):
    if not config.getoption("--base-url") or not config.getoption("--api-key"):
        raise pytest.UsageError(
            "set BASE_URL (the API root, e.g. http://127.0.0.1:3000) and API_KEY "
            "(a key granting connector-health access)"
        )


def pytest_report_header(config):
    return f"smoke target: {config.getoption('--base-url')} (API key from API_KEY, not shown)"


@pytest.fixture(scope="session")
def api(pytestconfig) -> Api:
    client = Api(pytestconfig.getoption("--base-url"), pytestconfig.getoption("--api-key"))
    try:
        client.call("HEAD", LIST_PATH)
    except OSError as e:
        pytest.exit(f"cannot reach {client.base_url}: {e}", returncode=3)
    return client


@pytest.fixture(scope="session")
def listing(api) -> list:
    """The list as the valid key sees it; every test that needs it fails when that is not 200."""
    r = api.get(LIST_PATH)
    assert r.status == 200, f"the list with the given API key: {r}"
    body = r.json()
    assert isinstance(body, list), f"the list is not a JSON array: {r}"
    return body


@pytest.fixture(scope="session")
def connectors(listing) -> list:
    """The connectors; tests that need at least one are skipped (and say so) on an empty table."""
    if not listing:
        pytest.skip("the deployment has no connectors: checks that need rows were skipped")
    return listing
