use crate::audit::Actor;
use crate::error::{DomainError, FieldError};
use crate::ids::{AccountId, MediaId, PostId, WorkspaceId};
use crate::platform::Platform;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// The first character `text` must not hold, if any: a control character (Unicode Cc: NUL,
/// ESC, DEL, C1 ...) other than newline and tab where the text may span lines, or a bidi
/// embedding or override (U+202A–U+202E), which can make a text display as something else
/// than it is. Bidi isolates and marks (U+2066–U+2069, U+200E/U+200F) stay allowed: right-to-
/// left writing needs them.
pub fn unprintable(text: &str, multiline: bool) -> Option<char> {
    text.chars().find(|&c| {
        let allowed_space = multiline && (c == '\n' || c == '\t');
        (c.is_control() && !allowed_space) || ('\u{202A}'..='\u{202E}').contains(&c)
    })
}

/// The message for a refused character: which one, as a code point (it may not print).
pub fn refusal(c: char, multiline: bool) -> String {
    let allowed = if multiline {
        " (newline and tab are allowed)"
    } else {
        ""
    };
    format!(
        "must not hold control characters: found U+{:04X}{allowed}",
        c as u32
    )
}

/// Social posts build the audience; promotional ones sell. Teams keep promotion near 20%.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostKind {
    #[default]
    Social,
    Promotional,
}

/// What a person decided about a post. Publishing progress lives on its targets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PostLifecycle {
    Draft,
    /// Approvals on: an editor scheduled it; it waits for a manager (its targets stay drafts,
    /// so nothing of it is due).
    InReview,
    Scheduled,
    Cancelled,
}

impl PostLifecycle {
    /// As the table's `lifecycle` attribute holds it (conditions compare it).
    pub fn as_str(self) -> &'static str {
        match self {
            PostLifecycle::Draft => "draft",
            PostLifecycle::InReview => "in_review",
            PostLifecycle::Scheduled => "scheduled",
            PostLifecycle::Cancelled => "cancelled",
        }
    }
}

/// The status the API shows for a post: its lifecycle, or once scheduled, its targets' progress.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum PostStatus {
    Draft,
    InReview,
    Scheduled,
    Publishing,
    Published,
    PartiallyPublished,
    Failed,
    Cancelled,
}

impl PostStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            PostStatus::Draft => "draft",
            PostStatus::InReview => "in_review",
            PostStatus::Scheduled => "scheduled",
            PostStatus::Publishing => "publishing",
            PostStatus::Published => "published",
            PostStatus::PartiallyPublished => "partially_published",
            PostStatus::Failed => "failed",
            PostStatus::Cancelled => "cancelled",
        }
    }

    /// A post's status from its lifecycle and its targets' statuses.
    pub fn derive(lifecycle: PostLifecycle, targets: &[TargetStatus]) -> PostStatus {
        use TargetStatus as T;
        match lifecycle {
            PostLifecycle::Draft => return PostStatus::Draft,
            PostLifecycle::InReview => return PostStatus::InReview,
            PostLifecycle::Cancelled => return PostStatus::Cancelled,
            PostLifecycle::Scheduled => {}
        }
        let count = |s: TargetStatus| targets.iter().filter(|t| **t == s).count();
        let (published, failed) = (count(T::Published), count(T::Failed));
        let in_flight = count(T::Publishing) + count(T::Unconfirmed);
        let waiting = count(T::Scheduled) + count(T::Draft);
        if in_flight > 0 || (waiting > 0 && published + failed > 0) {
            PostStatus::Publishing
        } else if waiting > 0 || targets.is_empty() {
            PostStatus::Scheduled
        } else if failed == 0 && published > 0 {
            PostStatus::Published
        } else if published == 0 && failed > 0 {
            PostStatus::Failed
        } else if published > 0 {
            PostStatus::PartiallyPublished
        } else {
            PostStatus::Cancelled
        }
    }
}

/// Per-network overrides of a post's content (X is not LinkedIn).
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Variant {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media: Option<Vec<MediaId>>,
    /// A title where the network has one (Pinterest, YouTube-style video networks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// A link the post points to (a Pinterest pin's destination, a LinkedIn article).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link: Option<String>,
    /// A first comment posted under the post (a known practice on Instagram and LinkedIn).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_comment: Option<String>,
    /// Follow-up posts, each a reply to the one before (threads on X, Threads, Bluesky, Mastodon).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thread: Vec<String>,
}

