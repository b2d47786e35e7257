//! The few pickle opcodes a torch tensor needs: a writer that emits exactly
//! what CPython's protocol-2 pickler emits for `torch.save(tensor)`, and a
//! small reader that evaluates such a pickle into a [`Value`] tree without
//! executing anything (globals are kept as names).
//!
//! What `torch.save(t)` pickles is `t.__reduce_ex__(2)`, i.e.
//! `torch._utils._rebuild_tensor_v2(storage, storage_offset, size, stride,
//! requires_grad, backward_hooks)` where `storage` is emitted as a persistent
//! id `('storage', torch.FloatStorage, '0', 'cpu', numel)` and
//! `backward_hooks` is an empty `collections.OrderedDict()`. CPython memoizes
//! (`BINPUT`) every global, string and non-empty tuple, and the reduced object
//! itself, in the order they are first saved; the writer reproduces that order.

use crate::DType;

const PROTO: u8 = 0x80;
const GLOBAL: u8 = b'c';
const BINPUT: u8 = b'q';
const LONG_BINPUT: u8 = b'r';
const BINGET: u8 = b'h';
const LONG_BINGET: u8 = b'j';
const MARK: u8 = b'(';
const TUPLE: u8 = b't';
const TUPLE1: u8 = 0x85;
const TUPLE2: u8 = 0x86;
const TUPLE3: u8 = 0x87;
const EMPTY_TUPLE: u8 = b')';
const BINUNICODE: u8 = b'X';
const SHORT_BINUNICODE: u8 = 0x8c;
const BININT: u8 = b'J';
const BININT1: u8 = b'K';
const BININT2: u8 = b'M';
const LONG1: u8 = 0x8a;
const BINPERSID: u8 = b'Q';
const NEWFALSE: u8 = 0x89;
const NEWTRUE: u8 = 0x88;
const NONE: u8 = b'N';
const REDUCE: u8 = b'R';
const EMPTY_DICT: u8 = b'}';
const STOP: u8 = b'.';

/// Name of torch's typed storage class for a dtype (`torch.<name>`).
pub(crate) fn storage_class(dtype: DType) -> &'static str {
    match dtype {
        DType::F32 => "FloatStorage",
        DType::I64 => "LongStorage",
    }
}

/// Contiguous (C-order) strides as torch computes them: a zero-sized
/// dimension counts as 1 for the strides of the dimensions before it.
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0usize; shape.len()];
    let mut acc = 1usize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc *= shape[i].max(1);
    }
    strides
}

/// Pickle writer with CPython's memo numbering.
struct Writer {
    out: Vec<u8>,
    memo: u32,
}

impl Writer {
    fn memoize(&mut self) {
        if self.memo < 256 {
            self.out.extend_from_slice(&[BINPUT, self.memo as u8]);
        } else {
            self.out.push(LONG_BINPUT);
            self.out.extend_from_slice(&self.memo.to_le_bytes());
        }
        self.memo += 1;
    }

    fn global(&mut self, module: &str, name: &str) {
        self.out.push(GLOBAL);
        self.out.extend_from_slice(module.as_bytes());
        self.out.push(b'\n');
        self.out.extend_from_slice(name.as_bytes());
        self.out.push(b'\n');
        self.memoize();
    }

    fn string(&mut self, s: &str) {
        self.out.push(BINUNICODE);
        self.out.extend_from_slice(&(s.len() as u32).to_le_bytes());
        self.out.extend_from_slice(s.as_bytes());
        self.memoize();
    }

    /// CPython `save_long` for protocol 2.
    fn int(&mut self, v: u64) {
        if v <= 0xff {
            self.out.extend_from_slice(&[BININT1, v as u8]);
        } else if v <= 0xffff {
            self.out.push(BININT2);
            self.out.extend_from_slice(&(v as u16).to_le_bytes());
        } else if v <= 0x7fff_ffff {
            self.out.push(BININT);
            self.out.extend_from_slice(&(v as i32).to_le_bytes());
        } else {
            // pickle.encode_long: little-endian two's complement, (bit_length >> 3) + 1 bytes.
            let nbytes = ((64 - v.leading_zeros()) >> 3) as usize + 1;
            let bytes = (v as u128).to_le_bytes();
            self.out.extend_from_slice(&[LONG1, nbytes as u8]);
            self.out.extend_from_slice(&bytes[..nbytes]);
        }
    }

