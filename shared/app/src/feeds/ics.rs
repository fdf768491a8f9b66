//! A small RFC 5545 writer: text escaped (§3.3.11), lines folded at 75 octets (§3.1) without
//! splitting a UTF-8 character, CRLF line ends.

use chrono::{DateTime, Utc};

/// A calendar being written: content lines, each folded as it is added.
pub struct Ics {
    out: String,
}

impl Ics {
    pub fn new(prodid: &str) -> Ics {
        let mut ics = Ics { out: String::new() };
        ics.raw("BEGIN", "VCALENDAR");
        ics.raw("VERSION", "2.0");
        ics.text("PRODID", prodid);
        ics.raw("CALSCALE", "GREGORIAN");
        ics.raw("METHOD", "PUBLISH");
        ics
    }

    /// A property whose value is written as given (already valid for its type).
    pub fn raw(&mut self, name: &str, value: &str) {
        fold_into(&mut self.out, &format!("{name}:{value}"));
    }

    /// A TEXT property, escaped.
    pub fn text(&mut self, name: &str, value: &str) {
        self.raw(name, &escape(value));
    }

    /// A DATE-TIME property in UTC form (`19980119T070000Z`).
    pub fn time(&mut self, name: &str, at: DateTime<Utc>) {
        self.raw(name, &at.format("%Y%m%dT%H%M%SZ").to_string());
    }

    pub fn finish(mut self) -> String {
        self.raw("END", "VCALENDAR");
        self.out
    }
}

/// TEXT escaping: backslash, semicolon, comma and newline; a CR (alone or before LF) is one
/// newline; other control characters, which TEXT may not carry, are dropped.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.push_str("\\\\"),
            ';' => out.push_str("\\;"),
            ',' => out.push_str("\\,"),
            '\n' => out.push_str("\\n"),
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                out.push_str("\\n");
            }
            '\t' => out.push('\t'),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out
}

/// Appends one content line folded at 75 octets: each continuation begins with a space, which
/// counts in its line's 75, and a cut never falls inside a character.
fn fold_into(out: &mut String, line: &str) {
    const LIMIT: usize = 75;
    let mut used = 0;
    for c in line.chars() {
        let len = c.len_utf8();
        if used + len > LIMIT {
            out.push_str("\r\n ");
            used = 1;
        }
        out.push(c);
        used += len;
    }
    out.push_str("\r\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_escapes_what_rfc_5545_reserves() {
        assert_eq!(
            escape("a,b;c\\d\ne\r\nf\rg\u{7}h"),
            "a\\,b\\;c\\\\d\\ne\\nf\\ng".to_owned() + "h"
        );
    }

    #[test]
    fn long_lines_fold_at_75_octets_and_never_inside_a_character() {
        let mut out = String::new();
        let text = format!("SUMMARY:{}", "é🎉x".repeat(40));
        fold_into(&mut out, &text);
        for line in out.split("\r\n").filter(|l| !l.is_empty()) {
            assert!(line.len() <= 75, "{} octets: {line:?}", line.len());
        }
        let unfolded = out.trim_end_matches("\r\n").replace("\r\n ", "");
        assert_eq!(unfolded, text);
    }

    #[test]
    fn a_line_of_exactly_75_octets_is_not_folded() {
        let mut out = String::new();
        let line = "X".repeat(75);
        fold_into(&mut out, &line);
        assert_eq!(out, format!("{line}\r\n"));
        let mut out = String::new();
        fold_into(&mut out, &"X".repeat(76));
        assert_eq!(out, format!("{}\r\n X\r\n", "X".repeat(75)));
    }
}
