//! Driver internals on the emulated controller. The driver's safety rules
//! seen through the public API (resets, late DMA, short buffers, pool
//! reuse) are tested from the facade, in `nvmx`'s `upcie_safety` tests.

use std::sync::Arc;

use nvmx_spec::Command;
use nvmx_spec::opcode::NvmOpcode;

use crate::emu::EmuBacking;

/// A PRP-list page taken again from the pool holds no entries of the
/// command that used it before: past the new list it is all zero.
#[test]
fn prp_list_pages_are_written_whole() {
    use crate::pool::DmaPool;
    use crate::xfer::{HostBuf, SglCaps, SglMode, Xfer};
    use nvmx_core::be::xfer_check::Need;
    let emu = Arc::new(EmuBacking::new("1MiB").unwrap());
    let pool = DmaPool::new(emu.clone());
    let big = pool.get(64 * 4096).unwrap();
    let buf = |n: usize| HostBuf {
        addr: big.as_ptr().as_ptr() as usize,
        len: n * 4096,
        bytes: None,
    };
    let map = |n: usize| {
        let mut c = Command::new(NvmOpcode::READ.0, 1);
        let x = Xfer::map(
            &pool,
            &mut c,
            &[buf(n)],
            None,
            SglMode::Never,
            SglCaps::default(),
            Need::default(),
        )
        .unwrap();
        (c, x)
    };
    let (c, x) = map(64);
    let list_iova = c.prp2;
    drop(x);
    let (c, x) = map(4);
    assert_eq!(c.prp2, list_iova, "the same list page, from the pool");
    let mut page = [0u8; 4096];
    assert!(emu.read_iova(c.prp2, &mut page));
    let entries: Vec<u64> = page
        .chunks_exact(8)
        .map(|e| u64::from_le_bytes(e.try_into().unwrap()))
        .collect();
    assert!(entries[..3].iter().all(|&e| e != 0));
    assert!(
        entries[3..].iter().all(|&e| e == 0),
        "stale entries past the list"
    );
    drop(x);
}