/// A post as composed: one text, optional per-network variants, media, and the accounts to
/// publish to. Each account gets a [`Target`] of its own.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Post {
    pub id: PostId,
    pub workspace: WorkspaceId,
    pub text: String,
    pub accounts: Vec<AccountId>,
    pub variants: BTreeMap<Platform, Variant>,
    pub media: Vec<MediaId>,
    pub tags: Vec<String>,
    pub kind: PostKind,
    pub lifecycle: PostLifecycle,
    pub scheduled_at: Option<DateTime<Utc>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// How the post repeats; each occurrence is a post of its own, made when the one before
    /// it starts publishing.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub recurrence: Option<Recurrence>,
    /// The first post of the series this one repeats (itself for the first).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub series: Option<PostId>,
    /// Which occurrence of its series this is, from 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub occurrence: Option<u32>,
    /// The queue slot the post took, when it was queued rather than given a time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub queue_slot: Option<DateTime<Utc>>,
    /// Who approved the post as it stands (approvals on); cleared when it goes back to review.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub approval: Option<Approval>,
    /// What reviewers said about it, oldest first (a request for changes, a client's note).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub comments: Vec<ReviewComment>,
}

/// A post's approval: by whom and when.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Approval {
    pub by: Actor,
    pub at: DateTime<Utc>,
}

/// A reviewer's comment on a post.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ReviewComment {
    pub by: Actor,
    pub text: String,
    pub at: DateTime<Utc>,
}

impl ReviewComment {
    pub const MAX_TEXT: usize = 2000;

    /// A comment's text, trimmed, or the reason it is refused (field `comment`).
    pub fn check_text(text: &str) -> Result<String, DomainError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(DomainError::field("comment", "must not be empty"));
        }
        if text.chars().count() > Self::MAX_TEXT {
            return Err(DomainError::field(
                "comment",
                format!("must be at most {} characters", Self::MAX_TEXT),
            ));
        }
        if let Some(c) = unprintable(text, true) {
            return Err(DomainError::field("comment", refusal(c, true)));
        }
        Ok(text.to_owned())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Frequency {
    Daily,
    Weekly,
}

fn one() -> u32 {
    1
}

/// An RRULE-style repetition: every `interval` days or weeks, `count` times in all or until a
/// time (at least one of the two, so a series always ends).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Recurrence {
    pub freq: Frequency,
    #[serde(default = "one")]
    pub interval: u32,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub count: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<DateTime<Utc>>,
}

impl Recurrence {
    pub const MAX_COUNT: u32 = 1000;
    pub const MAX_INTERVAL: u32 = 52;
    /// A series ends within this many days of its first occurrence, by `until` or by its
    /// `count` (two years: a plan, not a forever).
    pub const HORIZON_DAYS: i64 = 731;

    pub fn check(&self, start: DateTime<Utc>) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.interval == 0 || self.interval > Self::MAX_INTERVAL {
            errors.push(FieldError::new(
                "recurrence.interval",
                format!("must be 1 to {}", Self::MAX_INTERVAL),
            ));
        }
        match (self.count, self.until) {
            (None, None) => errors.push(FieldError::new(
                "recurrence",
                "give count or until, so the series ends",
            )),
            (Some(c), _) if !(2..=Self::MAX_COUNT).contains(&c) => errors.push(FieldError::new(
                "recurrence.count",
                format!("must be 2 to {}", Self::MAX_COUNT),
            )),
            (_, Some(u)) if u <= start => errors.push(FieldError::new(
                "recurrence.until",
                "must be after scheduled_at",
            )),
            _ => {}
        }
        let horizon = start + chrono::Duration::days(Self::HORIZON_DAYS);
        if self.until.is_some_and(|u| u > horizon) {
            errors.push(FieldError::new(
                "recurrence.until",
                format!("must be within {} days of scheduled_at", Self::HORIZON_DAYS),
            ));
        }
        // The last occurrence a count reaches, for counts and intervals already in range.
        if let Some(c) = self.count.filter(|c| (2..=Self::MAX_COUNT).contains(c))
            && (1..=Self::MAX_INTERVAL).contains(&self.interval)
        {
            let period = match self.freq {
                Frequency::Daily => 1,
                Frequency::Weekly => 7,
            };
            let span = i64::from(c - 1) * i64::from(self.interval) * period;
            if span > Self::HORIZON_DAYS {
                errors.push(FieldError::new(
                    "recurrence.count",
                    format!(
                        "the series would run {span} days; it must end within {} days",
                        Self::HORIZON_DAYS
                    ),
                ));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(errors))
        }
    }

    /// When occurrence `n + 1` is due, given occurrence `n` at `at`; None when the series ends.
    pub fn next(&self, at: DateTime<Utc>, n: u32) -> Option<DateTime<Utc>> {
        if self.count.is_some_and(|c| n >= c) {
            return None;
        }
        let days = match self.freq {
            Frequency::Daily => 1,
            Frequency::Weekly => 7,
        } * i64::from(self.interval);
        let next = at + chrono::Duration::days(days);
        (self.until.is_none_or(|u| next <= u)).then_some(next)
    }
}

