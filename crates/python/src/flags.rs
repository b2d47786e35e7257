//! Python keyword arguments → the command's flags.
//!
//! Nothing here knows a flag by name: the command's own clap definition is
//! read through clap's introspection, so a flag or a whole command added to
//! `symile_mimic::app` is callable from Python with no change here. A
//! keyword matches a flag when it equals the flag's long name, one of its
//! aliases or its id, with `-` read as `_` (`crop_rng=` is `--crop-rng`).

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;

use clap::{Arg, ArgAction, Command, CommandFactory};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyBool, PyBytes, PyDict, PyFloat, PyInt, PyString};

use crate::Error;

/// The program name clap sees; its messages and help use it.
pub const PROGRAM: &str = "symile-mimic";

/// The command definition, as the command line parses it.
pub fn root() -> Command {
    symile_mimic::app::Cli::command()
}

/// A command's name as Python spells it: `decode-floor` → `decode_floor`.
fn py_name(name: &str) -> String {
    name.replace('-', "_")
}

/// The commands a caller may run (hidden ones too: they are the command's).
pub fn commands(root: &Command) -> Vec<&Command> {
    root.get_subcommands().filter(|c| c.get_name() != "help").collect()
}

/// Finds `command` (Python or command-line spelling).
pub fn find<'a>(root: &'a Command, command: &str) -> PyResult<&'a Command> {
    commands(root).into_iter().find(|c| py_name(c.get_name()) == py_name(command)).ok_or_else(|| {
        let known: Vec<String> =
            commands(root).iter().filter(|c| !c.is_hide_set()).map(|c| py_name(c.get_name())).collect();
        Error::new_err(format!("unknown command '{command}': expected one of {}", known.join(", ")))
    })
}

/// Whether an argument is something a caller sets (not `--help`/`--version`).
fn settable(arg: &Arg) -> bool {
    !matches!(arg.get_action(), ArgAction::Help | ArgAction::HelpShort | ArgAction::HelpLong | ArgAction::Version)
}

/// The arguments `command` accepts: its own, then the global ones.
pub fn arguments<'a>(root: &'a Command, command: &'a Command) -> Vec<&'a Arg> {
    command.get_arguments().chain(root.get_arguments().filter(|a| a.is_global_set())).filter(|a| settable(a)).collect()
}

/// The keyword a caller uses for `arg`: its long name (the original
/// scripts' spelling where it has one) with `-` as `_`, or its id.
pub fn keyword(arg: &Arg) -> String {
    py_name(arg.get_long().unwrap_or(arg.get_id().as_str()))
}

/// Whether `key` names `arg`.
fn names(arg: &Arg, key: &str) -> bool {
    let mut all = vec![arg.get_id().as_str()];
    all.extend(arg.get_long());
    all.extend(arg.get_all_aliases().unwrap_or_default());
    all.into_iter().any(|n| py_name(n) == key)
}

/// One keyword's value as a command-line word: `True`/`False` as
/// `true`/`false`, numbers in decimal, paths through `os.fspath`.
fn word(key: &str, value: &Bound<'_, PyAny>) -> PyResult<OsString> {
    if let Ok(b) = value.cast::<PyBool>() {
        return Ok(if b.is_true() { "true" } else { "false" }.into());
    }
    if value.is_instance_of::<PyString>() || value.is_instance_of::<PyInt>() || value.is_instance_of::<PyFloat>() {
        return Ok(value.str()?.extract::<String>()?.into());
    }
    if let Ok(b) = value.cast::<PyBytes>() {
        return Ok(OsString::from_vec(b.as_bytes().to_vec()));
    }
    let os = value.py().import("os")?;
    match os.call_method1("fspath", (value,)) {
        Ok(p) => {
            let bytes = os.call_method1("fsencode", (p,))?;
            Ok(OsString::from_vec(bytes.cast::<PyBytes>()?.as_bytes().to_vec()))
        }
        Err(_) => Err(PyTypeError::new_err(format!(
            "{key}=: expected a str, a path, an int, a float or a bool, found {}",
            value.get_type().name()?
        ))),
    }
}

