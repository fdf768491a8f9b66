//! The renditions Herald makes of one image, a profile per network, as data beside each
//! network's limits (`limits.rs`, and the connectors' `LIMITS`; a test in the networks crate
//! holds each profile inside its network's limits): the largest size the network shows, the
//! aspect ratios it takes, and the bytes it accepts.

use crate::limits::AspectRange;
use crate::platform::Platform;
use serde::Serialize;

/// How one network gets an image.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ImageProfile {
    pub name: &'static str,
    /// `None` for Herald's own (the thumbnail).
    pub platform: Option<Platform>,
    /// The box the image is scaled down into (never up).
    pub max_width: u32,
    pub max_height: u32,
    /// Ratios the network takes: an image outside is cropped, centred, to the nearest one.
    pub aspect: Option<AspectRange>,
    /// What the network accepts: quality is lowered, then size, until the file fits.
    pub max_bytes: u64,
}

/// The part of a source image a rendition shows and the size it is scaled to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Geometry {
    /// `x, y, width, height` in the (upright) source.
    pub crop: (u32, u32, u32, u32),
    pub width: u32,
    pub height: u32,
}

const MIB: u64 = 1024 * 1024;

pub const THUMBNAIL: &str = "thumbnail";

/// Every image rendition, in the order they are made. Sizes are each network's largest shown
/// size (Instagram 1080–1440 wide, Facebook 2048, Bluesky 2000, Pinterest 1000×1500 pins).
pub const IMAGE_PROFILES: [ImageProfile; 10] = [
    ImageProfile {
        name: "instagram-feed",
        platform: Some(Platform::Instagram),
        max_width: 1440,
        max_height: 1800,
        aspect: Some(AspectRange {
            min: 4.0 / 5.0,
            max: 1.91,
            label: "4:5 to 1.91:1",
        }),
        max_bytes: 8 * MIB,
    },
    ImageProfile {
        name: "x",
        platform: Some(Platform::X),
        max_width: 2048,
        max_height: 2048,
        aspect: None,
        max_bytes: 5 * MIB,
    },
    ImageProfile {
        name: "linkedin",
        platform: Some(Platform::Linkedin),
        max_width: 2048,
        max_height: 2048,
        aspect: None,
        max_bytes: 8 * MIB,
    },
    ImageProfile {
        name: "facebook",
        platform: Some(Platform::Facebook),
        max_width: 2048,
        max_height: 2048,
        aspect: None,
        max_bytes: 4 * MIB,
    },
    ImageProfile {
        name: "pinterest",
        platform: Some(Platform::Pinterest),
        max_width: 1000,
        max_height: 1500,
        aspect: Some(AspectRange {
            min: 2.0 / 3.0,
            max: 2.0 / 3.0,
            label: "2:3",
        }),
        max_bytes: 20 * MIB,
    },
    ImageProfile {
        name: "threads",
        platform: Some(Platform::Threads),
        max_width: 1440,
        max_height: 1800,
        aspect: Some(AspectRange {
            min: 0.1,
            max: 10.0,
            label: "1:10 to 10:1",
        }),
        max_bytes: 8 * MIB,
    },
    ImageProfile {
        name: "bluesky",
        platform: Some(Platform::Bluesky),
        max_width: 2000,
        max_height: 2000,
        aspect: None,
        // The PDS refuses a blob of 1,000,000 bytes or more.
        max_bytes: 999_999,
    },
    ImageProfile {
        name: "mastodon",
        platform: Some(Platform::Mastodon),
        max_width: 2048,
        max_height: 2048,
        aspect: None,
        // Mastodon's default image limit is 16 MB; instances may set less, 8 MiB fits most.
        max_bytes: 8 * MIB,
    },
    ImageProfile {
        name: "tiktok",
        platform: Some(Platform::Tiktok),
        max_width: 1080,
        max_height: 1920,
        aspect: None,
        max_bytes: 20 * MIB,
    },
    ImageProfile {
        name: THUMBNAIL,
        platform: None,
        max_width: 400,
        max_height: 400,
        aspect: None,
        max_bytes: 200 * 1024,
    },
];