impl Post {
    pub const MAX_TEXT: usize = 64_000;
    // A post and its targets are written in one transaction (DynamoDB allows 100 items).
    pub const MAX_ACCOUNTS: usize = 50;
    pub const MAX_MEDIA: usize = 20;
    pub const MAX_TAGS: usize = 50;
    pub const MAX_TAG: usize = 100;

    /// The text a network receives: its variant's, else the post's.
    pub fn text_for(&self, platform: Platform) -> &str {
        self.variants
            .get(&platform)
            .and_then(|v| v.text.as_deref())
            .unwrap_or(&self.text)
    }

    /// The media a network receives: its variant's, else the post's.
    pub fn media_for(&self, platform: Platform) -> &[MediaId] {
        self.variants
            .get(&platform)
            .and_then(|v| v.media.as_deref())
            .unwrap_or(&self.media)
    }

    /// Checks what needs no outside knowledge: sizes, counts, duplicates, tags.
    pub fn check_shape(&self) -> Result<(), DomainError> {
        let mut errors = Vec::new();
        if self.text.chars().count() > Self::MAX_TEXT {
            errors.push(FieldError::new(
                "text",
                format!("must be at most {} characters", Self::MAX_TEXT),
            ));
        }
        if self.text.trim().is_empty() && self.media.is_empty() {
            let every_variant_has_text = !self.variants.is_empty()
                && self
                    .variants
                    .values()
                    .all(|v| v.text.as_deref().is_some_and(|t| !t.trim().is_empty()));
            if !every_variant_has_text {
                errors.push(FieldError::new("text", "a post needs text or media"));
            }
        }
        if self.accounts.is_empty() {
            errors.push(FieldError::new("accounts", "name at least one account"));
        }
        if self.accounts.len() > Self::MAX_ACCOUNTS {
            errors.push(FieldError::new(
                "accounts",
                format!("at most {} accounts", Self::MAX_ACCOUNTS),
            ));
        }
        let mut seen = std::collections::BTreeSet::new();
        if self.accounts.iter().any(|a| !seen.insert(a)) {
            errors.push(FieldError::new("accounts", "an account is named twice"));
        }
        if self.media.len() > Self::MAX_MEDIA {
            errors.push(FieldError::new(
                "media",
                format!("at most {} media items", Self::MAX_MEDIA),
            ));
        }
        if self.tags.len() > Self::MAX_TAGS {
            errors.push(FieldError::new(
                "tags",
                format!("at most {} tags", Self::MAX_TAGS),
            ));
        }
        if self
            .tags
            .iter()
            .any(|t| t.trim().is_empty() || t.chars().count() > Self::MAX_TAG)
        {
            errors.push(FieldError::new(
                "tags",
                format!("each tag must be 1 to {} characters", Self::MAX_TAG),
            ));
        }
        for (platform, variant) in &self.variants {
            if let Some(text) = &variant.text
                && text.chars().count() > Self::MAX_TEXT
            {
                errors.push(FieldError::new(
                    format!("variants.{platform}.text"),
                    format!("must be at most {} characters", Self::MAX_TEXT),
                ));
            }
            let max_thread = crate::limits::max_thread(*platform);
            if variant.thread.len() > max_thread {
                let message = if max_thread == 0 {
                    format!("{platform} does not take threads")
                } else {
                    format!(
                        "{platform}: a thread has at most {max_thread} replies, this one {}",
                        variant.thread.len()
                    )
                };
                errors.push(FieldError::new(
                    format!("variants.{platform}.thread"),
                    message,
                ));
            }
        }
        self.check_characters(&mut errors);
        if errors.is_empty() {
            Ok(())
        } else {
            Err(DomainError::Invalid(errors))
        }
    }

