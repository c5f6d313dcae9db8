//! The pages: the list of connectors (`/status`), one connector (`/status/{id}`), and the
//! error pages. Rendered with maud, which escapes every value it inserts: names, URLs and
//! error messages are whatever an operator or an upstream wrote.
//!
//! No external asset: the stylesheet and the refresh script are inline and allowed by
//! their hashes ([`CSP`]). Without JavaScript the page works the same, only without
//! reloading itself.

use crate::chart;
use crate::text;
use crate::trend::{Trend, WINDOWS};
use base64::Engine as _;
use chrono::{DateTime, Utc};
use maud::{html, Markup, PreEscaped, DOCTYPE};
use sha2::{Digest, Sha256};
use shared::domain::{redact, Health, State, StatusRow, UrlView};
use std::sync::OnceLock;

/// The page's stylesheet (allowed by its hash).
pub const STYLE: &str = include_str!("style.css");
/// Reloads the page every 60 s (allowed by its hash). The key travels as it came: in the
/// URL, or as the browser's remembered Basic credentials.
pub const REFRESH_SCRIPT: &str = "setTimeout(function(){location.reload()},60000);";
/// A certificate expiring within this many days is shown as a warning, as the probe logs it.
pub const CERTIFICATE_WARNING_DAYS: i64 = 14;

/// The Content-Security-Policy of every page: nothing may load, only the page's own
/// stylesheet and script run, no framing, no `<base>`, no form submission.
pub fn csp() -> &'static str {
    static CSP: OnceLock<String> = OnceLock::new();
    CSP.get_or_init(|| {
        format!(
            "default-src 'none'; style-src '{}'; script-src '{}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
            sha256_source(STYLE),
            sha256_source(REFRESH_SCRIPT)
        )
    })
}

fn sha256_source(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    format!(
        "sha256-{}",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// How the page's own links are written: relative (so a stage path in front of `/status`
/// is kept), carrying `?key=` when the page was opened with one.
#[derive(Debug, Clone, Default)]
pub struct Links {
    key: Option<String>,
}

/// Where a page is, for its relative links.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    /// `/status`.
    List,
    /// `/status/{id}`.
    Detail,
}

impl Links {
    /// Links that carry `key` (the `?key=` the page was opened with), or none.
    pub fn new(key: Option<String>) -> Self {
        Self { key }
    }

    fn prefix(from: Place) -> &'static str {
        match from {
            Place::List => "status",
            Place::Detail => "../status",
        }
    }

    fn query(&self, state: Option<&str>) -> String {
        let mut q = form_urlencoded::Serializer::new(String::new());
        if let Some(state) = state {
            q.append_pair("state", state);
        }
        if let Some(key) = &self.key {
            q.append_pair("key", key);
        }
        match q.finish() {
            s if s.is_empty() => s,
            s => format!("?{s}"),
        }
    }

    /// The list, filtered to `state` when given.
    pub fn list(&self, from: Place, state: Option<State>) -> String {
        format!(
            "{}{}",
            Self::prefix(from),
            self.query(state.map(State::as_str))
        )
    }

    /// One connector's page.
    pub fn detail(&self, from: Place, id: u32) -> String {
        format!("{}/{id}{}", Self::prefix(from), self.query(None))
    }
}

/// What a page is rendered with besides its rows.
#[derive(Debug, Clone)]
pub struct Context {
    pub now: DateTime<Utc>,
    pub links: Links,
    /// The history could not be read: the page says so instead of "no history yet".
    pub history_unavailable: bool,
}

fn history_note(ctx: &Context) -> Markup {
    html! {
        @if ctx.history_unavailable {
            p.none role="status" { "History could not be read just now; it shows again on a later reload." }
        }
    }
}

/// One connector as the pages show it.
#[derive(Debug, Clone, Copy)]
pub struct Listed<'a> {
    pub row: &'a StatusRow,
    /// The last check is older than three probe intervals.
    pub stale: bool,
    /// Its history; `None` when there is none yet.
    pub trend: Option<&'a Trend>,
}

/// Something the operator should act on before it fails a check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Warning {
    /// The server certificate expires within [`CERTIFICATE_WARNING_DAYS`].
    CertificateExpires { at: DateTime<Utc> },
    /// The server certificate has expired (the check fails too).
    CertificateExpired { at: DateTime<Utc> },
    /// The connector's own credentials expire within [`CERTIFICATE_WARNING_DAYS`] (their
    /// expiry date as the operator gave it).
    CredentialsExpire { at: DateTime<Utc> },
    /// The connector's own credentials are past their expiry date.
    CredentialsExpired { at: DateTime<Utc> },
}