    /// CPython `save_tuple` of ints.
    fn int_tuple(&mut self, items: &[usize]) {
        match items.len() {
            0 => self.out.push(EMPTY_TUPLE), // the empty tuple is never memoized
            n @ 1..=3 => {
                for &i in items {
                    self.int(i as u64);
                }
                self.out.push([TUPLE1, TUPLE2, TUPLE3][n - 1]);
                self.memoize();
            }
            _ => {
                self.out.push(MARK);
                for &i in items {
                    self.int(i as u64);
                }
                self.out.push(TUPLE);
                self.memoize();
            }
        }
    }
}

/// The `data.pkl` bytes `torch.save` writes for a contiguous CPU tensor of
/// `dtype` and `shape` whose storage is record `data/0`.
pub(crate) fn torch_tensor_pickle(dtype: DType, shape: &[usize]) -> Vec<u8> {
    let numel: usize = shape.iter().product();
    let mut w = Writer { out: Vec::with_capacity(256), memo: 0 };
    w.out.extend_from_slice(&[PROTO, 2]);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.out.push(MARK); // the 6 arguments
    // persistent id ('storage', torch.FloatStorage, '0', 'cpu', numel)
    w.out.push(MARK);
    w.string("storage");
    w.global("torch", storage_class(dtype));
    w.string("0");
    w.string("cpu");
    w.int(numel as u64);
    w.out.push(TUPLE);
    w.memoize();
    w.out.push(BINPERSID);
    w.int(0); // storage_offset
    w.int_tuple(shape);
    w.int_tuple(&contiguous_strides(shape));
    w.out.push(NEWFALSE); // requires_grad
    w.global("collections", "OrderedDict");
    w.out.push(EMPTY_TUPLE);
    w.out.push(REDUCE);
    w.memoize();
    w.out.push(TUPLE);
    w.memoize();
    w.out.push(REDUCE);
    w.memoize();
    w.out.push(STOP);
    w.out
}

/// A value built by the reader. Nothing is executed: globals stay names and
/// `REDUCE`/`BINPERSID` stay nodes.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Value {
    Int(i128),
    Str(String),
    Bool(bool),
    None,
    Dict,
    Tuple(Vec<Value>),
    Global(String, String),
    Persistent(Box<Value>),
    Reduce(Box<Value>, Box<Value>),
}

enum Item {
    Mark,
    Val(Value),
}

