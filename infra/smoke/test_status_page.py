"""The HTML status page (/status, /status/{id}) from outside: its answers and headers over HTTP,
its markup through a strict HTML5 parser, and in a real headless Chromium: every connector and
its state, the filter links, the charts, the layout at 1280 and 390 px (screenshots under
target/status-page/), no Content-Security-Policy violation, and axe-core's accessibility rules.

The browser checks need Debian's `chromium` and `chromium-driver` (`make test` installs them) and
axe-core from npm (infra/devstack/scripts). Without them they are skipped, unless
STATUS_PAGE_BROWSER=required (as `make smoke-local` sets), when they fail instead.
"""

from __future__ import annotations

import os
import shutil
import urllib.parse
from pathlib import Path

import html5lib
import pytest

from conftest import LIST_PATH, Api

STATUS_PATH = "/status"
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "target" / "status-page"
AXE = ROOT / "infra" / "devstack" / "scripts" / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
STATES = {"healthy": "Healthy", "error": "Failing", "unknown": "Unknown"}


def assert_page_headers(r, status: int) -> None:
    assert r.status == status, f"expected {status}: {r}"
    assert r.header("Content-Type") == "text/html; charset=utf-8", str(r)
    csp = r.header("Content-Security-Policy") or ""
    assert csp.startswith("default-src 'none';"), csp
    for part in ("frame-ancestors 'none'", "base-uri 'none'", "form-action 'none'"):
        assert part in csp, csp
    assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, csp
    assert r.header("X-Content-Type-Options") == "nosniff"
    assert r.header("Referrer-Policy") == "no-referrer"
    assert r.header("Cache-Control") == "no-store"


def parse_strictly(body: bytes) -> None:
    html5lib.HTMLParser(strict=True, namespaceHTMLElements=False).parse(body.decode("utf-8"))


def test_the_page_asks_a_browser_for_a_key_and_refuses_a_wrong_one(api: Api):
    r = api.call("GET", STATUS_PATH)
    if r.status == 200:
        pytest.skip("the status page is public (StatusPagePublic=true)")
    assert_page_headers(r, 401)
    assert r.header("WWW-Authenticate").startswith('Basic realm="connector-health"')
    parse_strictly(r.body)
    r = api.call("GET", STATUS_PATH, api.header_key("not-a-key"))
    assert_page_headers(r, 403)
    assert r.header("WWW-Authenticate") is None
    # The JSON API keeps ProGet's 403 for a missing key.
    assert api.call("GET", LIST_PATH).status == 403


def test_every_way_of_giving_the_key_opens_the_page(api: Api):
    for r in (
        api.call("GET", STATUS_PATH, api.header_key()),
        api.call("GET", STATUS_PATH, query=api.query_key()),
        api.call("GET", STATUS_PATH, api.basic()),
    ):
        assert_page_headers(r, 200)
        parse_strictly(r.body)
    head = api.call("HEAD", STATUS_PATH, api.header_key())
    assert head.status == 200 and head.body == b""


def test_the_detail_pages_parse_and_an_unknown_id_is_a_404_page(api: Api, listing):
    for c in listing[:5]:
        r = api.call("GET", f"{STATUS_PATH}/{c['id']}", api.header_key())
        assert_page_headers(r, 200)
        parse_strictly(r.body)
    r = api.call("GET", f"{STATUS_PATH}/2147483647", api.header_key())
    assert_page_headers(r, 404)
    parse_strictly(r.body)


# ---------------------------------------------------------------------------------- browser


@pytest.fixture(scope="module")
def browser():
    missing = [p for p in (CHROMIUM, CHROMEDRIVER, str(AXE)) if not os.path.exists(p)]
    if missing:
        message = f"browser checks need {', '.join(missing)} (make test installs them)"
        if os.environ.get("STATUS_PAGE_BROWSER") == "required":
            pytest.fail(message)
        pytest.skip(message)
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--hide-scrollbars", "--force-device-scale-factor=1"):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    driver.set_page_load_timeout(30)
    driver.set_script_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def page_url(api: Api, path: str, query: dict[str, str] | None = None) -> str:
    q = dict(query or {})
    q["key"] = api.key
    return f"{api.base_url}{path}?{urllib.parse.urlencode(q)}"


def open_page(driver, url: str, width: int) -> None:
    driver.set_window_size(width, 900)
    driver.get(url)
    driver.get_log("browser")  # drop what came before this page
    driver.refresh()


def console_problems(driver) -> list[str]:
    return [e["message"] for e in driver.get_log("browser") if e.get("level") in ("SEVERE", "WARNING")]


def screenshot(driver, name: str, width: int, capsys) -> Path:
    height = driver.execute_script("return document.documentElement.scrollHeight")
    driver.set_window_size(width, max(300, min(int(height), 16000)))
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}-{width}.png"
    assert driver.save_screenshot(str(path)), path
    with capsys.disabled():
        print(f"\nstatus page screenshot: {path}")
    return path


