//! Errors that name the spec file, the key path and, where YAML gives them, line and column.

use std::fmt;

/// One problem in the spec, specific enough to act on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Diagnostic {
    /// The spec file, relative to the spec root's parent (e.g. `spec/resources/flows.yaml`).
    pub file: String,
    /// The dotted key path inside the file (e.g. `methods.list.http`); empty for the whole file.
    pub key_path: String,
    /// 1-based line and column, when the YAML parser reports them.
    pub location: Option<(usize, usize)>,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub help: Option<String>,
}

impl Diagnostic {
    /// A diagnostic without location or help.
    pub fn new(file: impl Into<String>, key_path: impl Into<String>, message: impl Into<String>) -> Self {
        Self { file: file.into(), key_path: key_path.into(), location: None, message: message.into(), help: None }
    }

    /// Adds a suggested fix.
    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file)?;
        if let Some((line, col)) = self.location {
            write!(f, ":{line}:{col}")?;
        }
        if !self.key_path.is_empty() {
            write!(f, ": at `{}`", self.key_path)?;
        }
        write!(f, ": {}", self.message)?;
        if let Some(help) = &self.help {
            write!(f, "\n  help: {help}")?;
        }
        Ok(())
    }
}

/// Why generation stopped.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A spec file could not be read.
    #[error("cannot read {path}: {source}")]
    Io {
        /// The path that failed.
        path: String,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The spec has problems; every one found is listed.
    #[error("{}", render(.0))]
    Spec(Vec<Diagnostic>),
}

impl Error {
    /// The diagnostics of a spec error (empty for IO errors).
    pub fn diagnostics(&self) -> &[Diagnostic] {
        match self {
            Error::Spec(d) => d,
            Error::Io { .. } => &[],
        }
    }
}

fn render(diags: &[Diagnostic]) -> String {
    let mut out = format!("the spec has {} problem{}:", diags.len(), if diags.len() == 1 { "" } else { "s" });
    for d in diags {
        out.push_str("\n- ");
        out.push_str(&d.to_string().replace('\n', "\n  "));
    }
    out
}

/// The codegen result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
