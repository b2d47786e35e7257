//! An error and its causes on one line.
//!
//! The workspace's errors say each cause once: a level's message holds only
//! its own context (`cannot open x.csv`) and the cause is its `source()`, so
//! the message of one level alone is not the whole story. [`Chain`] prints
//! the whole chain, `a: b: c`, wherever an error becomes text: the
//! command's `error:` line, a Python exception, a report, a message that
//! wraps it.
//!
//! A crate of its own because the libraries, the stages' reports and all
//! three front ends turn errors into text, and none of them needs anything
//! else to do it.

use std::error::Error;
use std::fmt;

/// Displays an error followed by each of its causes, joined by `": "`.
///
/// ```
/// use std::error::Error;
/// use std::fmt;
///
/// #[derive(Debug)]
/// struct Open(std::io::Error);
///
/// impl fmt::Display for Open {
///     fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
///         f.write_str("cannot open x.csv")
///     }
/// }
///
/// impl Error for Open {
///     fn source(&self) -> Option<&(dyn Error + 'static)> {
///         Some(&self.0)
///     }
/// }
///
/// let e = Open(std::io::Error::new(std::io::ErrorKind::NotFound, "No such file"));
/// assert_eq!(errors::Chain(&e).to_string(), "cannot open x.csv: No such file");
/// ```
#[derive(Clone, Copy)]
pub struct Chain<'a>(pub &'a (dyn Error + 'a));

impl fmt::Display for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)?;
        let mut cause = self.0.source();
        while let Some(e) = cause {
            write!(f, ": {e}")?;
            cause = e.source();
        }
        Ok(())
    }
}

impl fmt::Debug for Chain<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error;
    use std::fmt;

    use super::Chain;

    /// An error with a fixed message and an optional cause.
    #[derive(Debug)]
    struct Level(&'static str, Option<Box<dyn Error + 'static>>);

    impl fmt::Display for Level {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str(self.0)
        }
    }

    impl Error for Level {
        fn source(&self) -> Option<&(dyn Error + 'static)> {
            self.1.as_deref()
        }
    }

    #[test]
    fn every_level_once_outermost_first() {
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = Level("reading the cohort", Some(Box::new(Level("cannot open x.csv", Some(Box::new(io))))));
        assert_eq!(Chain(&e).to_string(), "reading the cohort: cannot open x.csv: No such file");
        assert_eq!(Chain(&Level("alone", None)).to_string(), "alone");
    }

    #[test]
    fn nothing_is_left_out() {
        // A level that repeated its cause would show it twice: the chain is
        // printed as the errors give it, never edited.
        let io = std::io::Error::new(std::io::ErrorKind::NotFound, "No such file");
        let e = Level("cannot open x.csv: No such file", Some(Box::new(io)));
        assert_eq!(Chain(&e).to_string(), "cannot open x.csv: No such file: No such file");
    }
}
