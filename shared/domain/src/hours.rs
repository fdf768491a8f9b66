//! A workspace's business hours: for each weekday, up to a few ranges of local time
//! (`{"mon":[["09:00","17:30"]]}`), read by the inbox's auto-replies. An empty week means
//! none were set.

use crate::{DomainError, FieldError};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::collections::BTreeMap;

/// Days as the API spells them, in week order.
pub const DAYS: [&str; 7] = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
/// Ranges in one day: enough for a split shift and a lunch break, no more.
pub const MAX_RANGES: usize = 4;
const DAY_MINUTES: u16 = 24 * 60;

/// Minutes after local midnight, `start < end`; an end of 24:00 closes at midnight.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Range {
    pub start: u16,
    pub end: u16,
}

/// The week's ranges by day index (0 = Monday), each day sorted and without overlaps.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BusinessHours(BTreeMap<usize, Vec<Range>>);

impl BusinessHours {
    /// Reads the API's shape, naming the offending part (`business_hours.mon[0]`).
    pub fn parse(value: &serde_json::Value) -> Result<BusinessHours, DomainError> {
        const FIELD: &str = "business_hours";
        let days = value.as_object().ok_or_else(|| {
            DomainError::field(
                FIELD,
                r#"must be an object of days, like {"mon":[["09:00","17:30"]]}"#,
            )
        })?;
        let mut errors = Vec::new();
        let mut week = BTreeMap::new();
        for (day, ranges) in days {
            let field = format!("{FIELD}.{day}");
            let Some(index) = DAYS.iter().position(|d| d == day) else {
                errors.push(FieldError::new(
                    field,
                    format!("unknown day: use {}", DAYS.join(", ")),
                ));
                continue;
            };
            match parse_day(&field, ranges) {
                Ok(ranges) if ranges.is_empty() => {}
                Ok(ranges) => {
                    week.insert(index, ranges);
                }
                Err(mut e) => errors.append(&mut e),
            }
        }
        if errors.is_empty() {
            Ok(BusinessHours(week))
        } else {
            Err(DomainError::Invalid(errors))
        }
    }

