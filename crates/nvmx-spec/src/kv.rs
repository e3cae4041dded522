//! Key Value command set: command views for Store, Retrieve, Delete, Exist
//! and List, and the List result parser (KV command set 1.0, "I/O Commands").
//!
//! A key is 1 to 16 bytes and travels inside the command itself: bytes
//! 3:0 in CDW2, 7:4 in CDW3, 11:8 in CDW14 and 15:12 in CDW15, with its
//! length in CDW11 bits 7:0. Command options sit in CDW11 bits 15:8.

use serde::Serialize;

use crate::cmd::Command;
use crate::opcode::KvOpcode;

/// Largest key the commands carry, in bytes.
pub const KV_KEY_MAX: usize = 16;

/// Store option: store only if the key already exists (overwrite only; SO bit 0).
pub const STORE_OVERWRITE_ONLY: u8 = 1 << 0;
/// Store option: store only if the key does not exist (no overwrite; SO bit 1).
pub const STORE_NO_OVERWRITE: u8 = 1 << 1;
/// Store option: compression hint (SO bit 2). xNVMe names it "compress";
/// SPDK reads the same bit as "do not compress", so check the device.
pub const STORE_COMPRESS: u8 = 1 << 2;
/// Retrieve option: return the value as stored, without decompressing (RO bit 0).
pub const RETRIEVE_RAW: u8 = 1 << 0;

/// Status codes of the KV command set. They sit in the generic status
/// type (SCT 0), in the range the base specification leaves to I/O
/// command sets (0x80 and up), as SPDK's generic status list has them.
pub mod status {
    /// Invalid value size.
    pub const INVALID_VALUE_SIZE: u8 = 0x85;
    /// Invalid key size.
    pub const INVALID_KEY_SIZE: u8 = 0x86;
    /// KV key does not exist.
    pub const KEY_DOES_NOT_EXIST: u8 = 0x87;
    /// Unrecovered error.
    pub const UNRECOVERED_ERROR: u8 = 0x88;
    /// Key exists.
    pub const KEY_EXISTS: u8 = 0x89;
}

/// A key padded to the 16-byte command field, and its length; `None` if
/// `key` is empty or longer than [`KV_KEY_MAX`].
pub fn key_from_slice(key: &[u8]) -> Option<([u8; KV_KEY_MAX], u8)> {
    if key.is_empty() || key.len() > KV_KEY_MAX {
        return None;
    }
    let mut k = [0u8; KV_KEY_MAX];
    k[..key.len()].copy_from_slice(key);
    Some((k, key.len() as u8))
}

fn put_key(cmd: &mut Command, key: &[u8; KV_KEY_MAX]) {
    let dw = |i: usize| u32::from_le_bytes([key[i], key[i + 1], key[i + 2], key[i + 3]]);
    cmd.cdw2 = dw(0);
    cmd.cdw3 = dw(4);
    cmd.cdw14 = dw(8);
    cmd.cdw15 = dw(12);
}

fn get_key(cmd: &Command) -> [u8; KV_KEY_MAX] {
    let mut key = [0u8; KV_KEY_MAX];
    for (chunk, dw) in key
        .chunks_exact_mut(4)
        .zip([cmd.cdw2, cmd.cdw3, cmd.cdw14, cmd.cdw15])
    {
        chunk.copy_from_slice(&dw.to_le_bytes());
    }
    key
}

fn key_slice(key: &[u8; KV_KEY_MAX], key_len: u8) -> &[u8] {
    &key[..(key_len as usize).min(KV_KEY_MAX)]
}

/// Typed view of the KV Store command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct KvStore {
    /// Namespace identifier.
    pub nsid: u32,
    /// The key, zero padded (CDW2, CDW3, CDW14, CDW15).
    pub key: [u8; KV_KEY_MAX],
    /// Key length in bytes (CDW11 bits 7:0).
    pub key_len: u8,
    /// Value size in bytes: the data buffer length (CDW10).
    pub value_len: u32,
    /// Store options (CDW11 bits 15:8): [`STORE_OVERWRITE_ONLY`],
    /// [`STORE_NO_OVERWRITE`], [`STORE_COMPRESS`].
    pub opts: u8,
}

impl KvStore {
    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        key_slice(&self.key, self.key_len)
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(KvOpcode::STORE.0, self.nsid);
        put_key(&mut cmd, &self.key);
        cmd.cdw10 = self.value_len;
        cmd.cdw11 = self.key_len as u32 | (self.opts as u32) << 8;
        cmd
    }

    /// Decodes a submission entry as a KV Store command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            key: get_key(cmd),
            key_len: cmd.cdw11 as u8,
            value_len: cmd.cdw10,
            opts: (cmd.cdw11 >> 8) as u8,
        }
    }
}

