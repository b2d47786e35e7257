//! torch `.pt` files: the zip archive `torch.save` writes, laid out so that
//! the tensor's bytes can be written in place, row by row, from many threads.
//!
//! The layout reproduces what torch (2.15, through its bundled miniz) writes
//! for `torch.save(tensor, "<stem>.pt")` byte for byte; see
//! `docs/formats.md`. Records, all STORED, in this order under the folder
//! `<stem>/`: `data.pkl`, `.format_version` (`1`), `.storage_alignment`
//! (`64`), `byteorder` (`little`), `data/0` (the raw storage), `version`
//! (`3\n`), `.data/serialization_id`.
//!
//! Every record is written the way miniz streams one: a local header with
//! zero CRC and sizes (general-purpose flags `0x0808`: data descriptor + UTF-8),
//! an extra field `FB` of `Z` bytes that puts the data on a 64-byte boundary,
//! the data, then a data descriptor carrying the CRC and sizes. Because no
//! size or CRC precedes the data, every byte before the tensor is known when
//! the file is created; only what follows it (the descriptor, the last two
//! records and the central directory) waits for [`PtLayout::tail`].
//!
//! The zip is written by hand rather than with the `zip` crate's writer
//! because the tensor must be written at computed offsets by many threads
//! without ever holding it (or copying a 12 GB temporary); the `zip` crate is
//! used to read archives back.

use crate::DType;
use crate::pickle;

const LOCAL_SIG: u32 = 0x0403_4b50;
const CENTRAL_SIG: u32 = 0x0201_4b50;
const DESCRIPTOR_SIG: u32 = 0x0807_4b50;
const ZIP64_EOCD_SIG: u32 = 0x0606_4b50;
const ZIP64_LOCATOR_SIG: u32 = 0x0706_4b50;
const EOCD_SIG: u32 = 0x0605_4b50;
/// Data descriptor follows the data; names are UTF-8 (what miniz sets for
/// every non-empty record).
const FLAGS: u16 = 0x0808;
/// torch's `kFieldAlignment`: record data starts on this boundary.
const ALIGN: u64 = 64;
/// A zip field that does not fit 32 bits is written as this and moved to the
/// zip64 extra field (miniz's threshold is `>= 0xFFFFFFFF`).
const U32_MAX: u64 = 0xFFFF_FFFF;
/// `.data/serialization_id` is 20 digits of a hash of the record names and 20
/// digits of a hash of the records' CRCs. The names are always the same seven
/// records, so the first half is a constant: the value torch computes for
/// them (libstdc++ `std::hash<std::string>` folded with `c10::hash_combine`),
/// read off files torch wrote.
const NAME_HASH_DIGITS: &str = "15728199511854643026";
/// Index of the tensor storage record.
const DATA_RECORD: usize = 4;

/// One zip record's place in the archive.
#[derive(Debug, Clone)]
struct Record {
    /// Full name, `<archive>/<name>`.
    full_name: String,
    /// Offset of the local header.
    header_offset: u64,
    /// Offset of the first data byte.
    data_offset: u64,
    /// Data length.
    size: u64,
    /// The record's bytes; `None` for the tensor storage and the
    /// serialization id, which are only known at the end.
    content: Option<Vec<u8>>,
}

