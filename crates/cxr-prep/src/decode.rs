//! JPEG decoding with libjpeg-turbo (vendored by the `mozjpeg` crate), configured the way Pillow
//! configures libjpeg so the pixels equal `PIL.Image.open(path)` byte for byte.
//!
//! Pillow leaves libjpeg's defaults alone: `JDCT_ISLOW` integer IDCT, fancy (triangular) chroma
//! upsampling, output colour space grey for 1-component and RGB for 3-component frames. We set
//! the same values explicitly so a change of defaults in the C library cannot go unnoticed.
//!
//! Failure handling differs from plain libjpeg in two places, both to behave like Pillow:
//! * libjpeg's fatal errors unwind out of the `mozjpeg` crate as panics; they are caught here and
//!   returned as [`CxrError::Rejected`] naming the file (an I/O-level error the decoder returns
//!   is [`CxrError::Decode`], with that error as its source).
//! * on premature end of data libjpeg only *warns* and pads the image with grey, whereas Pillow
//!   (without `LOAD_TRUNCATED_IMAGES`) raises "image file is truncated". The source we hand to
//!   libjpeg records whether libjpeg ever asked for bytes past the end of the file before the last
//!   scanline was produced; if so the image is rejected as [`CxrError::Truncated`], as Pillow
//!   rejects it (verified with Pillow 10.4 on files cut in half, without EOI, without its D9).

use std::any::Any;
use std::cell::Cell;
use std::io::{self, BufRead, Read};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use mozjpeg::{DctMethod, Decompress};

use crate::{CxrError, Image, MAX_PIXELS};

/// In-memory source for libjpeg that remembers whether it was asked for data after the end.
struct EofWatch<'a> {
    data: &'a [u8],
    hit_eof: &'a Cell<bool>,
}

impl Read for EofWatch<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.data.read(buf)?;
        if n == 0 && !buf.is_empty() {
            self.hit_eof.set(true);
        }
        Ok(n)
    }
}

impl BufRead for EofWatch<'_> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        if self.data.is_empty() {
            self.hit_eof.set(true);
        }
        Ok(self.data)
    }

    fn consume(&mut self, amt: usize) {
        self.data = &self.data[amt.min(self.data.len())..];
    }
}

/// Checks the cheap things Pillow's plugin detection checks: non-empty and the `FF D8 FF` prefix.
fn check_signature(bytes: &[u8], origin: &Path) -> Result<(), CxrError> {
    if bytes.is_empty() {
        return Err(CxrError::Empty { path: origin.to_path_buf() });
    }
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        let found = bytes.iter().take(8).map(|b| format!("{b:02X}")).collect::<Vec<_>>().join(" ");
        return Err(CxrError::NotJpeg { path: origin.to_path_buf(), found });
    }
    Ok(())
}

/// Turns the payload of a caught libjpeg unwind (or any other panic inside the decoder) into text.
fn panic_message(payload: Box<dyn Any + Send>) -> String {
    match payload.downcast::<String>() {
        Ok(s) => *s,
        Err(payload) => match payload.downcast::<&'static str>() {
            Ok(s) => (*s).to_string(),
            Err(_) => "libjpeg aborted with an unknown error".to_string(),
        },
    }
}

/// Outcome of the part of decoding that runs under `catch_unwind`.
enum Decoded {
    Done(Image),
    Truncated { rows_done: u32, height: u32 },
    Unsupported { components: usize, color_space: String },
    TooBig { width: u32, height: u32 },
}