/// Evaluates a pickle made of the opcodes torch tensors use.
pub(crate) fn parse(data: &[u8]) -> Result<Value, String> {
    let mut stack: Vec<Item> = Vec::new();
    let mut memo: std::collections::HashMap<u32, Value> = std::collections::HashMap::new();
    let mut pos = 0usize;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], String> {
        let s = data.get(*pos..*pos + n).ok_or_else(|| format!("pickle truncated at byte {}", *pos))?;
        *pos += n;
        Ok(s)
    };
    fn pop(stack: &mut Vec<Item>, at: usize) -> Result<Value, String> {
        match stack.pop() {
            Some(Item::Val(v)) => Ok(v),
            _ => Err(format!("pickle stack underflow at byte {at}")),
        }
    }
    fn pop_mark(stack: &mut Vec<Item>, at: usize) -> Result<Vec<Value>, String> {
        let mut items = Vec::new();
        loop {
            match stack.pop() {
                Some(Item::Val(v)) => items.push(v),
                Some(Item::Mark) => break,
                None => return Err(format!("pickle MARK missing at byte {at}")),
            }
        }
        items.reverse();
        Ok(items)
    }
    loop {
        let at = pos;
        let op = take(&mut pos, 1)?[0];
        match op {
            PROTO => {
                take(&mut pos, 1)?;
            }
            GLOBAL => {
                let mut line = || -> Result<String, String> {
                    let rest = &data[pos..];
                    let nl = rest.iter().position(|&b| b == b'\n').ok_or("unterminated GLOBAL")?;
                    let s = String::from_utf8_lossy(&rest[..nl]).into_owned();
                    pos += nl + 1;
                    Ok(s)
                };
                let module = line()?;
                let name = line()?;
                stack.push(Item::Val(Value::Global(module, name)));
            }
            BINPUT | LONG_BINPUT => {
                let idx = if op == BINPUT {
                    take(&mut pos, 1)?[0] as u32
                } else {
                    u32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes"))
                };
                match stack.last() {
                    Some(Item::Val(v)) => {
                        memo.insert(idx, v.clone());
                    }
                    _ => return Err(format!("BINPUT with no value at byte {at}")),
                }
            }
            BINGET | LONG_BINGET => {
                let idx = if op == BINGET {
                    take(&mut pos, 1)?[0] as u32
                } else {
                    u32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes"))
                };
                let v = memo.get(&idx).ok_or_else(|| format!("BINGET of unknown memo {idx} at byte {at}"))?;
                stack.push(Item::Val(v.clone()));
            }
            MARK => stack.push(Item::Mark),
            TUPLE => {
                let items = pop_mark(&mut stack, at)?;
                stack.push(Item::Val(Value::Tuple(items)));
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let n = (op - TUPLE1 + 1) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(pop(&mut stack, at)?);
                }
                items.reverse();
                stack.push(Item::Val(Value::Tuple(items)));
            }
            EMPTY_TUPLE => stack.push(Item::Val(Value::Tuple(Vec::new()))),
            BINUNICODE | SHORT_BINUNICODE => {
                let n = if op == BINUNICODE {
                    u32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes")) as usize
                } else {
                    take(&mut pos, 1)?[0] as usize
                };
                let s = String::from_utf8_lossy(take(&mut pos, n)?).into_owned();
                stack.push(Item::Val(Value::Str(s)));
            }
            BININT1 => {
                let v = take(&mut pos, 1)?[0];
                stack.push(Item::Val(Value::Int(v as i128)));
            }
            BININT2 => {
                let v = u16::from_le_bytes(take(&mut pos, 2)?.try_into().expect("2 bytes"));
                stack.push(Item::Val(Value::Int(v as i128)));
            }
            BININT => {
                let v = i32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes"));
                stack.push(Item::Val(Value::Int(v as i128)));
            }
            LONG1 => {
                let n = take(&mut pos, 1)?[0] as usize;
                if n > 16 {
                    return Err(format!("LONG1 of {n} bytes at byte {at} is too large"));
                }
                let bytes = take(&mut pos, n)?;
                let mut buf = if bytes.last().is_some_and(|&b| b & 0x80 != 0) { [0xffu8; 16] } else { [0u8; 16] };
                buf[..n].copy_from_slice(bytes);
                stack.push(Item::Val(Value::Int(i128::from_le_bytes(buf))));
            }
            NEWFALSE => stack.push(Item::Val(Value::Bool(false))),
            NEWTRUE => stack.push(Item::Val(Value::Bool(true))),
            NONE => stack.push(Item::Val(Value::None)),
            EMPTY_DICT => stack.push(Item::Val(Value::Dict)),
            BINPERSID => {
                let pid = pop(&mut stack, at)?;
                stack.push(Item::Val(Value::Persistent(Box::new(pid))));
            }
            REDUCE => {
                let args = pop(&mut stack, at)?;
                let func = pop(&mut stack, at)?;
                stack.push(Item::Val(Value::Reduce(Box::new(func), Box::new(args))));
            }
            STOP => return pop(&mut stack, at),
            other => return Err(format!("unsupported pickle opcode 0x{other:02x} at byte {at}")),
        }
    }
}

/// What a tensor pickle says about its tensor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TorchTensorInfo {
    pub dtype: DType,
    pub shape: Vec<usize>,
    /// Storage record key (`data/<key>`).
    pub key: String,
    /// Elements in the storage.
    pub numel: usize,
}

fn as_usize(v: &Value, what: &str) -> Result<usize, String> {
    match v {
        Value::Int(i) if *i >= 0 => usize::try_from(*i).map_err(|_| format!("{what} {i} too large")),
        other => Err(format!("expected a non-negative int for {what}, found {other:?}")),
    }
}

fn as_usize_tuple(v: &Value, what: &str) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(items) => items.iter().map(|i| as_usize(i, what)).collect(),
        other => Err(format!("expected a tuple for {what}, found {other:?}")),
    }
}

