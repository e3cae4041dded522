//! The Key Value command set on the ramdisk: `?kv=1` makes the namespace
//! a KV namespace (CSI 1).
//!
//! The pairs live in an ordered map, so List returns keys in ascending
//! byte order, starting at the first key equal to or after the one given
//! (a zero-length key lists from the start). The namespace's size bounds
//! the bytes of keys and values stored (Capacity Exceeded beyond it). The
//! largest value is the maximum data transfer (MDTS; 1 MiB when MDTS is
//! unlimited); keys are 1 to 16 bytes.
//!
//! Statuses, as the KV command set defines them (SCT 0): Invalid Key Size
//! for a key of 0 or more than 16 bytes, Invalid Value Size for a value
//! larger than the maximum, KV Key Does Not Exist for Retrieve, Delete,
//! Exist and an update-only Store of a missing key, Key Exists for an
//! add-only Store of a present key. Retrieve copies as much of the value
//! as the host buffer holds and reports the value's size in dword 0.

use std::ops::Bound;

use nvmx_spec::Command;
use nvmx_spec::identify::{IdentifyKvNamespace, KvFormat};
use nvmx_spec::kv::{
    KV_KEY_MAX, KvDelete, KvExist, KvList, KvRetrieve, KvStore, STORE_NO_OVERWRITE,
    STORE_OVERWRITE_ONLY, status,
};
use nvmx_spec::opcode::KvOpcode;
use nvmx_spec::status::{sc, sct};

use super::bufs::out_buf;
use super::ctrl::RamCtrl;
use super::ctrl::kv::KvSpace;
use super::fail::{Exec, Fail, field};
use super::ns::Namespace;
use nvmx_core::be::DataBuf;
use nvmx_core::error::Error;

/// Largest value when MDTS sets no limit.
const MVL_UNLIMITED: u64 = 1 << 20;

/// The largest value the namespace stores.
pub(super) fn max_value(ctrl: &RamCtrl) -> u64 {
    ctrl.params
        .max_transfer()
        .unwrap_or(MVL_UNLIMITED)
        .min(u64::from(u32::MAX))
}

fn kv_status(code: u8) -> Fail {
    Fail::dnr(sct::GENERIC, code)
}

/// Checks a key length: 1 to 16 bytes.
fn check_key(len: u8) -> Result<usize, Fail> {
    let n = usize::from(len);
    if n == 0 || n > KV_KEY_MAX {
        return Err(kv_status(status::INVALID_KEY_SIZE).at(field::CDW11, 0));
    }
    Ok(n)
}

/// Runs the KV command `cmd` on the KV namespace `ns`.
pub(super) fn exec(ctrl: &RamCtrl, ns: &Namespace, cmd: &Command, data: DataBuf<'_>) -> Exec {
    let kv = ctrl.kv.as_ref().ok_or_else(Fail::opcode)?;
    match KvOpcode(cmd.opc) {
        KvOpcode::STORE => store(ctrl, ns, kv, cmd, data),
        KvOpcode::RETRIEVE => retrieve(kv, cmd, data),
        KvOpcode::DELETE => {
            let d = KvDelete::from_command(cmd);
            check_key(d.key_len)?;
            kv.map()
                .remove(d.key())
                .map(|_| 0)
                .ok_or_else(|| kv_status(status::KEY_DOES_NOT_EXIST))
        }
        KvOpcode::EXIST => {
            let e = KvExist::from_command(cmd);
            check_key(e.key_len)?;
            if kv.map().contains_key(e.key()) {
                Ok(0)
            } else {
                Err(kv_status(status::KEY_DOES_NOT_EXIST))
            }
        }
        KvOpcode::LIST => list(kv, cmd, data),
        _ => Err(Fail::opcode()),
    }
}

