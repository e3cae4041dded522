//! The Key Value command set (NVMe KV command set 1.0) on [`Device`]:
//! Store, Retrieve, Delete, Exist and List on a KV namespace (CSI 1).
//!
//! Keys are 1 to 16 bytes and travel inside the command; values travel in
//! the data buffer. Key sizes are checked here, before anything reaches
//! the device. Statuses the KV command set defines come back as
//! [`Error::Status`] with SCT 0 and the codes in [`nvmx_spec::kv::status`]
//! (Key Does Not Exist, Key Exists, Invalid Value Size, ...), except where
//! a function says otherwise: [`Device::kv_exist`] answers `false` for a
//! missing key.

use nvmx_spec::kv::{
    KV_KEY_MAX, KvDelete, KvExist, KvList, KvListIter, KvRetrieve, KvStore, RETRIEVE_RAW,
    STORE_COMPRESS, STORE_NO_OVERWRITE, STORE_OVERWRITE_ONLY, key_from_slice, status,
};
use nvmx_spec::status::sct;
use serde::Serialize;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

/// Options of [`Device::kv_store`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KvStoreOpts {
    /// Store only if the key exists (update; fails with Key Does Not Exist).
    pub only_update: bool,
    /// Store only if the key does not exist (add; fails with Key Exists).
    pub only_add: bool,
    /// Compression hint (store option bit 2).
    pub compress: bool,
}

impl KvStoreOpts {
    /// The store option bits (CDW11 bits 15:8).
    pub fn bits(self) -> u8 {
        let mut so = 0;
        if self.only_update {
            so |= STORE_OVERWRITE_ONLY;
        }
        if self.only_add {
            so |= STORE_NO_OVERWRITE;
        }
        if self.compress {
            so |= STORE_COMPRESS;
        }
        so
    }
}

/// The keys a KV List returned.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct KvKeyList {
    /// The number of keys the device reports in the list header.
    pub reported: u32,
    /// The keys that fit in the buffer, in the device's order.
    pub keys: Vec<Vec<u8>>,
}

/// Checks a key's size before it is put in a command.
fn key(key: &[u8]) -> Result<([u8; KV_KEY_MAX], u8)> {
    key_from_slice(key).ok_or_else(|| {
        Error::out_of_range(
            "key",
            format!("{} bytes; a key is 1 to {KV_KEY_MAX} bytes", key.len()),
        )
    })
}

fn value_len(n: usize, what: &'static str) -> Result<u32> {
    u32::try_from(n).map_err(|_| {
        Error::too_large(
            what,
            n as u64,
            u32::MAX.into(),
            "bytes a 32-bit size field holds",
        )
    })
}

/// Whether `e` is the KV status Key Does Not Exist.
pub fn is_key_not_found(e: &Error) -> bool {
    e.status()
        .is_some_and(|s| s.sct == sct::GENERIC && s.sc == status::KEY_DOES_NOT_EXIST)
}

impl Device {
    /// Stores `value` under `key`.
    pub fn kv_store(&self, key_bytes: &[u8], value: &[u8], opts: KvStoreOpts) -> Result<()> {
        let (key, key_len) = key(key_bytes)?;
        if opts.only_update && opts.only_add {
            return Err(Error::conflict(
                "store options",
                "only-update (key must exist) and only-add (key must not exist) exclude each other",
            ));
        }
        let mut cmd = KvStore {
            nsid: self.nsid(),
            key,
            key_len,
            value_len: value_len(value.len(), "value")?,
            opts: opts.bits(),
        }
        .to_command();
        let data = if value.is_empty() {
            DataBuf::None
        } else {
            DataBuf::Out(value)
        };
        self.cmd_io(&mut cmd, data, DataBuf::None)?;
        Ok(())
    }

    /// Retrieves the value of `key` into `buf` and returns the value's
    /// size, which may be larger than `buf`: then only `buf.len()` bytes
    /// were returned. `raw` asks for the value as stored, not decompressed.
    pub fn kv_retrieve(&self, key_bytes: &[u8], buf: &mut [u8], raw: bool) -> Result<usize> {
        let (key, key_len) = key(key_bytes)?;
        let mut cmd = KvRetrieve {
            nsid: self.nsid(),
            key,
            key_len,
            buf_len: value_len(buf.len(), "value buffer")?,
            opts: if raw { RETRIEVE_RAW } else { 0 },
        }
        .to_command();
        let data = if buf.is_empty() {
            DataBuf::None
        } else {
            DataBuf::In(buf)
        };
        let cpl = self.cmd_io(&mut cmd, data, DataBuf::None)?;
        Ok(cpl.cdw0 as usize)
    }

    /// Retrieves the whole value of `key`, asking again with a larger
    /// buffer when the first one (`hint` bytes) was too small.
    pub fn kv_retrieve_vec(&self, key_bytes: &[u8], hint: usize) -> Result<Vec<u8>> {
        let mut buf = vec![0u8; hint.max(1)];
        let n = self.kv_retrieve(key_bytes, &mut buf, false)?;
        if n > buf.len() {
            buf = vec![0u8; n];
            let again = self.kv_retrieve(key_bytes, &mut buf, false)?;
            if again != n {
                return Err(Error::bad_reply(
                    "KV Retrieve",
                    format!("the value changed size while being read: {n} bytes, then {again}"),
                ));
            }
        }
        buf.truncate(n);
        Ok(buf)
    }

    /// Deletes `key`; a missing key is [`Error::Status`] Key Does Not Exist.
    pub fn kv_delete(&self, key_bytes: &[u8]) -> Result<()> {
        let (key, key_len) = key(key_bytes)?;
        let mut cmd = KvDelete {
            nsid: self.nsid(),
            key,
            key_len,
        }
        .to_command();
        self.cmd_io(&mut cmd, DataBuf::None, DataBuf::None)?;
        Ok(())
    }

    /// Whether `key` exists: status Key Does Not Exist is `false`, not an
    /// error.
    pub fn kv_exist(&self, key_bytes: &[u8]) -> Result<bool> {
        let (key, key_len) = key(key_bytes)?;
        let mut cmd = KvExist {
            nsid: self.nsid(),
            key,
            key_len,
        }
        .to_command();
        match self.cmd_io(&mut cmd, DataBuf::None, DataBuf::None) {
            Ok(_) => Ok(true),
            Err(e) if is_key_not_found(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Lists keys from `start` on into a buffer of `buf_len` bytes (a
    /// multiple of 4, at least 4) and decodes them.
    pub fn kv_list(&self, start: &[u8], buf_len: usize) -> Result<KvKeyList> {
        let (key, key_len) = key(start)?;
        if buf_len < 4 || !buf_len.is_multiple_of(4) {
            return Err(Error::invalid(
                "list buffer",
                format!("{buf_len} bytes; must be a multiple of 4, at least 4"),
            ));
        }
        let mut buf = vec![0u8; buf_len];
        let mut cmd = KvList {
            nsid: self.nsid(),
            key,
            key_len,
            buf_len: value_len(buf_len, "list buffer")?,
        }
        .to_command();
        self.cmd_io(&mut cmd, DataBuf::In(&mut buf), DataBuf::None)?;
        Ok(KvKeyList {
            reported: KvListIter::reported(&buf),
            keys: KvListIter::new(&buf).map(<[u8]>::to_vec).collect(),
        })
    }
}
