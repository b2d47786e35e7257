//! `TensorReader` on good files and on every kind of bad one: truncated files
//! in all three formats, shapes that are huge, overflow or describe empty
//! tensors with enormous rows, archives whose directory lies about sizes,
//! unsupported dtypes, headers that claim more bytes than the file has.
//!
//! Every refusal must be an error naming the file, and opening must never
//! allocate more than the file's length or a small fixed cap: this test binary
//! runs under an allocator that records the largest single request.

// The measuring allocator is the only unsafe code: implementing `GlobalAlloc`
// requires it.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use tensor_store::{DType, Format, StoreError, TensorFile, TensorReader, TensorSpec, read_tensor, read_tensor_header};

/// Records, per thread, the largest allocation requested.
struct Measuring;

thread_local! {
    // const-initialised and without a destructor: usable from inside the allocator.
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|c| c.set(c.get().max(size)));
}

unsafe impl GlobalAlloc for Measuring {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static ALLOCATOR: Measuring = Measuring;

/// Runs `f` and returns its result and the largest allocation it made.
fn largest_allocation<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LARGEST.with(|c| c.set(0));
    let out = f();
    (out, LARGEST.with(Cell::get))
}

/// What metadata may cost whatever the file claims: `data.pkl` (64 KiB,
/// read through a growing buffer), an npy header (64 KiB), the zip
/// directory's own bookkeeping.
const METADATA_CAP: usize = 256 << 10;

fn allowed(path: &Path) -> usize {
    (fs::metadata(path).unwrap().len() as usize).max(METADATA_CAP)
}

/// Asserts that opening `path` fails with an error naming the file and
/// containing `want`, without a large allocation; `read_tensor` and
/// `read_tensor_header` must fail the same way. Returns the message.
#[track_caller]
fn refused(path: &Path, want: &str) -> String {
    let (res, largest) = largest_allocation(|| TensorReader::open(path));
    let e = res.expect_err("a malformed file must not open");
    let msg = errors::Chain(&e).to_string();
    assert!(msg.contains(&path.display().to_string()), "the error does not name the file: {msg}");
    assert!(msg.contains(want), "expected {want:?} in: {msg}");
    assert!(
        matches!(
            e,
            StoreError::Malformed { .. }
                | StoreError::Io { .. }
                | StoreError::PtArchive { .. }
                | StoreError::PtRecord { .. }
        ),
        "{e:?}"
    );
    assert!(
        largest <= allowed(path),
        "opening allocated {largest} bytes for a {}-byte file",
        fs::metadata(path).unwrap().len()
    );
    let (res, largest) = largest_allocation(|| read_tensor(path));
    assert_eq!(errors::Chain(&res.unwrap_err()).to_string(), msg);
    assert!(largest <= allowed(path), "read_tensor allocated {largest} bytes");
    assert_eq!(errors::Chain(&read_tensor_header(path).unwrap_err()).to_string(), msg);
    msg
}

fn spec(name: &str, dtype: DType, shape: &[usize]) -> TensorSpec {
    TensorSpec { name: name.to_string(), dtype, shape: shape.to_vec() }
}

/// Writes a tensor whose element `i` (as bytes) is `i as u8` with `TensorFile`.
fn write(dir: &Path, sp: TensorSpec, format: Format) -> (PathBuf, Vec<u8>) {
    let f = TensorFile::create(dir, sp.clone(), format).unwrap();
    let rb = f.row_bytes();
    let rows = sp.shape[0];
    let data: Vec<u8> = (0..rows * rb).map(|i| (i * 7 % 251) as u8).collect();
    for row in 0..rows {
        f.write_row(row, &data[row * rb..(row + 1) * rb]).unwrap();
    }
    (f.commit().unwrap(), data)
}

/// An npy file: version 1.0 header with `dict` (padded to 64), then `data_len` zero bytes.
fn npy(dict: &str, data_len: usize) -> Vec<u8> {
    let mut h = dict.as_bytes().to_vec();
    let total = (10 + h.len() + 1).next_multiple_of(64);
    h.resize(total - 11, b' ');
    h.push(b'\n');
    let mut out = b"\x93NUMPY\x01\x00".to_vec();
    out.extend_from_slice(&(h.len() as u16).to_le_bytes());
    out.extend_from_slice(&h);
    out.resize(out.len() + data_len, 0);
    out
}

fn npy_dict(descr: &str, shape: &str) -> String {
    format!("{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape}, }}")
}

