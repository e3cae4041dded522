//! Printing results as YAML (the default, in the shape xNVMe's printers
//! use) or as pretty JSON (`--output json`).
//!
//! JSON comes straight from `serde_json`. YAML is emitted here: a value is
//! first serialized into an ordered [`Node`] tree (field order is kept, which
//! `serde_json::Value` without its `preserve_order` feature would lose), and
//! the tree is then written out:
//!
//! - mappings in block style, or in flow style (`{a: 1, b: 'x'}`) when they
//!   are small mappings of scalars, as xNVMe prints `attr: {...}` and the
//!   entries of lists;
//! - sequences as `- item`, with sequences of numbers in flow style
//!   (`[1, 2, 3]`);
//! - strings always single-quoted (`'it''s'`), or double-quoted with escapes
//!   when they hold control characters;
//! - numbers plain, [`Hex`] numbers as `0x..`, booleans as `true`/`false`
//!   (xNVMe prints `0`/`1`), null as `~`, empty containers as `{}` and `[]`.
//!
//! [`node`] builds the tree, [`yaml`] writes it.

mod node;
#[cfg(test)]
mod tests;
mod yaml;

use std::io::{self, Write};

use clap::ValueEnum;
use serde::Serialize;
use serde::ser;

pub use node::{Node, to_node};
pub use yaml::yaml;

/// The output format chosen with `--output`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// YAML, in the shape xNVMe prints (default).
    #[default]
    Yaml,
    /// Pretty-printed JSON, for machines.
    Json,
}

/// Writes results to standard output in the chosen format.
#[derive(Debug, Clone, Copy)]
pub struct Printer {
    format: Format,
}

impl Printer {
    /// A printer for `format`.
    pub fn new(format: Format) -> Self {
        Self { format }
    }

    /// Prints a `# text` comment line; YAML only (JSON has no comments).
    pub fn comment(&self, text: &str) -> io::Result<()> {
        if self.format == Format::Yaml {
            let mut out = io::stdout().lock();
            for line in text.lines() {
                writeln!(out, "# {line}")?;
            }
            out.flush()?;
        }
        Ok(())
    }

    /// Prints `value` as one YAML or JSON document.
    pub fn print<T: Serialize + ?Sized>(&self, value: &T) -> io::Result<()> {
        let text = render(self.format, value)?;
        let mut out = io::stdout().lock();
        out.write_all(text.as_bytes())?;
        out.flush()
    }
}

/// Renders `value` in `format`, ending with a newline.
pub fn render<T: Serialize + ?Sized>(format: Format, value: &T) -> io::Result<String> {
    match format {
        Format::Json => {
            let mut s = serde_json::to_string_pretty(value).map_err(io::Error::other)?;
            s.push('\n');
            Ok(s)
        }
        Format::Yaml => {
            let node = to_node(value).map_err(io::Error::other)?;
            Ok(yaml(&node))
        }
    }
}

/// A number printed in hexadecimal in YAML (`0x1f`) and as a plain number in
/// JSON. xNVMe prints identifiers and bit masks this way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Hex(pub u64);

/// The newtype-struct name [`Node`]'s serializer recognizes as [`Hex`].
const HEX_MARKER: &str = "nvmx_cli::output::Hex";

impl Serialize for Hex {
    fn serialize<S: ser::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // serde_json writes newtype structs as their content; the YAML
        // serializer below knows the name and keeps the hex form.
        s.serialize_newtype_struct(HEX_MARKER, &self.0)
    }
}
