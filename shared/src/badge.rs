//! Badges, as values and text (no HTTP): a connector's state or uptime as a flat
//! shields.io-style SVG, or as the JSON of shields.io's endpoint badge
//! (`https://img.shields.io/endpoint?url=...`).

use crate::domain::State;
use crate::history::{HourTotals, Window};
use serde::Serialize;

/// The longest label shown, in characters (longer names end with `…`).
pub const MAX_LABEL_CHARS: usize = 40;
/// The label when a connector has no name to show.
pub const DEFAULT_LABEL: &str = "connector";

/// A badge colour, by its shields.io name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Color {
    BrightGreen,
    Green,
    YellowGreen,
    Yellow,
    Orange,
    Red,
    LightGrey,
}

impl Color {
    /// The shields.io name (the endpoint JSON's `color`).
    pub fn name(self) -> &'static str {
        match self {
            Color::BrightGreen => "brightgreen",
            Color::Green => "green",
            Color::YellowGreen => "yellowgreen",
            Color::Yellow => "yellow",
            Color::Orange => "orange",
            Color::Red => "red",
            Color::LightGrey => "lightgrey",
        }
    }

    /// The fill shields.io draws for it.
    pub fn hex(self) -> &'static str {
        match self {
            Color::BrightGreen => "#4c1",
            Color::Green => "#97ca00",
            Color::YellowGreen => "#a4a61d",
            Color::Yellow => "#dfb317",
            Color::Orange => "#fe7d37",
            Color::Red => "#e05d44",
            Color::LightGrey => "#9f9f9f",
        }
    }
}

/// What a badge says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Badge {
    pub label: String,
    pub message: String,
    pub color: Color,
}

/// `name`, on one line, at most [`MAX_LABEL_CHARS`] characters; [`DEFAULT_LABEL`] when blank.
fn label_of(name: &str) -> String {
    let one_line: String = name
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = one_line.trim();
    if trimmed.is_empty() {
        return DEFAULT_LABEL.to_owned();
    }
    if trimmed.chars().count() <= MAX_LABEL_CHARS {
        return trimmed.to_owned();
    }
    let mut cut: String = trimmed.chars().take(MAX_LABEL_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// `up / checks` as a percentage rounded down to two decimals, without trailing zeros
/// (`100%`, `99.8%`, `99.95%`): never `100%` while a check failed.
pub fn percent_text(totals: &HourTotals) -> Option<String> {
    if totals.checks == 0 {
        return None;
    }
    let hundredths = u128::from(totals.up.min(totals.checks)) * 10_000 / u128::from(totals.checks);
    let (whole, frac) = (hundredths / 100, hundredths % 100);
    Some(match frac {
        0 => format!("{whole}%"),
        f if f % 10 == 0 => format!("{whole}.{}%", f / 10),
        f => format!("{whole}.{f:02}%"),
    })
}

impl Badge {
    /// The connector's state: green when healthy, red in error, grey when unknown.
    pub fn state(name: &str, state: State) -> Self {
        Self {
            label: label_of(name),
            message: state.as_str().to_owned(),
            color: match state {
                State::Healthy => Color::BrightGreen,
                State::Error => Color::Red,
                State::Unknown => Color::LightGrey,
            },
        }
    }

    /// Uptime over `window`: `uptime 7d` / `99.8%`, coloured by how close it is to 100 %;
    /// `no data` in grey without checks.
    pub fn uptime(window: Window, totals: &HourTotals) -> Self {
        let label = format!("uptime {}", window.label());
        let Some(message) = percent_text(totals) else {
            return Self {
                label,
                message: "no data".to_owned(),
                color: Color::LightGrey,
            };
        };
        let ten_thousandths = totals.up.min(totals.checks) * 10_000 / totals.checks;
        let color = match ten_thousandths {
            9_990.. => Color::BrightGreen,
            9_900.. => Color::Green,
            9_700.. => Color::YellowGreen,
            9_500.. => Color::Yellow,
            9_000.. => Color::Orange,
            _ => Color::Red,
        };
        Self {
            label,
            message,
            color,
        }
    }

    /// shields.io's endpoint badge JSON.
    pub fn endpoint_json(&self) -> Endpoint<'_> {
        Endpoint {
            schema_version: 1,
            label: &self.label,
            message: &self.message,
            color: self.color.name(),
            cache_seconds: CACHE_SECONDS,
        }
    }

    /// The flat-style SVG.
    pub fn svg(&self) -> String {
        let (label, message) = (xml_escape(&self.label), xml_escape(&self.message));
        let label_text = text_width(&self.label);
        let message_text = text_width(&self.message);
        // 5 px of padding each side of each text, in tenths of a pixel.
        let label_box = label_text + 100;
        let message_box = message_text + 100;
        let (lw, mw) = (label_box.div_ceil(10), message_box.div_ceil(10));
        let w = lw + mw;
        let label_x = label_box / 2;
        let message_x = lw * 10 + message_box / 2;
        let color = self.color.hex();
        format!(
            concat!(
                r##"<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="20" role="img" aria-label="{label}: {message}">"##,
                r##"<title>{label}: {message}</title>"##,
                r##"<linearGradient id="s" x2="0" y2="100%"><stop offset="0" stop-color="#bbb" stop-opacity=".1"/><stop offset="1" stop-opacity=".1"/></linearGradient>"##,
                r##"<clipPath id="r"><rect width="{w}" height="20" rx="3" fill="#fff"/></clipPath>"##,
                r##"<g clip-path="url(#r)"><rect width="{lw}" height="20" fill="#555"/><rect x="{lw}" width="{mw}" height="20" fill="{color}"/><rect width="{w}" height="20" fill="url(#s)"/></g>"##,
                r##"<g fill="#fff" text-anchor="middle" font-family="Verdana,Geneva,DejaVu Sans,sans-serif" text-rendering="geometricPrecision" font-size="110">"##,
                r##"<text aria-hidden="true" x="{label_x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{label_text}">{label}</text>"##,
                r##"<text x="{label_x}" y="140" transform="scale(.1)" fill="#fff" textLength="{label_text}">{label}</text>"##,
                r##"<text aria-hidden="true" x="{message_x}" y="150" fill="#010101" fill-opacity=".3" transform="scale(.1)" textLength="{message_text}">{message}</text>"##,
                r##"<text x="{message_x}" y="140" transform="scale(.1)" fill="#fff" textLength="{message_text}">{message}</text>"##,
                r##"</g></svg>"##,
            ),
            w = w,
            lw = lw,
            mw = mw,
            color = color,
            label = label,
            message = message,
            label_x = label_x,
            message_x = message_x,
            label_text = label_text,
            message_text = message_text,
        )
    }
}

/// How long a client or proxy may keep a badge, in seconds.
pub const CACHE_SECONDS: u32 = 300;

/// shields.io's endpoint badge schema.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Endpoint<'a> {
    pub schema_version: u8,
    pub label: &'a str,
    pub message: &'a str,
    pub color: &'static str,
    pub cache_seconds: u32,
}