/// `argv` for `command` with `kwargs`: flags first, then `--` and the
/// positionals in the order the command declares them. A switch is present
/// when its value is truthy; a valued flag is `--flag=value` (so a value
/// starting with `-` stays a value); `None` leaves a flag out, so the
/// command's default applies.
pub fn argv(command: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<OsString>> {
    let root = root();
    let cmd = find(&root, command)?;
    let args = arguments(&root, cmd);
    let mut flags: Vec<OsString> = vec![PROGRAM.into(), cmd.get_name().into()];
    let mut positionals: Vec<(usize, OsString)> = Vec::new();
    for (key, value) in kwargs.into_iter().flat_map(|d| d.iter()) {
        let key: String = key.extract()?;
        let Some((position, arg)) = args.iter().enumerate().find(|(_, a)| names(a, &key)) else {
            let mut valid: Vec<String> = args.iter().filter(|a| !a.is_hide_set()).map(|a| keyword(a)).collect();
            valid.sort();
            valid.dedup();
            return Err(PyTypeError::new_err(format!(
                "{}() got an unexpected keyword argument '{key}'; valid keywords: {}",
                py_name(cmd.get_name()),
                valid.join(", ")
            )));
        };
        if value.is_none() {
            continue;
        }
        match arg.get_action() {
            ArgAction::SetTrue | ArgAction::Count => {
                if value.is_truthy()? {
                    flags.push(format!("--{}", arg.get_long().unwrap_or(arg.get_id().as_str())).into());
                }
            }
            ArgAction::SetFalse => {
                if !value.is_truthy()? {
                    flags.push(format!("--{}", arg.get_long().unwrap_or(arg.get_id().as_str())).into());
                }
            }
            _ => {
                let is_sequence =
                    value.is_instance_of::<pyo3::types::PyList>() || value.is_instance_of::<pyo3::types::PyTuple>();
                // A list or tuple for a recipe field holding several values (a
                // window, the views, the labs) is that field's one flag value,
                // `LO,HI` or `A,B,…`; for any other flag it repeats the flag.
                let values: Vec<Bound<'_, PyAny>> = match (is_sequence, list_field(arg)) {
                    (true, Some(field)) => {
                        let items: Vec<Bound<'_, PyAny>> = value.try_iter()?.collect::<PyResult<_>>()?;
                        vec![joined(&key, field, &items)?.into_pyobject(value.py())?.into_any()]
                    }
                    (true, None) => value.try_iter()?.collect::<PyResult<_>>()?,
                    (false, _) => vec![value],
                };
                for v in values {
                    let w = word(&key, &v)?;
                    if arg.is_positional() {
                        positionals.push((position, w));
                    } else {
                        let mut flag =
                            OsString::from(format!("--{}=", arg.get_long().unwrap_or(arg.get_id().as_str())));
                        flag.push(w);
                        flags.push(flag);
                    }
                }
            }
        }
    }
    if !positionals.is_empty() {
        positionals.sort_by_key(|(i, _)| *i);
        flags.push("--".into());
        flags.extend(positionals.into_iter().map(|(_, w)| w));
    }
    Ok(flags)
}

/// The recipe field `arg` sets, when its value is a list (a window, words, itemids).
fn list_field(arg: &Arg) -> Option<recipe::Field> {
    recipe::Field::ALL.into_iter().find(|f| {
        f.key() == arg.get_id().as_str()
            && matches!(f.kind(), recipe::ValueKind::Window | recipe::ValueKind::Words | recipe::ValueKind::Integers)
    })
}