    /// Every text of the post free of control characters (see [`unprintable`]), each refusal
    /// naming its field.
    fn check_characters(&self, errors: &mut Vec<FieldError>) {
        let mut check = |field: String, text: &str, multiline: bool| {
            if let Some(c) = unprintable(text, multiline) {
                errors.push(FieldError::new(field, refusal(c, multiline)));
            }
        };
        check("text".into(), &self.text, true);
        for (i, tag) in self.tags.iter().enumerate() {
            check(format!("tags[{i}]"), tag, false);
        }
        for (platform, v) in &self.variants {
            let at = |name: &str| format!("variants.{platform}.{name}");
            if let Some(text) = &v.text {
                check(at("text"), text, true);
            }
            if let Some(title) = &v.title {
                check(at("title"), title, false);
            }
            if let Some(link) = &v.link {
                check(at("link"), link, false);
            }
            if let Some(comment) = &v.first_comment {
                check(at("first_comment"), comment, true);
            }
            for (n, reply) in v.thread.iter().enumerate() {
                check(format!("variants.{platform}.thread[{n}]"), reply, true);
            }
        }
    }

    /// A scheduled time must lie ahead of `now` (a little slack for clock skew and latency).
    pub fn check_schedule(at: DateTime<Utc>, now: DateTime<Utc>) -> Result<(), DomainError> {
        if at < now - chrono::Duration::seconds(5) {
            return Err(DomainError::field(
                "scheduled_at",
                "must not be in the past",
            ));
        }
        if at > now + chrono::Duration::days(3 * 366) {
            return Err(DomainError::field(
                "scheduled_at",
                "must be within three years",
            ));
        }
        Ok(())
    }
}

/// Where one post target stands. Every change goes through [`TargetStatus::can_become`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TargetStatus {
    /// The post is a draft: nothing will be sent until it is scheduled.
    Draft,
    Scheduled,
    /// Claimed by a publisher run, whose lease says until when.
    Publishing,
    /// An attempt whose outcome is unknown (a crash or timeout after the network call may have
    /// reached the network); it is resolved by asking the network before any retry.
    Unconfirmed,
    Published,
    Failed,
    Cancelled,
}

impl TargetStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TargetStatus::Draft => "draft",
            TargetStatus::Scheduled => "scheduled",
            TargetStatus::Publishing => "publishing",
            TargetStatus::Unconfirmed => "unconfirmed",
            TargetStatus::Published => "published",
            TargetStatus::Failed => "failed",
            TargetStatus::Cancelled => "cancelled",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        use TargetStatus::*;
        [
            Draft,
            Scheduled,
            Publishing,
            Unconfirmed,
            Published,
            Failed,
            Cancelled,
        ]
        .into_iter()
        .find(|t| t.as_str() == s)
    }

    pub fn is_terminal(self) -> bool {
        matches!(
            self,
            TargetStatus::Published | TargetStatus::Failed | TargetStatus::Cancelled
        )
    }

    /// The one place the target status machine is written down.
    pub fn can_become(self, next: TargetStatus) -> bool {
        use TargetStatus::*;
        matches!(
            (self, next),
            (Draft, Scheduled)
                | (Draft, Cancelled)
                | (Scheduled, Draft)
                | (Scheduled, Scheduled)
                | (Scheduled, Publishing)
                | (Scheduled, Cancelled)
                // a claim taken over after its lease expired
                | (Publishing, Publishing)
                | (Publishing, Published)
                | (Publishing, Failed)
                | (Publishing, Unconfirmed)
                // a transient failure known not to have reached the network, retried later
                | (Publishing, Scheduled)
                | (Unconfirmed, Publishing)
                | (Unconfirmed, Published)
                | (Unconfirmed, Failed)
        )
    }
}

/// One post going to one account, with its own status.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Target {
    pub workspace: WorkspaceId,
    pub post: PostId,
    pub account: AccountId,
    pub platform: Platform,
    pub status: TargetStatus,
    /// When it should go out (the post's time, or a retry's).
    pub due_at: Option<DateTime<Utc>>,
    pub remote_id: Option<String>,
    pub url: Option<String>,
    pub error: Option<String>,
    pub published_at: Option<DateTime<Utc>>,
    /// Network calls made so far for this target (publish attempts, not lookups).
    pub attempts: u32,
}

