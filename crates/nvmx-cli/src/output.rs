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

use std::fmt::Write as _;
use std::io::{self, Write};

use clap::ValueEnum;
use serde::Serialize;
use serde::ser::{self, Impossible};

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

/// An ordered document tree, the input of the YAML emitter.
#[derive(Clone, Debug, PartialEq)]
pub enum Node {
    /// `~`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// A signed integer.
    Int(i128),
    /// An unsigned integer (up to 128 bits).
    UInt(u128),
    /// An unsigned integer printed in hex.
    Hex(u64),
    /// A floating-point number.
    Float(f64),
    /// A string.
    Str(String),
    /// A sequence.
    Seq(Vec<Node>),
    /// A mapping, in field order.
    Map(Vec<(String, Node)>),
}

impl Node {
    fn is_scalar(&self) -> bool {
        match self {
            Node::Seq(v) => v.is_empty(),
            Node::Map(m) => m.is_empty(),
            _ => true,
        }
    }

    fn is_number_like(&self) -> bool {
        matches!(
            self,
            Node::Int(_)
                | Node::UInt(_)
                | Node::Hex(_)
                | Node::Float(_)
                | Node::Bool(_)
                | Node::Null
        )
    }
}

/// Serialization into a [`Node`] failed (a map key that is not a scalar, or
/// a `Serialize` impl reporting its own error).
#[derive(Debug)]
pub struct NodeError(String);

impl std::fmt::Display for NodeError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NodeError {}

impl ser::Error for NodeError {
    fn custom<T: std::fmt::Display>(msg: T) -> Self {
        NodeError(msg.to_string())
    }
}

/// Serializes `value` into an ordered [`Node`] tree.
pub fn to_node<T: Serialize + ?Sized>(value: &T) -> Result<Node, NodeError> {
    value.serialize(NodeSerializer)
}

/// A serde serializer that builds [`Node`]s.
struct NodeSerializer;

/// Collects the elements of a sequence, tuple or tuple variant.
struct SeqBuilder {
    items: Vec<Node>,
    /// The variant name when this is a tuple variant (`{variant: [...]}`).
    variant: Option<&'static str>,
}

/// Collects the entries of a map, struct or struct variant.
struct MapBuilder {
    entries: Vec<(String, Node)>,
    pending_key: Option<String>,
    /// The variant name when this is a struct variant (`{variant: {...}}`).
    variant: Option<&'static str>,
}

fn wrap_variant(variant: Option<&'static str>, node: Node) -> Node {
    match variant {
        Some(v) => Node::Map(vec![(v.to_string(), node)]),
        None => node,
    }
}

impl ser::Serializer for NodeSerializer {
    type Ok = Node;
    type Error = NodeError;
    type SerializeSeq = SeqBuilder;
    type SerializeTuple = SeqBuilder;
    type SerializeTupleStruct = SeqBuilder;
    type SerializeTupleVariant = SeqBuilder;
    type SerializeMap = MapBuilder;
    type SerializeStruct = MapBuilder;
    type SerializeStructVariant = MapBuilder;

