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
/// Saturates where a product overflows, which only a shape read from a
/// corrupt file can make (such a shape is refused before strides matter).
pub(crate) fn contiguous_strides(shape: &[usize]) -> Vec<usize> {
    let mut strides = vec![0usize; shape.len()];
    let mut acc = 1usize;
    for i in (0..shape.len()).rev() {
        strides[i] = acc;
        acc = acc.saturating_mul(shape[i].max(1));
    }
    strides
}

/// Number of elements of `shape`: 0 if any dimension is 0, `None` if the
/// product overflows.
fn element_count(shape: &[usize]) -> Option<usize> {
    if shape.contains(&0) {
        return Some(0);
    }
    shape.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d))
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

/// Deepest value the reader builds. A tensor pickle nests four deep; the
/// bound keeps dropping, printing and comparing values (all recursive) far
/// from the stack's limit, whatever the input.
const MAX_DEPTH: u32 = 32;
/// Budget for everything the reader builds, in bytes of string data plus
/// [`NODE_COST`] per value. A tensor pickle needs about 2 kB; without a bound,
/// a few hundred bytes of `BINGET`s of memoized tuples of tuples would ask
/// for exponentially much memory.
const MAX_BUILT: usize = 4 << 20;
/// What one value counts against [`MAX_BUILT`] (about its size in memory).
const NODE_COST: usize = 64;

/// A value on the stack or in the memo, with its size and depth.
#[derive(Clone)]
struct Built {
    value: Value,
    /// Cost against [`MAX_BUILT`] of a copy of this value.
    cost: usize,
    depth: u32,
}

enum Item {
    Mark,
    Val(Built),
}

/// Keeps the running total of what has been built.
struct Budget {
    used: usize,
}

impl Budget {
    fn spend(&mut self, cost: usize, at: usize) -> Result<(), String> {
        self.used = self.used.saturating_add(cost);
        if self.used > MAX_BUILT {
            return Err(format!("pickle builds more than {MAX_BUILT} bytes of values by byte {at}"));
        }
        Ok(())
    }

    /// A value with no children (an int, a string, a global ...).
    fn leaf(&mut self, value: Value, extra: usize, at: usize) -> Result<Item, String> {
        let cost = NODE_COST.saturating_add(extra);
        self.spend(cost, at)?;
        Ok(Item::Val(Built { value, cost, depth: 1 }))
    }

    /// A value made of `children` (moved in, not copied).
    fn node(
        &mut self,
        children: Vec<Built>,
        at: usize,
        make: impl FnOnce(Vec<Value>) -> Value,
    ) -> Result<Item, String> {
        self.spend(NODE_COST, at)?;
        let depth = 1 + children.iter().map(|c| c.depth).max().unwrap_or(0);
        if depth > MAX_DEPTH {
            return Err(format!("pickle nests deeper than {MAX_DEPTH} at byte {at}"));
        }
        let cost = children.iter().fold(NODE_COST, |acc, c| acc.saturating_add(c.cost));
        let value = make(children.into_iter().map(|c| c.value).collect());
        Ok(Item::Val(Built { value, cost, depth }))
    }

    /// A copy of a memoized value (`BINPUT` stores one, `BINGET` fetches one).
    fn copy(&mut self, b: &Built, at: usize) -> Result<Built, String> {
        self.spend(b.cost, at)?;
        Ok(b.clone())
    }
}

