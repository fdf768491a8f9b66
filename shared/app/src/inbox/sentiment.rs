//! How an inbox item reads: VADER, a lexicon and rules made for social media text (slang,
//! emphasis, emoji, negation), as the `vader_sentiment` crate ships it. The compound score
//! runs from -1 (most negative) to 1; at or below -0.05 an item counts as negative.

use std::sync::OnceLock;

/// At or below this compound score an item is negative (VADER's own threshold).
pub const NEGATIVE: f64 = -0.05;
/// Text scored at most: a comment's mood is in its first lines, and the scorer's time grows
/// with its input.
const MAX_SCORED_CHARS: usize = 4_000;

fn analyzer() -> &'static vader_sentiment::SentimentIntensityAnalyzer<'static> {
    static ANALYZER: OnceLock<vader_sentiment::SentimentIntensityAnalyzer<'static>> =
        OnceLock::new();
    ANALYZER.get_or_init(vader_sentiment::SentimentIntensityAnalyzer::new)
}

/// The compound score of `text`, rounded to three places.
pub fn score(text: &str) -> f64 {
    let head: String = text.chars().take(MAX_SCORED_CHARS).collect();
    let compound = analyzer()
        .polarity_scores(&head)
        .get("compound")
        .copied()
        .unwrap_or(0.0);
    if compound.is_finite() {
        (compound * 1000.0).round() / 1000.0
    } else {
        0.0
    }
}

pub fn is_negative(score: f64) -> bool {
    score <= NEGATIVE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_angry_complaint_is_negative_and_praise_positive() {
        for angry in [
            "This is the worst service ever. My order never arrived and nobody answers. Terrible!",
            "I HATE this app, it keeps crashing and I want a refund",
            "Absolutely disgusting service, you should be ashamed 😡",
        ] {
            assert!(is_negative(score(angry)), "{angry}: {}", score(angry));
        }
        for happy in [
            "Love it! Best purchase this year 😍",
            "Thanks so much, great support team",
        ] {
            assert!(score(happy) > 0.3, "{happy}: {}", score(happy));
        }
        assert!(!is_negative(score("What time do you open on Sunday?")));
        assert!(is_negative(score("not good at all")));
    }

    #[test]
    fn any_text_scores_within_bounds_without_a_panic() {
        let long = "terrible ".repeat(20_000);
        for text in [
            "",
            " ",
            "!!!!!!!!",
            "\u{0}\u{1}\u{7f}\u{202e}",
            "a",
            "😡",
            long.as_str(),
            "ALL CAPS BUT NOT ANGRY",
        ] {
            let s = score(text);
            assert!((-1.0..=1.0).contains(&s), "{text:?}: {s}");
        }
    }
}
