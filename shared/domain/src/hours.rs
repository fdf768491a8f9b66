//! A workspace's business hours: for each weekday, up to a few ranges of local time
//! (`{"mon":[["09:00","17:30"]]}`), read by the inbox's auto-replies. An empty week means
//! none were set.

use crate::{DomainError, FieldError};
use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, NaiveTime, TimeZone, Timelike, Utc};
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

    /// When the closed period `now` falls in began (the last closing time before it, in the
    /// workspace's time zone, DST included), or None while open or when no hours are set.
    /// Auto-replies answer an author once per closed period, so this names the period.
    pub fn closed_since<Tz: TimeZone>(&self, now: DateTime<Utc>, tz: &Tz) -> Option<DateTime<Utc>> {
        if self.is_empty() {
            return None;
        }
        let local = now.with_timezone(tz);
        let minute = (local.hour() * 60 + local.minute()) as u16;
        let today = local.date_naive();
        let weekday = |d: NaiveDate| d.weekday().num_days_from_monday() as usize;
        if self
            .day(weekday(today))
            .iter()
            .any(|r| minute >= r.start && minute < r.end)
        {
            return None;
        }
        // A week holds at least one range, so a closing lies within the last eight days.
        for back in 0..8 {
            let day = today - chrono::Days::new(back);
            for r in self.day(weekday(day)).iter().rev() {
                let end = day.and_time(NaiveTime::MIN) + chrono::Duration::minutes(r.end.into());
                if let Some(end) = resolve(tz, end).filter(|e| *e <= now) {
                    return Some(end);
                }
            }
        }
        Some(now)
    }
}

/// A local time as an instant: the earlier one when it happens twice (DST ends), the time
/// an hour on when it never happens (DST starts).
fn resolve<Tz: TimeZone>(tz: &Tz, local: NaiveDateTime) -> Option<DateTime<Utc>> {
    tz.from_local_datetime(&local)
        .earliest()
        .or_else(|| {
            tz.from_local_datetime(&(local + chrono::Duration::hours(1)))
                .earliest()
        })
        .map(|t| t.with_timezone(&Utc))
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

// `{"mon":[["09:00","17:30"]],...}` in the OpenAPI document: each named day a list of
// `[start, end]` local times; no other key.
impl utoipa::PartialSchema for BusinessHours {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ArrayBuilder, ObjectBuilder, Type};
        let time = ObjectBuilder::new()
            .schema_type(Type::String)
            .pattern(Some("^([01][0-9]|2[0-3]):[0-5][0-9]$|^24:00$"));
        let range = ArrayBuilder::new()
            .items(time)
            .min_items(Some(2))
            .max_items(Some(2));
        let day = ArrayBuilder::new()
            .items(range)
            .max_items(Some(MAX_RANGES))
            .build();
        let mut week = ObjectBuilder::new()
            .additional_properties(Some(AdditionalProperties::FreeForm(false)))
            .description(Some(
                "Each day's `[start, end]` local times (24:00 closes at midnight).",
            ));
        for d in DAYS {
            week = week.property(d, day.clone());
        }
        week.into()
    }
}

impl utoipa::ToSchema for BusinessHours {}

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

    fn utc(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().to_utc()
    }

    #[test]
    fn a_closed_period_begins_at_the_last_closing_and_none_while_open() {
        let hours = BusinessHours::parse(&json!({
            "mon": [["09:00", "17:00"]], "tue": [["09:00", "17:00"]], "fri": [["09:00", "12:00"]]
        }))
        .unwrap();
        let tz = chrono::FixedOffset::east_opt(3600).unwrap();
        // Monday 2026-11-23 10:00 local is open.
        assert_eq!(hours.closed_since(utc("2026-11-23T09:00:00Z"), &tz), None);
        // Monday 20:00 and Tuesday 08:59 local: the same period, from Monday 17:00 local.
        let period = Some(utc("2026-11-23T16:00:00Z"));
        assert_eq!(hours.closed_since(utc("2026-11-23T19:00:00Z"), &tz), period);
        assert_eq!(hours.closed_since(utc("2026-11-24T07:59:00Z"), &tz), period);
        // At the closing minute it is closed already.
        assert_eq!(hours.closed_since(utc("2026-11-23T16:00:00Z"), &tz), period);
        // The weekend reaches back to Friday's noon.
        assert_eq!(
            hours.closed_since(utc("2026-11-29T12:00:00Z"), &tz),
            Some(utc("2026-11-27T11:00:00Z"))
        );
        assert_eq!(
            BusinessHours::default().closed_since(utc("2026-11-29T12:00:00Z"), &tz),
            None
        );
    }

    #[test]
    fn touching_ranges_are_not_overlapping() {
        let hours = BusinessHours::parse(&json!({"mon": [["12:00", "13:00"], ["09:00", "12:00"]]}));
        assert!(hours.is_ok(), "{hours:?}");
    }
}