/// A list keyword's items as the field's flag text: `[12, 96]` → `12,96`,
/// `['AP', 'PA']` → `AP,PA`. An item holding a comma would read as two, so
/// it is refused; anything but a str, int or float is a type error.
fn joined(key: &str, field: recipe::Field, items: &[Bound<'_, PyAny>]) -> PyResult<String> {
    let mut words = Vec::with_capacity(items.len());
    for item in items {
        if item.is_instance_of::<PyBool>()
            || !(item.is_instance_of::<PyString>()
                || item.is_instance_of::<PyInt>()
                || item.is_instance_of::<PyFloat>())
        {
            return Err(PyTypeError::new_err(format!(
                "{key}=: expected a list of {}, found an item of type {}",
                match field.kind() {
                    recipe::ValueKind::Words => "str",
                    recipe::ValueKind::Integers => "int",
                    _ => "numbers",
                },
                item.get_type().name()?
            )));
        }
        let w: String = item.str()?.extract()?;
        if w.contains(',') {
            return Err(Error::new_err(format!("{key}=: {w:?} holds a comma; give each value as an item of the list")));
        }
        words.push(w);
    }
    Ok(words.join(","))
}

/// A clap error as one line, in Python's words: its message without the
/// `error: ` prefix, the usage and the `--help` hint, its indented lines
/// joined, and every flag of `command` it names (`'--train_n <N>'`) written
/// as the keyword that sets it (`train_n=`).
pub fn one_line(err: &clap::Error, command: &str) -> String {
    let text = err.render().to_string();
    let text = text.split("\n\nUsage:").next().unwrap_or_default();
    let text = text.split("\n\nFor more information").next().unwrap_or_default();
    let text = text.strip_prefix("error: ").unwrap_or(text);
    let line = text.lines().map(str::trim).filter(|l| !l.is_empty()).collect::<Vec<_>>().join(" ");
    let root = root();
    match find(&root, command) {
        Ok(cmd) => as_keywords(&line, &arguments(&root, cmd)),
        Err(_) => line,
    }
}

/// `line` with each `--flag` (and the ` <VALUE>` after it) of `args` written
/// as its keyword with `=`.
fn as_keywords(line: &str, args: &[&Arg]) -> String {
    let mut out = String::new();
    let mut rest = line;
    while let Some(i) = rest.find("--") {
        out.push_str(&rest[..i]);
        let after = &rest[i + 2..];
        let end = after.find(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-')).unwrap_or(after.len());
        let name = &after[..end];
        let arg =
            args.iter().find(|a| a.get_long() == Some(name) || a.get_all_aliases().unwrap_or_default().contains(&name));
        match arg {
            Some(a) => {
                out.push_str(&format!("{}=", keyword(a)));
                let mut tail = &after[end..];
                if let Some(v) = tail.strip_prefix(" <")
                    && let Some(close) = v.find('>')
                {
                    tail = &v[close + 1..];
                }
                rest = tail;
            }
            None => {
                out.push_str("--");
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// What Python needs to know of each command's flags (for wrappers'
/// signatures and docs), as JSON: `{command: {"about", "hidden", "flags":
/// [{"keyword", "flag", "switch", "required", "default", "help", "hidden"}]}}`.
pub fn describe() -> serde_json::Value {
    let root = root();
    let mut out = serde_json::Map::new();
    for cmd in commands(&root) {
        let flags: Vec<serde_json::Value> = arguments(&root, cmd)
            .into_iter()
            .map(|a| {
                let defaults: Vec<String> =
                    a.get_default_values().iter().map(|v| v.to_string_lossy().into_owned()).collect();
                serde_json::json!({
                    "keyword": keyword(a),
                    "flag": a.get_long().map(|l| format!("--{l}")),
                    "switch": matches!(a.get_action(), ArgAction::SetTrue | ArgAction::SetFalse | ArgAction::Count),
                    "required": a.is_required_set(),
                    "default": defaults.first(),
                    "help": a.get_help().map(|h| h.to_string()),
                    "hidden": a.is_hide_set(),
                })
            })
            .collect();
        out.insert(
            py_name(cmd.get_name()),
            serde_json::json!({
                "about": cmd.get_about().map(|h| h.to_string()),
                "hidden": cmd.is_hide_set(),
                "flags": flags,
            }),
        );
    }
    serde_json::Value::Object(out)
}
