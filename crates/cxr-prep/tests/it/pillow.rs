//! Decoder and resizer against Pillow 10.4.0 (bundled libjpeg-turbo 3.0.3) on small committed
//! fixtures that the golden set does not cover: colour JPEGs with 4:2:0 / 4:2:2 / 4:4:4 chroma
//! subsampling, progressive files, portrait grey, upsampling; plus Pillow's failure behaviour
//! (truncation, missing EOI, not-a-JPEG, CMYK, decompression bomb). `tests/data/pillow/expected.csv`
//! was produced with Pillow 10.4.0: `Image.open(f)` bytes, and `.convert('RGB').resize(size,
//! BILINEAR)` bytes at torchvision sizes for scales 23, 40 and 150.

use std::path::{Path, PathBuf};

use cxr_prep::{
    CxrError, CxrPrep, Image, decode_jpeg, decode_jpeg_file, jpeg_dimensions, resize_bilinear, resized_size,
};
use test_support::bytes::sha256_hex;

fn dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/pillow")
}

/// What `convert('RGB')` would give: grey replicated to three channels.
fn to_rgb(img: &Image) -> Vec<u8> {
    match img.channels {
        1 => img.data.iter().flat_map(|&v| [v, v, v]).collect(),
        _ => img.data.clone(),
    }
}

#[test]
fn decode_and_resize_match_pillow() {
    let mut rdr = csv::Reader::from_path(dir().join("expected.csv")).unwrap();
    let mut n = 0;
    for rec in rdr.records() {
        let r = rec.unwrap();
        let path = dir().join(&r[0]);
        let (w, h): (u32, u32) = (r[2].parse().unwrap(), r[3].parse().unwrap());
        let img = decode_jpeg_file(&path).unwrap();
        let channels = if &r[1] == "L" { 1 } else { 3 };
        assert_eq!((img.width, img.height, img.channels), (w, h, channels), "{}", &r[0]);
        assert_eq!(sha256_hex(&img.data), &r[4], "{}: decoded pixels", &r[0]);
        assert_eq!(jpeg_dimensions(&path).unwrap(), (w, h));
        let size: (u32, u32) = (r[5].parse().unwrap(), r[6].parse().unwrap());
        let resized = resize_bilinear(&img, size.0, size.1);
        let rgb = to_rgb(&resized);
        assert_eq!(sha256_hex(&rgb), &r[7], "{} -> {size:?}: resized RGB", &r[0]);
        let ch0: Vec<u8> = rgb.iter().step_by(3).copied().collect();
        assert_eq!(sha256_hex(&ch0), &r[8], "{} -> {size:?}: resized channel 0", &r[0]);
        // The size really is torchvision's for one of the scales used.
        assert!([23, 40, 150].iter().any(|&s| resized_size(w, h, s) == size));
        n += 1;
    }
    assert_eq!(n, 18);
}

fn bytes(name: &str) -> Vec<u8> {
    std::fs::read(dir().join(name)).unwrap()
}

#[test]
fn truncated_files_are_rejected_like_pillow() {
    // Pillow 10.4 raises "image file is truncated" for all three.
    let data = bytes("rgb420.jpg");
    let origin = Path::new("cut.jpg");
    for (what, cut) in
        [("half", &data[..data.len() / 2]), ("no EOI", &data[..data.len() - 2]), ("no D9", &data[..data.len() - 1])]
    {
        match decode_jpeg(cut, origin) {
            Err(CxrError::Truncated { path, rows_done, height }) => {
                assert_eq!(path, origin);
                assert_eq!(height, 61, "{what}");
                assert!(rows_done < 61, "{what}: {rows_done}");
            }
            other => panic!("{what}: expected Truncated, got {other:?}"),
        }
    }
    // Cut inside the headers: still an error naming the file, never a panic.
    let err = decode_jpeg(&data[..40], origin).unwrap_err();
    assert!(err.to_string().contains("cut.jpg"), "{err}");
    // The intact file decodes.
    assert!(decode_jpeg(&data, origin).is_ok());
}

#[test]
fn non_jpeg_inputs_are_rejected() {
    let p = Path::new("x/y.jpg");
    assert!(matches!(decode_jpeg(b"", p), Err(CxrError::Empty { .. })));
    match decode_jpeg(b"\x89PNG\r\n\x1a\n....", p) {
        Err(CxrError::NotJpeg { found, .. }) => assert_eq!(found, "89 50 4E 47 0D 0A 1A 0A"),
        other => panic!("{other:?}"),
    }
    // SOI only: libjpeg's fatal error comes back naming the file.
    let err = decode_jpeg(b"\xff\xd8\xff", p).unwrap_err();
    assert!(matches!(err, CxrError::Decode { .. } | CxrError::Rejected { .. } | CxrError::Truncated { .. }), "{err:?}");
    assert!(err.to_string().starts_with("x/y.jpg: "), "{err}");
    // Corrupt Huffman table segment.
    let mut data = bytes("grey_tall.jpg");
    let dht = data.windows(2).position(|w| w == [0xFF, 0xC4]).unwrap();
    for b in &mut data[dht + 5..dht + 21] {
        *b = 0xFF;
    }
    // libjpeg reports it by unwinding, with its message.
    let err = decode_jpeg(&data, p).unwrap_err();
    assert!(matches!(err, CxrError::Rejected { .. }), "{err:?}");
    assert!(err.to_string().starts_with("x/y.jpg: corrupt or unsupported JPEG: "), "{err}");
    // Missing file.
    assert!(matches!(decode_jpeg_file(Path::new("/nonexistent/a.jpg")), Err(CxrError::Io { .. })));
    assert!(matches!(jpeg_dimensions(Path::new("/nonexistent/a.jpg")), Err(CxrError::Io { .. })));
}

#[test]
fn cmyk_is_a_clear_error() {
    match decode_jpeg(&bytes("cmyk.jpg"), Path::new("cmyk.jpg")) {
        Err(CxrError::UnsupportedColor { components, .. }) => assert_eq!(components, 4),
        other => panic!("{other:?}"),
    }
}

#[test]
fn decompression_bomb_is_rejected_before_decoding() {
    // Rewrite the SOF0 dimensions of a tiny file to 20000 x 20000 = 4e8 pixels > MAX_PIXELS.
    let mut data = bytes("grey_tall.jpg");
    let sof = data.windows(2).position(|w| w == [0xFF, 0xC0]).unwrap();
    data[sof + 5..sof + 9].copy_from_slice(&[0x4E, 0x20, 0x4E, 0x20]);
    match decode_jpeg(&data, Path::new("bomb.jpg")) {
        Err(CxrError::TooManyPixels { width, height, pixels, .. }) => {
            assert_eq!((width, height, pixels), (20000, 20000, 400_000_000));
        }
        other => panic!("{other:?}"),
    }
    // The header-only path still reports the claimed size.
    let tmp = test_support::tempdir();
    let f = tmp.path().join("bomb.jpg");
    std::fs::write(&f, &data).unwrap();
    assert_eq!(jpeg_dimensions(&f).unwrap(), (20000, 20000));
    assert!(matches!(CxrPrep { scale: 64, crop: 64 }.load_resized(&f), Err(CxrError::TooManyPixels { .. })));
}