/// Interprets a parsed `data.pkl` as one contiguous CPU tensor with storage
/// offset 0 (what `torch.save(tensor)` produces).
pub(crate) fn tensor_info(v: &Value) -> Result<TorchTensorInfo, String> {
    let Value::Reduce(func, args) = v else {
        return Err("data.pkl does not hold a single tensor (expected a REDUCE at top level)".into());
    };
    if **func != Value::Global("torch._utils".into(), "_rebuild_tensor_v2".into()) {
        return Err(format!("data.pkl rebuilds with {func:?}, expected torch._utils._rebuild_tensor_v2"));
    }
    let Value::Tuple(args) = &**args else {
        return Err("_rebuild_tensor_v2 arguments are not a tuple".into());
    };
    if args.len() < 4 {
        return Err(format!("_rebuild_tensor_v2 has {} arguments, expected at least 4", args.len()));
    }
    let Value::Persistent(pid) = &args[0] else {
        return Err("the tensor's storage is not a persistent id".into());
    };
    let Value::Tuple(pid) = &**pid else {
        return Err("the storage persistent id is not a tuple".into());
    };
    let (dtype, key, numel) = match pid.as_slice() {
        [Value::Str(tag), Value::Global(module, class), Value::Str(key), Value::Str(_location), numel]
            if tag == "storage" && module == "torch" =>
        {
            let dtype = match class.as_str() {
                "FloatStorage" => DType::F32,
                "LongStorage" => DType::I64,
                other => {
                    return Err(format!("unsupported storage torch.{other}: expected FloatStorage or LongStorage"));
                }
            };
            (dtype, key.clone(), as_usize(numel, "storage size")?)
        }
        other => return Err(format!("unexpected storage persistent id {other:?}")),
    };
    let offset = as_usize(&args[1], "storage offset")?;
    let shape = as_usize_tuple(&args[2], "size")?;
    let stride = as_usize_tuple(&args[3], "stride")?;
    if offset != 0 {
        return Err(format!("storage offset {offset}: only offset 0 is supported"));
    }
    if shape.len() != stride.len() || (shape.iter().product::<usize>() > 0 && stride != contiguous_strides(&shape)) {
        return Err(format!("stride {stride:?} is not C-contiguous for size {shape:?}"));
    }
    if shape.iter().product::<usize>() > numel {
        return Err(format!("size {shape:?} needs more elements than the storage's {numel}"));
    }
    Ok(TorchTensorInfo { dtype, shape, key, numel })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strides_follow_torch() {
        assert_eq!(contiguous_strides(&[10, 3, 320, 320]), vec![307200, 102400, 320, 1]);
        assert_eq!(contiguous_strides(&[0, 50]), vec![50, 1]);
        assert_eq!(contiguous_strides(&[4, 0, 3]), vec![3, 3, 1]);
        assert_eq!(contiguous_strides(&[7]), vec![1]);
    }

    #[test]
    fn big_numel_uses_long1_like_cpython() {
        let mut w = Writer { out: Vec::new(), memo: 0 };
        w.int(3_072_000_000); // bit_length 32 -> 5 bytes
        assert_eq!(w.out, vec![LONG1, 5, 0x00, 0x00, 0x1b, 0xb7, 0x00]);
        let mut w = Writer { out: Vec::new(), memo: 0 };
        w.int(0x7fff_ffff);
        assert_eq!(w.out, vec![BININT, 0xff, 0xff, 0xff, 0x7f]);
        let mut w = Writer { out: Vec::new(), memo: 0 };
        w.int(65536);
        assert_eq!(w.out, vec![BININT, 0, 0, 1, 0]);
    }

    #[test]
    fn pickle_round_trips() {
        for shape in [vec![13], vec![2, 50], vec![10000, 3, 320, 320], vec![0, 50]] {
            for dtype in [DType::F32, DType::I64] {
                let p = torch_tensor_pickle(dtype, &shape);
                let info = tensor_info(&parse(&p).unwrap()).unwrap();
                assert_eq!(info.dtype, dtype);
                assert_eq!(info.shape, shape);
                assert_eq!(info.key, "0");
                assert_eq!(info.numel, shape.iter().product::<usize>());
            }
        }
    }
}