    fn serialize_bool(self, v: bool) -> Result<Node, NodeError> {
        Ok(Node::Bool(v))
    }
    fn serialize_i8(self, v: i8) -> Result<Node, NodeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i16(self, v: i16) -> Result<Node, NodeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i32(self, v: i32) -> Result<Node, NodeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i64(self, v: i64) -> Result<Node, NodeError> {
        Ok(Node::Int(v.into()))
    }
    fn serialize_i128(self, v: i128) -> Result<Node, NodeError> {
        Ok(Node::Int(v))
    }
    fn serialize_u8(self, v: u8) -> Result<Node, NodeError> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u16(self, v: u16) -> Result<Node, NodeError> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u32(self, v: u32) -> Result<Node, NodeError> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u64(self, v: u64) -> Result<Node, NodeError> {
        Ok(Node::UInt(v.into()))
    }
    fn serialize_u128(self, v: u128) -> Result<Node, NodeError> {
        Ok(Node::UInt(v))
    }
    fn serialize_f32(self, v: f32) -> Result<Node, NodeError> {
        Ok(Node::Float(v.into()))
    }
    fn serialize_f64(self, v: f64) -> Result<Node, NodeError> {
        Ok(Node::Float(v))
    }
    fn serialize_char(self, v: char) -> Result<Node, NodeError> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_str(self, v: &str) -> Result<Node, NodeError> {
        Ok(Node::Str(v.to_string()))
    }
    fn serialize_bytes(self, v: &[u8]) -> Result<Node, NodeError> {
        Ok(Node::Seq(v.iter().map(|&b| Node::UInt(b.into())).collect()))
    }
    fn serialize_none(self) -> Result<Node, NodeError> {
        Ok(Node::Null)
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<Node, NodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Node, NodeError> {
        Ok(Node::Null)
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<Node, NodeError> {
        Ok(Node::Null)
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
    ) -> Result<Node, NodeError> {
        Ok(Node::Str(variant.to_string()))
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        name: &'static str,
        value: &T,
    ) -> Result<Node, NodeError> {
        let node = value.serialize(NodeSerializer)?;
        if name == HEX_MARKER
            && let Node::UInt(v) = node
            && let Ok(v) = u64::try_from(v)
        {
            return Ok(Node::Hex(v));
        }
        Ok(node)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        value: &T,
    ) -> Result<Node, NodeError> {
        Ok(Node::Map(vec![(
            variant.to_string(),
            value.serialize(NodeSerializer)?,
        )]))
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<SeqBuilder, NodeError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len.unwrap_or(0)),
            variant: None,
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<SeqBuilder, NodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, NodeError> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<SeqBuilder, NodeError> {
        Ok(SeqBuilder {
            items: Vec::with_capacity(len),
            variant: Some(variant),
        })
    }
    fn serialize_map(self, len: Option<usize>) -> Result<MapBuilder, NodeError> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len.unwrap_or(0)),
            pending_key: None,
            variant: None,
        })
    }
    fn serialize_struct(self, _name: &'static str, len: usize) -> Result<MapBuilder, NodeError> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
        len: usize,
    ) -> Result<MapBuilder, NodeError> {
        Ok(MapBuilder {
            entries: Vec::with_capacity(len),
            pending_key: None,
            variant: Some(variant),
        })
    }
}

impl ser::SerializeSeq for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        self.items.push(value.serialize(NodeSerializer)?);
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(wrap_variant(self.variant, Node::Seq(self.items)))
    }
}

