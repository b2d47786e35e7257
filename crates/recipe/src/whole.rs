//! Whole numbers of a recipe (sizes, seeds, itemids), read with messages a
//! user understands: "expected a whole number (0 or more)" rather than
//! serde's "expected usize".

use std::fmt;
use std::marker::PhantomData;

use serde::Deserializer;
use serde::de::{self, SeqAccess, Visitor};

struct Whole<T>(PhantomData<T>);

impl<T: TryFrom<u64>> Visitor<'_> for Whole<T> {
    type Value = T;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a whole number")
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<T, E> {
        T::try_from(v).map_err(|_| E::custom(format!("invalid value: {v}, expected a smaller whole number")))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<T, E> {
        match u64::try_from(v) {
            Ok(u) => self.visit_u64(u),
            Err(_) => Err(E::custom(format!("invalid value: {v}, expected a whole number (0 or more)"))),
        }
    }
}

/// A whole number of type `T`.
pub fn deserialize<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<T, D::Error> {
    d.deserialize_any(Whole(PhantomData))
}

/// A list of whole numbers of type `T`.
pub fn list<'de, D: Deserializer<'de>, T: TryFrom<u64>>(d: D) -> Result<Vec<T>, D::Error> {
    struct L<T>(PhantomData<T>);
    impl<'de, T: TryFrom<u64>> Visitor<'de> for L<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a list of whole numbers")
        }
        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
            struct One<T>(T);
            impl<'de, T: TryFrom<u64>> serde::Deserialize<'de> for One<T> {
                fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                    deserialize(d).map(One)
                }
            }
            let mut out = Vec::new();
            while let Some(One(v)) = seq.next_element::<One<T>>()? {
                out.push(v);
            }
            Ok(out)
        }
    }
    d.deserialize_seq(L(PhantomData))
}
