//! How long a text is on each network, counted exactly as compose-time validation counts it
//! (each connector's `NetworkLimits`): what a composer's live counters show, so that no client
//! keeps a second counting implementation that could disagree with the one that refuses.

use crate::{AppError, Deps};
use herald_domain::{FieldError, Platform, TextCounting};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A text and the networks to measure it for; a variant's text replaces it on its network.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct MeasureRequest {
    pub text: String,
    pub platforms: Vec<Platform>,
    #[serde(default)]
    pub variants: BTreeMap<Platform, VariantText>,
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct VariantText {
    #[serde(default)]
    pub text: Option<String>,
}

/// One network's count of the text it would be sent.
#[derive(Debug, PartialEq, Serialize, utoipa::ToSchema)]
pub struct Measure {
    pub platform: Platform,
    pub length: usize,
    pub max: usize,
    pub counting: TextCounting,
    /// How many it may still take (negative: over the limit by that much).
    pub remaining: i64,
}

/// Each named network's count, in the order asked (a network named twice is measured once).
pub fn measure(deps: &Deps, request: &MeasureRequest) -> Result<Vec<Measure>, AppError> {
    if request.platforms.is_empty() {
        return Err(AppError::Invalid(vec![FieldError::new(
            "platforms",
            "name at least one network",
        )]));
    }
    let mut errors = Vec::new();
    for platform in request.variants.keys() {
        if !request.platforms.contains(platform) {
            errors.push(FieldError::new(
                format!("variants.{platform}"),
                "not one of the networks measured",
            ));
        }
    }
    if !errors.is_empty() {
        return Err(AppError::Invalid(errors));
    }
    let mut out: Vec<Measure> = Vec::new();
    for &platform in &request.platforms {
        if out.iter().any(|m| m.platform == platform) {
            continue;
        }
        let limits = deps.connector(platform)?.limits();
        let text = request
            .variants
            .get(&platform)
            .and_then(|v| v.text.as_deref())
            .unwrap_or(&request.text);
        let length = limits.counting.count(text);
        out.push(Measure {
            platform,
            length,
            max: limits.max_text,
            counting: limits.counting,
            remaining: limits.max_text as i64 - length as i64,
        });
    }
    Ok(out)
}
