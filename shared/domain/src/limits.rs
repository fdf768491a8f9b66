//! What each network accepts, as data. Connectors declare their limits; compose-time
//! validation and the dispatcher read them, so a rule lives in one place per network.

use crate::error::FieldError;
use crate::platform::Platform;
use serde::Serialize;
use unicode_segmentation::UnicodeSegmentation;

/// How a network counts the length of a text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TextCounting {
    /// Unicode scalar values (most networks).
    Chars,
    /// User-perceived characters (Bluesky).
    Graphemes,
    /// X's weighted count: URLs weigh 23, CJK and emoji weigh 2, Latin weighs 1.
    XWeighted,
    /// Mastodon's count: each URL weighs `per_url`, `@user@domain` counts as `@user`.
    Mastodon { per_url: usize },
}

impl TextCounting {
    pub fn count(self, text: &str) -> usize {
        match self {
            TextCounting::Chars => text.chars().count(),
            TextCounting::Graphemes => text.graphemes(true).count(),
            TextCounting::XWeighted => x_weighted_length(text),
            TextCounting::Mastodon { per_url } => mastodon_length(text, per_url),
        }
    }
}

/// X counts a URL as 23 whatever its length (t.co wrapping), bare domains such as
/// `example.com/sale` included; twitter-text's v3 configuration gives weight 1 to code points in
/// a few ranges (Latin and common punctuation), 2 to all others, and 2 to each emoji however
/// many code points it has.
fn x_weighted_length(text: &str) -> usize {
    const URL_WEIGHT: usize = 23;
    let mut total = 0;
    for word in text.split_inclusive(char::is_whitespace) {
        let trimmed = word.trim_end();
        if is_web_url(trimmed) {
            total += URL_WEIGHT + (word.len() - trimmed.len());
        } else if let Some((start, end)) = bare_domain(trimmed) {
            total += x_weight(&word[..start]) + URL_WEIGHT + x_weight(&word[end..]);
        } else {
            total += x_weight(word);
        }
    }
    total
}

/// A token with an http(s) scheme, as both X and Mastodon recognise links.
fn is_web_url(token: &str) -> bool {
    let lower = token.get(..8).unwrap_or(token).to_ascii_lowercase();
    lower.starts_with("https://") || lower.starts_with("http://")
}

fn x_weight(text: &str) -> usize {
    fn light(c: char) -> bool {
        matches!(c as u32, 0..=4351 | 8192..=8205 | 8208..=8223 | 8242..=8247)
    }
    fn is_emoji(g: &str) -> bool {
        g.chars().any(|c| {
            let c = c as u32;
            (0x1F000..=0x1FAFF).contains(&c) || (0x2600..=0x27BF).contains(&c) || c == 0x200D
        })
    }
    text.graphemes(true)
        .map(|g| {
            if is_emoji(g) {
                2
            } else {
                g.chars().map(|c| if light(c) { 1 } else { 2 }).sum()
            }
        })
        .sum()
}

/// Generic top-level domains common enough to matter when counting; every two-letter one is
/// taken for a country code. (twitter-text knows the whole root zone; a rarer generic domain
/// here counts as plain text, and X's own count at publish time has the last word.)
const GENERIC_TLDS: [&str; 24] = [
    "com", "net", "org", "info", "biz", "edu", "gov", "app", "dev", "blog", "shop", "store",
    "online", "site", "tech", "xyz", "news", "page", "link", "live", "club", "media", "cloud",
    "agency",
];

/// Where a bare domain X would link sits in `token` (byte range), without the punctuation
/// around it: `(example.com/sale).` links `example.com/sale`. Like twitter-text, a two-letter
/// name under a country code with no path (`ab.cd`) is not a link.
fn bare_domain(token: &str) -> Option<(usize, usize)> {
    let start = token.len() - token.trim_start_matches(['(', '[', '"', '\'']).len();
    let inner =
        token[start..].trim_end_matches(['.', ',', '!', '?', ':', ';', ')', ']', '"', '\'']);
    let end = start + inner.len();
    let (host, path) = inner.split_once('/').unwrap_or((inner, ""));
    let labels: Vec<&str> = host.split('.').collect();
    let valid_label = |l: &&str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if labels.len() < 2 || !labels.iter().all(valid_label) {
        return None;
    }
    let tld = labels[labels.len() - 1].to_ascii_lowercase();
    let country = tld.len() == 2 && tld.chars().all(|c| c.is_ascii_alphabetic());
    if !country && !GENERIC_TLDS.contains(&tld.as_str()) {
        return None;
    }
    if country && labels.len() == 2 && labels[0].len() <= 2 && path.is_empty() {
        return None;
    }
    Some((start, end))
}

