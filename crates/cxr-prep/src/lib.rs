//! CXR preprocessing for Symile-MIMIC: JPEG → 8-bit image → torchvision-style `Resize(scale)` →
//! crop → ImageNet-normalised `f32` tensor, bit-identical to the Python reference
//! (Pillow 10.4 with libjpeg-turbo 3.0.3, torchvision 0.19, torch 2.4).
//!
//! The pipeline is split so the orchestrator can cache the expensive, deterministic part
//! ([`CxrPrep::load_resized`] = decode + resize) per distinct image and only redo the cheap,
//! split-dependent part (crop offsets + [`write_normalized`]) per row.
//!
//! * [`decode_jpeg`] uses libjpeg-turbo (vendored through the `mozjpeg` crate) with the settings
//!   Pillow uses, so decoded pixels are byte-identical to `Image.open()`.
//! * [`resize_bilinear`] re-implements Pillow's two-pass fixed-point resampler (`BILINEAR`).
//! * [`resized_size`] / [`center_crop_offsets`] reproduce torchvision's integer/rounding rules.
//! * [`CropSampler`] gives train-time random crop offsets, either replaying torch's
//!   `RandomCrop` stream ([`CropRng::Torch`]) or order-independent ([`CropRng::ChaCha`]).

mod crop;
mod decode;
mod geometry;
mod normalize;
mod resize;

use std::path::{Path, PathBuf};

pub use crop::{CropRng, CropSampler};
pub use decode::{decode_jpeg, decode_jpeg_file, jpeg_dimensions};
pub use geometry::{center_crop_offsets, resized_size};
pub use normalize::{IMAGENET_MEAN, IMAGENET_STD, write_normalized};
pub use resize::resize_bilinear;

/// Pillow's decompression-bomb *error* threshold: `Image.open` raises `DecompressionBombError`
/// when `width * height > 2 * Image.MAX_IMAGE_PIXELS` (= 2 × 89 478 485).
pub const MAX_PIXELS: u64 = 178_956_970;

/// A decoded 8-bit image, the equivalent of a Pillow `L` or `RGB` image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Image {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
    /// 1 (Pillow mode `L`) or 3 (`RGB`).
    pub channels: u8,
    /// Interleaved samples, row-major, `width * height * channels` bytes.
    pub data: Vec<u8>,
}

/// Why a CXR could not be turned into pixels. Every variant names the offending file.
#[derive(Debug, thiserror::Error)]
pub enum CxrError {
    /// The file could not be opened or read.
    #[error("{path}: cannot read CXR image")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{path}: CXR image file has zero bytes, expected a JPEG")]
    Empty {
        /// The file.
        path: PathBuf,
    },
    /// The file does not start with the JPEG SOI marker (what Pillow's JPEG plugin accepts).
    #[error("{path}: not a JPEG: starts with {found}, expected FF D8 FF")]
    NotJpeg {
        /// The file.
        path: PathBuf,
        /// Hex dump of the first bytes found.
        found: String,
    },
    /// `width * height` exceeds [`MAX_PIXELS`] (Pillow would raise `DecompressionBombError`).
    #[error("{path}: JPEG is {width}x{height} = {pixels} pixels, more than the limit of {MAX_PIXELS}")]
    TooManyPixels {
        /// The file.
        path: PathBuf,
        /// Width from the JPEG header.
        width: u32,
        /// Height from the JPEG header.
        height: u32,
        /// `width * height`.
        pixels: u64,
    },
    /// The compressed data ended before every scanline was decoded (Pillow: "image file is truncated").
    #[error("{path}: JPEG is truncated: the data ended after {rows_done} of {height} rows were decoded")]
    Truncated {
        /// The file.
        path: PathBuf,
        /// Rows libjpeg had emitted when it ran out of data (it pads the rest with grey).
        rows_done: u32,
        /// Image height (0 when the file was cut inside its headers).
        height: u32,
    },
    /// A JPEG colour layout the reference would not give as `L`/`RGB` (e.g. 4-component CMYK/YCCK).
    #[error(
        "{path}: unsupported JPEG with {components} components (colour space {color_space}); expected 1 (grey) or 3 (colour)"
    )]
    UnsupportedColor {
        /// The file.
        path: PathBuf,
        /// Number of components in the frame header.
        components: usize,
        /// libjpeg's name for the JPEG colour space.
        color_space: String,
    },
    /// libjpeg rejected the data (corrupt markers, bad Huffman tables, unsupported precision, ...).
    #[error("{path}: corrupt or unsupported JPEG")]
    Decode {
        /// The file.
        path: PathBuf,
        /// libjpeg's error, as the decoder returned it.
        source: std::io::Error,
    },
    /// libjpeg stopped on an error it reports by unwinding (its message is
    /// all there is of it).
    #[error("{path}: corrupt or unsupported JPEG: {message}")]
    Rejected {
        /// The file.
        path: PathBuf,
        /// libjpeg's message.
        message: String,
    },
}

/// Decode + resize settings: torchvision `Resize(scale)` followed by a `crop`×`crop` crop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CxrPrep {
    /// Target length of the short side (`--cxr_scale`).
    pub scale: u32,
    /// Side of the square crop (`--cxr_crop`); must not exceed `scale`.
    pub crop: u32,
}

impl CxrPrep {
    /// Decodes `path` and applies torchvision `Resize(self.scale)`: this is the deterministic part
    /// shared by every row that uses the same image, hence worth caching.
    ///
    /// Like torchvision, the image is returned untouched when it already has the target size.
    /// Grey images stay 1-channel: resizing the grey plane and replicating it afterwards (in
    /// [`write_normalized`]) equals the reference's `convert('RGB')` then resize.
    pub fn load_resized(&self, path: &Path) -> Result<Image, CxrError> {
        let img = decode_jpeg_file(path)?;
        let (w, h) = resized_size(img.width, img.height, self.scale);
        if (w, h) == (img.width, img.height) {
            return Ok(img);
        }
        Ok(resize_bilinear(&img, w, h))
    }
}
