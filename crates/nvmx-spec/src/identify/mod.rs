//! Identify: the CNS values, the command view, and the data structures it
//! returns.
//!
//! The base specification defines the controller and namespace-list
//! layouts (NVMe 2.0, section 5.17). The namespace layouts live in the
//! command-set specifications: [`IdentifyNamespace`] and
//! [`IdentifyNvmNamespace`] in the NVM command set spec 1.0,
//! [`IdentifyZonedNamespace`] in the Zoned Namespace command set spec 1.1,
//! and [`IdentifyKvNamespace`] in the Key Value command set spec 1.0.
//!
//! Every structure here is 4096 bytes, the size of an Identify transfer.
//!
//! One file per structure; every item is re-exported here, so the paths
//! stay `nvmx_spec::identify::X`.

mod command;
mod controller;
mod descriptor;
mod io_cmdset;
mod kv;
mod list;
mod namespace;
mod nvm;
mod zoned;

pub use command::*;
pub use controller::*;
pub use descriptor::*;
pub use io_cmdset::*;
pub use kv::*;
pub use list::*;
pub use namespace::*;
pub use nvm::*;
pub use zoned::*;

/// Size in bytes of every Identify data structure.
pub const IDENTIFY_NBYTES: usize = 4096;
/// The text of a fixed-size, space- or NUL-padded ASCII field, with the
/// padding trimmed. Bytes after the first invalid UTF-8 sequence are
/// dropped, so a malformed field yields its valid prefix rather than an
/// error.
pub fn trimmed_str(bytes: &[u8]) -> &str {
    let s = match core::str::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => core::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or(""),
    };
    s.trim_matches(|c: char| c == ' ' || c == '\0')
}

/// Field-level serde helpers shared by the layouts of this crate.
pub(crate) mod ser {
    use core::fmt;
    use serde::{Serialize, Serializer};

    /// A padded ASCII field, as its trimmed text.
    pub(crate) fn ascii<S: Serializer, const N: usize>(
        b: &[u8; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.serialize_str(super::trimmed_str(b))
    }

    struct Hex<'a>(&'a [u8]);

    impl fmt::Display for Hex<'_> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            self.0.iter().try_for_each(|b| write!(f, "{b:02x}"))
        }
    }

    /// An identifier (EUI-64, NGUID, FGUID) as lowercase hex, in byte order.
    pub(crate) fn hex<S: Serializer, const N: usize>(b: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&Hex(b))
    }

    /// An unaligned 16-bit little-endian field as one integer.
    pub(crate) fn u16_le<S: Serializer>(b: &[u8; 2], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u16(u16::from_le_bytes(*b))
    }

    /// A 128-bit little-endian counter as one integer. Values that fit are
    /// emitted as `u64`, which every serde format supports; only larger
    /// ones need the format's 128-bit support.
    pub(crate) fn u128_le<S: Serializer>(b: &[u8; 16], s: S) -> Result<S::Ok, S::Error> {
        let v = u128::from_le_bytes(*b);
        match u64::try_from(v) {
            Ok(v) => s.serialize_u64(v),
            Err(_) => s.serialize_u128(v),
        }
    }

    /// An array of any length as a sequence (serde derives stop at 32).
    pub(crate) fn seq<S: Serializer, T: Serialize, const N: usize>(
        a: &[T; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_seq(a.iter())
    }

    /// A table indexed by opcode or identifier, as a map of its non-zero entries.
    pub(crate) fn sparse_u32<S: Serializer, const N: usize>(
        a: &[u32; N],
        s: S,
    ) -> Result<S::Ok, S::Error> {
        s.collect_map(a.iter().enumerate().filter(|(_, v)| **v != 0))
    }
}

/// Implements `Default` as all-zero bytes, for layouts too big to derive it.
macro_rules! zeroed_default {
    ($($t:ty),* $(,)?) => {
        $(impl Default for $t {
            fn default() -> Self {
                <$t as zerocopy::FromZeros>::new_zeroed()
            }
        })*
    };
}
pub(crate) use zeroed_default;
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_utf8_yields_the_valid_prefix() {
        assert_eq!(trimmed_str(b"ab\xffcd  "), "ab");
        assert_eq!(trimmed_str(b"\xff"), "");
        assert_eq!(trimmed_str(b"  x \0\0"), "x");
    }
}
