//! Turns `spec/` into Rust tool modules and MCP descriptors.
//!
//! The stages, each in its own module, run in order and never touch the disk except
//! [`SpecFiles::read_dir`]:
//!
//! 1. [`load`]: parse the YAML files into the raw spec types of [`spec`], naming file,
//!    key path, line and column on any syntax or shape error.
//! 2. [`validate`]: check cross-references (tags, path parameters, placement rules,
//!    JSON Schemas, `$ref`s, names) and collect every problem at once.
//! 3. [`lower`]: resolve every name, inline `$ref`s and build the IR in [`model`].
//! 4. [`emit`]: turn the IR into formatted, headered files (Rust and `tools.json`).
//!
//! [`import`] drafts spec files from an OpenAPI 3.0 document; [`synth`] makes large
//! synthetic specs for benchmarks.
#![deny(missing_docs)]

pub mod emit;
mod error;
pub mod import;
pub mod load;
pub mod lower;
pub mod model;
pub mod naming;
mod schema;
pub mod spec;
pub mod synth;
pub mod validate;

pub use error::{Diagnostic, Error, Result};
pub use load::SpecFiles;

/// One output file, relative to the `generated/` crate root.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutputFile {
    /// A `/`-separated path relative to `generated/`, e.g. `src/resources/mod.rs`.
    pub path: String,
    /// The complete contents, header included, with `\n` line endings.
    pub contents: String,
}

/// The result of a generator run.
#[derive(Debug, Clone)]
pub struct Generated {
    /// Every file the generator owns, sorted by path.
    pub files: Vec<OutputFile>,
    /// Problems that do not stop generation (e.g. an undocumented method, which is skipped).
    pub warnings: Vec<String>,
}

/// Runs every stage on an in-memory spec.
pub fn generate(files: &SpecFiles) -> Result<Generated> {
    let spec = load::load(files)?;
    validate::validate(&spec)?;
    let model = lower::lower(&spec)?;
    let files = emit::emit(&model)?;
    Ok(Generated { files, warnings: model.warnings.clone() })
}
