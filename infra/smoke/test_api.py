"""Every behaviour of the Connector Health API that can be observed from outside.

Read-only: GET and HEAD, and body-less POST/PUT/PATCH/DELETE that the API refuses with 405.
"""

from __future__ import annotations

import re
import secrets

import pytest

from conftest import LIST_PATH, Api, Response

JSON_CONTENT_TYPE = "application/json; charset=utf-8"
MSG_KEY_MISSING = "API key missing."
MSG_KEY_NOT_AUTHORIZED = "API key not authorized."
MSG_NOT_FOUND = "Connector not found."
MSG_METHOD_NOT_ALLOWED = "Method not allowed; use GET or HEAD."
MAX_ID = 2**31 - 1

DOCUMENTED = ["id", "name", "url", "state", "errorMessage", "lastChecked"]
DIAGNOSTICS = ["responseTimeMs", "httpStatus", "consecutiveFailures", "stateChangedAt", "certificateExpiresAt"]
# UTC, RFC 3339, milliseconds, `Z`: 2019-03-29T17:41:55.050Z
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


def item_path(id_segment) -> str:
    return f"{LIST_PATH}/{id_segment}"


def assert_json(r: Response, status: int):
    assert r.status == status, f"expected {status}: {r}"
    assert r.header("Content-Type") == JSON_CONTENT_TYPE, f"Content-Type of {r}"
    length = r.header("Content-Length")
    if length is not None:
        assert int(length) == len(r.body), f"Content-Length {length} but {len(r.body)} bytes: {r}"
    return r.json()


def assert_message(r: Response, status: int, text: str) -> None:
    assert assert_json(r, status) == {"message": text}, f"body of {r}"


def is_int(v) -> bool:
    return type(v) is int  # bool is an int subclass in Python; JSON true is not a number here


def check_connector(c) -> None:
    assert isinstance(c, dict), f"not an object: {c!r}"
    keys = list(c)
    assert keys[:6] == DOCUMENTED, f"documented members missing or out of order: {keys}"
    extra = keys[6:]
    if "stale" in c:
        # Only ever `true`, after the diagnostics, and only for a connector that was checked.
        assert extra[-1] == "stale" and c["stale"] is True, f"stale: {c}"
        assert c["lastChecked"] is not None, f"a connector never checked is not stale: {c}"
        extra = extra[:-1]
    assert all(k in DIAGNOSTICS for k in extra), f"undocumented members {extra} in {c}"
    assert is_int(c["id"]) and 1 <= c["id"] <= MAX_ID, f"id: {c}"
    assert isinstance(c["name"], str) and c["name"].strip(), f"name: {c}"
    assert isinstance(c["url"], str) and c["url"].strip(), f"url: {c}"
    assert c["state"] in ("healthy", "error", "unknown"), f"state: {c}"
    if c["state"] == "error":
        assert isinstance(c["errorMessage"], str) and c["errorMessage"].strip(), f"an error needs a message: {c}"
    else:
        assert c["errorMessage"] is None, f"errorMessage must be null unless state is error: {c}"
    if c["state"] == "unknown":
        assert c["lastChecked"] is None, f"lastChecked must be null when state is unknown: {c}"
    else:
        assert isinstance(c["lastChecked"], str) and TIMESTAMP.match(c["lastChecked"]), f"lastChecked: {c}"
    for name in ("responseTimeMs", "consecutiveFailures"):
        if name in c:
            assert is_int(c[name]) and c[name] >= 0, f"{name}: {c}"
    if "httpStatus" in c:
        assert is_int(c["httpStatus"]) and 0 <= c["httpStatus"] <= 65535, f"httpStatus: {c}"
    for name in ("stateChangedAt", "certificateExpiresAt"):
        if name in c:
            assert isinstance(c[name], str) and TIMESTAMP.match(c[name]), f"{name}: {c}"


def unused_id(listing) -> int:
    ids = {c["id"] for c in listing}
    return next(i for i in (MAX_ID, MAX_ID - 1, 999_999_999, 123_456_789) if i not in ids)


