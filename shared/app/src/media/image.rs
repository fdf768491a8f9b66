//! One image into its renditions, pure and synchronous (the caller runs it off the async
//! runtime). Decoding dominates, so a JPEG is decoded once, at the smallest of libjpeg-turbo's
//! DCT scales (n/8) that still covers the largest rendition; each rendition is then cropped
//! and resized from it with SIMD Lanczos3, turned upright (EXIF orientation) at its own small
//! size, and encoded, the renditions in parallel. Nothing of the original's metadata (EXIF,
//! GPS, ICC, XMP) is copied: each file is written from pixels alone.

use fast_image_resize as fr;
use herald_domain::profiles::{Geometry, ImageProfile};
use image::metadata::Orientation;
use image::{DynamicImage, ImageDecoder, RgbImage};
use rayon::prelude::*;
use std::io::Cursor;

/// The most pixels an image may declare (a 100 MP medium-format photo; sharp's default cap is
/// 268 MP). Checked on the header, before any pixel is decoded: a 1 KB file that declares
/// 60,000×60,000 is refused at once.
pub const MAX_PIXELS: u64 = 100_000_000;
/// The most a decoder may hold for a non-JPEG image (a 100 MP RGBA frame and some).
const MAX_DECODE_ALLOC: u64 = 512 * 1024 * 1024;
/// The quality every rendition starts at; lowered only to fit a network's byte limit.
pub const QUALITY: i32 = 82;
/// Lower qualities tried, in order, before the size is lowered too.
const FALLBACK_QUALITIES: [i32; 4] = [72, 62, 52, 42];
/// Each step of shrinking to fit takes the box to this share of the step before.
const SHRINK: f64 = 0.85;
const MIN_SIDE: u32 = 64;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ImageError {
    #[error("the file is not an image Herald reads (JPEG, PNG, GIF or WebP)")]
    NotAnImage,
    #[error("the image declares {width}×{height} pixels, more than the {max} Herald decodes")]
    TooManyPixels { width: u32, height: u32, max: u64 },
    #[error("the image is damaged or cut short ({0})")]
    Damaged(String),
    #[error("{profile}: no rendition fits under {max_bytes} bytes")]
    CannotFit {
        profile: &'static str,
        max_bytes: u64,
    },
}

/// One encoded file and the profiles it serves (several networks often want the same pixels).
#[derive(Clone, Debug)]
pub struct File {
    /// Unique within the media item: the first profile's name.
    pub name: &'static str,
    pub profiles: Vec<&'static ImageProfile>,
    pub width: u32,
    pub height: u32,
    pub content_type: &'static str,
    pub bytes: Vec<u8>,
}

#[derive(Clone, Debug)]
pub struct Rendered {
    /// The original's size, upright.
    pub width: u32,
    pub height: u32,
    pub files: Vec<File>,
}

/// Pixels as decoded (RGB8, raw orientation, possibly at a reduced scale).
struct Source {
    pixels: Vec<u8>,
    width: u32,
    height: u32,
    /// Decoded size over the full size.
    scale: f64,
    orientation: Orientation,
    /// The full size, upright.
    upright: (u32, u32),
}

impl Source {
    fn swaps_axes(&self) -> bool {
        swaps_axes(self.orientation)
    }
}

fn swaps_axes(o: Orientation) -> bool {
    matches!(
        o,
        Orientation::Rotate90
            | Orientation::Rotate270
            | Orientation::Rotate90FlipH
            | Orientation::Rotate270FlipH
    )
}

