//! A recipe as TOML with a one-line comment above every key: the template
//! `symile-mimic recipe` prints and the `recipe.toml` a dataset records.
//! Reading the text back gives the same recipe, and rendering is a pure
//! function of the recipe (no date, no path, no version), so equal recipes
//! write equal files.

use serde_json::Value;

use crate::{Field, Recipe, Section};

/// `recipe` as commented TOML.
pub fn render(recipe: &Recipe) -> String {
    let mut out = String::new();
    for (i, section) in Section::ALL.into_iter().enumerate() {
        if i > 0 {
            out.push('\n');
        }
        out.push_str(&format!("[{section}]\n"));
        for field in section.fields() {
            out.push_str(&format!("# {}\n", field.doc()));
            out.push_str(&format!("{} = {}\n", field.key(), value_text(field, &recipe.value(field))));
        }
    }
    out
}

/// The published recipe with a header saying how to use it.
pub fn render_template() -> String {
    let mut out = String::from(
        "# The published Symile-MIMIC recipe: every parameter of a build.\n\
         # Change what you need and pass the file with --recipe (cohort, splits, tensors, build, plan);\n\
         # a key left out keeps the value shown here, and flags override the file.\n\n",
    );
    out.push_str(&render(&Recipe::default()));
    out
}

/// A TOML value; a long array of numbers wraps at ten per line.
fn value_text(field: Field, v: &Value) -> String {
    match v {
        Value::Array(items) if items.len() > 10 && field == Field::Labs => {
            let mut s = String::from("[\n");
            for chunk in items.chunks(10) {
                let line: Vec<String> = chunk.iter().map(scalar).collect();
                s.push_str(&format!("    {},\n", line.join(", ")));
            }
            s.push(']');
            s
        }
        Value::Array(items) => format!("[{}]", items.iter().map(scalar).collect::<Vec<_>>().join(", ")),
        other => scalar(other),
    }
}

fn scalar(v: &Value) -> String {
    match v {
        Value::String(s) => toml::Value::String(s.clone()).to_string(),
        Value::Number(n) => match (n.as_i64(), n.as_f64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(f)) => toml::Value::Float(f).to_string(),
            _ => n.to_string(),
        },
        Value::Bool(b) => b.to_string(),
        other => other.to_string(),
    }
}