def sample(connectors, limit: int = 20) -> list:
    """At most `limit` connectors: the first and last ones, so big tables stay quick."""
    if len(connectors) <= limit:
        return connectors
    return connectors[: limit // 2] + connectors[-(limit // 2) :]


# --- 200: the list and single connectors ---------------------------------------------------


def test_list_is_a_json_array_with_the_json_content_type(api: Api):
    body = assert_json(api.get(LIST_PATH), 200)
    assert isinstance(body, list)


def test_list_is_ordered_by_id(connectors):
    ids = [c.get("id") for c in connectors]
    assert all(is_int(i) for i in ids), ids
    assert ids == sorted(set(ids)), f"ids not strictly ascending: {ids}"


def test_every_connector_has_exactly_the_documented_members(connectors):
    for c in connectors:
        check_connector(c)
    states = {s: sum(c["state"] == s for c in connectors) for s in ("healthy", "error", "unknown")}
    print(f"{len(connectors)} connectors checked: {states}")


def test_single_get_equals_the_list_element(api: Api, connectors):
    for listed in sample(connectors):
        r = api.get(item_path(listed["id"]))
        one = assert_json(r, 200)
        check_connector(one)
        if one != listed:
            # A probe may have written the row in between: compare with a fresh list.
            fresh = {c["id"]: c for c in assert_json(api.get(LIST_PATH), 200)}
            assert one == fresh.get(listed["id"]), f"single get differs from the list: {one} vs {listed}"


# --- HEAD -------------------------------------------------------------------------------------


def head_cases(api: Api, listing):
    first = listing[0]["id"] if listing else 1
    return [
        ("list", LIST_PATH, api.header_key()),
        ("one", item_path(first), api.header_key()),
        ("unknown id", item_path(unused_id(listing)), api.header_key()),
        ("malformed id", item_path("abc"), api.header_key()),
        ("no key", LIST_PATH, {}),
        ("unknown key", item_path(first), api.header_key("smoke-" + secrets.token_hex(16))),
    ]


def test_head_has_the_status_and_headers_of_get_and_no_body(api: Api, listing):
    for label, path, headers in head_cases(api, listing):
        before = api.call("GET", path, headers)
        head = api.call("HEAD", path, headers)
        after = api.call("GET", path, headers)
        assert head.status == before.status, f"{label}: HEAD {head.status}, GET {before.status}"
        assert head.body == b"", f"{label}: HEAD sent a body: {head}"
        assert head.header("Content-Type") == JSON_CONTENT_TYPE, f"{label}: {head.headers}"
        length = head.header("Content-Length")
        assert length is not None, f"{label}: HEAD without Content-Length: {head.headers}"
        # The list may change between the calls (a probe run): accept either GET's length.
        assert int(length) in (len(before.body), len(after.body)), (
            f"{label}: HEAD Content-Length {length}, GET bodies {len(before.body)}/{len(after.body)} bytes"
        )
        assert head.header("Cache-Control") == before.header("Cache-Control"), label


# --- 403 ----------------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def paths(listing):
    first = listing[0]["id"] if listing else 1
    return {"list": LIST_PATH, "one": item_path(first)}


@pytest.mark.parametrize("which", ["list", "one"])
def test_a_request_without_a_key_is_403_missing(api: Api, paths, which):
    assert_message(api.call("GET", paths[which]), 403, MSG_KEY_MISSING)


@pytest.mark.parametrize("which", ["list", "one"])
def test_refused_keys_are_403_not_authorized(api: Api, paths, which):
    other = "smoke-" + secrets.token_hex(16)
    path = paths[which]
    cases = {
        "unknown key in X-ApiKey": dict(headers=api.header_key(other)),
        "unknown key in ?key=": dict(query=api.query_key(other)),
        "unknown key by Basic api:KEY": dict(headers=api.basic(key=other)),
        "header and query disagree": dict(headers=api.header_key(), query=api.query_key(other)),
        "header and Basic disagree": dict(headers={**api.header_key(), **api.basic(key=other)}),
        "query and Basic disagree": dict(headers=api.basic(), query=api.query_key(other)),
        "valid key by Basic with another user": dict(headers=api.basic(user="admin")),
    }
    for label, kwargs in cases.items():
        r = api.call("GET", path, **kwargs)
        assert r.status == 403, f"{label}: {r}"
        assert_message(r, 403, MSG_KEY_NOT_AUTHORIZED)


def test_the_key_is_accepted_in_each_documented_form(api: Api):
    cases = {
        "X-ApiKey header": dict(headers=api.header_key()),
        "?key= query": dict(query=api.query_key()),
        "Basic api:KEY": dict(headers=api.basic()),
        "header and query agreeing": dict(headers=api.header_key(), query=api.query_key()),
        "all three agreeing": dict(headers={**api.header_key(), **api.basic()}, query=api.query_key()),
    }
    for label, kwargs in cases.items():
        r = api.call("GET", LIST_PATH, **kwargs)
        assert r.status == 200, f"{label}: {r}"
        assert_json(r, 200)


def test_the_key_is_checked_before_the_id(api: Api):
    assert_message(api.call("GET", item_path("abc")), 403, MSG_KEY_MISSING)


# --- 404 ----------------------------------------------------------------------------------------

MALFORMED_IDS = ["abc", "-1", "0", "1.5", "+1", "1e3", "99999999999999999999", "2147483648", "%ZZ", "%31%00"]


@pytest.mark.parametrize("segment", MALFORMED_IDS)
def test_a_malformed_id_is_404(api: Api, segment):
    assert_message(api.get(item_path(segment)), 404, MSG_NOT_FOUND)


def test_an_unknown_id_is_404(api: Api, listing):
    assert_message(api.get(item_path(unused_id(listing))), 404, MSG_NOT_FOUND)


# --- 405 ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("which", ["list", "one"])
def test_other_methods_are_405_with_allow(api: Api, paths, method, which):
    for label, headers in (("with the key", api.header_key()), ("without a key", {})):
        r = api.call(method, paths[which], headers)
        assert r.status == 405, f"{label}: {r}"
        assert r.header("Allow") == "GET, HEAD", f"{label}: Allow of {r}: {r.headers}"
        assert_message(r, 405, MSG_METHOD_NOT_ALLOWED)


# --- Extensions: ETag / 304, gzip, ?state= ------------------------------------------------------

ETAG = re.compile(r'^W/"[0-9a-f]{32}"$')


@pytest.mark.parametrize("which", ["list", "one"])
def test_a_read_has_an_etag_and_if_none_match_with_it_is_304(api: Api, paths, listing, which):
    if which == "one" and not listing:
        pytest.skip("the deployment has no connectors: checks that need rows were skipped")
    first = api.get(paths[which])
    assert_json(first, 200)
    etag = first.header("ETag")
    assert etag and ETAG.match(etag), f"ETag of {first}: {first.headers}"
    assert first.header("Cache-Control") == "private, no-cache", f"{first.headers}"
    assert first.header("Vary") == "Accept-Encoding", f"{first.headers}"
    for method in ("GET", "HEAD"):
        r = api.call(method, paths[which], {**api.header_key(), "If-None-Match": etag})
        assert r.status == 304, f"{method} with If-None-Match: {r}"
        assert r.body == b"", f"{method}: 304 with a body: {r}"
        assert r.header("ETag") == etag
    # Another tag, or no valid key: not a 304.
    other = api.call("GET", paths[which], {**api.header_key(), "If-None-Match": 'W/"' + "0" * 32 + '"'})
    assert other.status == 200, f"{other}"
    assert api.call("GET", paths[which], {"If-None-Match": etag}).status == 403


def test_a_client_accepting_gzip_gets_the_same_list_compressed_when_it_is_large(api: Api, listing):
    import gzip
    import json

    plain = api.get(LIST_PATH)
    r = api.call("GET", LIST_PATH, {**api.header_key(), "Accept-Encoding": "gzip"})
    assert r.status == 200, f"{r}"
    assert r.header("ETag") == plain.header("ETag")
    if len(plain.body) < 1024:
        assert r.header("Content-Encoding") is None, f"a small body compressed: {r.headers}"
        assert r.body == plain.body
        return
    assert r.header("Content-Encoding") == "gzip", f"{r.headers}"
    assert int(r.header("Content-Length")) == len(r.body)
    assert json.loads(gzip.decompress(r.body)) == listing
    head = api.call("HEAD", LIST_PATH, {**api.header_key(), "Accept-Encoding": "gzip"})
    assert head.header("Content-Encoding") == "gzip" and head.header("Content-Length") == r.header("Content-Length")


def test_the_state_parameter_filters_the_list(api: Api, listing):
    for states in (["error"], ["healthy", "unknown"], ["healthy", "error", "unknown"]):
        r = api.call("GET", LIST_PATH, api.header_key(), query="state=" + ",".join(states))
        got = assert_json(r, 200)
        assert got == [c for c in listing if c["state"] in states], f"state={states}"


@pytest.mark.parametrize("query", ["state=down", "state=", "state=error,", "state=Error"])
def test_an_unknown_state_is_400_after_the_key_check(api: Api, query):
    r = api.call("GET", LIST_PATH, api.header_key(), query=query)
    body = assert_json(r, 400)
    assert "use a comma list of healthy, error and unknown" in body["message"], f"{r}"
    assert api.call("GET", LIST_PATH, query=query).status == 403
