//! The ordered document tree and the serde serializer that builds it.

use serde::Serialize;
use serde::ser::{self, Impossible};

use super::HEX_MARKER;

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
    pub(super) fn is_scalar(&self) -> bool {
        match self {
            Node::Seq(v) => v.is_empty(),
            Node::Map(m) => m.is_empty(),
            _ => true,
        }
    }

    pub(super) fn is_number_like(&self) -> bool {
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
