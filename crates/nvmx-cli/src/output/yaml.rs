//! The YAML emitter: writes a [`Node`] tree in the shape xNVMe prints.

use std::fmt::Write as _;

use super::Node;

/// Spaces per nesting level.
const INDENT: usize = 2;
/// Widest line a flow-style collection may produce.
pub(super) const FLOW_WIDTH: usize = 120;
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

pub(super) fn float_text(f: f64) -> String {
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
pub(super) fn quote(s: &str) -> String {
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
pub(super) fn key_text(k: &str) -> String {
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