def axe_violations(driver) -> list[str]:
    driver.execute_script(AXE.read_text(encoding="utf-8"))
    result = driver.execute_async_script(
        "const done = arguments[arguments.length - 1];"
        "axe.run(document, {resultTypes: ['violations']})"
        "  .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, nodes: v.nodes.length,"
        "      help: v.help, target: v.nodes[0] && v.nodes[0].target}))))"
        "  .catch(e => done({error: String(e)}));"
    )
    assert isinstance(result, list), f"axe-core did not run: {result}"
    return [f"{v['id']} ({v['impact']}, {v['nodes']} nodes, e.g. {v['target']}): {v['help']}"
            for v in result if v["impact"] in ("serious", "critical")]


def shown_connectors(driver) -> dict[str, str]:
    """Each listed connector's id and its state as the page shows it in words, in page order."""
    pairs = driver.execute_script(
        "return Array.from(document.querySelectorAll('ul.connectors > li.c'),"
        "  li => [li.id.slice(1), li.querySelector('.badge').textContent.trim()]);"
    )
    return dict(pairs)


@pytest.mark.parametrize("width", [1280, 390])
def test_the_list_in_a_browser(api: Api, listing, browser, width, capsys):
    open_page(browser, page_url(api, STATUS_PATH), width)
    assert browser.title.startswith("Connector health"), browser.title
    banner = browser.find_element("css selector", ".banner").text
    errors = sum(c["state"] == "error" for c in listing)
    if not listing:
        assert banner == "No connectors yet"
    elif errors:
        assert banner.startswith(f"{errors} of {len(listing)} failing"), banner
    # Every connector, in the state the API gives it, failing ones first.
    shown = shown_connectors(browser)
    assert {int(i) for i in shown} == {c["id"] for c in listing}
    for c in listing:
        assert shown[str(c["id"])] == STATES[c["state"]], c
    words = list(shown.values())
    assert words == sorted(words, key=["Failing", "Unknown", "Healthy"].index), words
    # The state filter: plain links that keep ?key=.
    links = {a.text.split(" (")[0]: a.get_attribute("href")
             for a in browser.find_elements("css selector", "nav ul.filter a")}
    assert set(links) == {"All", "Failing", "Unknown", "Healthy"}, links
    for label, state in (("Failing", "error"), ("Unknown", "unknown"), ("Healthy", "healthy")):
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(links[label]).query)
        assert query == {"state": [state], "key": [api.key]}, links[label]
    # Nothing wider than the window, at either width.
    overflow = browser.execute_script("return document.documentElement.scrollWidth")
    assert overflow <= width, f"the page is {overflow} px wide in a {width} px window"
    assert console_problems(browser) == []
    screenshot(browser, "list", width, capsys)
    assert axe_violations(browser) == []
    # The filter, followed.
    browser.get(links["Failing"])
    shown = shown_connectors(browser)
    assert {int(i) for i in shown} == {c["id"] for c in listing if c["state"] == "error"}
    current = browser.find_element("css selector", "nav a[aria-current=page]").text
    assert current.startswith("Failing")


@pytest.mark.parametrize("width", [1280, 390])
def test_one_connector_in_a_browser(api: Api, connectors, browser, width, capsys):
    failing = [c for c in connectors if c["state"] == "error"]
    c = (failing or connectors)[0]
    open_page(browser, page_url(api, f"{STATUS_PATH}/{c['id']}"), width)
    assert browser.find_element("css selector", "h1").text == c["name"]
    badge = browser.find_element("css selector", "main .badge").text
    assert badge.endswith(STATES[c["state"]]), badge
    if c["state"] == "error":
        assert browser.find_element("css selector", "main .msg").text == c["errorMessage"]
    sections = browser.find_elements("css selector", "main section h2")
    assert [s.text for s in sections] == [
        "Uptime per day, last 90 days",
        "Response time per hour, last 24 hours",
        "Last checks",
    ]
    # The charts, when the API has history for it; else the page says there is none.
    history = api.get(f"{LIST_PATH}/{c['id']}/history")
    has_history = history.status == 200 and bool(history.json().get("recentChecks"))
    charts = browser.find_elements("css selector", "main .chart svg[role=img]")
    if has_history:
        assert len(charts) >= 1, "history in the API but no chart on the page"
        assert len(browser.find_elements("css selector", "main table tbody tr")) >= 1
    else:
        assert charts == []
        assert browser.page_source.count("No history yet") == 3
    back = browser.find_element("css selector", "header a").get_attribute("href")
    assert urllib.parse.urlsplit(back).path.endswith(STATUS_PATH)
    assert urllib.parse.parse_qs(urllib.parse.urlsplit(back).query) == {"key": [api.key]}
    overflow = browser.execute_script("return document.documentElement.scrollWidth")
    assert overflow <= width, f"the page is {overflow} px wide in a {width} px window"
    assert console_problems(browser) == []
    screenshot(browser, "detail", width, capsys)
    assert axe_violations(browser) == []
