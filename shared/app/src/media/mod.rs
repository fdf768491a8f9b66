//! Media: uploads and imports become per-network renditions.

pub mod image;
pub mod sniff;