/// `{v:?}`, cut short: a message about a bad value need not print all of it.
fn brief(v: &impl std::fmt::Debug) -> String {
    let mut s = format!("{v:?}");
    if s.len() > 200 {
        let mut cut = 200;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// Evaluates a pickle made of the opcodes torch tensors use. What it builds
/// is bounded in depth ([`MAX_DEPTH`]) and size ([`MAX_BUILT`]).
pub(crate) fn parse(data: &[u8]) -> Result<Value, String> {
    let mut stack: Vec<Item> = Vec::new();
    let mut memo: std::collections::HashMap<u32, Built> = std::collections::HashMap::new();
    let mut budget = Budget { used: 0 };
    let mut pos = 0usize;
    let take = |pos: &mut usize, n: usize| -> Result<&[u8], String> {
        let s = pos
            .checked_add(n)
            .and_then(|end| data.get(*pos..end))
            .ok_or_else(|| format!("pickle truncated at byte {}: {n} more bytes expected", *pos))?;
        *pos += n;
        Ok(s)
    };
    fn pop(stack: &mut Vec<Item>, at: usize) -> Result<Built, String> {
        match stack.pop() {
            Some(Item::Val(v)) => Ok(v),
            _ => Err(format!("pickle stack underflow at byte {at}")),
        }
    }
    fn pop_mark(stack: &mut Vec<Item>, at: usize) -> Result<Vec<Built>, String> {
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
        let item = match op {
            PROTO => {
                take(&mut pos, 1)?;
                continue;
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
                let len = module.len() + name.len();
                budget.leaf(Value::Global(module, name), len, at)?
            }
            BINPUT | LONG_BINPUT => {
                let idx = if op == BINPUT {
                    take(&mut pos, 1)?[0] as u32
                } else {
                    u32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes"))
                };
                let Some(Item::Val(v)) = stack.last() else {
                    return Err(format!("BINPUT with no value at byte {at}"));
                };
                let copy = budget.copy(v, at)?;
                memo.insert(idx, copy);
                continue;
            }
            BINGET | LONG_BINGET => {
                let idx = if op == BINGET {
                    take(&mut pos, 1)?[0] as u32
                } else {
                    u32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes"))
                };
                let v = memo.get(&idx).ok_or_else(|| format!("BINGET of unknown memo {idx} at byte {at}"))?;
                Item::Val(budget.copy(v, at)?)
            }
            MARK => Item::Mark,
            TUPLE => {
                let items = pop_mark(&mut stack, at)?;
                budget.node(items, at, Value::Tuple)?
            }
            TUPLE1 | TUPLE2 | TUPLE3 => {
                let n = (op - TUPLE1 + 1) as usize;
                let mut items = Vec::with_capacity(n);
                for _ in 0..n {
                    items.push(pop(&mut stack, at)?);
                }
                items.reverse();
                budget.node(items, at, Value::Tuple)?
            }
            EMPTY_TUPLE => budget.node(Vec::new(), at, Value::Tuple)?,
            BINUNICODE | SHORT_BINUNICODE => {
                let n = if op == BINUNICODE {
                    u32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes")) as usize
                } else {
                    take(&mut pos, 1)?[0] as usize
                };
                let s = String::from_utf8_lossy(take(&mut pos, n)?).into_owned();
                let len = s.len();
                budget.leaf(Value::Str(s), len, at)?
            }
            BININT1 => {
                let v = take(&mut pos, 1)?[0];
                budget.leaf(Value::Int(v as i128), 0, at)?
            }
            BININT2 => {
                let v = u16::from_le_bytes(take(&mut pos, 2)?.try_into().expect("2 bytes"));
                budget.leaf(Value::Int(v as i128), 0, at)?
            }
            BININT => {
                let v = i32::from_le_bytes(take(&mut pos, 4)?.try_into().expect("4 bytes"));
                budget.leaf(Value::Int(v as i128), 0, at)?
            }
            LONG1 => {
                let n = take(&mut pos, 1)?[0] as usize;
                if n > 16 {
                    return Err(format!("LONG1 of {n} bytes at byte {at} is too large"));
                }
                let bytes = take(&mut pos, n)?;
                let mut buf = if bytes.last().is_some_and(|&b| b & 0x80 != 0) { [0xffu8; 16] } else { [0u8; 16] };
                buf[..n].copy_from_slice(bytes);
                budget.leaf(Value::Int(i128::from_le_bytes(buf)), 0, at)?
            }
            NEWFALSE => budget.leaf(Value::Bool(false), 0, at)?,
            NEWTRUE => budget.leaf(Value::Bool(true), 0, at)?,
            NONE => budget.leaf(Value::None, 0, at)?,
            EMPTY_DICT => budget.leaf(Value::Dict, 0, at)?,
            BINPERSID => {
                let pid = pop(&mut stack, at)?;
                budget.node(vec![pid], at, |mut v| Value::Persistent(Box::new(v.remove(0))))?
            }
            REDUCE => {
                let args = pop(&mut stack, at)?;
                let func = pop(&mut stack, at)?;
                budget.node(vec![func, args], at, |mut v| {
                    let args = v.pop().expect("two children");
                    let func = v.pop().expect("two children");
                    Value::Reduce(Box::new(func), Box::new(args))
                })?
            }
            STOP => return pop(&mut stack, at).map(|b| b.value),
            other => return Err(format!("unsupported pickle opcode 0x{other:02x} at byte {at}")),
        };
        stack.push(item);
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
        other => Err(format!("expected a non-negative int for {what}, found {}", brief(other))),
    }
}

fn as_usize_tuple(v: &Value, what: &str) -> Result<Vec<usize>, String> {
    match v {
        Value::Tuple(items) => items.iter().map(|i| as_usize(i, what)).collect(),
        other => Err(format!("expected a tuple for {what}, found {}", brief(other))),
    }
}

/// Interprets a parsed `data.pkl` as one contiguous CPU tensor with storage
/// offset 0 (what `torch.save(tensor)` produces).
pub(crate) fn tensor_info(v: &Value) -> Result<TorchTensorInfo, String> {
    let Value::Reduce(func, args) = v else {
        return Err("data.pkl does not hold a single tensor (expected a REDUCE at top level)".into());
    };
    if **func != Value::Global("torch._utils".into(), "_rebuild_tensor_v2".into()) {
        return Err(format!("data.pkl rebuilds with {}, expected torch._utils._rebuild_tensor_v2", brief(func)));
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
        other => return Err(format!("unexpected storage persistent id {}", brief(&other))),
    };
    let offset = as_usize(&args[1], "storage offset")?;
    let shape = as_usize_tuple(&args[2], "size")?;
    let stride = as_usize_tuple(&args[3], "stride")?;
    if offset != 0 {
        return Err(format!("storage offset {offset}: only offset 0 is supported"));
    }
    let elements = element_count(&shape)
        .ok_or_else(|| format!("size {} has more elements than memory can address", brief(&shape)))?;
    if shape.len() != stride.len() || (elements > 0 && stride != contiguous_strides(&shape)) {
        return Err(format!("stride {} is not C-contiguous for size {}", brief(&stride), brief(&shape)));
    }
    if elements > numel {
        return Err(format!("size {} needs more elements than the storage's {numel}", brief(&shape)));
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