fn decode_inner(bytes: &[u8], hit_eof: &Cell<bool>) -> io::Result<Decoded> {
    let src = EofWatch { data: bytes, hit_eof };
    let mut dec = Decompress::builder().from_reader(src)?;
    let (w, h) = dec.size();
    let (width, height) = (w as u32, h as u32);
    // Pillow's decompression-bomb check, done on the header before any pixel buffer exists.
    if u64::from(width) * u64::from(height) > MAX_PIXELS {
        return Ok(Decoded::TooBig { width, height });
    }
    if hit_eof.get() {
        return Ok(Decoded::Truncated { rows_done: 0, height });
    }
    dec.dct_method(DctMethod::IntegerSlow);
    dec.do_fancy_upsampling(true);
    let components = dec.components().len();
    let (mut started, channels) = match components {
        1 => (dec.grayscale()?, 1u8),
        3 => (dec.rgb()?, 3u8),
        _ => {
            return Ok(Decoded::Unsupported { components, color_space: format!("{:?}", dec.color_space()) });
        }
    };
    let row_len = width as usize * usize::from(channels);
    let mut data = vec![0u8; row_len * height as usize];
    for (y, row) in data.chunks_exact_mut(row_len.max(1)).enumerate() {
        if let Err(e) = started.read_scanlines_into(row) {
            if hit_eof.get() {
                return Ok(Decoded::Truncated { rows_done: y as u32, height });
            }
            return Err(e);
        }
        // Any request past the end while scanlines are produced is a suspension in Pillow, hence
        // "image file is truncated" -- even when only the EOI marker is missing, because the
        // Huffman decoder reads ahead until it meets a marker (checked against Pillow 10.4).
        if hit_eof.get() {
            return Ok(Decoded::Truncated { rows_done: y as u32, height });
        }
    }
    // Pillow ignores a suspension inside jpeg_finish_decompress once every row is out, so an
    // EOF noticed only here is not an error.
    started.finish()?;
    Ok(Decoded::Done(Image { width, height, channels, data }))
}

/// Decodes a JPEG held in memory into what Pillow's `Image.open()` gives: mode `L` (1 channel)
/// for greyscale frames, `RGB` (3 channels) for colour frames. `origin` only names the file in
/// errors.
///
/// 4-component (CMYK/YCCK) JPEGs are rejected with [`CxrError::UnsupportedColor`]: MIMIC-CXR has
/// none and Pillow's CMYK→RGB path is not reproduced.
pub fn decode_jpeg(bytes: &[u8], origin: &Path) -> Result<Image, CxrError> {
    check_signature(bytes, origin)?;
    let hit_eof = Cell::new(false);
    let result = catch_unwind(AssertUnwindSafe(|| decode_inner(bytes, &hit_eof)));
    let path = origin.to_path_buf();
    match result {
        Ok(Ok(Decoded::Done(img))) => Ok(img),
        Ok(Ok(Decoded::Truncated { rows_done, height })) => Err(CxrError::Truncated { path, rows_done, height }),
        Ok(Ok(Decoded::Unsupported { components, color_space })) => {
            Err(CxrError::UnsupportedColor { path, components, color_space })
        }
        Ok(Ok(Decoded::TooBig { width, height })) => {
            Err(CxrError::TooManyPixels { path, width, height, pixels: u64::from(width) * u64::from(height) })
        }
        // An I/O-level failure after libjpeg ran out of data: the file was cut inside its headers.
        Ok(Err(e)) if hit_eof.get() => {
            tracing::debug!(file = %origin.display(), error = %e, "JPEG ended inside its headers");
            Err(CxrError::Truncated { path, rows_done: 0, height: 0 })
        }
        Ok(Err(source)) => Err(CxrError::Decode { path, source }),
        Err(payload) => Err(CxrError::Rejected { path, message: panic_message(payload) }),
    }
}

/// Reads and decodes a JPEG file; see [`decode_jpeg`].
pub fn decode_jpeg_file(path: &Path) -> Result<Image, CxrError> {
    let bytes = std::fs::read(path).map_err(|source| CxrError::Io { path: path.to_path_buf(), source })?;
    decode_jpeg(&bytes, path)
}

/// `(width, height)` from the JPEG frame header, reading only as much of the file as libjpeg
/// needs to reach the SOF marker (no pixel decoding).
pub fn jpeg_dimensions(path: &Path) -> Result<(u32, u32), CxrError> {
    let io_err = |source| CxrError::Io { path: path.to_path_buf(), source };
    let file = std::fs::File::open(path).map_err(io_err)?;
    let mut reader = io::BufReader::with_capacity(64 * 1024, file);
    let head = reader.fill_buf().map_err(io_err)?;
    check_signature(head, path)?;
    let result = catch_unwind(AssertUnwindSafe(|| Decompress::builder().from_reader(&mut reader).map(|d| d.size())));
    match result {
        Ok(Ok((w, h))) => Ok((w as u32, h as u32)),
        Ok(Err(source)) => Err(CxrError::Decode { path: path.to_path_buf(), source }),
        Err(payload) => Err(CxrError::Rejected { path: path.to_path_buf(), message: panic_message(payload) }),
    }
}