impl ser::SerializeTuple for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_element<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleVariant for SeqBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        ser::SerializeSeq::serialize_element(self, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_key<T: Serialize + ?Sized>(&mut self, key: &T) -> Result<(), NodeError> {
        self.pending_key = Some(key.serialize(KeySerializer)?);
        Ok(())
    }
    fn serialize_value<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<(), NodeError> {
        let key = self
            .pending_key
            .take()
            .ok_or_else(|| NodeError("map value without a key".into()))?;
        self.entries.push((key, value.serialize(NodeSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        Ok(wrap_variant(self.variant, Node::Map(self.entries)))
    }
}

impl ser::SerializeStruct for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NodeError> {
        self.entries
            .push((key.to_string(), value.serialize(NodeSerializer)?));
        Ok(())
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeMap::end(self)
    }
}

impl ser::SerializeStructVariant for MapBuilder {
    type Ok = Node;
    type Error = NodeError;
    fn serialize_field<T: Serialize + ?Sized>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), NodeError> {
        ser::SerializeStruct::serialize_field(self, key, value)
    }
    fn end(self) -> Result<Node, NodeError> {
        ser::SerializeMap::end(self)
    }
}

/// Turns a map key into its text; only scalars can be keys (as in JSON).
struct KeySerializer;

impl KeySerializer {
    fn not_scalar() -> NodeError {
        NodeError("a map key must be a string, number, boolean or unit variant".into())
    }
}

impl ser::Serializer for KeySerializer {
    type Ok = String;
    type Error = NodeError;
    type SerializeSeq = Impossible<String, NodeError>;
    type SerializeTuple = Impossible<String, NodeError>;
    type SerializeTupleStruct = Impossible<String, NodeError>;
    type SerializeTupleVariant = Impossible<String, NodeError>;
    type SerializeMap = Impossible<String, NodeError>;
    type SerializeStruct = Impossible<String, NodeError>;
    type SerializeStructVariant = Impossible<String, NodeError>;

    fn serialize_bool(self, v: bool) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_i8(self, v: i8) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_i16(self, v: i16) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_i32(self, v: i32) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_i64(self, v: i64) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_i128(self, v: i128) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_u8(self, v: u8) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_u16(self, v: u16) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_u32(self, v: u32) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_u64(self, v: u64) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_u128(self, v: u128) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_f32(self, v: f32) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_f64(self, v: f64) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_char(self, v: char) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_str(self, v: &str) -> Result<String, NodeError> {
        Ok(v.to_string())
    }
    fn serialize_bytes(self, _v: &[u8]) -> Result<String, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_none(self) -> Result<String, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_some<T: Serialize + ?Sized>(self, value: &T) -> Result<String, NodeError> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<String, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_unit_struct(self, _name: &'static str) -> Result<String, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_unit_variant(
        self,
        _name: &'static str,
        _idx: u32,
        variant: &'static str,
    ) -> Result<String, NodeError> {
        Ok(variant.to_string())
    }
    fn serialize_newtype_struct<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        value: &T,
    ) -> Result<String, NodeError> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: Serialize + ?Sized>(
        self,
        _name: &'static str,
        _idx: u32,
        _variant: &'static str,
        _value: &T,
    ) -> Result<String, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_seq(self, _len: Option<usize>) -> Result<Self::SerializeSeq, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_tuple(self, _len: usize) -> Result<Self::SerializeTuple, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_tuple_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleStruct, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_tuple_variant(
        self,
        _name: &'static str,
        _idx: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeTupleVariant, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_map(self, _len: Option<usize>) -> Result<Self::SerializeMap, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_struct(
        self,
        _name: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStruct, NodeError> {
        Err(Self::not_scalar())
    }
    fn serialize_struct_variant(
        self,
        _name: &'static str,
        _idx: u32,
        _variant: &'static str,
        _len: usize,
    ) -> Result<Self::SerializeStructVariant, NodeError> {
        Err(Self::not_scalar())
    }
}

// ---------------------------------------------------------------------------
// The YAML emitter.

/// Spaces per nesting level.
const INDENT: usize = 2;
/// Widest line a flow-style collection may produce.
const FLOW_WIDTH: usize = 120;
/// Most entries a mapping nested in a mapping may have and still be flow
/// style (xNVMe's `attr: {name, descr, caps}`); longer ones read better as
/// blocks.
const FLOW_MAP_ENTRIES: usize = 4;

/// Emits `node` as a YAML document. A mapping or sequence at the top starts
/// at column 0; a bare scalar is written on its own line.
pub fn yaml(node: &Node) -> String {
    let mut out = String::new();
    match node {
        Node::Map(m) if !m.is_empty() => map_block(&mut out, m, 0),
        Node::Seq(s) if !s.is_empty() => seq_block(&mut out, s, 0),
        other => {
            out.push_str(&scalar(other));
            out.push('\n');
        }
    }
    out
}

fn pad(out: &mut String, n: usize) {
    out.extend(std::iter::repeat_n(' ', n));
}

/// Writes the entries of a mapping, one per line, at column `indent`.
fn map_block(out: &mut String, m: &[(String, Node)], indent: usize) {
    for (k, v) in m {
        pad(out, indent);
        let key = key_text(k);
        out.push_str(&key);
        out.push(':');
        let prefix = indent + key.len() + 2;
        value_after_key(out, v, indent, prefix);
    }
}

/// Writes what follows `key:` — a scalar or flow collection on the same
/// line, or a block collection on the next lines.
fn value_after_key(out: &mut String, v: &Node, indent: usize, prefix: usize) {
    if let Some(flow) = flow_in_map(v, indent, prefix) {
        out.push(' ');
        out.push_str(&flow);
        out.push('\n');
        return;
    }
    out.push('\n');
    match v {
        Node::Map(m) => map_block(out, m, indent + INDENT),
        Node::Seq(s) => seq_block(out, s, indent + INDENT),
        // Scalars always have a flow form.
        _ => {}
    }
}

/// Writes the items of a sequence as `- item` lines at column `indent`.
fn seq_block(out: &mut String, s: &[Node], indent: usize) {
    for item in s {
        pad(out, indent);
        out.push_str("- ");
        seq_item(out, item, indent + INDENT);
    }
}

/// Writes one sequence item after its `- `; `indent` is the column its
/// content starts at.
fn seq_item(out: &mut String, item: &Node, indent: usize) {
    if let Some(flow) = flow_in_seq(item, indent) {
        out.push_str(&flow);
        out.push('\n');
        return;
    }
    match item {
        Node::Map(m) => {
            // The first entry shares the `- ` line; the rest line up with it.
            for (i, (k, v)) in m.iter().enumerate() {
                if i > 0 {
                    pad(out, indent);
                }
                let key = key_text(k);
                out.push_str(&key);
                out.push(':');
                value_after_key(out, v, indent, indent + key.len() + 2);
            }
        }
        Node::Seq(s) => {
            for (i, v) in s.iter().enumerate() {
                if i > 0 {
                    pad(out, indent);
                }
                out.push_str("- ");
                seq_item(out, v, indent + INDENT);
            }
        }
        _ => {}
    }
}

/// The flow form of a mapping value, if it should be written in flow style.
/// `indent` is the column of the key, `prefix` the column after `key: `.
fn flow_in_map(v: &Node, indent: usize, prefix: usize) -> Option<String> {
    let text = match v {
        Node::Map(m) if m.is_empty() => return Some("{}".into()),
        Node::Seq(s) if s.is_empty() => return Some("[]".into()),
        Node::Map(m) if m.len() <= FLOW_MAP_ENTRIES && m.iter().all(|(_, v)| v.is_scalar()) => {
            flow_map(m)
        }
        // Lists of numbers (e.g. `ieee: [0, 0, 0]`) are flow sequences,
        // wrapped when long; lists of strings stay one per line, as xNVMe
        // prints them.
        Node::Seq(s) if s.iter().all(Node::is_number_like) => {
            return Some(flow_seq_wrapped(s, prefix, indent + INDENT));
        }
        Node::Map(_) | Node::Seq(_) => return None,
        scalar_node => return Some(scalar(scalar_node)),
    };
    (prefix + text.len() <= FLOW_WIDTH).then_some(text)
}

/// A flow sequence starting at column `col`, broken into lines of at most
/// [`FLOW_WIDTH`] columns (where the items allow) with continuation lines
/// at column `cont`.
fn flow_seq_wrapped(items: &[Node], col: usize, cont: usize) -> String {
    let mut s = String::from("[");
    let mut width = col + 1;
    for (i, v) in items.iter().enumerate() {
        let item = flow_scalar(v);
        let last = i + 1 == items.len();
        // The item, then `,` or `]`.
        let need = item.len() + 1;
        if i > 0 {
            if width + 1 + need > FLOW_WIDTH {
                s.push('\n');
                pad(&mut s, cont);
                width = cont;
            } else {
                s.push(' ');
                width += 1;
            }
        }
        s.push_str(&item);
        s.push(if last { ']' } else { ',' });
        width += need;
    }
    s
}

/// The flow form of a sequence item, if it should be written in flow style.
fn flow_in_seq(v: &Node, indent: usize) -> Option<String> {
    let text = match v {
        Node::Map(m) if m.is_empty() => return Some("{}".into()),
        Node::Seq(s) if s.is_empty() => return Some("[]".into()),
        Node::Map(m) if m.iter().all(|(_, v)| v.is_scalar()) => flow_map(m),
        Node::Seq(s) if s.iter().all(Node::is_scalar) => flow_seq(s),
        Node::Map(_) | Node::Seq(_) => return None,
        scalar_node => return Some(scalar(scalar_node)),
    };
    (indent + text.len() <= FLOW_WIDTH).then_some(text)
}

fn flow_map(m: &[(String, Node)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in m.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&key_text(k));
        s.push_str(": ");
        s.push_str(&flow_scalar(v));
    }
    s.push('}');
    s
}

fn flow_seq(items: &[Node]) -> String {
    let mut s = String::from("[");
    for (i, v) in items.iter().enumerate() {
        if i > 0 {
            s.push_str(", ");
        }
        s.push_str(&flow_scalar(v));
    }
    s.push(']');
    s
}

/// A scalar, or an empty collection, inside a flow collection.
fn flow_scalar(v: &Node) -> String {
    match v {
        Node::Map(_) => "{}".into(),
        Node::Seq(_) => "[]".into(),
        other => scalar(other),
    }
}

/// The text of a scalar node.
fn scalar(v: &Node) -> String {
    match v {
        Node::Null => "~".into(),
        Node::Bool(b) => b.to_string(),
        Node::Int(i) => i.to_string(),
        Node::UInt(u) => u.to_string(),
        Node::Hex(h) => format!("{h:#x}"),
        Node::Float(f) => float_text(*f),
        Node::Str(s) => quote(s),
        Node::Seq(_) => "[]".into(),
        Node::Map(_) => "{}".into(),
    }
}

fn float_text(f: f64) -> String {
    if f.is_nan() {
        ".nan".into()
    } else if f.is_infinite() {
        if f > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        let s = f.to_string();
        // Keep it a float when read back: `1` would be an integer.
        if s.contains(['.', 'e', 'E']) {
            s
        } else {
            format!("{s}.0")
        }
    }
}

/// A quoted string: single quotes (`'` doubled), or double quotes with
/// escapes when the string holds characters single quotes cannot carry.
fn quote(s: &str) -> String {
    if s.chars().any(|c| c.is_control() || c == '\u{feff}') {
        // A JSON string is a valid YAML double-quoted scalar.
        let mut q = String::with_capacity(s.len() + 2);
        q.push('"');
        for c in s.chars() {
            match c {
                '"' => q.push_str("\\\""),
                '\\' => q.push_str("\\\\"),
                '\n' => q.push_str("\\n"),
                '\t' => q.push_str("\\t"),
                '\r' => q.push_str("\\r"),
                c if c.is_control() || c == '\u{feff}' => {
                    let _ = write!(q, "\\u{:04x}", u32::from(c));
                }
                c => q.push(c),
            }
        }
        q.push('"');
        q
    } else {
        format!("'{}'", s.replace('\'', "''"))
    }
}

/// A mapping key: plain when it is a simple identifier that YAML reads
/// back as the same string, quoted otherwise.
fn key_text(k: &str) -> String {
    let simple = k
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-' || c == '.');
    const SPECIAL: &[&str] = &["y", "n", "yes", "no", "on", "off", "true", "false", "null"];
    if simple && !SPECIAL.contains(&k.to_ascii_lowercase().as_str()) {
        k.to_string()
    } else {
        quote(k)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Serialize;

    #[derive(Serialize)]
    struct Inner {
        id: &'static str,
    }

    #[derive(Serialize)]
    struct Lbaf {
        ms: u16,
        lbads: u8,
    }

    #[derive(Serialize)]
    struct Doc {
        name: String,
        count: u32,
        neg: i32,
        ok: bool,
        none: Option<u8>,
        mask: Hex,
        dev: Inner,
        list: Vec<Lbaf>,
        empty_map: std::collections::BTreeMap<String, u8>,
        empty_list: Vec<u8>,
        words: Vec<&'static str>,
        nums: [u8; 3],
    }

    fn doc() -> Doc {
        Doc {
            name: "it's".into(),
            count: 7,
            neg: -3,
            ok: true,
            none: None,
            mask: Hex(0x1f),
            dev: Inner { id: "ramdisk" },
            list: vec![Lbaf { ms: 0, lbads: 9 }, Lbaf { ms: 8, lbads: 12 }],
            empty_map: Default::default(),
            empty_list: vec![],
            words: vec!["a", "b"],
            nums: [1, 2, 3],
        }
    }

    #[test]
    fn nested_maps_lists_and_scalars() {
        let y = render(Format::Yaml, &doc()).unwrap();
        let want = "\
name: 'it''s'
count: 7
neg: -3
ok: true
none: ~
mask: 0x1f
dev: {id: 'ramdisk'}
list:
  - {ms: 0, lbads: 9}
  - {ms: 8, lbads: 12}
empty_map: {}
empty_list: []
words:
  - 'a'
  - 'b'
nums: [1, 2, 3]
";
        assert_eq!(y, want);
    }

    #[test]
    fn field_order_is_kept() {
        #[derive(Serialize)]
        struct Z {
            zz: u8,
            aa: u8,
        }
        assert_eq!(
            render(Format::Yaml, &Z { zz: 1, aa: 2 }).unwrap(),
            "zz: 1\naa: 2\n"
        );
    }

    #[test]
    fn json_is_plain_serde_json_with_hex_as_numbers() {
        let j = render(Format::Json, &doc()).unwrap();
        let v: serde_json::Value = serde_json::from_str(&j).unwrap();
        assert_eq!(v["mask"], 31);
        assert_eq!(v["dev"]["id"], "ramdisk");
        assert_eq!(v["list"][1]["lbads"], 12);
        assert!(j.ends_with('\n'));
    }

    #[test]
    fn quoting_rules() {
        assert_eq!(quote(""), "''");
        assert_eq!(quote("plain"), "'plain'");
        assert_eq!(quote(" lead"), "' lead'");
        assert_eq!(quote("a'b"), "'a''b'");
        assert_eq!(quote("true"), "'true'");
        assert_eq!(quote("line\nbreak\t\u{1}"), "\"line\\nbreak\\t\\u0001\"");
        assert_eq!(key_text("nsze"), "nsze");
        assert_eq!(key_text("0"), "'0'");
        assert_eq!(key_text("fdp attributes"), "'fdp attributes'");
        assert_eq!(key_text("yes"), "'yes'");
        assert_eq!(key_text(""), "''");
        assert_eq!(float_text(1.0), "1.0");
        assert_eq!(float_text(0.25), "0.25");
        assert_eq!(float_text(f64::NAN), ".nan");
        assert_eq!(float_text(f64::NEG_INFINITY), "-.inf");
    }

    #[test]
    fn block_maps_in_sequences_and_nested_sequences() {
        let node = Node::Map(vec![(
            "items".into(),
            Node::Seq(vec![
                Node::Map(vec![
                    ("name".into(), Node::Str("x".into())),
                    (
                        "sub".into(),
                        Node::Map(vec![("a".into(), Node::Seq(vec![Node::Str("s".into())]))]),
                    ),
                ]),
                Node::Seq(vec![Node::Seq(vec![
                    Node::Str("deep".into()),
                    Node::Map(vec![]),
                ])]),
                Node::UInt(5),
            ]),
        )]);
        let want = "\
items:
  - name: 'x'
    sub:
      a:
        - 's'
  - - ['deep', {}]
  - 5
";
        assert_eq!(yaml(&node), want);
    }

    #[test]
    fn wide_or_long_mappings_fall_back_to_block_style() {
        let long = "d".repeat(FLOW_WIDTH);
        let node = Node::Map(vec![
            (
                "attr".into(),
                Node::Map(vec![("descr".into(), Node::Str(long.clone()))]),
            ),
            (
                "five".into(),
                Node::Map((0..5).map(|i| (format!("k{i}"), Node::UInt(i))).collect()),
            ),
        ]);
        let y = yaml(&node);
        assert!(
            y.starts_with(&format!("attr:\n  descr: '{long}'\nfive:\n  k0: 0\n")),
            "{y}"
        );
    }

    #[test]
    fn long_number_lists_wrap_as_flow_sequences() {
        let node = Node::Map(vec![(
            "elbaf".into(),
            Node::Seq((0..64).map(|i| Node::UInt(i * 100)).collect()),
        )]);
        let y = yaml(&node);
        assert!(y.starts_with("elbaf: [0, 100, 200,"), "{y}");
        assert!(y.lines().count() > 1, "{y}");
        for l in y.lines() {
            assert!(l.len() <= FLOW_WIDTH, "{l}");
        }
        for l in y.lines().skip(1) {
            assert!(l.starts_with("  ") && !l.starts_with("   "), "{l:?}");
        }
        assert!(y.ends_with("6300]\n"), "{y}");
        // Every number is there once, in order.
        let nums: Vec<u128> = y["elbaf: [".len()..y.len() - 2]
            .split(',')
            .map(|t| t.trim().parse().unwrap())
            .collect();
        assert_eq!(nums, (0..64).map(|i| i * 100).collect::<Vec<_>>());
    }

    #[test]
    fn top_level_scalars_and_empties() {
        assert_eq!(yaml(&Node::Null), "~\n");
        assert_eq!(yaml(&Node::Map(vec![])), "{}\n");
        assert_eq!(yaml(&Node::Seq(vec![])), "[]\n");
        assert_eq!(yaml(&Node::Seq(vec![Node::Bool(false)])), "- false\n");
    }

    #[test]
    fn enums_and_big_numbers() {
        #[derive(Serialize)]
        enum E {
            Unit,
            New(u8),
            Tup(u8, u8),
            St { a: u8 },
        }
        let v = vec![E::Unit, E::New(1), E::Tup(1, 2), E::St { a: 3 }];
        let y = render(Format::Yaml, &v).unwrap();
        assert_eq!(y, "- 'Unit'\n- {New: 1}\n- Tup: [1, 2]\n- St: {a: 3}\n");
        let big = u128::MAX;
        assert_eq!(render(Format::Yaml, &[big]).unwrap(), format!("- {big}\n"));
        let mut m = std::collections::BTreeMap::new();
        m.insert(3u32, "x");
        assert_eq!(render(Format::Yaml, &m).unwrap(), "'3': 'x'\n");
    }
}