/// Text made safe for XML character data and attribute values: the five special
/// characters escaped, and characters XML 1.0 does not allow left out.
pub fn xml_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(' '),
            c if (c as u32) < 0x20 || matches!(c, '\u{FFFE}' | '\u{FFFF}') => {}
            c => out.push(c),
        }
    }
    out
}

/// The width of `text` in Verdana at 11 px, in tenths of a pixel (close to the widths
/// shields.io measures; the SVG's `textLength` makes the text fill exactly this).
pub fn text_width(text: &str) -> u32 {
    text.chars()
        .map(|c| match c {
            ' ' => 39,
            'i' | 'l' | '.' | ',' | ':' | ';' | '\'' | '!' | '|' => 38,
            'f' | 'j' | 'r' | 't' | 'I' | '(' | ')' | '[' | ']' | '{' | '}' | '-' => 45,
            'm' | 'w' | 'M' | 'W' | '%' => 105,
            'A'..='Z' => 75,
            '0'..='9' => 70,
            'a'..='z' => 65,
            c if c.is_ascii() => 70,
            _ => 80,
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn totals(checks: u64, up: u64) -> HourTotals {
        HourTotals {
            checks,
            up,
            up_response_ms: 0,
        }
    }

    /// The texts of the SVG's visible `<text>` elements, and its title.
    fn parsed(svg: &str) -> (Vec<String>, String) {
        let doc = roxmltree::Document::parse(svg).expect("well-formed SVG");
        let root = doc.root_element();
        assert_eq!(root.tag_name().name(), "svg");
        assert_eq!(
            root.tag_name().namespace(),
            Some("http://www.w3.org/2000/svg")
        );
        let texts = root
            .descendants()
            .filter(|n| n.has_tag_name("text") && n.attribute("aria-hidden").is_none())
            .map(|n| n.text().unwrap_or_default().to_owned())
            .collect();
        let title = root
            .descendants()
            .find(|n| n.has_tag_name("title"))
            .and_then(|n| n.text())
            .unwrap_or_default()
            .to_owned();
        (texts, title)
    }

    #[test]
    fn the_state_badge_says_the_state_in_its_colour() {
        for (state, colour) in [
            (State::Healthy, "#4c1"),
            (State::Error, "#e05d44"),
            (State::Unknown, "#9f9f9f"),
        ] {
            let badge = Badge::state("nuget.org", state);
            let svg = badge.svg();
            let (texts, title) = parsed(&svg);
            assert_eq!(texts, ["nuget.org", state.as_str()]);
            assert_eq!(title, format!("nuget.org: {}", state.as_str()));
            assert!(svg.contains(&format!(r#"fill="{colour}""#)), "{svg}");
        }
    }

    #[test]
    fn names_are_escaped_shortened_and_never_break_the_svg() {
        let name = "<script>alert('x')</script> & \"friends\"\u{0}\u{7}";
        let badge = Badge::state(name, State::Error);
        let (texts, _) = parsed(&badge.svg());
        assert_eq!(texts[0], "<script>alert('x')</script> & \"friends\"");
        assert!(!badge.svg().contains("<script>"));
        let long = Badge::state(&"é".repeat(100), State::Healthy);
        assert_eq!(long.label.chars().count(), MAX_LABEL_CHARS);
        assert!(long.label.ends_with('…'));
        parsed(&long.svg());
        assert_eq!(Badge::state("  ", State::Healthy).label, DEFAULT_LABEL);
    }

    #[test]
    fn the_badge_is_as_wide_as_its_texts() {
        let short = Badge::state("a", State::Error).svg();
        let long = Badge::state("a much longer connector name", State::Error).svg();
        let width = |svg: &str| {
            let doc = roxmltree::Document::parse(svg).unwrap();
            doc.root_element()
                .attribute("width")
                .unwrap()
                .parse::<u32>()
                .unwrap()
        };
        assert!(width(&long) > width(&short) + 100);
        assert!(width(&short) >= 20 + (text_width("a") + text_width("error")) / 10);
    }

    #[test]
    fn uptime_badges_round_down_and_colour_by_the_share() {
        let b = Badge::uptime(Window::Week, &totals(1000, 998));
        assert_eq!(
            (b.label.as_str(), b.message.as_str(), b.color),
            ("uptime 7d", "99.8%", Color::Green)
        );
        assert_eq!(Badge::uptime(Window::Day, &totals(10, 10)).message, "100%");
        assert_eq!(
            Badge::uptime(Window::Day, &totals(10, 10)).color,
            Color::BrightGreen
        );
        assert_eq!(
            Badge::uptime(Window::Day, &totals(100_000, 99_999)).message,
            "99.99%"
        );
        assert_eq!(Badge::uptime(Window::Day, &totals(3, 1)).message, "33.33%");
        assert_eq!(Badge::uptime(Window::Day, &totals(3, 1)).color, Color::Red);
        let none = Badge::uptime(Window::Quarter, &totals(0, 0));
        assert_eq!(
            (none.label.as_str(), none.message.as_str(), none.color),
            ("uptime 90d", "no data", Color::LightGrey)
        );
        let (texts, _) = parsed(&Badge::uptime(Window::Month, &totals(1000, 998)).svg());
        assert_eq!(texts, ["uptime 30d", "99.8%"]);
    }

    #[test]
    fn the_endpoint_json_follows_the_shields_schema() {
        let json =
            serde_json::to_value(Badge::state("a \"b\"", State::Healthy).endpoint_json()).unwrap();
        // Required: schemaVersion 1, label and message strings; color a string.
        assert_eq!(json["schemaVersion"], 1);
        assert_eq!(json["label"], "a \"b\"");
        assert_eq!(json["message"], "healthy");
        assert_eq!(json["color"], "brightgreen");
        assert!(json["cacheSeconds"].as_u64().unwrap() >= 300);
        let keys: Vec<&str> = json
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for k in &keys {
            assert!(
                ["schemaVersion", "label", "message", "color", "cacheSeconds"].contains(k),
                "{k}"
            );
        }
    }
}