/// Typed view of the KV Retrieve command. The completion's dword 0 holds
/// the size of the stored value, which may exceed the buffer.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct KvRetrieve {
    /// Namespace identifier.
    pub nsid: u32,
    /// The key, zero padded (CDW2, CDW3, CDW14, CDW15).
    pub key: [u8; KV_KEY_MAX],
    /// Key length in bytes (CDW11 bits 7:0).
    pub key_len: u8,
    /// Host buffer size in bytes (CDW10).
    pub buf_len: u32,
    /// Retrieve options (CDW11 bits 15:8): [`RETRIEVE_RAW`].
    pub opts: u8,
}

impl KvRetrieve {
    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        key_slice(&self.key, self.key_len)
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(KvOpcode::RETRIEVE.0, self.nsid);
        put_key(&mut cmd, &self.key);
        cmd.cdw10 = self.buf_len;
        cmd.cdw11 = self.key_len as u32 | (self.opts as u32) << 8;
        cmd
    }

    /// Decodes a submission entry as a KV Retrieve command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            key: get_key(cmd),
            key_len: cmd.cdw11 as u8,
            buf_len: cmd.cdw10,
            opts: (cmd.cdw11 >> 8) as u8,
        }
    }
}

/// Typed view of the KV Delete command.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct KvDelete {
    /// Namespace identifier.
    pub nsid: u32,
    /// The key, zero padded (CDW2, CDW3, CDW14, CDW15).
    pub key: [u8; KV_KEY_MAX],
    /// Key length in bytes (CDW11 bits 7:0).
    pub key_len: u8,
}

impl KvDelete {
    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        key_slice(&self.key, self.key_len)
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(KvOpcode::DELETE.0, self.nsid);
        put_key(&mut cmd, &self.key);
        cmd.cdw11 = self.key_len as u32;
        cmd
    }

    /// Decodes a submission entry as a KV Delete command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            key: get_key(cmd),
            key_len: cmd.cdw11 as u8,
        }
    }
}

/// Typed view of the KV Exist command: success if the key exists, status
/// [`status::KEY_DOES_NOT_EXIST`] if not.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct KvExist {
    /// Namespace identifier.
    pub nsid: u32,
    /// The key, zero padded (CDW2, CDW3, CDW14, CDW15).
    pub key: [u8; KV_KEY_MAX],
    /// Key length in bytes (CDW11 bits 7:0).
    pub key_len: u8,
}

impl KvExist {
    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        key_slice(&self.key, self.key_len)
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(KvOpcode::EXIST.0, self.nsid);
        put_key(&mut cmd, &self.key);
        cmd.cdw11 = self.key_len as u32;
        cmd
    }

    /// Decodes a submission entry as a KV Exist command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            key: get_key(cmd),
            key_len: cmd.cdw11 as u8,
        }
    }
}

/// Typed view of the KV List command: lists the keys from `key` onwards
/// into the buffer, parsed with [`KvListIter`].
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct KvList {
    /// Namespace identifier.
    pub nsid: u32,
    /// The key to start from, zero padded (CDW2, CDW3, CDW14, CDW15).
    pub key: [u8; KV_KEY_MAX],
    /// Key length in bytes (CDW11 bits 7:0).
    pub key_len: u8,
    /// Host buffer size in bytes (CDW10).
    pub buf_len: u32,
}

impl KvList {
    /// The key bytes.
    pub fn key(&self) -> &[u8] {
        key_slice(&self.key, self.key_len)
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(KvOpcode::LIST.0, self.nsid);
        put_key(&mut cmd, &self.key);
        cmd.cdw10 = self.buf_len;
        cmd.cdw11 = self.key_len as u32;
        cmd
    }

    /// Decodes a submission entry as a KV List command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            key: get_key(cmd),
            key_len: cmd.cdw11 as u8,
            buf_len: cmd.cdw10,
        }
    }
}

/// Walks the data a KV List command returns, without allocating: a 4-byte
/// count of keys, then per key a 2-byte length, the key bytes, and padding
/// to the next 4-byte boundary. Iteration stops at the count or at an
/// entry that does not fit in the buffer.
#[derive(Clone, Debug)]
pub struct KvListIter<'a> {
    buf: &'a [u8],
    left: u32,
}

impl<'a> KvListIter<'a> {
    /// Iterates the keys in `buf`.
    pub fn new(buf: &'a [u8]) -> Self {
        match buf.split_first_chunk::<4>() {
            Some((n, rest)) => Self {
                buf: rest,
                left: u32::from_le_bytes(*n),
            },
            None => Self { buf: &[], left: 0 },
        }
    }