/// The warnings of a row at `now`. Each kind of expiry the table records joins here.
pub fn warnings(row: &StatusRow, now: DateTime<Utc>) -> Vec<Warning> {
    let mut out = Vec::new();
    if let Some(at) = row.connector.diagnostics.certificate_expires_at {
        if at <= now {
            out.push(Warning::CertificateExpired { at });
        } else if at - now <= chrono::Duration::days(CERTIFICATE_WARNING_DAYS) {
            out.push(Warning::CertificateExpires { at });
        }
    }
    if let Some(at) = row.connector.diagnostics.credentials_expire_at {
        if at <= now {
            out.push(Warning::CredentialsExpired { at });
        } else if at - now <= chrono::Duration::days(CERTIFICATE_WARNING_DAYS) {
            out.push(Warning::CredentialsExpire { at });
        }
    }
    out
}

/// The URL as the page shows it: the API's view (no password, no secret query values)
/// without a user name either.
pub fn shown_url(url: &str) -> String {
    let api = redact(url, UrlView::Api);
    match url::Url::parse(&api) {
        Ok(mut u) if !u.username().is_empty() => {
            let _ = u.set_username("");
            u.to_string()
        }
        _ => api.into_owned(),
    }
}

/// The order of the list: failing first, then unknown, then healthy.
fn rank(state: State) -> u8 {
    match state {
        State::Error => 0,
        State::Unknown => 1,
        State::Healthy => 2,
    }
}

/// Failing connectors first, then unknown, then healthy; by name within each.
pub fn order(rows: &mut [Listed<'_>]) {
    rows.sort_by(|a, b| {
        let (ca, cb) = (&a.row.connector, &b.row.connector);
        rank(ca.health.state())
            .cmp(&rank(cb.health.state()))
            .then_with(|| ca.name.to_lowercase().cmp(&cb.name.to_lowercase()))
            .then_with(|| ca.id.cmp(&cb.id))
    });
}

/// How many connectors are in each state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub healthy: usize,
    pub error: usize,
    pub unknown: usize,
}

impl Counts {
    pub fn of(states: impl IntoIterator<Item = State>) -> Self {
        let mut c = Self::default();
        for s in states {
            match s {
                State::Healthy => c.healthy += 1,
                State::Error => c.error += 1,
                State::Unknown => c.unknown += 1,
            }
        }
        c
    }

    pub fn total(&self) -> usize {
        self.healthy + self.error + self.unknown
    }
}

/// The banner's text and its class (`good`, `warn`, `bad`).
pub fn banner(c: &Counts) -> (String, &'static str) {
    let total = c.total();
    if total == 0 {
        return ("No connectors yet".to_owned(), "warn");
    }
    let unknown = match c.unknown {
        0 => String::new(),
        n => format!(", {n} not checked yet"),
    };
    if c.error > 0 {
        (format!("{} of {total} failing{unknown}", c.error), "bad")
    } else if c.unknown > 0 {
        (format!("{} of {total} healthy{unknown}", c.healthy), "warn")
    } else if total == 1 {
        ("The connector is healthy".to_owned(), "good")
    } else {
        (format!("All {total} connectors healthy"), "good")
    }
}

fn state_word(s: State) -> &'static str {
    match s {
        State::Healthy => "Healthy",
        State::Error => "Failing",
        State::Unknown => "Unknown",
    }
}

fn layout(title: &str, body: Markup) -> String {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                meta name="referrer" content="no-referrer";
                meta name="robots" content="noindex";
                title { (title) }
                style { (PreEscaped(STYLE)) }
            }
            body {
                (body)
            }
        }
    }
    .into_string()
}

/// The footer (when the page was made, that it reloads, and whether any history shown was
/// made up for the demo) and the reload script.
fn refresh(now: DateTime<Utc>, demo: bool) -> Markup {
    html! {
        footer {
            p {
                "As of " time datetime=(text::machine(now)) { (text::full(now)) } ". "
                "This page reloads every 60 s."
            }
            @if demo {
                p.demo { "Demo data: the history shown was made up for the demo." }
            }
        }
        script { (PreEscaped(REFRESH_SCRIPT)) }
    }
}

/// A state's badge: its word, after its sign (`✓`, `✕`, `?`, from the stylesheet), in its
/// colour.
fn badge(state: State) -> Markup {
    let word = state_word(state);
    html! {
        span class={"badge " (state.as_str())} { (word) }
    }
}

fn timed(at: DateTime<Utc>, shown: String) -> Markup {
    html! { time datetime=(text::machine(at)) { (shown) } }
}

