//! The closed sets of words a recipe field takes (the tensor format, the
//! crop generator, how negatives are drawn), read from their serde enums.
//!
//! Each set is declared once, as the enum a recipe file deserialises: its
//! variants and their spellings (`rename_all`, `rename`) are what serde's
//! derive already knows. [`Choice`] asks serde for them, so the flag's
//! accepted values, its `--help` and the template's comment cannot drift
//! from what a recipe file accepts.

use serde::Serialize;
use serde::de::{self, DeserializeOwned, Deserializer, IntoDeserializer, Visitor};

/// A recipe value that is one of a closed set of words: an enum of unit
/// variants deriving serde's `Serialize` and `Deserialize`.
pub trait Choice: Serialize + DeserializeOwned + Copy + PartialEq + 'static {
    /// Every accepted word, in declaration order: the variant names serde's
    /// derive reads (so every variant, spelled as a recipe file spells it).
    fn names() -> &'static [&'static str] {
        variant_names::<Self>()
    }

    /// The variant `name` spells, if any.
    fn from_name(name: &str) -> Option<Self> {
        Self::deserialize(IntoDeserializer::<de::value::Error>::into_deserializer(name)).ok()
    }

    /// How a recipe file spells this variant.
    fn name(self) -> &'static str {
        let text = serde_json::to_value(self).ok();
        let text = text.as_ref().and_then(|v| v.as_str()).unwrap_or_default();
        Self::names().iter().copied().find(|n| *n == text).expect("a unit variant serialises as one of its names")
    }

    /// Every variant, in declaration order.
    fn variants() -> Vec<Self> {
        Self::names().iter().map(|n| Self::from_name(n).expect("each name serde lists deserialises")).collect()
    }
}

impl Choice for crate::Negatives {}
impl Choice for crate::CropGenerator {}
impl Choice for crate::Format {}

/// The variant names serde's derived `Deserialize` of `T` passes to
/// `deserialize_enum` (its own `VARIANTS` list), read by a deserializer that
/// only records them.
fn variant_names<T: DeserializeOwned>() -> &'static [&'static str] {
    let mut names: &'static [&'static str] = &[];
    let _ = T::deserialize(Introspect(&mut names));
    names
}

/// A deserializer that answers every request with an error, noting the
/// variants of the enum asked for on the way.
struct Introspect<'a>(&'a mut &'static [&'static str]);

impl<'de> Deserializer<'de> for Introspect<'_> {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not an enum"))
    }

    fn deserialize_enum<V: Visitor<'de>>(
        self,
        _name: &'static str,
        variants: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        *self.0 = variants;
        Err(de::Error::custom("variants noted"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map struct identifier ignored_any
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;
    use std::fmt;

    use super::*;
    use crate::{CropGenerator, Field, Format, Negatives, ValueKind};

    /// Every name reads back as its variant and is that variant's name.
    fn round_trips<T: Choice + fmt::Debug>() {
        let names = T::names();
        assert!(!names.is_empty());
        assert_eq!(names.iter().collect::<BTreeSet<_>>().len(), names.len(), "{names:?} repeats a name");
        for &n in names {
            let v = T::from_name(n).unwrap_or_else(|| panic!("{n} does not parse"));
            assert_eq!(v.name(), n);
        }
        assert_eq!(T::variants().len(), names.len());
        assert_eq!(T::from_name("no-such-choice"), None);
    }

    #[test]
    fn every_choice_parses_back_to_its_variant_and_every_variant_is_a_choice() {
        round_trips::<Negatives>();
        round_trips::<CropGenerator>();
        round_trips::<Format>();
        // An exhaustive match per enum: a variant added without being a
        // choice would not be listed by `variants()` and fails here; one
        // added to the enum fails to compile until it is listed.
        let seen: BTreeSet<u8> = Negatives::variants()
            .into_iter()
            .map(|v| match v {
                Negatives::Reference => 0,
                Negatives::Fast => 1,
            })
            .collect();
        assert_eq!(seen.len(), 2);
        let seen: BTreeSet<u8> = CropGenerator::variants()
            .into_iter()
            .map(|v| match v {
                CropGenerator::ChaCha => 0,
                CropGenerator::Torch => 1,
            })
            .collect();
        assert_eq!(seen.len(), 2);
        let seen: BTreeSet<u8> = Format::variants()
            .into_iter()
            .map(|v| match v {
                Format::Safetensors => 0,
                Format::Npy => 1,
                Format::Pt => 2,
            })
            .collect();
        assert_eq!(seen.len(), 3);
        assert_eq!(Negatives::names(), ["reference", "fast"]);
        assert_eq!(CropGenerator::names(), ["chacha", "torch"]);
        assert_eq!(Format::names(), ["safetensors", "npy", "pt"]);
        // The tensor store's own parser and file extensions agree with the recipe's words.
        for f in Format::variants() {
            assert_eq!(f.name().parse::<Format>().unwrap(), f);
            assert_eq!(f.extension(), f.name());
        }
    }

    #[test]
    fn the_fields_offer_exactly_the_enums_choices() {
        let kind = |f: Field| match f.kind() {
            ValueKind::Choice(c) => c,
            other => panic!("{f}: {other:?}"),
        };
        assert_eq!(kind(Field::Negatives), Negatives::names());
        assert_eq!(kind(Field::CropRng), CropGenerator::names());
        assert_eq!(kind(Field::Format), Format::names());
        // Every choice field is one of the three, so none keeps a list of its own.
        let choices: Vec<Field> = Field::ALL.into_iter().filter(|f| matches!(f.kind(), ValueKind::Choice(_))).collect();
        assert_eq!(choices, [Field::Negatives, Field::Format, Field::CropRng]);
        // A recipe reads each of them.
        for f in choices {
            for &n in kind(f) {
                crate::check_flag(f, n).unwrap_or_else(|e| panic!("{f} = {n}: {e}"));
            }
        }
    }
}