    pub fn day(&self, index: usize) -> &[Range] {
        self.0.get(&index).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

fn parse_day(field: &str, value: &serde_json::Value) -> Result<Vec<Range>, Vec<FieldError>> {
    let Some(list) = value.as_array() else {
        return Err(vec![FieldError::new(
            field,
            r#"must be a list of ranges like [["09:00","17:30"]]"#,
        )]);
    };
    if list.len() > MAX_RANGES {
        return Err(vec![FieldError::new(
            field,
            format!("at most {MAX_RANGES} ranges a day"),
        )]);
    }
    let mut errors = Vec::new();
    let mut ranges: Vec<(usize, Range)> = Vec::new();
    for (i, raw) in list.iter().enumerate() {
        let at = format!("{field}[{i}]");
        match parse_range(raw) {
            Ok(r) => ranges.push((i, r)),
            Err(message) => errors.push(FieldError::new(at, message)),
        }
    }
    ranges.sort_by_key(|(_, r)| *r);
    for pair in ranges.windows(2) {
        let ((_, a), (later, b)) = (pair[0], pair[1]);
        if b.start < a.end {
            errors.push(FieldError::new(
                format!("{field}[{later}]"),
                format!("overlaps {}–{}", clock(a.start), clock(a.end)),
            ));
        }
    }
    if errors.is_empty() {
        Ok(ranges.into_iter().map(|(_, r)| r).collect())
    } else {
        Err(errors)
    }
}

fn parse_range(raw: &serde_json::Value) -> Result<Range, String> {
    let shape = || r#"must be ["HH:MM","HH:MM"], opening then closing"#.to_owned();
    let [start, end] = raw.as_array().map(Vec::as_slice).ok_or_else(shape)? else {
        return Err(shape());
    };
    let (Some(start), Some(end)) = (start.as_str(), end.as_str()) else {
        return Err(shape());
    };
    let start = minutes(start)
        .filter(|m| *m < DAY_MINUTES)
        .ok_or_else(|| format!("{start:?} is not an opening time HH:MM from 00:00 to 23:59"))?;
    let end = minutes(end)
        .ok_or_else(|| format!("{end:?} is not a closing time HH:MM from 00:01 to 24:00"))?;
    if end <= start {
        return Err(format!(
            "closes at {} but opens at {}: the range must end after it starts",
            clock(end),
            clock(start)
        ));
    }
    Ok(Range { start, end })
}

/// `HH:MM`, two digits each, up to 24:00.
fn minutes(s: &str) -> Option<u16> {
    let (h, m) = s.split_once(':')?;
    if h.len() != 2 || m.len() != 2 || !(h.bytes().chain(m.bytes())).all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    let total = h * 60 + m;
    (m < 60 && total <= DAY_MINUTES).then_some(total)
}

fn clock(minutes: u16) -> String {
    format!("{:02}:{:02}", minutes / 60, minutes % 60)
}

impl Serialize for BusinessHours {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let map: BTreeMap<usize, Vec<[String; 2]>> = self
            .0
            .iter()
            .map(|(d, rs)| {
                (
                    *d,
                    rs.iter().map(|r| [clock(r.start), clock(r.end)]).collect(),
                )
            })
            .collect();
        // Days in week order, named.
        use serde::ser::SerializeMap;
        let mut out = s.serialize_map(Some(map.len()))?;
        for (d, rs) in map {
            out.serialize_entry(DAYS[d], &rs)?;
        }
        out.end()
    }
}

impl<'de> Deserialize<'de> for BusinessHours {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let value = serde_json::Value::deserialize(d)?;
        BusinessHours::parse(&value).map_err(|e| serde::de::Error::custom(format!("{e:?}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn fields(value: serde_json::Value) -> Vec<String> {
        match BusinessHours::parse(&value) {
            Err(DomainError::Invalid(errors)) => errors.into_iter().map(|e| e.field).collect(),
            other => panic!("{value} gave {other:?}"),
        }
    }

    #[test]
    fn a_week_round_trips_in_week_order_with_ranges_sorted() {
        let hours = BusinessHours::parse(&json!({
            "fri": [["13:00", "24:00"], ["08:00", "12:00"]],
            "mon": [["09:00", "17:30"]],
            "sun": []
        }))
        .unwrap();
        let text = serde_json::to_string(&hours).unwrap();
        assert_eq!(
            text,
            r#"{"mon":[["09:00","17:30"]],"fri":[["08:00","12:00"],["13:00","24:00"]]}"#
        );
        let back: BusinessHours = serde_json::from_str(&text).unwrap();
        assert_eq!(back, hours);
        assert_eq!(
            hours.day(0),
            &[Range {
                start: 540,
                end: 1050
            }]
        );
    }

    #[test]
    fn bad_ranges_are_named_by_day_and_position() {
        assert_eq!(
            fields(json!({"mon": [["09:00", "08:00"]]})),
            ["business_hours.mon[0]"]
        );
        assert_eq!(
            fields(json!({"mon": [["09:00", "09:00"]]})),
            ["business_hours.mon[0]"]
        );
        assert_eq!(
            fields(json!({"tue": [["09:00", "12:00"], ["11:59", "13:00"]]})),
            ["business_hours.tue[1]"]
        );
        assert_eq!(fields(json!({"funday": []})), ["business_hours.funday"]);
        assert_eq!(fields(json!({"Mon": []})), ["business_hours.Mon"]);
        for bad in ["9:00", "24:01", "12:60", "ab:cd", "+1:00", "09:00:00", ""] {
            assert_eq!(
                fields(json!({"wed": [[bad, "23:00"]]})),
                ["business_hours.wed[0]"],
                "{bad}"
            );
        }
        assert_eq!(
            fields(json!({"wed": [["24:00", "24:00"]]})),
            ["business_hours.wed[0]"]
        );
        assert_eq!(
            fields(json!({"thu": [["09:00"]]})),
            ["business_hours.thu[0]"]
        );
        assert_eq!(fields(json!({"thu": [[9, 17]]})), ["business_hours.thu[0]"]);
        assert_eq!(
            fields(json!({"thu": "09:00-17:00"})),
            ["business_hours.thu"]
        );
        let five: Vec<_> = (0..5)
            .map(|h| [format!("0{h}:00"), format!("0{h}:30")])
            .collect();
        assert_eq!(fields(json!({"sat": five})), ["business_hours.sat"]);
        assert_eq!(fields(json!(["mon"])), ["business_hours"]);
    }

    #[test]
    fn touching_ranges_are_not_overlapping() {
        let hours = BusinessHours::parse(&json!({"mon": [["12:00", "13:00"], ["09:00", "12:00"]]}));
        assert!(hours.is_ok(), "{hours:?}");
    }
}
