//! A JSON value whose object keys keep the order they were written in, and
//! its pretty printer.
//!
//! `serde_json::Map` is a `BTreeMap` unless some crate in the build enables
//! serde_json's `preserve_order` feature, so the same code could print keys in
//! two orders depending on what it is linked with. The Croissant file must be
//! byte-identical everywhere, so its order is spelled here; serde_json only
//! escapes strings.

/// A JSON value with ordered objects.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Json {
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    pub(crate) fn str(s: impl Into<String>) -> Json {
        Json::Str(s.into())
    }

    /// An object from `(key, value)` pairs, in that order.
    pub(crate) fn obj<K: Into<String>>(pairs: impl IntoIterator<Item = (K, Json)>) -> Json {
        Json::Obj(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
    }

    /// `{"@id": id}`, a reference to another node.
    pub(crate) fn id_ref(id: &str) -> Json {
        Json::obj([("@id", Json::str(id))])
    }

    /// Pretty-printed with two-space indentation, `": "` after keys and a
    /// trailing newline (the layout of `json.dumps(indent=2)`, but UTF-8 as is).
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, depth: usize) {
        match self {
            Json::Str(s) => out.push_str(&serde_json::to_string(s).expect("a string always serialises")),
            Json::Arr(items) if items.is_empty() => out.push_str("[]"),
            Json::Obj(pairs) if pairs.is_empty() => out.push_str("{}"),
            Json::Arr(items) => {
                out.push('[');
                for (i, item) in items.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    item.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push(']');
            }
            Json::Obj(pairs) => {
                out.push('{');
                for (i, (key, value)) in pairs.iter().enumerate() {
                    out.push_str(if i == 0 { "\n" } else { ",\n" });
                    indent(out, depth + 1);
                    Json::Str(key.clone()).write(out, depth + 1);
                    out.push_str(": ");
                    value.write(out, depth + 1);
                }
                out.push('\n');
                indent(out, depth);
                out.push('}');
            }
        }
    }
}

fn indent(out: &mut String, depth: usize) {
    for _ in 0..depth {
        out.push_str("  ");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prints_in_the_order_written_and_parses_back() {
        let v = Json::obj([
            ("z", Json::str("1")),
            ("a", Json::Arr(vec![Json::str("x\"y"), Json::str("é"), Json::Arr(vec![]), Json::obj::<&str>([])])),
            ("m", Json::id_ref("test/Lung%20Opacity")),
        ]);
        let text = v.pretty();
        assert_eq!(
            text,
            "{\n  \"z\": \"1\",\n  \"a\": [\n    \"x\\\"y\",\n    \"é\",\n    [],\n    {}\n  ],\n  \"m\": {\n    \"@id\": \"test/Lung%20Opacity\"\n  }\n}\n"
        );
        let parsed: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(parsed["a"][0], "x\"y");
    }
}