/// A moment in a fact: a `<time>` on a connector's page; plain text in the list, which
/// carries a hundred of them (the moment is in the words or on the connector's page).
fn fact_time(detail: bool, at: DateTime<Utc>, shown: String) -> Markup {
    html! {
        @if detail { (timed(at, shown)) } @else { (shown) }
    }
}

/// The facts of one connector: when it was checked, since when it is up or down, uptime,
/// response time, warnings.
fn facts(ctx: &Context, item: &Listed<'_>, detail: bool) -> Markup {
    let c = &item.row.connector;
    let now = ctx.now;
    let d = &c.diagnostics;
    html! {
        dl.facts {
            div {
                dt { "Checked" }
                dd {
                    @match c.health.last_checked() {
                        Some(at) => { (fact_time(detail, at, text::ago(now, at))) }
                        None => "not yet",
                    }
                    @if item.stale { " " span.tag { "stale" } }
                }
            }
            @if let Some(since) = d.state_changed_at {
                @let label = match c.health.state() {
                    State::Error => Some("Down since"),
                    State::Healthy => Some("Up since"),
                    State::Unknown => None,
                };
                @if let Some(label) = label {
                    div {
                        dt { (label) }
                        dd { (fact_time(detail, since, text::moment(now, since))) " (" (text::duration((now - since).num_seconds())) ")" }
                    }
                }
            }
            div {
                dt { "Uptime" }
                dd {
                    @match item.trend.filter(|t| t.has_checks()) {
                        Some(t) => {
                            @for (i, label) in WINDOWS.iter().enumerate() {
                                @if i > 0 { " · " }
                                (label) " "
                                @match t.uptime[i] {
                                    Some(p) => b { (text::percent(p)) },
                                    None => "–",
                                }
                            }
                        }
                        None => span.none { "no history yet" },
                    }
                }
            }
            div {
                dt { "Response" }
                dd {
                    @match d.response_time_ms {
                        Some(ms) => { (ms) " ms" }
                        None => "–",
                    }
                    @if let Some(spark) = item.trend.and_then(|t| chart::sparkline(&t.hourly)) {
                        " " (spark)
                    }
                }
            }
            @if let Some(status) = d.http_status.filter(|_| detail) {
                div { dt { "HTTP status" } dd { (status) } }
            }
        }
        @let warnings = warnings(item.row, now);
        @if !warnings.is_empty() {
            ul.warnings {
                @for w in &warnings {
                    li {
                        @match w {
                            Warning::CertificateExpires { at } => {
                                "Certificate expires in " (text::duration((*at - now).num_seconds())) " (" (timed(*at, text::moment(now, *at))) ")."
                            }
                            Warning::CertificateExpired { at } => {
                                "Certificate expired " (timed(*at, text::ago(now, *at))) "."
                            }
                            Warning::CredentialsExpire { at } => {
                                "Credentials expire in " (text::duration((*at - now).num_seconds())) " (" (timed(*at, text::moment(now, *at))) ")."
                            }
                            Warning::CredentialsExpired { at } => {
                                "Credentials expired " (timed(*at, text::ago(now, *at))) "."
                            }
                        }
                    }
                }
            }
        }
    }
}

fn feed_type(row: &StatusRow) -> &str {
    row.feed_type.as_deref().map(str::trim).unwrap_or("generic")
}

fn message(health: &Health) -> Option<&str> {
    match health {
        Health::Error { message, .. } => Some(message),
        _ => None,
    }
}

fn card(ctx: &Context, item: &Listed<'_>) -> Markup {
    let c = &item.row.connector;
    let state = c.health.state();
    html! {
        li class={"c " (state.as_str())} id={"c" (c.id.get())} {
            div.top {
                (badge(state))
                h2 { a href=(ctx.links.detail(Place::List, c.id.get())) { (c.name) } }
                span.feed { (feed_type(item.row)) }
            }
            p.url { (shown_url(&c.url)) }
            @if let Some(m) = message(&c.health) { p.msg { (m) } }
            (facts(ctx, item, false))
        }
    }
}

