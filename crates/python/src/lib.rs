//! `symile_mimic._native`: the Python binding of symile-mimic.
//!
//! Conversion only. The commands go through `symile_mimic::app` exactly as
//! the command line does: keyword arguments become the command's flags
//! ([`flags`]), [`symile_mimic::app::parse`] reads them with the command's
//! own clap definition and [`symile_mimic::app::execute`] runs them, so one
//! place turns flags into a configuration. The dataset layout comes from
//! `dataset_layout` and tensor headers from `tensor_store`. The typed Python
//! API around this module lives in `python/symile_mimic/`.

mod evaluate;
mod flags;
mod layout;
mod runner;

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt;
use std::sync::Once;

use pyo3::prelude::*;
use pyo3::types::PyDict;

pyo3::create_exception!(
    symile_mimic,
    Error,
    pyo3::exceptions::PyValueError,
    "Bad input or a failed run: the message is the command line's one-line error, naming the file and what was expected."
);

/// `err` and its causes as a `symile_mimic.Error`, on one line as the
/// command line prints them.
pub(crate) fn raise(err: &dyn std::error::Error) -> PyErr {
    Error::new_err(errors::Chain(err).to_string())
}

/// Sets up logging (tracing to stderr) the first time a command runs
/// without `quiet`, as the command line does for every run.
fn init_logging_once() {
    static LOGGING: Once = Once::new();
    LOGGING.call_once(|| symile_mimic::init_logging(false));
}

/// Runs `command` with `kwargs` as its flags and returns the outcome as JSON.
#[pyfunction]
#[pyo3(signature = (command, kwargs=None, progress=None))]
fn run(
    py: Python<'_>,
    command: &str,
    kwargs: Option<&Bound<'_, PyDict>>,
    progress: Option<&Bound<'_, PyAny>>,
) -> PyResult<String> {
    // `recipe=` is a path (a flag like any other) or a mapping, which no
    // flag can carry: it is handed to the command after parsing.
    let mut mapping = None;
    let kwargs = match kwargs {
        Some(k) if k.get_item("recipe")?.is_some_and(|v| v.is_instance_of::<pyo3::types::PyDict>()) => {
            let copy = k.copy()?;
            let value = copy.get_item("recipe")?.expect("checked above");
            let text: String = py.import("json")?.call_method1("dumps", (value,))?.extract()?;
            mapping = Some(
                serde_json::from_str::<serde_json::Value>(&text)
                    .map_err(|e| Error::new_err(format!("recipe=: not a mapping of sections: {e}")))?,
            );
            copy.del_item("recipe")?;
            Some(copy)
        }
        Some(k) => Some(k.clone()),
        None => None,
    };
    let argv = flags::argv(command, kwargs.as_ref())?;
    let mut cli = symile_mimic::app::parse(argv).map_err(|e| Error::new_err(flags::one_line(&e, command)))?;
    if let Some(m) = mapping
        && !cli.command.set_recipe_mapping(m)
    {
        return Err(pyo3::exceptions::PyTypeError::new_err(format!(
            "{command}() got an unexpected keyword argument 'recipe' (it takes no recipe)"
        )));
    }
    if !cli.quiet {
        init_logging_once();
    }
    let spelling = symile_mimic_spelling();
    let outcome = runner::run(py, progress, move |rec| symile_mimic::app::execute_as(cli, rec, spelling))?
        .map_err(|e| Error::new_err(symile_mimic::error_chain(&e)))?;
    serde_json::to_string(&outcome).map_err(|e| Error::new_err(format!("cannot serialise the outcome: {e}")))
}

/// Python names recipe fields by keyword (`train_n=`).
fn symile_mimic_spelling() -> recipe::Spelling {
    recipe::Spelling::Python
}

/// The command line: `argv` (program name first, as bytes) → exit status,
/// with everything the binary prints. Used by the `symile-mimic` entry point.
#[pyfunction]
fn main(py: Python<'_>, argv: Vec<Vec<u8>>) -> u8 {
    let argv: Vec<OsString> = argv.into_iter().map(OsString::from_vec).collect();
    py.detach(move || symile_mimic::app::main(argv))
}

/// The commands and their flags, as JSON (see [`flags::describe`]).
#[pyfunction]
fn commands() -> String {
    flags::describe().to_string()
}

/// The command-line words `run(command, kwargs)` would parse (for tests and
/// for showing a caller the equivalent command line).
#[pyfunction]
#[pyo3(signature = (command, kwargs=None))]
fn argv(command: &str, kwargs: Option<&Bound<'_, PyDict>>) -> PyResult<Vec<String>> {
    Ok(flags::argv(command, kwargs)?.into_iter().map(|w| w.to_string_lossy().into_owned()).collect())
}

#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("Error", m.py().get_type::<Error>())?;
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_function(wrap_pyfunction!(run, m)?)?;
    m.add_function(wrap_pyfunction!(main, m)?)?;
    m.add_function(wrap_pyfunction!(commands, m)?)?;
    m.add_function(wrap_pyfunction!(argv, m)?)?;
    layout::register(m)?;
    evaluate::register(m)?;
    Ok(())
}