impl ImageProfile {
    /// The profile that a network's posts use, if Herald makes one for it.
    pub fn for_platform(platform: Platform) -> Option<&'static ImageProfile> {
        IMAGE_PROFILES.iter().find(|p| p.platform == Some(platform))
    }

    /// What of an upright `width`×`height` image this profile shows, and at what size: a
    /// centred crop into the accepted ratios, then scaled down (never up) into the box.
    pub fn geometry(&self, width: u32, height: u32) -> Geometry {
        self.geometry_within(width, height, self.max_width, self.max_height)
    }

    /// The same crop scaled into a smaller box (a rendition that must shrink to fit its bytes).
    pub fn geometry_within(&self, width: u32, height: u32, max_w: u32, max_h: u32) -> Geometry {
        fit(width, height, self.aspect, max_w, max_h)
    }
}

/// A centred crop of an upright `width`×`height` picture into `aspect`, scaled down (never up)
/// into `max_w`×`max_h`.
fn fit(width: u32, height: u32, aspect: Option<AspectRange>, max_w: u32, max_h: u32) -> Geometry {
    let (w, h) = (width.max(1), height.max(1));
    let ratio = f64::from(w) / f64::from(h);
    let (cw, ch) = match aspect {
        Some(a) if ratio < a.min => (w, ((f64::from(w) / a.min).round() as u32).clamp(1, h)),
        Some(a) if ratio > a.max => (((f64::from(h) * a.max).round() as u32).clamp(1, w), h),
        _ => (w, h),
    };
    let scale = (f64::from(max_w) / f64::from(cw))
        .min(f64::from(max_h) / f64::from(ch))
        .min(1.0);
    Geometry {
        crop: ((w - cw) / 2, (h - ch) / 2, cw, ch),
        width: ((f64::from(cw) * scale).round() as u32).max(1),
        height: ((f64::from(ch) * scale).round() as u32).max(1),
    }
}

/// How one network gets a video: H.264/AAC MP4, its frame cropped into the shape the network
/// shows (9:16 for TikTok, Reels and Pinterest, 1:1 for LinkedIn's feed, the source's own
/// elsewhere) and scaled into its box; the bitrate is capped so a minute stays small.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct VideoProfile {
    pub name: &'static str,
    pub platform: Platform,
    pub max_width: u32,
    pub max_height: u32,
    pub aspect: Option<AspectRange>,
    /// The video stream's peak rate.
    pub max_kbps: u32,
}

const VERTICAL: AspectRange = AspectRange {
    min: 9.0 / 16.0,
    max: 9.0 / 16.0,
    label: "9:16",
};
const SQUARE: AspectRange = AspectRange {
    min: 1.0,
    max: 1.0,
    label: "1:1",
};

/// Every video rendition. Networks whose geometry and rate agree share one file.
pub const VIDEO_PROFILES: [VideoProfile; 9] = [
    VideoProfile {
        name: "tiktok",
        platform: Platform::Tiktok,
        max_width: 1080,
        max_height: 1920,
        aspect: Some(VERTICAL),
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "instagram-reels",
        platform: Platform::Instagram,
        max_width: 1080,
        max_height: 1920,
        aspect: Some(VERTICAL),
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "pinterest",
        platform: Platform::Pinterest,
        max_width: 1080,
        max_height: 1920,
        aspect: Some(VERTICAL),
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "linkedin",
        platform: Platform::Linkedin,
        max_width: 1080,
        max_height: 1080,
        aspect: Some(SQUARE),
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "x",
        platform: Platform::X,
        max_width: 1920,
        max_height: 1200,
        aspect: None,
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "facebook",
        platform: Platform::Facebook,
        max_width: 1920,
        max_height: 1920,
        aspect: None,
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "threads",
        platform: Platform::Threads,
        max_width: 1920,
        max_height: 1920,
        aspect: None,
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "bluesky",
        platform: Platform::Bluesky,
        max_width: 1920,
        max_height: 1080,
        aspect: None,
        max_kbps: 6_000,
    },
    VideoProfile {
        name: "mastodon",
        platform: Platform::Mastodon,
        max_width: 1920,
        max_height: 1080,
        aspect: None,
        max_kbps: 6_000,
    },
];