fn store(ctrl: &RamCtrl, ns: &Namespace, kv: &KvSpace, cmd: &Command, data: DataBuf<'_>) -> Exec {
    let s = KvStore::from_command(cmd);
    check_key(s.key_len)?;
    if s.opts & STORE_OVERWRITE_ONLY != 0 && s.opts & STORE_NO_OVERWRITE != 0 {
        return Err(Fail::field(field::CDW11 + 1));
    }
    if u64::from(s.value_len) > max_value(ctrl) {
        return Err(kv_status(status::INVALID_VALUE_SIZE).at(field::CDW10, 0));
    }
    let n = s.value_len as usize;
    let buf = data.as_slice();
    let Some(value) = buf.get(..n) else {
        return Err(Error::short_buffer("data", buf.len() as u64, n as u64).into());
    };
    let mut map = kv.map();
    let old = map.get(s.key()).map(Vec::len);
    match old {
        None if s.opts & STORE_OVERWRITE_ONLY != 0 => {
            return Err(kv_status(status::KEY_DOES_NOT_EXIST));
        }
        Some(_) if s.opts & STORE_NO_OVERWRITE != 0 => {
            return Err(kv_status(status::KEY_EXISTS));
        }
        _ => {}
    }
    let freed = old.map_or(0, |v| (v + s.key().len()) as u64);
    let capacity = ns.nsze * ns.ds();
    if KvSpace::used(&map) - freed + (s.key().len() + n) as u64 > capacity {
        return Err(Fail::dnr(sct::GENERIC, sc::CAPACITY_EXCEEDED));
    }
    map.insert(s.key().to_vec(), value.to_vec());
    Ok(0)
}

fn retrieve(kv: &KvSpace, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let r = KvRetrieve::from_command(cmd);
    check_key(r.key_len)?;
    let map = kv.map();
    let value = map
        .get(r.key())
        .ok_or_else(|| kv_status(status::KEY_DOES_NOT_EXIST))?;
    let want = r.buf_len as usize;
    if want > 0 {
        let buf = out_buf(&mut data, u64::from(r.buf_len), "Retrieve")?;
        let n = value.len().min(want);
        buf[..n].copy_from_slice(&value[..n]);
    }
    Ok(value.len() as u32)
}

fn list(kv: &KvSpace, cmd: &Command, mut data: DataBuf<'_>) -> Exec {
    let l = KvList::from_command(cmd);
    if usize::from(l.key_len) > KV_KEY_MAX {
        return Err(kv_status(status::INVALID_KEY_SIZE).at(field::CDW11, 0));
    }
    let want = l.buf_len as usize;
    if want < 4 {
        return Err(Fail::field(field::CDW10));
    }
    let buf = out_buf(&mut data, u64::from(l.buf_len), "List")?;
    let map = kv.map();
    let mut out = vec![0u8; 4];
    let mut count = 0u32;
    for key in map
        .range::<[u8], _>((Bound::Included(l.key()), Bound::Unbounded))
        .map(|(k, _)| k)
    {
        let entry = (2 + key.len()).next_multiple_of(4);
        if out.len() + entry > want {
            break;
        }
        out.extend_from_slice(&(key.len() as u16).to_le_bytes());
        out.extend_from_slice(key);
        out.resize(out.len().next_multiple_of(4), 0);
        count += 1;
    }
    out[..4].copy_from_slice(&count.to_le_bytes());
    buf[..out.len()].copy_from_slice(&out);
    buf[out.len()..want].fill(0);
    Ok(0)
}

/// The KV command set's Identify Namespace (CNS 5, CSI 1).
pub(super) fn identify_namespace(ctrl: &RamCtrl, ns: &Namespace) -> IdentifyKvNamespace {
    let used = ctrl.kv.as_ref().map_or(0, |kv| KvSpace::used(&kv.map()));
    let mut id = IdentifyKvNamespace {
        nsze: ns.nsze * ns.ds(),
        nuse: used,
        nkvf: 0,
        novg: 4,
        nguid: ns.nguid,
        eui64: ns.eui64,
        ..IdentifyKvNamespace::default()
    };
    id.kvf[0] = KvFormat {
        kml: KV_KEY_MAX as u16,
        mvl: max_value(ctrl) as u32,
        mnk: 0,
        ..Default::default()
    };
    id
}