/// The image's renditions for `profiles`, each under its byte limit.
pub fn render(bytes: &[u8], profiles: &'static [ImageProfile]) -> Result<Rendered, ImageError> {
    let content_type = crate::media::sniff::sniff(bytes).ok_or(ImageError::NotAnImage)?;
    let source = if content_type == "image/jpeg" {
        decode_jpeg(bytes, profiles)?
    } else if content_type.starts_with("image/") {
        decode_other(bytes)?
    } else {
        return Err(ImageError::NotAnImage);
    };
    let (uw, uh) = source.upright;
    // Profiles that want the same pixels share one file.
    let mut groups: Vec<(Geometry, Vec<&'static ImageProfile>)> = Vec::new();
    for p in profiles {
        let g = p.geometry(uw, uh);
        match groups.iter_mut().find(|(gg, _)| *gg == g) {
            Some((_, ps)) => ps.push(p),
            None => groups.push((g, vec![p])),
        }
    }
    let files: Vec<Vec<File>> = groups
        .into_par_iter()
        .map(|(g, ps)| render_group(&source, g, ps))
        .collect::<Result<_, _>>()?;
    Ok(Rendered {
        width: uw,
        height: uh,
        files: files.into_iter().flatten().collect(),
    })
}

fn render_group(
    source: &Source,
    g: Geometry,
    profiles: Vec<&'static ImageProfile>,
) -> Result<Vec<File>, ImageError> {
    let pixels = resize(source, g)?;
    let bytes = encode(&pixels, g.width, g.height, QUALITY)?;
    let (fits, too_big): (Vec<&ImageProfile>, Vec<&ImageProfile>) = profiles
        .into_iter()
        .partition(|p| bytes.len() as u64 <= p.max_bytes);
    let mut files = Vec::new();
    if let Some(first) = fits.first() {
        files.push(File {
            name: first.name,
            profiles: fits.clone(),
            width: g.width,
            height: g.height,
            content_type: "image/jpeg",
            bytes,
        });
    }
    for p in too_big {
        files.push(fit(source, &pixels, g, p)?);
    }
    Ok(files)
}

/// Lower the quality, then the size, until the file fits `p.max_bytes`.
fn fit(
    source: &Source,
    pixels: &[u8],
    g: Geometry,
    p: &'static ImageProfile,
) -> Result<File, ImageError> {
    let file = |width, height, bytes| File {
        name: p.name,
        profiles: vec![p],
        width,
        height,
        content_type: "image/jpeg",
        bytes,
    };
    for q in FALLBACK_QUALITIES {
        let bytes = encode(pixels, g.width, g.height, q)?;
        if bytes.len() as u64 <= p.max_bytes {
            return Ok(file(g.width, g.height, bytes));
        }
    }
    let (uw, uh) = source.upright;
    let (mut bw, mut bh) = (g.width, g.height);
    loop {
        bw = (f64::from(bw) * SHRINK) as u32;
        bh = (f64::from(bh) * SHRINK) as u32;
        if bw.min(bh) < MIN_SIDE {
            return Err(ImageError::CannotFit {
                profile: p.name,
                max_bytes: p.max_bytes,
            });
        }
        let smaller = p.geometry_within(uw, uh, bw, bh);
        let pixels = resize(source, smaller)?;
        let bytes = encode(
            &pixels,
            smaller.width,
            smaller.height,
            FALLBACK_QUALITIES[0],
        )?;
        if bytes.len() as u64 <= p.max_bytes {
            return Ok(file(smaller.width, smaller.height, bytes));
        }
    }
}

/// The rendition's pixels, upright: the crop and size are upright, the source may not be, so
/// the crop is taken where it lies in the source (centred crops stay centred under any
/// rotation or flip) and the small result is turned.
fn resize(source: &Source, g: Geometry) -> Result<Vec<u8>, ImageError> {
    let (_, _, cw, ch) = g.crop;
    let (cw, ch, ow, oh) = if source.swaps_axes() {
        (ch, cw, g.height, g.width)
    } else {
        (cw, ch, g.width, g.height)
    };
    let (cw, ch) = (f64::from(cw) * source.scale, f64::from(ch) * source.scale);
    let (sw, sh) = (f64::from(source.width), f64::from(source.height));
    let (cw, ch) = (cw.min(sw), ch.min(sh));
    let src = fr::images::ImageRef::new(
        source.width,
        source.height,
        &source.pixels,
        fr::PixelType::U8x3,
    )
    .map_err(|e| ImageError::Damaged(e.to_string()))?;
    let mut dst = fr::images::Image::new(ow, oh, fr::PixelType::U8x3);
    let options = fr::ResizeOptions::new()
        .resize_alg(fr::ResizeAlg::Convolution(fr::FilterType::Lanczos3))
        .crop((sw - cw) / 2.0, (sh - ch) / 2.0, cw, ch);
    fr::Resizer::new()
        .resize(&src, &mut dst, &options)
        .map_err(|e| ImageError::Damaged(e.to_string()))?;
    let pixels = dst.into_vec();
    if source.orientation == Orientation::NoTransforms {
        return Ok(pixels);
    }
    let raw = RgbImage::from_raw(ow, oh, pixels).expect("the resizer's buffer is w×h×3");
    let mut img = DynamicImage::ImageRgb8(raw);
    img.apply_orientation(source.orientation);
    Ok(img.into_rgb8().into_raw())
}

fn encode(pixels: &[u8], width: u32, height: u32, quality: i32) -> Result<Vec<u8>, ImageError> {
    let failed = |e: turbojpeg::Error| ImageError::Damaged(format!("encoding: {e}"));
    let mut c = turbojpeg::Compressor::new().map_err(failed)?;
    c.set_quality(quality).map_err(failed)?;
    c.set_subsamp(turbojpeg::Subsamp::Sub2x2).map_err(failed)?;
    c.set_optimize(true).map_err(failed)?;
    let image = turbojpeg::Image {
        pixels,
        width: width as usize,
        pitch: width as usize * 3,
        height: height as usize,
        format: turbojpeg::PixelFormat::RGB,
    };
    c.compress_to_vec(image).map_err(failed)
}

fn check_pixels(width: u32, height: u32) -> Result<(), ImageError> {
    if u64::from(width) * u64::from(height) > MAX_PIXELS || width == 0 || height == 0 {
        return Err(ImageError::TooManyPixels {
            width,
            height,
            max: MAX_PIXELS,
        });
    }
    Ok(())
}

/// The DCT scales libjpeg-turbo decodes at without a resize, smallest first.
const JPEG_SCALES: [(usize, usize); 8] = [
    (1, 8),
    (1, 4),
    (3, 8),
    (1, 2),
    (5, 8),
    (3, 4),
    (7, 8),
    (1, 1),
];

fn decode_jpeg(bytes: &[u8], profiles: &[ImageProfile]) -> Result<Source, ImageError> {
    let damaged = |e: turbojpeg::Error| ImageError::Damaged(e.to_string());
    let mut d = turbojpeg::Decompressor::new().map_err(damaged)?;
    let header = d.read_header(bytes).map_err(damaged)?;
    let (fw, fh) = (header.width as u32, header.height as u32);
    check_pixels(fw, fh)?;
    let orientation = jpeg_orientation(bytes);
    let upright = if swaps_axes(orientation) {
        (fh, fw)
    } else {
        (fw, fh)
    };
    // The largest share of the full size any rendition needs.
    let needed = profiles
        .iter()
        .map(|p| {
            let g = p.geometry(upright.0, upright.1);
            f64::from(g.width) / f64::from(g.crop.2)
        })
        .fold(0.0, f64::max);
    let (num, denom) = JPEG_SCALES
        .into_iter()
        .find(|(n, d)| *n as f64 / *d as f64 >= needed - 1e-9)
        .unwrap_or((1, 1));
    let factor = turbojpeg::ScalingFactor::new(num, denom);
    d.set_scaling_factor(factor).map_err(damaged)?;
    let scaled = header.scaled(factor);
    let mut pixels = vec![0; scaled.width * scaled.height * 3];
    d.decompress(
        bytes,
        turbojpeg::Image {
            pixels: pixels.as_mut_slice(),
            width: scaled.width,
            pitch: scaled.width * 3,
            height: scaled.height,
            format: turbojpeg::PixelFormat::RGB,
        },
    )
    .map_err(damaged)?;
    Ok(Source {
        pixels,
        width: scaled.width as u32,
        height: scaled.height as u32,
        scale: scaled.width as f64 / f64::from(fw),
        orientation,
        upright,
    })
}

/// The orientation a JPEG's EXIF (APP1) segment states; upright when there is none.
fn jpeg_orientation(bytes: &[u8]) -> Orientation {
    let mut i = 2;
    while i + 4 <= bytes.len() && bytes[i] == 0xFF {
        let marker = bytes[i + 1];
        // Start of scan: no metadata segment comes after it.
        if marker == 0xDA {
            break;
        }
        let len = usize::from(u16::from_be_bytes([bytes[i + 2], bytes[i + 3]]));
        let Some(segment) = bytes.get(i + 4..i + 2 + len) else {
            break;
        };
        if marker == 0xE1
            && let Some(tiff) = segment.strip_prefix(b"Exif\0\0")
        {
            return Orientation::from_exif_chunk(tiff).unwrap_or(Orientation::NoTransforms);
        }
        i += 2 + len;
    }
    Orientation::NoTransforms
}

/// PNG, GIF (its first frame) and WebP through the `image` crate, with its size read and
/// checked first; transparency is laid on white, as JPEG renditions have none.
fn decode_other(bytes: &[u8]) -> Result<Source, ImageError> {
    let damaged = |e: image::ImageError| ImageError::Damaged(e.to_string());
    let mut reader = image::ImageReader::new(Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| ImageError::Damaged(e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_alloc = Some(MAX_DECODE_ALLOC);
    reader.limits(limits);
    let mut decoder = reader.into_decoder().map_err(damaged)?;
    let (w, h) = decoder.dimensions();
    check_pixels(w, h)?;
    let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
    let img = DynamicImage::from_decoder(decoder).map_err(damaged)?;
    let pixels = if img.color().has_alpha() {
        let rgba = img.into_rgba8();
        let mut rgb = Vec::with_capacity(rgba.len() / 4 * 3);
        for px in rgba.pixels() {
            let a = u16::from(px[3]);
            for c in &px.0[..3] {
                rgb.push(((u16::from(*c) * a + 255 * (255 - a)) / 255) as u8);
            }
        }
        rgb
    } else {
        img.into_rgb8().into_raw()
    };
    Ok(Source {
        pixels,
        width: w,
        height: h,
        scale: 1.0,
        orientation,
        upright: if swaps_axes(orientation) {
            (h, w)
        } else {
            (w, h)
        },
    })
}

/// A photo-like test image (smooth gradients, texture and edges, so it compresses like a
/// photo rather than like a flat colour), encoded as a JPEG at `quality`, deterministic.
pub fn synthetic_photo(width: u32, height: u32, seed: u32, quality: i32) -> Vec<u8> {
    let mut pixels = vec![0u8; width as usize * height as usize * 3];
    let mut state = seed.wrapping_mul(2_654_435_761).wrapping_add(1);
    for y in 0..height {
        for x in 0..width {
            state ^= state << 13;
            state ^= state >> 17;
            state ^= state << 5;
            let noise = (state & 31) as i32 - 16;
            let fx = x as f32 / width as f32;
            let fy = y as f32 / height as f32;
            let wave = ((fx * 23.0 + seed as f32).sin() * (fy * 17.0).cos() * 60.0) as i32;
            let stripe = if (x / 97 + y / 61 + seed).is_multiple_of(5) {
                40
            } else {
                0
            };
            let i = (y as usize * width as usize + x as usize) * 3;
            let channel = |v: i32| v.clamp(0, 255) as u8;
            pixels[i] = channel((fx * 200.0) as i32 + wave + noise + stripe);
            pixels[i + 1] = channel((fy * 180.0) as i32 - wave / 2 + noise + 30);
            pixels[i + 2] = channel(((fx + fy) * 90.0) as i32 + noise + stripe / 2 + 40);
        }
    }
    encode(&pixels, width, height, quality).expect("encoding a test image")
}