impl VideoProfile {
    /// What of an upright `width`×`height` video this profile shows, and at what size; sides
    /// even, as H.264's 4:2:0 sampling needs.
    pub fn geometry(&self, width: u32, height: u32) -> Geometry {
        let g = fit(width, height, self.aspect, self.max_width, self.max_height);
        let even = |v: u32| (v & !1).max(2);
        let (x, y, cw, ch) = g.crop;
        Geometry {
            crop: (
                x,
                y,
                even(cw).min(width.max(2)),
                even(ch).min(height.max(2)),
            ),
            width: even(g.width),
            height: even(g.height),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn profile(name: &str) -> &'static ImageProfile {
        IMAGE_PROFILES.iter().find(|p| p.name == name).unwrap()
    }

    #[test]
    fn a_12_mp_landscape_photo_gets_each_networks_largest_size() {
        let sizes: Vec<(&str, u32, u32)> = IMAGE_PROFILES
            .iter()
            .map(|p| {
                let g = p.geometry(4000, 3000);
                (p.name, g.width, g.height)
            })
            .collect();
        assert_eq!(
            sizes,
            [
                ("instagram-feed", 1440, 1080),
                ("x", 2048, 1536),
                ("linkedin", 2048, 1536),
                ("facebook", 2048, 1536),
                ("pinterest", 1000, 1500),
                ("threads", 1440, 1080),
                ("bluesky", 2000, 1500),
                ("mastodon", 2048, 1536),
                ("tiktok", 1080, 810),
                ("thumbnail", 400, 300),
            ]
        );
    }

    #[test]
    fn instagram_crops_a_tall_or_wide_image_into_4_5_to_1_91_1() {
        let ig = profile("instagram-feed");
        let tall = ig.geometry(1000, 3000);
        assert_eq!(tall.crop, (0, 875, 1000, 1250));
        assert_eq!((tall.width, tall.height), (1000, 1250));
        let wide = ig.geometry(4000, 1000);
        assert_eq!(wide.crop, (1045, 0, 1910, 1000));
        assert!(ig.aspect.unwrap().admits(wide.width, wide.height));
        // Already inside the range: nothing is cut.
        assert_eq!(ig.geometry(1200, 1500).crop, (0, 0, 1200, 1500));
    }

    #[test]
    fn pinterest_is_always_2_3_and_small_images_are_never_scaled_up() {
        let pin = profile("pinterest");
        let g = pin.geometry(4000, 3000);
        assert_eq!(g.crop, (1000, 0, 2000, 3000));
        let small = pin.geometry(300, 300);
        assert_eq!((small.width, small.height), (200, 300));
        let tiny = profile("x").geometry(1, 1);
        assert_eq!((tiny.width, tiny.height), (1, 1));
    }

    #[test]
    fn a_1080p_landscape_video_becomes_9_16_1_1_and_16_9_files() {
        let sizes: Vec<(&str, Geometry)> = VIDEO_PROFILES
            .iter()
            .map(|p| (p.name, p.geometry(1920, 1080)))
            .collect();
        let sizes: Vec<_> = sizes
            .iter()
            .map(|(name, g)| (*name, g.crop, g.width, g.height))
            .collect();
        assert_eq!(
            sizes,
            [
                ("tiktok", (656, 0, 608, 1080), 608, 1080),
                ("instagram-reels", (656, 0, 608, 1080), 608, 1080),
                ("pinterest", (656, 0, 608, 1080), 608, 1080),
                ("linkedin", (420, 0, 1080, 1080), 1080, 1080),
                ("x", (0, 0, 1920, 1080), 1920, 1080),
                ("facebook", (0, 0, 1920, 1080), 1920, 1080),
                ("threads", (0, 0, 1920, 1080), 1920, 1080),
                ("bluesky", (0, 0, 1920, 1080), 1920, 1080),
                ("mastodon", (0, 0, 1920, 1080), 1920, 1080),
            ]
        );
        // Odd sizes never reach the encoder.
        let g = VIDEO_PROFILES[4].geometry(641, 361);
        assert_eq!((g.width % 2, g.height % 2), (0, 0));
        assert!(g.crop.2 <= 641 && g.crop.3 <= 361);
    }

    #[test]
    fn every_network_with_image_posts_but_the_sandbox_has_a_profile() {
        for p in Platform::ALL {
            let has = ImageProfile::for_platform(p).is_some();
            assert_eq!(has, p != Platform::Sandbox, "{p}");
        }
    }
}