impl Record {
    fn big_size(&self) -> bool {
        self.size >= U32_MAX
    }
    fn big_offset(&self) -> bool {
        self.header_offset >= U32_MAX
    }
    fn zip64(&self) -> bool {
        self.big_size() || self.big_offset()
    }
    /// miniz writes no data descriptor (and clears flag bit 3) for an
    /// empty record: the zero CRC and sizes in the local header are final.
    fn has_descriptor(&self) -> bool {
        self.size > 0
    }
    fn flags(&self) -> u16 {
        if self.has_descriptor() { FLAGS } else { FLAGS & !0x0008 }
    }
    fn descriptor_len(&self) -> u64 {
        match (self.has_descriptor(), self.zip64()) {
            (false, _) => 0,
            (true, true) => 24,
            (true, false) => 16,
        }
    }
    fn end(&self) -> u64 {
        self.data_offset + self.size + self.descriptor_len()
    }
    /// Local header, name and extra fields (zip64, then `FB` padding).
    fn local_header(&self) -> Vec<u8> {
        let mut extra = Vec::new();
        if self.zip64() {
            let mut body = Vec::new();
            if self.big_size() {
                body.extend_from_slice(&self.size.to_le_bytes());
                body.extend_from_slice(&0u64.to_le_bytes()); // miniz leaves the compressed size 0 here
            }
            if self.big_offset() {
                body.extend_from_slice(&self.header_offset.to_le_bytes());
            }
            extra.extend_from_slice(&1u16.to_le_bytes());
            extra.extend_from_slice(&(body.len() as u16).to_le_bytes());
            extra.extend_from_slice(&body);
        }
        let before_pad = self.header_offset + 30 + self.full_name.len() as u64 + extra.len() as u64 + 4;
        let pad = (self.data_offset - before_pad) as usize;
        extra.extend_from_slice(b"FB");
        extra.extend_from_slice(&(pad as u16).to_le_bytes());
        extra.resize(extra.len() + pad, b'Z');
        let mut h = Vec::with_capacity(30 + self.full_name.len() + extra.len());
        h.extend_from_slice(&LOCAL_SIG.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // version needed
        h.extend_from_slice(&self.flags().to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes()); // method: stored
        h.extend_from_slice(&0u16.to_le_bytes()); // time
        h.extend_from_slice(&0u16.to_le_bytes()); // date
        h.extend_from_slice(&[0; 12]); // crc, compressed and uncompressed size: in the descriptor
        h.extend_from_slice(&(self.full_name.len() as u16).to_le_bytes());
        h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        h.extend_from_slice(self.full_name.as_bytes());
        h.extend_from_slice(&extra);
        debug_assert_eq!(self.header_offset + h.len() as u64, self.data_offset);
        h
    }
    fn descriptor(&self, crc: u32) -> Vec<u8> {
        if !self.has_descriptor() {
            return Vec::new();
        }
        let mut d = Vec::with_capacity(24);
        d.extend_from_slice(&DESCRIPTOR_SIG.to_le_bytes());
        d.extend_from_slice(&crc.to_le_bytes());
        if self.zip64() {
            d.extend_from_slice(&self.size.to_le_bytes());
            d.extend_from_slice(&self.size.to_le_bytes());
        } else {
            d.extend_from_slice(&(self.size as u32).to_le_bytes());
            d.extend_from_slice(&(self.size as u32).to_le_bytes());
        }
        d
    }
    fn central_len(&self) -> u64 {
        let mut extra = 0;
        if self.zip64() {
            extra = 4 + if self.big_size() { 16 } else { 0 } + if self.big_offset() { 8 } else { 0 };
        }
        46 + self.full_name.len() as u64 + extra
    }
    fn central(&self, crc: u32, out: &mut Vec<u8>) {
        let mut extra = Vec::new();
        if self.zip64() {
            let mut body = Vec::new();
            if self.big_size() {
                body.extend_from_slice(&self.size.to_le_bytes());
                body.extend_from_slice(&self.size.to_le_bytes());
            }
            if self.big_offset() {
                body.extend_from_slice(&self.header_offset.to_le_bytes());
            }
            extra.extend_from_slice(&1u16.to_le_bytes());
            extra.extend_from_slice(&(body.len() as u16).to_le_bytes());
            extra.extend_from_slice(&body);
        }
        let size32 = self.size.min(U32_MAX) as u32;
        out.extend_from_slice(&CENTRAL_SIG.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // version made by
        out.extend_from_slice(&0u16.to_le_bytes()); // version needed
        out.extend_from_slice(&self.flags().to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // method
        out.extend_from_slice(&0u16.to_le_bytes()); // time
        out.extend_from_slice(&0u16.to_le_bytes()); // date
        out.extend_from_slice(&crc.to_le_bytes());
        out.extend_from_slice(&size32.to_le_bytes()); // compressed
        out.extend_from_slice(&size32.to_le_bytes()); // uncompressed
        out.extend_from_slice(&(self.full_name.len() as u16).to_le_bytes());
        out.extend_from_slice(&(extra.len() as u16).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes()); // comment
        out.extend_from_slice(&0u16.to_le_bytes()); // disk
        out.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
        out.extend_from_slice(&0u32.to_le_bytes()); // external attributes
        out.extend_from_slice(&(self.header_offset.min(U32_MAX) as u32).to_le_bytes());
        out.extend_from_slice(self.full_name.as_bytes());
        out.extend_from_slice(&extra);
    }
}

/// Offset of the data of a record whose local header starts at `cursor`:
/// torch's `getPadding` (the zip64 extra counts when present).
fn data_offset(cursor: u64, full_name_len: usize, size: u64) -> u64 {
    let mut start = cursor + 30 + full_name_len as u64 + 4;
    if size >= U32_MAX || cursor >= U32_MAX {
        start += 4;
        if size >= U32_MAX {
            start += 16;
        }
        if cursor >= U32_MAX {
            start += 8;
        }
    }
    start.next_multiple_of(ALIGN)
}

/// c10::hash_combine on 64-bit values.
fn hash_combine(seed: u64, value: u64) -> u64 {
    seed ^ value.wrapping_add(0x9e37_79b9).wrapping_add(seed << 6).wrapping_add(seed >> 2)
}

/// The complete layout of a `.pt` file for one tensor.
#[derive(Debug, Clone)]
pub(crate) struct PtLayout {
    records: Vec<Record>,
    central_offset: u64,
    central_len: u64,
    total_len: u64,
}

impl PtLayout {
    /// Lays out the archive for a tensor of `dtype`/`shape` saved as
    /// `<archive>.pt` (torch names the inner folder after the file stem).
    pub(crate) fn new(archive: &str, dtype: DType, shape: &[usize]) -> Self {
        let data_len = (shape.iter().product::<usize>() * dtype.size()) as u64;
        let parts: [(&str, Option<Vec<u8>>, u64); 7] = {
            let pkl = pickle::torch_tensor_pickle(dtype, shape);
            let pkl_len = pkl.len() as u64;
            [
                ("data.pkl", Some(pkl), pkl_len),
                (".format_version", Some(b"1".to_vec()), 1),
                (".storage_alignment", Some(ALIGN.to_string().into_bytes()), 2),
                ("byteorder", Some(b"little".to_vec()), 6),
                ("data/0", None, data_len),
                ("version", Some(b"3\n".to_vec()), 2),
                (".data/serialization_id", None, 40),
            ]
        };
        let mut records = Vec::with_capacity(parts.len());
        let mut cursor = 0u64;
        for (name, content, size) in parts {
            let full_name = format!("{archive}/{name}");
            let data_offset = data_offset(cursor, full_name.len(), size);
            let r = Record { full_name, header_offset: cursor, data_offset, size, content };
            cursor = r.end();
            records.push(r);
        }
        let central_offset = cursor;
        let central_len: u64 = records.iter().map(Record::central_len).sum();
        // zip64 end of central directory (56) + locator (20) + end of central directory (22)
        let total_len = central_offset + central_len + 56 + 20 + 22;
        Self { records, central_offset, central_len, total_len }
    }

    /// Absolute offset of the tensor's first byte.
    pub(crate) fn data_offset(&self) -> u64 {
        self.records[DATA_RECORD].data_offset
    }

    /// Final file length.
    pub(crate) fn total_len(&self) -> u64 {
        self.total_len
    }

    /// Every byte before the tensor data (written at offset 0 on creation).
    pub(crate) fn head(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.data_offset() as usize);
        for r in &self.records[..DATA_RECORD] {
            out.extend_from_slice(&r.local_header());
            let content = r.content.as_ref().expect("records before the tensor have content");
            out.extend_from_slice(content);
            out.extend_from_slice(&r.descriptor(crc32fast::hash(content)));
        }
        out.extend_from_slice(&self.records[DATA_RECORD].local_header());
        out
    }

    /// Offset where [`PtLayout::tail`] goes: right after the tensor data.
    pub(crate) fn tail_offset(&self) -> u64 {
        let r = &self.records[DATA_RECORD];
        r.data_offset + r.size
    }

    /// Everything after the tensor data, given the CRC-32 of the data.
    pub(crate) fn tail(&self, data_crc: u32) -> Vec<u8> {
        let mut crcs: Vec<u32> = Vec::with_capacity(self.records.len());
        let mut combined = 0u64;
        for (i, r) in self.records.iter().enumerate() {
            let crc = match i {
                DATA_RECORD => data_crc,
                6 => {
                    // serialization id: hash_combine over the CRCs of all records before it, in order
                    let id = format!("{NAME_HASH_DIGITS}{combined:020}");
                    crcs.push(crc32fast::hash(id.as_bytes()));
                    continue;
                }
                _ => crc32fast::hash(r.content.as_ref().expect("fixed record")),
            };
            // torch folds in the CRC of each data descriptor it writes
            if r.has_descriptor() {
                combined = hash_combine(combined, crc as u64);
            }
            crcs.push(crc);
        }
        let id = format!("{NAME_HASH_DIGITS}{combined:020}");
        debug_assert_eq!(id.len(), 40);

        let mut out = Vec::new();
        out.extend_from_slice(&self.records[DATA_RECORD].descriptor(data_crc));
        for (i, r) in self.records.iter().enumerate().skip(DATA_RECORD + 1) {
            out.extend_from_slice(&r.local_header());
            let content: &[u8] = r.content.as_deref().unwrap_or(id.as_bytes());
            out.extend_from_slice(content);
            out.extend_from_slice(&r.descriptor(crcs[i]));
        }
        debug_assert_eq!(self.tail_offset() + out.len() as u64, self.central_offset);
        for (r, &crc) in self.records.iter().zip(&crcs) {
            r.central(crc, &mut out);
        }
        let n = self.records.len() as u64;
        let zip64_eocd_offset = self.central_offset + self.central_len;
        out.extend_from_slice(&ZIP64_EOCD_SIG.to_le_bytes());
        out.extend_from_slice(&44u64.to_le_bytes()); // size of the rest of this record
        out.extend_from_slice(&0x031eu16.to_le_bytes()); // made by: Unix, spec 3.0
        out.extend_from_slice(&0x002du16.to_le_bytes()); // needed: 4.5 (zip64)
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&n.to_le_bytes());
        out.extend_from_slice(&self.central_len.to_le_bytes());
        out.extend_from_slice(&self.central_offset.to_le_bytes());
        out.extend_from_slice(&ZIP64_LOCATOR_SIG.to_le_bytes());
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&zip64_eocd_offset.to_le_bytes());
        out.extend_from_slice(&1u32.to_le_bytes());
        out.extend_from_slice(&EOCD_SIG.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&(n as u16).to_le_bytes());
        out.extend_from_slice(&(self.central_len.min(U32_MAX) as u32).to_le_bytes());
        out.extend_from_slice(&(self.central_offset.min(U32_MAX) as u32).to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        debug_assert_eq!(self.tail_offset() + out.len() as u64, self.total_len);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_layout_matches_torch_offsets() {
        // offsets read from torch.save(torch.arange(6.).reshape(2, 3), "f32_2x3.pt")
        let l = PtLayout::new("f32_2x3", DType::F32, &[2, 3]);
        let offsets: Vec<u64> = l.records.iter().map(|r| r.header_offset).collect();
        assert_eq!(offsets, vec![0, 234, 337, 466, 598, 744, 850]);
        assert_eq!(l.data_offset(), 0x2c0);
        assert_eq!(l.central_offset, 0x3f8);
        assert_eq!(l.central_len, 0x1cf);
        assert_eq!(l.total_len(), 1577);
    }

    #[test]
    fn big_layout_matches_torch_offsets() {
        // torch.save(torch.zeros((1100, 1000000)), "big.pt"): 4.4 GB, zip64 everywhere after the tensor
        let l = PtLayout::new("big", DType::F32, &[1100, 1_000_000]);
        let offsets: Vec<u64> = l.records.iter().map(|r| r.header_offset).collect();
        assert_eq!(offsets, vec![0, 244, 337, 466, 598, 4_400_000_728, 4_400_000_858]);
        assert_eq!(l.data_offset(), 704);
        assert_eq!(l.central_offset, 0x1_0642_b000);
        assert_eq!(l.central_len, 0x1df);
        assert_eq!(l.total_len(), 4_400_001_601);
    }

    #[test]
    fn big_head_and_tail_are_torchs_bytes() {
        // The first 704 bytes (up to the tensor data) and everything after the
        // 4.4 GB of zeros of that torch-written file, committed as fixtures.
        let head: &[u8] = include_bytes!("../tests/data/big_head.bin");
        let tail: &[u8] = include_bytes!("../tests/data/big_tail.bin");
        let l = PtLayout::new("big", DType::F32, &[1100, 1_000_000]);
        assert_eq!(l.head(), head);
        // the data CRC as torch wrote it in the data descriptor
        let crc = u32::from_le_bytes(tail[4..8].try_into().unwrap());
        assert_eq!(crc, 0x1e7e_8ae2);
        assert_eq!(l.tail(crc), tail);
    }
}