/// Mastodon counts the text the way its compose box does: a URL weighs the instance's
/// `characters_reserved_per_url`, a remote mention counts only its user part, everything else
/// one per character.
fn mastodon_length(text: &str, per_url: usize) -> usize {
    text.split_inclusive(char::is_whitespace)
        .map(|word| {
            let token = word.trim_end_matches(char::is_whitespace);
            let space_chars = word[token.len()..].chars().count();
            if is_web_url(token) {
                per_url + space_chars
            } else if let Some(rest) = token.strip_prefix('@')
                && let Some((user, domain)) = rest.split_once('@')
                && !user.is_empty()
                && domain.contains('.')
            {
                1 + user.chars().count() + space_chars
            } else {
                word.chars().count()
            }
        })
        .sum()
}

/// Who a rate limit counts against.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum RateScope {
    /// Each connected account (user token) has its own allowance.
    Account,
    /// The whole Herald app registration shares one allowance.
    App,
}

/// A publishing allowance: at most `max` publishes per `window_seconds`, rolling.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct RateLimit {
    pub scope: RateScope,
    pub max: u32,
    pub window_seconds: u64,
}

/// The width-to-height ratios a network accepts, inclusive, with the range as the network
/// writes it (e.g. `4:5 to 1.91:1`) for messages.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct AspectRange {
    pub min: f64,
    pub max: f64,
    pub label: &'static str,
}

impl AspectRange {
    /// Whether `width`×`height` falls in the range. Networks round what they measure, so a
    /// hair's breadth outside (a 1080×1351 "4:5" photo) still passes.
    pub fn admits(&self, width: u32, height: u32) -> bool {
        if height == 0 {
            return false;
        }
        let ratio = f64::from(width) / f64::from(height);
        ratio >= self.min * 0.995 && ratio <= self.max * 1.005
    }
}

/// The most replies a post's thread may have on `platform` (0: the network takes no
/// threads). None of the networks documents a hard cap on a reply chain; 25 is the longest
/// thread X's composer builds, and Bluesky, Threads and Mastodon threads are held to the same,
/// so that one thread can go to all of them.
pub fn max_thread(platform: Platform) -> usize {
    match platform {
        Platform::Sandbox
        | Platform::X
        | Platform::Bluesky
        | Platform::Threads
        | Platform::Mastodon => 25,
        Platform::Linkedin
        | Platform::Facebook
        | Platform::Instagram
        | Platform::Pinterest
        | Platform::Tiktok => 0,
    }
}

/// A network's documented limits. Numbers the network does not impose are `None`.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct NetworkLimits {
    pub platform: Platform,
    pub max_text: usize,
    pub counting: TextCounting,
    /// Networks that cannot take a post without media (Instagram, Pinterest, TikTok).
    pub requires_media: bool,
    pub max_images: usize,
    pub max_videos: usize,
    /// Whether images and a video may share one post.
    pub mixed_media: bool,
    pub image_types: &'static [&'static str],
    pub video_types: &'static [&'static str],
    pub max_image_bytes: Option<u64>,
    pub max_video_bytes: Option<u64>,
    pub max_video_seconds: Option<u32>,
    pub image_aspect: Option<AspectRange>,
    pub video_aspect: Option<AspectRange>,
    pub max_title: Option<usize>,
    pub publish_limits: &'static [RateLimit],
}

/// What validation needs to know of an attached media item.
#[derive(Clone, Debug, PartialEq)]
pub struct MediaFacts {
    /// [`MediaFacts::UNKNOWN_TYPE`] for an import not fetched yet: it counts as media, and
    /// its type, size and shape are checked once its bytes arrive (the publisher waits for
    /// them and fails the target with the transcoder's reason if they do not fit).
    pub content_type: String,
    pub bytes: u64,
    pub duration_seconds: Option<f64>,
    /// Pixel size where known (images and probed videos).
    pub width: Option<u32>,
    pub height: Option<u32>,
}