    /// Number of keys the header reports (the buffer may hold fewer).
    pub fn reported(buf: &[u8]) -> u32 {
        buf.first_chunk::<4>().map_or(0, |n| u32::from_le_bytes(*n))
    }
}

impl<'a> Iterator for KvListIter<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        if self.left == 0 {
            return None;
        }
        let (len, rest) = self.buf.split_first_chunk::<2>()?;
        let len = u16::from_le_bytes(*len) as usize;
        let key = rest.get(..len)?;
        // Each entry (length field plus key) is padded to a multiple of 4.
        let padded = (2 + len).next_multiple_of(4);
        self.buf = self.buf.get(padded..).unwrap_or(&[]);
        self.left -= 1;
        Some(key)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_is_spread_over_cdw2_cdw3_cdw14_cdw15() {
        let (key, key_len) = key_from_slice(b"0123456789abcdef").unwrap();
        let st = KvStore {
            nsid: 1,
            key,
            key_len,
            value_len: 4096,
            opts: STORE_NO_OVERWRITE,
        };
        let cmd = st.to_command();
        assert_eq!(cmd.opc, 0x01);
        assert_eq!(cmd.cdw2.to_le_bytes(), *b"0123");
        assert_eq!(cmd.cdw3.to_le_bytes(), *b"4567");
        assert_eq!(cmd.cdw14.to_le_bytes(), *b"89ab");
        assert_eq!(cmd.cdw15.to_le_bytes(), *b"cdef");
        assert_eq!(cmd.cdw10, 4096);
        assert_eq!(cmd.cdw11, 16 | 0x2 << 8);
        assert_eq!(KvStore::from_command(&cmd), st);
    }

    #[test]
    fn short_keys_are_zero_padded() {
        let (key, key_len) = key_from_slice(b"abc").unwrap();
        let r = KvRetrieve {
            nsid: 2,
            key,
            key_len,
            buf_len: 512,
            opts: RETRIEVE_RAW,
        };
        let cmd = r.to_command();
        assert_eq!(cmd.opc, 0x02);
        assert_eq!(cmd.cdw2.to_le_bytes(), [b'a', b'b', b'c', 0]);
        assert_eq!((cmd.cdw3, cmd.cdw14, cmd.cdw15), (0, 0, 0));
        assert_eq!(cmd.cdw11, 3 | 1 << 8);
        let back = KvRetrieve::from_command(&cmd);
        assert_eq!(back, r);
        assert_eq!(back.key(), b"abc");
        assert!(key_from_slice(b"").is_none());
        assert!(key_from_slice(&[0; 17]).is_none());
    }

    #[test]
    fn delete_exist_and_list_round_trip() {
        let (key, key_len) = key_from_slice(b"key-1").unwrap();
        let d = KvDelete {
            nsid: 1,
            key,
            key_len,
        };
        assert_eq!(d.to_command().opc, 0x10);
        assert_eq!(KvDelete::from_command(&d.to_command()), d);
        let e = KvExist {
            nsid: 1,
            key,
            key_len,
        };
        assert_eq!(e.to_command().opc, 0x14);
        assert_eq!(KvExist::from_command(&e.to_command()).key(), b"key-1");
        let l = KvList {
            nsid: 1,
            key,
            key_len,
            buf_len: 4096,
        };
        let cmd = l.to_command();
        assert_eq!(cmd.opc, 0x06);
        assert_eq!((cmd.cdw10, cmd.cdw11), (4096, 5));
        assert_eq!(KvList::from_command(&cmd), l);
    }

    #[test]
    fn list_result_entries_are_padded_to_dwords() {
        let mut buf = std::vec::Vec::new();
        buf.extend_from_slice(&3u32.to_le_bytes());
        for key in [&b"ab"[..], b"hello", b"0123456789abcdef"] {
            buf.extend_from_slice(&(key.len() as u16).to_le_bytes());
            buf.extend_from_slice(key);
            while buf.len() % 4 != 0 {
                buf.push(0xee);
            }
        }
        let keys: std::vec::Vec<&[u8]> = KvListIter::new(&buf).collect();
        assert_eq!(keys, [&b"ab"[..], b"hello", b"0123456789abcdef"]);
        assert_eq!(KvListIter::reported(&buf), 3);
        // A count larger than the buffer holds stops at the end of the buffer.
        buf[0] = 9;
        assert_eq!(KvListIter::new(&buf).count(), 3);
        assert_eq!(KvListIter::new(&buf[..2]).count(), 0);
    }
}
