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


# --- Extensions: a connector's history and badges -----------------------------------------------

SVG_CONTENT_TYPE = "image/svg+xml; charset=utf-8"
SVG_NS = "{http://www.w3.org/2000/svg}"
MSG_BAD_UPTIME = "Unknown ?uptime= value; use 24h, 7d, 30d or 90d."
WINDOWS = ["24h", "7d", "30d", "90d"]
# shields.io's named colours the badges use.
BADGE_COLORS = {"brightgreen", "green", "yellowgreen", "yellow", "orange", "red", "lightgrey"}
BADGE_PERCENT = re.compile(r"^(\d{1,3})(\.\d{1,2})?%$")
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
VIEWS = ["history", "badge.svg", "badge.json"]


def view_path(id_segment, view: str) -> str:
    return f"{item_path(id_segment)}/{view}"


def percent(up: int, checks: int):
    """The history's uptime: the healthy share as a percentage, rounded down to three decimals."""
    return None if checks == 0 else (up * 100_000 // checks) / 1000


def check_bucket(b, time_key: str) -> None:
    assert list(b) == [time_key, "checks", "up", "uptime", "responseTimeMs"], f"bucket members: {b}"
    assert is_int(b["checks"]) and is_int(b["up"]) and 0 <= b["up"] <= b["checks"], f"bucket: {b}"
    assert b["uptime"] == percent(b["up"], b["checks"]), f"bucket uptime: {b}"
    if b["up"] == 0:
        assert b["responseTimeMs"] is None, f"no healthy check, yet a response time: {b}"
    else:
        assert is_int(b["responseTimeMs"]) and b["responseTimeMs"] >= 0, f"bucket: {b}"


def check_history(h, connector_id: int) -> None:
    """The history route's shape, and that its figures agree with each other."""
    assert isinstance(h, dict), f"not an object: {h!r}"
    keys = list(h)
    assert keys[:5] == ["id", "uptime", "hourly", "daily", "recentChecks"], f"members: {keys}"
    assert keys[5:] in ([], ["demo"]), f"undocumented members: {keys}"
    if "demo" in h:
        assert h["demo"] is True, f"demo: {h['demo']!r}"
    assert h["id"] == connector_id
    assert list(h["uptime"]) == WINDOWS, f"uptime windows: {h['uptime']}"
    for w, v in h["uptime"].items():
        assert v is None or (isinstance(v, (int, float)) and 0 <= v <= 100), f"uptime {w}: {v!r}"
    hourly, daily, recent = h["hourly"], h["daily"], h["recentChecks"]
    assert len(hourly) == 24 and len(daily) == 90, f"{len(hourly)} hourly, {len(daily)} daily buckets"
    for b in hourly:
        check_bucket(b, "start")
        assert TIMESTAMP.match(b["start"]) and b["start"].endswith(":00:00.000Z"), f"hour start: {b}"
    for b in daily:
        check_bucket(b, "date")
        assert DATE.match(b["date"]), f"date: {b}"
    # Oldest first, one hour (one day) apart: the ISO texts sort as the times do.
    starts = [b["start"] for b in hourly]
    dates = [b["date"] for b in daily]
    assert starts == sorted(set(starts)) and dates == sorted(set(dates)), "buckets not oldest first"
    # The 24 h window is exactly the 24 hourly buckets.
    assert h["uptime"]["24h"] == percent(sum(b["up"] for b in hourly), sum(b["checks"] for b in hourly))
    # A longer window holds at least the checks of a shorter one.
    present = [h["uptime"][w] is not None for w in WINDOWS]
    assert present == sorted(present), f"a window without checks after one with: {h['uptime']}"
    assert len(recent) <= 50, f"{len(recent)} recent checks"
    for c in recent:
        assert list(c) == ["checkedAt", "state", "responseTimeMs", "message"], f"check members: {c}"
        assert TIMESTAMP.match(c["checkedAt"]) and c["checkedAt"].endswith(".000Z"), f"checkedAt: {c}"
        assert c["state"] in ("healthy", "error"), f"check state: {c}"
        assert c["responseTimeMs"] is None or (is_int(c["responseTimeMs"]) and c["responseTimeMs"] >= 0)
        if c["state"] == "healthy":
            assert c["message"] is None, f"a healthy check with a message: {c}"
        else:
            assert c["message"] is None or (isinstance(c["message"], str) and len(c["message"].encode()) <= 60)
    at = [c["checkedAt"] for c in recent]
    assert at == sorted(at, reverse=True), f"recent checks not newest first: {at}"
    # Every check shown is counted in a day (unless older than the 90 days shown).
    assert sum(b["checks"] for b in daily) >= len([c for c in recent if c["checkedAt"][:10] >= dates[0]])


@pytest.fixture(scope="session")
def histories(api: Api, connectors) -> dict:
    """The history of (a sample of) the connectors, by id."""
    out = {}
    for c in sample(connectors, 10):
        out[c["id"]] = assert_json(api.get(view_path(c["id"], "history")), 200)
    return out


def test_history_has_the_documented_shape_and_consistent_figures(histories):
    for connector_id, h in histories.items():
        check_history(h, connector_id)


def test_the_demo_history_is_thirty_days_of_checks_every_five_minutes(histories):
    demo = {i: h for i, h in histories.items() if h.get("demo")}
    if not demo:
        pytest.skip("no connector has demo history (not the local stack's seeded demo)")
    for connector_id, h in demo.items():
        full_days = [d for d in h["daily"] if d["checks"] == 288]
        # 30 days before today, unless the day turned since they were written.
        assert len(full_days) >= 29, f"{connector_id}: days of 288 checks: {len(full_days)}"
        assert all(d["up"] >= 200 for d in full_days), f"{connector_id}: a demo day mostly down"
        assert 50 <= h["uptime"]["30d"] <= 100, f"{connector_id}: 30 d uptime {h['uptime']}"
        assert h["uptime"]["90d"] is not None
        assert len(h["recentChecks"]) == 50, f"{connector_id}: {len(h['recentChecks'])} recent checks"
        # The demo's checks are every five minutes from midnight (real probes may add others today).
        demo_dates = {d["date"] for d in full_days}
        made_up = [c["checkedAt"] for c in h["recentChecks"] if c["checkedAt"][:10] in demo_dates]
        assert all(int(t[14:16]) % 5 == 0 and t[17:19] == "00" for t in made_up), f"{connector_id}: {made_up}"


def test_history_has_an_etag_and_if_none_match_with_it_is_304(api: Api, connectors):
    path = view_path(connectors[0]["id"], "history")
    first = api.get(path)
    assert_json(first, 200)
    etag = first.header("ETag")
    assert etag and ETAG.match(etag), f"ETag of {first}: {first.headers}"
    assert first.header("Cache-Control") == "private, no-cache", f"{first.headers}"
    r = api.call("GET", path, {**api.header_key(), "If-None-Match": etag})
    # A check may land in between; then the history changed and the answer is a new 200.
    assert r.status == 304 or (r.status == 200 and r.header("ETag") != etag), f"{r}"
    assert api.call("GET", path, {"If-None-Match": etag}).status == 403


def badge_texts(svg: bytes) -> tuple[list[str], str]:
    """The texts a badge shows (its visible <text> elements) and its <title>; the SVG must parse."""
    import xml.etree.ElementTree as ET

    root = ET.fromstring(svg)
    assert root.tag == f"{SVG_NS}svg", f"root element {root.tag}"
    assert int(root.get("width")) > 0 and root.get("height") == "20", f"size of {root.attrib}"
    texts = [t.text or "" for t in root.iter(f"{SVG_NS}text") if t.get("aria-hidden") is None]
    title = root.find(f"{SVG_NS}title")
    return texts, (title.text if title is not None else "")


def assert_badge(r: Response, content_type: str) -> None:
    assert r.status == 200, f"{r}"
    assert r.header("Content-Type") == content_type, f"Content-Type of {r}: {r.headers}"
    assert r.header("Cache-Control") == "max-age=300", f"Cache-Control of {r}: {r.headers}"
    assert int(r.header("Content-Length")) == len(r.body), f"Content-Length of {r}"


def current_state(api: Api, connector_id: int, listed: dict) -> set:
    """The states the connector had around now (a probe may change it between two calls)."""
    fresh = assert_json(api.get(item_path(connector_id)), 200)
    return {listed["state"], fresh["state"]}


def test_the_svg_badge_parses_and_says_the_connectors_name_and_state(api: Api, connectors):
    for c in sample(connectors, 6):
        r = api.call("GET", view_path(c["id"], "badge.svg"), query=api.query_key())
        assert_badge(r, SVG_CONTENT_TYPE)
        texts, title = badge_texts(r.body)
        assert len(texts) == 2, f"{c['id']}: texts {texts}"
        label, message = texts
        # The name (a long or multi-line one is shortened to one line of at most 40 characters).
        if len(c["name"]) <= 40 and c["name"] == c["name"].strip() and c["name"].isprintable():
            assert label == c["name"], f"{c['id']}: label {label!r}, name {c['name']!r}"
        else:
            assert label.strip() and len(label) <= 40, f"{c['id']}: label {label!r}"
        assert message in current_state(api, c["id"], c), f"{c['id']}: badge says {message!r}, state {c['state']}"
        assert title == f"{label}: {message}", f"{c['id']}: title {title!r}"


def test_the_json_badge_follows_the_shields_endpoint_schema(api: Api, connectors):
    for c in sample(connectors, 6):
        r = api.get(view_path(c["id"], "badge.json"))
        assert_badge(r, JSON_CONTENT_TYPE)
        b = r.json()
        assert set(b) == {"schemaVersion", "label", "message", "color", "cacheSeconds"}, f"members: {b}"
        assert b["schemaVersion"] == 1 and is_int(b["schemaVersion"]), f"{b}"
        assert isinstance(b["label"], str) and b["label"].strip(), f"{b}"
        assert isinstance(b["message"], str) and b["message"].strip(), f"{b}"
        assert b["color"] in BADGE_COLORS, f"{b}"
        # shields.io ignores cacheSeconds under 300.
        assert is_int(b["cacheSeconds"]) and b["cacheSeconds"] >= 300, f"{b}"
        assert b["message"] in current_state(api, c["id"], c), f"{c['id']}: {b}"
        colour = {"healthy": "brightgreen", "error": "red", "unknown": "lightgrey"}[b["message"]]
        assert b["color"] == colour, f"{b}"
        svg_texts, _ = badge_texts(api.get(view_path(c["id"], "badge.svg")).body)
        assert svg_texts[0] == b["label"], f"the SVG and the JSON disagree: {svg_texts} vs {b}"


@pytest.mark.parametrize("window", WINDOWS)
def test_an_uptime_badge_shows_the_histories_uptime(api: Api, connectors, window):
    c = connectors[0]
    before = assert_json(api.get(view_path(c["id"], "history")), 200)["uptime"][window]
    r = api.get(view_path(c["id"], "badge.json") + f"?uptime={window}")
    assert_badge(r, JSON_CONTENT_TYPE)
    b = r.json()
    after = assert_json(api.get(view_path(c["id"], "history")), 200)["uptime"][window]
    assert b["label"] == f"uptime {window}", f"{b}"
    if b["message"] == "no data":
        assert None in (before, after) and b["color"] == "lightgrey", f"{b}, history {before}/{after}"
        return
    m = BADGE_PERCENT.match(b["message"])
    assert m, f"message {b['message']!r}"
    shown = float(b["message"][:-1])
    # The badge rounds down to two decimals what the history rounds down to three.
    assert any(u is not None and shown <= u < shown + 0.01 + 1e-9 for u in (before, after)), (
        f"badge {b['message']}, history {before}/{after}"
    )
    svg = api.get(view_path(c["id"], "badge.svg") + f"?uptime={window}")
    assert_badge(svg, SVG_CONTENT_TYPE)
    texts, _ = badge_texts(svg.body)
    assert texts[0] == f"uptime {window}" and BADGE_PERCENT.match(texts[1]), f"{texts}"


@pytest.mark.parametrize("badge", ["badge.svg", "badge.json"])
@pytest.mark.parametrize("query", ["uptime=1h", "uptime=", "uptime=7D", "uptime=7d&uptime=24h"])
def test_an_unknown_uptime_window_is_400_after_the_key_check(api: Api, listing, badge, query):
    first = listing[0]["id"] if listing else 1
    path = view_path(first, badge)
    assert_message(api.call("GET", path, api.header_key(), query=query), 400, MSG_BAD_UPTIME)
    assert_message(api.call("GET", path, query=query), 403, MSG_KEY_MISSING)


@pytest.mark.parametrize("view", VIEWS)
def test_history_and_badges_without_a_key_are_403(api: Api, listing, view):
    first = listing[0]["id"] if listing else 1
    assert_message(api.call("GET", view_path(first, view)), 403, MSG_KEY_MISSING)
    other = "smoke-" + secrets.token_hex(16)
    r = api.call("GET", view_path(first, view), query=api.query_key(other))
    assert_message(r, 403, MSG_KEY_NOT_AUTHORIZED)
    assert_message(api.call("GET", view_path("abc", view)), 403, MSG_KEY_MISSING)


@pytest.mark.parametrize("view", VIEWS)
def test_history_and_badges_of_an_unknown_or_malformed_id_are_404(api: Api, listing, view):
    for segment in (unused_id(listing), "abc", "0", "-1", "%ZZ"):
        assert_message(api.get(view_path(segment, view)), 404, MSG_NOT_FOUND)
    # With a valid window too: the connector is judged after the query.
    if view != "history":
        assert_message(api.get(view_path(unused_id(listing), view) + "?uptime=7d"), 404, MSG_NOT_FOUND)


@pytest.mark.parametrize("view", VIEWS)
def test_history_and_badges_head_has_the_status_and_headers_of_get(api: Api, listing, view):
    first = listing[0]["id"] if listing else unused_id(listing)
    for path, headers in (
        (view_path(first, view), api.header_key()),
        (view_path(unused_id(listing), view), api.header_key()),
        (view_path(first, view), {}),
    ):
        get = api.call("GET", path, headers)
        head = api.call("HEAD", path, headers)
        assert head.status == get.status, f"HEAD {head.status}, GET {get.status}: {path}"
        assert head.body == b"", f"HEAD sent a body: {head}"
        for name in ("Content-Type", "Cache-Control"):
            assert head.header(name) == get.header(name), f"{name} of HEAD {path}: {head.headers}"
        assert head.header("Content-Length") is not None, f"HEAD without Content-Length: {head.headers}"
        if view != "history" or get.status != 200:
            # A badge of the same connector has the same length (the history may take a check).
            assert int(head.header("Content-Length")) == len(get.body), f"HEAD {path}: {head.headers}"


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE", "PATCH"])
@pytest.mark.parametrize("view", VIEWS)
def test_history_and_badges_refuse_other_methods_with_405(api: Api, listing, method, view):
    first = listing[0]["id"] if listing else 1
    for headers in (api.header_key(), {}):
        r = api.call(method, view_path(first, view), headers)
        assert r.header("Allow") == "GET, HEAD", f"Allow of {r}: {r.headers}"
        assert_message(r, 405, MSG_METHOD_NOT_ALLOWED)