/// A safetensors file: `json` padded to 8, then `data_len` zero bytes.
fn safetensors(json: &str, data_len: usize) -> Vec<u8> {
    let mut j = json.as_bytes().to_vec();
    j.resize(j.len().next_multiple_of(8), b' ');
    let mut out = (j.len() as u64).to_le_bytes().to_vec();
    out.extend_from_slice(&j);
    out.resize(out.len() + data_len, 0);
    out
}

/// A protocol-2 pickle of `torch._utils._rebuild_tensor_v2` as `torch.save`
/// writes it, with any storage class, element count, size and stride.
fn torch_pickle(storage: &str, numel: u64, shape: &[u64], stride: &[u64]) -> Vec<u8> {
    fn long(out: &mut Vec<u8>, v: u64) {
        out.extend_from_slice(&[0x8a, 9]);
        out.extend_from_slice(&v.to_le_bytes());
        out.push(0);
    }
    fn string(out: &mut Vec<u8>, s: &str) {
        out.push(b'X');
        out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        out.extend_from_slice(s.as_bytes());
    }
    let mut p = b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n((".to_vec();
    string(&mut p, "storage");
    p.extend_from_slice(format!("ctorch\n{storage}\n").as_bytes());
    string(&mut p, "0");
    string(&mut p, "cpu");
    long(&mut p, numel);
    p.extend_from_slice(b"tQ");
    long(&mut p, 0);
    for t in [shape, stride] {
        p.push(b'(');
        for &d in t {
            long(&mut p, d);
        }
        p.push(b't');
    }
    p.extend_from_slice(b"\x89ccollections\nOrderedDict\n)RtR.");
    p
}

/// A torch-style zip archive (written with the zip crate, records STORED)
/// holding `<stem>/data.pkl` and `<stem>/data/0`.
fn pt(stem: &str, pkl: &[u8], storage: &[u8]) -> Vec<u8> {
    let mut z = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Stored);
    z.start_file(format!("{stem}/data.pkl"), opts).unwrap();
    z.write_all(pkl).unwrap();
    z.start_file(format!("{stem}/data/0"), opts).unwrap();
    z.write_all(storage).unwrap();
    z.finish().unwrap().into_inner()
}

fn put(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    fs::write(&p, bytes).unwrap();
    p
}

#[test]
fn rows_read_by_index_part_range_and_stream() {
    let dir = test_support::tempdir();
    for format in [Format::Safetensors, Format::Npy, Format::Pt] {
        // 300 rows of 4,000 bytes: streaming crosses a 1 MiB chunk boundary mid-tensor
        let (path, data) = write(dir.path(), spec(&format!("t_{format}"), DType::F32, &[300, 10, 100]), format);
        let r = TensorReader::open(&path).unwrap();
        assert_eq!(r.path(), path);
        assert_eq!(r.format(), format);
        assert_eq!((r.rows(), r.row_bytes(), r.data_len()), (300, 4000, 1_200_000));
        assert_eq!(r.spec(), &spec(&format!("t_{format}"), DType::F32, &[300, 10, 100]));
        let raw = fs::read(&path).unwrap();
        let off = r.data_offset() as usize;
        assert_eq!(&raw[off..off + data.len()], &data[..]);

        let mut row = vec![0u8; 4000];
        for i in [0, 1, 261, 262, 299] {
            r.read_row(i, &mut row).unwrap();
            assert_eq!(row, data[i * 4000..(i + 1) * 4000], "{format} row {i}");
        }
        let mut part = [0u8; 10];
        r.read_row_part(7, 3990, &mut part).unwrap();
        assert_eq!(part, data[7 * 4000 + 3990..8 * 4000]);
        r.read_row_part(7, 4000, &mut []).unwrap();
        let mut three = vec![0u8; 12_000];
        r.read_rows(100..103, &mut three).unwrap();
        assert_eq!(three, data[400_000..412_000]);
        r.read_rows(300..300, &mut []).unwrap();

        let mut seen = 0;
        let ((), largest) = largest_allocation(|| {
            r.for_each_row(|i, b| {
                assert_eq!(i, seen);
                assert_eq!(b, &data[i * 4000..(i + 1) * 4000]);
                seen += 1;
                Ok(())
            })
            .unwrap()
        });
        assert_eq!(seen, 300);
        assert!(largest <= 1 << 20, "streaming allocated {largest} bytes");
        assert_eq!(read_tensor(&path).unwrap().data, data);

        // f's errors stop the stream and come back unchanged
        let e = r
            .for_each_row(|i, _| if i == 5 { Err(StoreError::UnknownFormat("stop".into())) } else { Ok(()) })
            .unwrap_err();
        assert!(matches!(e, StoreError::UnknownFormat(s) if s == "stop"));
    }
}

#[test]
fn out_of_range_reads_are_named_errors() {
    let dir = test_support::tempdir();
    for format in [Format::Safetensors, Format::Npy, Format::Pt] {
        let (path, _) = write(dir.path(), spec("x", DType::I64, &[4, 2]), format);
        let name = path.display().to_string();
        let r = TensorReader::open(&path).unwrap();
        let mut row = [0u8; 16];
        let e = r.read_row(4, &mut row).unwrap_err();
        assert!(matches!(e, StoreError::RowOutOfRange { row: 4, rows: 4, .. }), "{e}");
        assert!(e.to_string().contains(&name) && e.to_string().contains("4 rows"), "{e}");
        let e = r.read_row(usize::MAX, &mut row).unwrap_err();
        assert!(matches!(e, StoreError::RowOutOfRange { .. }), "{e}");
        let e = r.read_row(0, &mut [0u8; 15]).unwrap_err();
        assert!(matches!(e, StoreError::BufferLength { got: 15, expected: 16, .. }), "{e}");
        assert!(e.to_string().contains(&name), "{e}");
        let e = r.read_row_part(1, 10, &mut [0u8; 7]).unwrap_err();
        assert!(matches!(e, StoreError::RowPart { row: 1, skip: 10, len: 7, row_bytes: 16, .. }), "{e}");
        assert!(e.to_string().contains(&name), "{e}");
        let e = r.read_row_part(1, usize::MAX, &mut [0u8; 1]).unwrap_err();
        assert!(matches!(e, StoreError::RowPart { .. }), "{e}");
        let e = r.read_rows(2..5, &mut [0u8; 48]).unwrap_err();
        assert!(matches!(e, StoreError::RowsOutOfRange { start: 2, end: 5, rows: 4, .. }), "{e}");
        assert!(e.to_string().contains(&name) && e.to_string().contains("4 rows"), "{e}");
        #[allow(clippy::reversed_empty_ranges)]
        let e = r.read_rows(3..1, &mut []).unwrap_err();
        assert!(matches!(e, StoreError::RowsOutOfRange { .. }), "{e}");
        let e = r.read_rows(1..3, &mut [0u8; 16]).unwrap_err();
        assert!(matches!(e, StoreError::BufferLength { got: 16, expected: 32, .. }), "{e}");
    }
}

/// `(0, 3, 2^20, 2^20)` float32 is a valid empty tensor whose rows would be
/// 12 TiB: it opens, reads nothing, and allocates nothing for a row.
#[test]
fn empty_tensor_with_huge_rows_opens_and_reads_nothing() {
    let dir = test_support::tempdir();
    let shape = [0usize, 3, 1 << 20, 1 << 20];
    for format in [Format::Safetensors, Format::Npy, Format::Pt] {
        let (path, _) = write(dir.path(), spec("cxr_empty", DType::F32, &shape), format);
        let (r, largest) = largest_allocation(|| TensorReader::open(&path).unwrap());
        assert!(largest <= allowed(&path), "{format}: {largest}");
        assert_eq!((r.rows(), r.row_bytes(), r.data_len()), (0, 12 << 40, 0));
        let (res, largest) = largest_allocation(|| r.for_each_row(|_, _| panic!("no rows")));
        res.unwrap();
        assert_eq!(largest, 0, "{format}: streaming no rows allocated");
        r.read_rows(0..0, &mut []).unwrap();
        let e = r.read_row(0, &mut []).unwrap_err();
        assert!(matches!(e, StoreError::RowOutOfRange { row: 0, rows: 0, .. }), "{e}");
        assert!(e.to_string().contains(&path.display().to_string()), "{e}");
        let t = read_tensor(&path).unwrap();
        assert_eq!((t.spec.shape.as_slice(), t.data.len()), (&shape[..], 0));
    }
}

#[test]
fn every_truncation_of_every_format_is_a_named_error() {
    let dir = test_support::tempdir();
    for format in [Format::Safetensors, Format::Npy, Format::Pt] {
        let (path, _) = write(dir.path(), spec("whole", DType::F32, &[4, 3]), format);
        let bytes = fs::read(&path).unwrap();
        for len in 0..bytes.len() {
            // A new file each time: truncating and rewriting one costs ext4 a flush.
            refused(&put(dir.path(), &format!("cut{len}.{format}"), &bytes[..len]), "");
        }
        let cut = dir.path().join(format!("cut.{format}"));
        // and a byte too many for the formats whose data runs to the end
        if format != Format::Pt {
            let mut long = bytes.clone();
            long.push(0);
            fs::write(&cut, &long).unwrap();
            refused(&cut, "48 data bytes");
            refused(&cut, "the file has 49");
        }
    }
}

#[test]
fn npy_headers_that_lie_are_refused() {
    let dir = test_support::tempdir();
    let d = dir.path();
    let f4 = |shape: &str| npy_dict("<f4", shape);
    // sizes
    refused(
        &put(d, "huge.npy", &npy(&f4("(1099511627776, 1099511627776)"), 16)),
        "needs 4835703278458516698824704 data bytes",
    );
    refused(
        &put(d, "overflow.npy", &npy(&f4("(2, 9223372036854775807, 4)"), 16)),
        "more bytes than memory can address",
    );
    refused(
        &put(d, "overflow0.npy", &npy(&f4("(0, 4294967296, 4294967296, 4294967296)"), 0)),
        "more bytes than memory can address",
    );
    refused(&put(d, "parse.npy", &npy(&f4("(99999999999999999999999,)"), 0)), "bad .npy shape");
    refused(&put(d, "emptyrows.npy", &npy(&f4("(1000000000000000000, 0)"), 0)), "more rows than the file's");
    refused(&put(d, "scalar.npy", &npy(&f4("()"), 4)), "0-dimensional");
    refused(&put(d, "short.npy", &npy(&f4("(3, 2)"), 23)), "needs 24 data bytes at byte 128, the file holds 23");
    // dtype and layout
    refused(
        &put(d, "f8.npy", &npy(&npy_dict("<f8", "(3,)"), 24)),
        "unsupported .npy dtype \"<f8\": expected '<f4' or '<i8'",
    );
    refused(&put(d, "be.npy", &npy(&npy_dict(">f4", "(3,)"), 12)), "unsupported .npy dtype \">f4\"");
    refused(&put(d, "u1.npy", &npy(&npy_dict("|u1", "(3,)"), 3)), "unsupported .npy dtype");
    let fortran = npy("{'descr': '<f4', 'fortran_order': True, 'shape': (3, 2), }", 24);
    refused(&put(d, "fortran.npy", &fortran), "Fortran-order");
    refused(&put(d, "nodict.npy", &npy("{}", 0)), "no 'descr' entry");
    // header lengths past the end of the file, or past any sane header
    let mut v1 = npy(&f4("(3,)"), 12);
    v1[8..10].copy_from_slice(&0xffffu16.to_le_bytes());
    refused(&put(d, "v1len.npy", &v1), "the .npy header claims 65545 bytes but the file has 140");
    let mut v2 = b"\x93NUMPY\x02\x00".to_vec();
    v2.extend_from_slice(&0xffff_fff0u32.to_le_bytes());
    v2.resize(200, b' ');
    refused(&put(d, "v2len.npy", &v2), "the .npy header claims 4294967280 bytes; at most 65536");
    refused(&put(d, "v9.npy", b"\x93NUMPY\x09\x00\x10\x00"), "unsupported .npy format version 9.0");
    refused(&put(d, "v2short.npy", b"\x93NUMPY\x02\x00\x10\x00"), "truncated .npy header");
}

#[test]
fn safetensors_headers_that_lie_are_refused() {
    let dir = test_support::tempdir();
    let d = dir.path();
    let one = |dtype: &str, shape: &str, end: &str| {
        format!(r#"{{"t":{{"dtype":"{dtype}","shape":{shape},"data_offsets":[0,{end}]}}}}"#)
    };
    refused(
        &put(d, "ok_but_short.safetensors", &safetensors(&one("F32", "[3]", "12"), 8)),
        "describes 12 data bytes but the file has 8",
    );
    refused(
        &put(d, "huge.safetensors", &safetensors(&one("F32", "[1099511627776,1024]", "4503599627370496"), 16)),
        "describes 4503599627370496 data bytes but the file has 16",
    );
    refused(
        &put(d, "overflow.safetensors", &safetensors(&one("F32", "[4294967296,4294967296,4]", "0"), 0)),
        "invalid safetensors header JSON",
    );
    refused(
        &put(d, "f64.safetensors", &safetensors(&one("F64", "[3]", "24"), 24)),
        "unsupported safetensors dtype F64: expected F32 or I64",
    );
    refused(&put(d, "scalar.safetensors", &safetensors(&one("F32", "[]", "4"), 4)), "0-dimensional");
    refused(
        &put(d, "emptyrows.safetensors", &safetensors(&one("F32", "[1000000000000000000,0]", "0"), 0)),
        "more rows than the file's",
    );
    let two = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F32","shape":[1],"data_offsets":[4,8]}}"#;
    refused(&put(d, "two.safetensors", &safetensors(two, 8)), "expected exactly one tensor");
    // header lengths past the end of the file, or past any sane header
    let mut past = safetensors(&one("F32", "[3]", "12"), 12);
    past[..8].copy_from_slice(&1000u64.to_le_bytes());
    refused(&put(d, "past.safetensors", &past), "the safetensors header claims 1000 bytes but the file has 76");
    past[..8].copy_from_slice(&u64::MAX.to_le_bytes());
    refused(&put(d, "max.safetensors", &past), "safetensors header length 18446744073709551615 is implausible");
    past[..8].copy_from_slice(&(3u64 << 30).to_le_bytes());
    refused(&put(d, "3g.safetensors", &past), "is implausible (max 1048576)");
    refused(&put(d, "tiny.safetensors", b"\x01\x00\x00"), "not a tensor file: 3 bytes");
    refused(&put(d, "empty.safetensors", b""), "not a tensor file: 0 bytes");
}

#[test]
fn pt_archives_that_lie_are_refused() {
    let dir = test_support::tempdir();
    let d = dir.path();
    let f32s = |n: usize| vec![0u8; n * 4];
    // a well-formed archive from the zip crate's writer reads: the reader does not depend on our layout
    let good = put(d, "good.pt", &pt("good", &torch_pickle("FloatStorage", 6, &[2, 3], &[3, 1]), &f32s(6)));
    let r = TensorReader::open(&good).unwrap();
    assert_eq!((r.rows(), r.row_bytes()), (2, 12));
    // a storage larger than the tensor is fine; the tensor is its prefix
    let big_storage = put(d, "prefix.pt", &pt("prefix", &torch_pickle("FloatStorage", 8, &[2, 3], &[3, 1]), &f32s(8)));
    assert_eq!(TensorReader::open(&big_storage).unwrap().data_len(), 24);

    let case = |name: &str, pkl: Vec<u8>, storage: Vec<u8>, want: &str| {
        refused(&put(d, &format!("{name}.pt"), &pt(name, &pkl, &storage)), want);
    };
    case("f64", torch_pickle("DoubleStorage", 3, &[3], &[1]), vec![0; 24], "unsupported storage torch.DoubleStorage");
    case("short", torch_pickle("FloatStorage", 6, &[2, 3], &[3, 1]), f32s(5), "has 20 bytes (20 stored), expected 24");
    case(
        "numel",
        torch_pickle("FloatStorage", 1 << 62, &[2, 3], &[3, 1]),
        f32s(6),
        "expected 18446744073709551616 for",
    );
    case(
        "huge",
        torch_pickle("FloatStorage", 1 << 40, &[1 << 20, 1 << 20], &[1 << 20, 1]),
        f32s(6),
        "expected 4398046511104 for 1099511627776",
    );
    case(
        "overflow",
        torch_pickle("FloatStorage", 6, &[1 << 32, 1 << 32, 1 << 32], &[1, 1, 1]),
        f32s(6),
        "has more elements than memory can address",
    );
    case(
        "overflow0",
        torch_pickle("FloatStorage", 0, &[0, 1 << 32, 1 << 32, 1 << 32], &[1, 1, 1, 1]),
        vec![],
        "more bytes than memory can address",
    );
    case(
        "more",
        torch_pickle("FloatStorage", 4, &[2, 3], &[3, 1]),
        f32s(4),
        "needs more elements than the storage's 4",
    );
    case("stride", torch_pickle("FloatStorage", 6, &[2, 3], &[1, 2]), f32s(6), "is not C-contiguous");
    case("scalar", torch_pickle("FloatStorage", 1, &[], &[]), f32s(1), "0-dimensional");
    case("emptyrows", torch_pickle("FloatStorage", 0, &[1 << 60, 0], &[1, 1]), vec![], "more rows than the file's");
    case("notpickle", b"\x80\x02\xff".to_vec(), f32s(1), "unsupported pickle opcode 0xff at byte 2");
    case("cutpickle", torch_pickle("FloatStorage", 6, &[2, 3], &[3, 1])[..40].to_vec(), f32s(6), "pickle truncated");
}

/// A `.pt` whose zip directory says `data.pkl` is 3 GB: refused before
/// anything is sized from that claim.
#[test]
fn pt_claiming_a_multi_gb_pickle_is_refused_without_allocating() {
    let dir = test_support::tempdir();
    let (path, _) = write(dir.path(), spec("claims", DType::F32, &[2, 3]), Format::Pt);
    let mut bytes = fs::read(&path).unwrap();
    let central = bytes.windows(4).position(|w| w == b"PK\x01\x02").unwrap();
    assert_eq!(&bytes[central + 46..central + 46 + 15], b"claims/data.pkl");
    // compressed and uncompressed size of the first central entry
    bytes[central + 20..central + 28].copy_from_slice(&[0x00, 0x00, 0x00, 0xc0, 0x00, 0x00, 0x00, 0xc0]);
    refused(&put(dir.path(), "claims.pt", &bytes), "claims/data.pkl claims 3221225472 bytes");
}

/// Pickles that would build exponentially large or deeply nested values.
#[test]
fn pickle_bombs_are_refused_quickly() {
    let dir = test_support::tempdir();
    let d = dir.path();
    // ")" then 60 × (BINPUT 0, BINGET 0, TUPLE2): each step doubles the value
    let mut bomb = b"\x80\x02)".to_vec();
    for _ in 0..60 {
        bomb.extend_from_slice(b"q\x00h\x00\x86");
    }
    bomb.push(b'.');
    refused(&put(d, "bomb.pt", &pt("bomb", &bomb, &[])), "pickle builds more than");
    // 50,000 nested one-tuples: dropping or printing them would recurse 50,000 deep
    let mut deep = b"\x80\x02)".to_vec();
    deep.extend(std::iter::repeat_n(0x85u8, 50_000));
    deep.push(b'.');
    refused(&put(d, "deep.pt", &pt("deep", &deep, &[])), "pickle nests deeper than 32");
    // and a data.pkl past the cap
    let mut long = torch_pickle("FloatStorage", 1, &[1], &[1]);
    long.resize(100_000, b'N');
    refused(&put(d, "long.pt", &pt("long", &long, &[0; 4])), "long/data.pkl claims 100000 bytes");
}

#[test]
fn not_a_tensor_file() {
    let dir = test_support::tempdir();
    let msg = refused(dir.path(), "not a regular file");
    assert!(msg.contains(&dir.path().display().to_string()));
    let e = TensorReader::open(&dir.path().join("missing.npy")).unwrap_err();
    assert!(matches!(e, StoreError::Io { .. }) && e.to_string().contains("missing.npy"), "{e}");
    refused(&put(dir.path(), "text.pt", b"PK\x03\x04 this is not a zip"), "invalid torch zip archive");
}

/// A file cut short after it was opened: reads fail with an error naming it.
#[test]
fn a_file_that_shrinks_after_opening_is_a_named_error() {
    let dir = test_support::tempdir();
    let (path, _) = write(dir.path(), spec("shrinks", DType::I64, &[10, 4]), Format::Npy);
    let r = TensorReader::open(&path).unwrap();
    let len = fs::metadata(&path).unwrap().len();
    fs::OpenOptions::new().write(true).open(&path).unwrap().set_len(len - 32).unwrap();
    let mut row = [0u8; 32];
    r.read_row(8, &mut row).unwrap();
    let e = r.read_row(9, &mut row).unwrap_err();
    assert!(e.to_string().contains(&path.display().to_string()) && e.to_string().contains("row 9"), "{e}");
    // Streaming reads whole blocks of rows: the block that reaches past the new end fails.
    let e = r.for_each_row(|_, _| Ok(())).unwrap_err();
    assert!(
        matches!(&e, StoreError::Malformed { path: p, what } if *p == path
            && what.contains("the file ends before")
            && what.contains(&format!("it had {len} bytes when opened"))),
        "{e:?}"
    );
}

#[test]
fn tensor_reader_is_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<TensorReader>();
}

/// A header listing thousands of dimensions gets a message of bounded length.
#[test]
fn messages_about_long_shapes_stay_short() {
    let dir = test_support::tempdir();
    let dims = vec!["2"; 5000].join(", ");
    let msg =
        refused(&put(dir.path(), "dims.npy", &npy(&npy_dict("<f4", &format!("({dims})")), 0)), "(4999 dimensions)");
    assert!(msg.len() < 300, "{} bytes: {msg}", msg.len());
}