impl Target {
    pub fn transition(&mut self, next: TargetStatus) -> Result<(), DomainError> {
        if self.status.can_become(next) {
            self.status = next;
            Ok(())
        } else {
            Err(DomainError::Conflict(format!(
                "a {} target cannot become {}",
                self.status.as_str(),
                next.as_str()
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use TargetStatus as T;

    #[test]
    fn post_status_follows_its_targets() {
        let s = |ts: &[T]| PostStatus::derive(PostLifecycle::Scheduled, ts);
        assert_eq!(s(&[T::Scheduled, T::Scheduled]), PostStatus::Scheduled);
        assert_eq!(s(&[T::Publishing, T::Scheduled]), PostStatus::Publishing);
        assert_eq!(s(&[T::Published, T::Scheduled]), PostStatus::Publishing);
        assert_eq!(s(&[T::Published, T::Published]), PostStatus::Published);
        assert_eq!(
            s(&[T::Published, T::Failed]),
            PostStatus::PartiallyPublished
        );
        assert_eq!(s(&[T::Failed, T::Failed]), PostStatus::Failed);
        assert_eq!(s(&[T::Unconfirmed]), PostStatus::Publishing);
        assert_eq!(
            PostStatus::derive(PostLifecycle::Draft, &[T::Draft]),
            PostStatus::Draft
        );
        assert_eq!(
            PostStatus::derive(PostLifecycle::Cancelled, &[T::Published, T::Cancelled]),
            PostStatus::Cancelled
        );
    }

    #[test]
    fn a_published_target_never_changes_again() {
        for next in [
            T::Draft,
            T::Scheduled,
            T::Publishing,
            T::Unconfirmed,
            T::Failed,
            T::Cancelled,
        ] {
            assert!(!T::Published.can_become(next), "published -> {next:?}");
        }
        assert!(!T::Publishing.can_become(T::Cancelled));
        assert!(!T::Unconfirmed.can_become(T::Scheduled));
    }

    #[test]
    fn a_series_repeats_until_its_count_or_end() {
        let start = Utc::now();
        let weekly = Recurrence {
            freq: Frequency::Weekly,
            interval: 2,
            count: Some(3),
            until: None,
        };
        assert_eq!(
            weekly.next(start, 1),
            Some(start + chrono::Duration::days(14))
        );
        assert_eq!(weekly.next(start, 3), None);
        let daily = Recurrence {
            freq: Frequency::Daily,
            interval: 1,
            count: None,
            until: Some(start + chrono::Duration::days(1)),
        };
        assert!(daily.next(start, 1).is_some());
        assert_eq!(daily.next(start + chrono::Duration::days(1), 2), None);
        assert!(
            Recurrence {
                count: None,
                ..daily.clone()
            }
            .check(start)
            .is_ok()
        );
        assert!(
            Recurrence {
                until: None,
                ..daily
            }
            .check(start)
            .is_err()
        );
    }

    #[test]
    fn scheduling_in_the_past_is_refused() {
        let now = Utc::now();
        assert!(Post::check_schedule(now - chrono::Duration::minutes(1), now).is_err());
        assert!(Post::check_schedule(now + chrono::Duration::minutes(1), now).is_ok());
    }

    #[test]
    fn control_characters_are_unprintable_but_newline_and_tab_only_in_multiline_text() {
        for c in [
            '\0', '\u{1b}', '\r', '\u{7f}', '\u{85}', '\u{9f}', '\u{202a}', '\u{202e}',
        ] {
            let text = format!("a{c}b");
            assert_eq!(unprintable(&text, true), Some(c), "{:04X}", c as u32);
            assert_eq!(unprintable(&text, false), Some(c));
        }
        assert_eq!(unprintable("a\nb\tc", true), None);
        assert_eq!(unprintable("a\nb", false), Some('\n'));
        assert_eq!(
            unprintable("\u{2067}x\u{2069}\u{200f}\u{200d}👨‍👩‍👧", false),
            None
        );
    }

    #[test]
    fn a_series_ends_within_two_years_by_until_and_by_count() {
        let start = Utc::now();
        let daily = |count, until| Recurrence {
            freq: Frequency::Daily,
            interval: 1,
            count,
            until,
        };
        let days = chrono::Duration::days;
        assert!(daily(None, Some(start + days(731))).check(start).is_ok());
        assert!(daily(None, Some(start + days(732))).check(start).is_err());
        assert!(daily(Some(732), None).check(start).is_ok());
        assert!(daily(Some(733), None).check(start).is_err());
        let weekly = Recurrence {
            freq: Frequency::Weekly,
            interval: 52,
            count: Some(3),
            until: None,
        };
        assert!(
            weekly.check(start).is_ok(),
            "728 days in two steps of a year"
        );
        let weekly = Recurrence {
            count: Some(4),
            ..weekly
        };
        assert!(weekly.check(start).is_err(), "three years in three steps");
    }
}