/// The list page. `filter`: the states `?state=` asked for (`None`: all).
pub fn list_page(ctx: &Context, rows: &[Listed<'_>], filter: Option<&[State]>) -> String {
    let counts = Counts::of(rows.iter().map(|r| r.row.connector.health.state()));
    let (banner_text, banner_class) = banner(&counts);
    let mut shown: Vec<Listed<'_>> = rows
        .iter()
        .filter(|r| filter.is_none_or(|f| f.contains(&r.row.connector.health.state())))
        .copied()
        .collect();
    order(&mut shown);
    let current = match filter {
        None => Some(None),
        Some([one]) => Some(Some(*one)),
        Some(_) => None,
    };
    let tabs = [
        (None, "All", counts.total()),
        (Some(State::Error), "Failing", counts.error),
        (Some(State::Unknown), "Unknown", counts.unknown),
        (Some(State::Healthy), "Healthy", counts.healthy),
    ];
    let title = format!("Connector health: {banner_text}");
    layout(
        &title,
        html! {
            header {
                h1 { "Connector health" }
                p class={"banner " (banner_class)} role="status" { (banner_text) }
            }
            nav aria-label="Filter by state" {
                ul.filter {
                    @for (state, label, n) in tabs {
                        li {
                            @let href = ctx.links.list(Place::List, state);
                            @if current == Some(state) {
                                a href=(href) aria-current="page" { (label) " (" (n) ")" }
                            } @else {
                                a href=(href) { (label) " (" (n) ")" }
                            }
                        }
                    }
                }
            }
            main {
                (history_note(ctx))
                @if shown.is_empty() {
                    p.empty { @if counts.total() == 0 { "No connectors are registered." } @else { "No connector is in this state." } }
                } @else {
                    ul.connectors {
                        @for item in &shown { (card(ctx, item)) }
                    }
                }
            }
            (refresh(ctx.now, shown.iter().any(|i| i.trend.is_some_and(|t| t.demo))))
        },
    )
}

/// One connector's page: its facts, uptime per day over 90 days, response time per hour
/// over 24 hours, and its last checks.
pub fn detail_page(ctx: &Context, item: &Listed<'_>) -> String {
    let c = &item.row.connector;
    let state = c.health.state();
    let trend = item.trend.filter(|t| t.has_checks());
    let no_history =
        html! { p.none { "No history yet: the charts fill in as checks are recorded." } };
    layout(
        &format!("{} ({}): connector health", c.name, state_word(state)),
        html! {
            header {
                p { a href=(ctx.links.list(Place::Detail, None)) { "\u{2190} All connectors" } }
                h1 { (c.name) }
            }
            main {
                (history_note(ctx))
                section class={"c " (state.as_str())} aria-label="Current state" {
                    div.top {
                        (badge(state))
                        span.feed { (feed_type(item.row)) }
                    }
                    p.url { (shown_url(&c.url)) }
                    @if let Some(m) = message(&c.health) { p.msg { (m) } }
                    (facts(ctx, item, true))
                }
                section {
                    h2 { "Uptime per day, last 90 days" }
                    @match trend.filter(|t| !t.daily.is_empty()) {
                        Some(t) => {
                            div.chart { (chart::daily_uptime(&t.daily)) }
                            p.axis aria-hidden="true" {
                                span { (t.daily[0].date.format("%Y-%m-%d")) }
                                span { "today" }
                            }
                        }
                        None => (no_history),
                    }
                }
                section {
                    h2 { "Response time per hour, last 24 hours" }
                    @match trend.and_then(|t| chart::hourly_response(&t.hourly).map(|svg| (t, svg))) {
                        Some((t, svg)) => {
                            div.chart { (svg) }
                            p.axis aria-hidden="true" {
                                span { "24 h ago" }
                                span { "slowest hour " (t.hourly.iter().filter_map(|(_, ms)| *ms).max().unwrap_or_default()) " ms" }
                                span { "now" }
                            }
                        }
                        None => (no_history),
                    }
                }
                section {
                    h2 { "Last checks" }
                    @match trend.filter(|t| !t.recent.is_empty()) {
                        Some(t) => {
                            div.scroll tabindex="0" role="region" aria-label="Last checks" {
                                table {
                                    thead { tr { th scope="col" { "Checked" } th scope="col" { "State" } th scope="col" { "Response" } th scope="col" { "Message" } } }
                                    tbody {
                                        @for check in &t.recent {
                                            tr {
                                                td { (timed(check.at, text::full(check.at))) }
                                                td { (badge(check.state)) }
                                                td { @match check.response_time_ms { Some(ms) => { (ms) " ms" } None => "–" } }
                                                td { (check.message.as_deref().unwrap_or("")) }
                                            }
                                        }
                                    }
                                }
                            }
                        }
                        None => (no_history),
                    }
                }
            }
            (refresh(ctx.now, trend.is_some_and(|t| t.demo)))
        },
    )
}

/// An error page: a heading, one sentence, and a way back to the list.
pub fn error_page(title: &str, text: &str, back: Option<String>) -> String {
    layout(
        title,
        html! {
            main {
                h1 { (title) }
                p { (text) }
                @if let Some(href) = back { p { a href=(href) { "All connectors" } } }
            }
        },
    )
}