impl MediaFacts {
    pub const UNKNOWN_TYPE: &'static str = "application/octet-stream";

    fn is_image(&self) -> bool {
        self.content_type.starts_with("image/")
    }

    fn is_known(&self) -> bool {
        self.content_type != Self::UNKNOWN_TYPE
    }
}

/// Sends one publisher process keeps in flight at once on a real network: enough that a
/// burst at one instant goes out within a second or two at a few hundred milliseconds a call,
/// few enough that one process does not look like an attack to the network (which answers
/// 429s long before). Per network, so a slow one does not hold up the others.
pub const REAL_NETWORK_IN_FLIGHT: usize = 32;

/// Sends in flight at once per publisher process on `platform`: `None` is unbounded (the
/// sandbox, Herald's own network, takes whatever the work is).
pub const fn max_in_flight(platform: Platform) -> Option<usize> {
    match platform {
        Platform::Sandbox => None,
        _ => Some(REAL_NETWORK_IN_FLIGHT),
    }
}

impl NetworkLimits {
    /// Sends in flight at once per publisher process on this network (`None`: unbounded).
    pub fn max_in_flight(&self) -> Option<usize> {
        max_in_flight(self.platform)
    }

    /// Every rule the content breaks, each naming the network, the field and the limit.
    pub fn check(
        &self,
        field: &str,
        text: &str,
        title: Option<&str>,
        media: &[MediaFacts],
    ) -> Vec<FieldError> {
        let p = self.platform;
        let mut errors = Vec::new();
        let length = self.counting.count(text);
        if length > self.max_text {
            let how = match self.counting {
                TextCounting::Chars => "characters",
                TextCounting::Graphemes => "graphemes",
                TextCounting::XWeighted => "weighted characters",
                TextCounting::Mastodon { .. } => {
                    "characters, links counted as Mastodon counts them"
                }
            };
            errors.push(FieldError::new(
                format!("{field}.text"),
                format!(
                    "{p}: text is {length} {how}, the limit is {}",
                    self.max_text
                ),
            ));
        }
        if let (Some(max), Some(title)) = (self.max_title, title)
            && title.chars().count() > max
        {
            errors.push(FieldError::new(
                format!("{field}.title"),
                format!("{p}: title is longer than {max} characters"),
            ));
        }
        let images = media.iter().filter(|m| m.is_image()).count();
        let videos = media.iter().filter(|m| m.is_known()).count() - images;
        if self.requires_media && media.is_empty() {
            errors.push(FieldError::new(
                format!("{field}.media"),
                format!("{p}: a post needs an image or a video"),
            ));
        }
        if images > self.max_images {
            errors.push(FieldError::new(
                format!("{field}.media"),
                format!("{p}: at most {} images per post", self.max_images),
            ));
        }
        if videos > self.max_videos {
            errors.push(FieldError::new(
                format!("{field}.media"),
                format!("{p}: at most {} videos per post", self.max_videos),
            ));
        }
        if images > 0 && videos > 0 && !self.mixed_media {
            errors.push(FieldError::new(
                format!("{field}.media"),
                format!("{p}: images and video cannot share a post"),
            ));
        }
        for m in media.iter().filter(|m| m.is_known()) {
            let image = m.is_image();
            let (types, max_bytes, aspect) = if image {
                (self.image_types, self.max_image_bytes, self.image_aspect)
            } else {
                (self.video_types, self.max_video_bytes, self.video_aspect)
            };
            if let (Some(range), Some(w), Some(h)) = (aspect, m.width, m.height)
                && !range.admits(w, h)
            {
                let what = if image { "an image" } else { "a video" };
                errors.push(FieldError::new(
                    format!("{field}.media"),
                    format!(
                        "{p}: {what} is {w}×{h}, the accepted aspect ratios are {}",
                        range.label
                    ),
                ));
            }
            if !types.contains(&m.content_type.as_str()) {
                errors.push(FieldError::new(
                    format!("{field}.media"),
                    format!("{p}: {} is not accepted", m.content_type),
                ));
            }
            if let Some(max) = max_bytes
                && m.bytes > max
            {
                errors.push(FieldError::new(
                    format!("{field}.media"),
                    format!("{p}: a file is {} bytes, the limit is {max}", m.bytes),
                ));
            }
            if let (Some(max), Some(d)) = (self.max_video_seconds, m.duration_seconds)
                && d > f64::from(max)
            {
                errors.push(FieldError::new(
                    format!("{field}.media"),
                    format!("{p}: a video is {d:.0} s long, the limit is {max} s"),
                ));
            }
        }
        errors
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sandbox_takes_any_number_of_sends_at_once_and_real_networks_a_bounded_one() {
        assert_eq!(max_in_flight(Platform::Sandbox), None);
        for p in [Platform::Bluesky, Platform::Mastodon, Platform::X] {
            assert_eq!(max_in_flight(p), Some(REAL_NETWORK_IN_FLIGHT), "{p:?}");
        }
    }

    #[test]
    fn x_counts_urls_as_23_and_cjk_as_two() {
        let url = "https://example.com/a/very/long/path/that/goes/on/and/on/for/a/while";
        assert_eq!(TextCounting::XWeighted.count(url), 23);
        assert_eq!(TextCounting::XWeighted.count("hi "), 3);
        assert_eq!(TextCounting::XWeighted.count("日本"), 4);
        assert_eq!(TextCounting::XWeighted.count("👍🏽"), 2);
    }

    #[test]
    fn x_counts_a_bare_domain_as_a_link_but_not_its_punctuation_or_a_file_name() {
        let x = |t: &str| TextCounting::XWeighted.count(t);
        assert_eq!(x("example.com"), 23);
        assert_eq!(
            x("see shop.example.co.uk/spring-sale-2026-for-everyone now"),
            4 + 23 + 4
        );
        assert_eq!(x("(example.com)."), 1 + 23 + 2);
        assert_eq!(x("mail bob@example.com"), 5 + 15);
        assert_eq!(x("notes.txt"), 9);
        assert_eq!(x("ab.cd"), 5);
        assert_eq!(x("v1.2 or 3.14"), 12);
    }

    #[test]
    fn graphemes_count_a_family_emoji_once() {
        assert_eq!(TextCounting::Graphemes.count("👨‍👩‍👧"), 1);
        assert_eq!(TextCounting::Chars.count("👨‍👩‍👧"), 5);
    }

    fn needs_one_jpeg() -> NetworkLimits {
        NetworkLimits {
            platform: Platform::Instagram,
            max_text: 100,
            counting: TextCounting::Chars,
            requires_media: true,
            max_images: 1,
            max_videos: 0,
            mixed_media: false,
            image_types: &["image/jpeg"],
            video_types: &[],
            max_image_bytes: Some(10),
            max_video_bytes: None,
            max_video_seconds: None,
            image_aspect: None,
            video_aspect: None,
            max_title: None,
            publish_limits: &[],
        }
    }

    fn facts(content_type: &str, bytes: u64) -> MediaFacts {
        MediaFacts {
            content_type: content_type.into(),
            bytes,
            duration_seconds: None,
            width: None,
            height: None,
        }
    }

    #[test]
    fn an_import_not_fetched_yet_counts_as_media_and_its_type_waits_for_its_bytes() {
        let limits = needs_one_jpeg();
        let fields = |media: &[MediaFacts]| -> Vec<String> {
            limits
                .check("text", "hi", None, media)
                .into_iter()
                .map(|e| e.message)
                .collect()
        };
        assert_eq!(
            fields(&[facts(MediaFacts::UNKNOWN_TYPE, 0)]),
            Vec::<String>::new()
        );
        assert_eq!(fields(&[]), ["instagram: a post needs an image or a video"]);
        // A known type is still checked beside an unknown one.
        assert_eq!(
            fields(&[facts(MediaFacts::UNKNOWN_TYPE, 0), facts("image/png", 1)]),
            ["instagram: image/png is not accepted"]
        );
        assert_eq!(
            fields(&[facts("image/jpeg", 11)]),
            ["instagram: a file is 11 bytes, the limit is 10"]
        );
    }
}
