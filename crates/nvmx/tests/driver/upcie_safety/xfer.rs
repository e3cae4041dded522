//! Raw commands against their buffers, SGL lengths, the DMA pool.

use std::sync::Arc;

use nvmx_spec::Command;
use nvmx_spec::opcode::{AdminOpcode, NvmOpcode};

use super::{BDF, emu, open_with, opts, pattern};
use nvmx::Error;
use nvmx::be::DataBuf;
use nvmx::be::upcie::emu::EmuBacking;

fn rw(opc: NvmOpcode, slba: u64, nlb: u16) -> Command {
    let mut c = Command::new(opc.0, 1);
    c.set_cdw10_11(slba);
    c.cdw12 = u32::from(nlb);
    c
}

/// Every command with a known transfer length is refused with a short
/// buffer before the driver maps anything or the device sees it.
#[test]
fn short_buffers_are_refused_before_anything_is_mapped() {
    let emu = emu("16MiB?lbaf=1");
    let dev = open_with(&emu, BDF, &opts(2000));
    dev.flush().unwrap();
    let mut dma = dev.alloc(8192).unwrap();
    let mut m = vec![0u8; 64];
    dev.read(0, 7, &mut dma[..4096], Some(&mut m)).unwrap();
    let mut q = dev.queue(4).unwrap();
    let before = emu.stats();
    let short = |e: Error, what: &str, need: u64| {
        assert!(
            matches!(&e, Error::ShortBuffer { what: w, need: n, .. } if *w == what && *n == need),
            "{e}"
        );
    };
    // Read of 8 blocks into 4 KiB, heap and DMA memory.
    let mut heap = vec![0u8; 4096];
    let mut c = rw(NvmOpcode::READ, 0, 7);
    short(
        dev.cmd_io(&mut c, DataBuf::In(&mut heap[..2048]), DataBuf::None)
            .unwrap_err(),
        "data",
        4096,
    );
    let mut c = rw(NvmOpcode::READ, 0, 15);
    short(
        dev.cmd_io(&mut c, DataBuf::In(&mut dma[..4096]), DataBuf::None)
            .unwrap_err(),
        "data",
        8192,
    );
    for opc in [NvmOpcode::WRITE, NvmOpcode::COMPARE] {
        let mut c = rw(opc, 0, 7);
        short(
            dev.cmd_io(&mut c, DataBuf::Out(&heap[..512]), DataBuf::None)
                .unwrap_err(),
            "data",
            4096,
        );
    }
    // Separate metadata: 8 bytes per block.
    let mut meta = vec![0u8; 32];
    let mut c = rw(NvmOpcode::READ, 0, 7);
    short(
        dev.cmd_io(&mut c, DataBuf::In(&mut heap), DataBuf::In(&mut meta))
            .unwrap_err(),
        "metadata",
        64,
    );
    let mut c = rw(NvmOpcode::WRITE, 0, 7);
    short(
        dev.cmd_io(&mut c, DataBuf::Out(&heap), DataBuf::None)
            .unwrap_err(),
        "metadata",
        64,
    );
    // Admin: Identify 4 KiB, Get Log Page by NUMD.
    let mut id = Command::new(AdminOpcode::IDENTIFY.0, 0);
    id.cdw10 = 1;
    short(
        dev.cmd_admin(&mut id, DataBuf::In(&mut heap[..100]))
            .unwrap_err(),
        "data",
        4096,
    );
    let mut glp = Command::new(AdminOpcode::GET_LOG_PAGE.0, 0xffff_ffff);
    glp.cdw10 = 0x02 | (127 << 16);
    short(
        dev.cmd_admin(&mut glp, DataBuf::In(&mut heap[..256]))
            .unwrap_err(),
        "data",
        512,
    );
    // Async: refused at submission, buffers back.
    let r = q
        .submit(
            rw(NvmOpcode::READ, 0, 15),
            Some(dev.alloc(4096).unwrap()),
            None,
            1,
        )
        .unwrap_err();
    short(r.error, "data", 8192);
    assert!(r.data.is_some());
    let after = emu.stats();
    assert_eq!(
        after.commands, before.commands,
        "the device saw none of them"
    );
    assert_eq!(
        after.dma_allocs,
        before.dma_allocs + 1,
        "nothing mapped but the buffer the async read was given"
    );
    // A DMA buffer of the right length works, and so does a longer one.
    let mut m128 = vec![0u8; 128];
    let mut c = rw(NvmOpcode::READ, 0, 15);
    dev.cmd_io(&mut c, DataBuf::In(&mut dma), DataBuf::In(&mut m128))
        .unwrap();
    let mut c = rw(NvmOpcode::READ, 0, 7);
    dev.cmd_io(&mut c, DataBuf::In(&mut heap), DataBuf::In(&mut m))
        .unwrap();
}

/// Commands that would give the controller host memory to keep using
/// are refused.
#[test]
fn doorbell_buffer_config_is_refused() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, BDF, &opts(2000));
    let mut buf = vec![0u8; 8192];
    let mut c = Command::new(AdminOpcode::DOORBELL_BUFFER_CONFIG.0, 0);
    let e = dev.cmd_admin(&mut c, DataBuf::In(&mut buf)).unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
}

/// With `sgl=always`, a read into a buffer larger than the transfer gets
/// an SGL as long as the transfer: the emulated controller, like real
/// ones without SGLS bit 18, fails a longer one.
#[test]
fn sgls_are_sized_to_the_transfer_unless_the_controller_allows_longer() {
    let emu = emu("16MiB");
    let dev = open_with(&emu, &format!("{BDF}?sgl=always"), &opts(2000));
    let data = pattern(4096, 5);
    dev.write(0, 7, &data, None).unwrap();
    let mut big = dev.alloc(16384).unwrap();
    let mut c = rw(NvmOpcode::READ, 0, 7);
    dev.cmd_io(&mut c, DataBuf::In(&mut big), DataBuf::None)
        .unwrap();
    assert_eq!(&big[..4096], &data[..]);
    let sgl1 = nvmx::be::upcie::sgl::Desc::from_dptr(
        emu.last_io_command().unwrap().prp1,
        emu.last_io_command().unwrap().prp2,
    );
    assert_eq!(sgl1.len, 4096, "the SGL covers the transfer");
    // Metadata by SGL, into a longer buffer.
    let emu = Arc::new(EmuBacking::new("16MiB?lbaf=1").unwrap());
    let dev = open_with(&emu, &format!("{BDF}?sgl=always"), &opts(2000));
    let meta = pattern(64, 6);
    dev.write(0, 7, &pattern(4096, 7), Some(&meta)).unwrap();
    let mut d = vec![0u8; 4096];
    let mut m = vec![0u8; 128];
    let mut c = rw(NvmOpcode::READ, 0, 7);
    dev.cmd_io(&mut c, DataBuf::In(&mut d), DataBuf::In(&mut m))
        .unwrap();
    assert_eq!(&m[..64], &meta[..]);
    assert!(m[64..].iter().all(|&b| b == 0));
}

/// Bounce buffers come from the pool again even when the backing maps
/// whole 2 MiB hugepages: the count of mappings stays put.
#[test]
fn bounce_buffers_on_hugepage_regions_are_reused() {
    let emu = Arc::new(
        EmuBacking::new("16MiB")
            .unwrap()
            .with_hugepage_regions(true),
    );
    let dev = open_with(&emu, BDF, &opts(2000));
    let data = pattern(8192, 8);
    dev.write(0, 15, &data, None).unwrap();
    let mut back = vec![0u8; 8192];
    dev.read(0, 15, &mut back, None).unwrap();
    let n = emu.stats().dma_allocs;
    for _ in 0..20 {
        dev.read(0, 15, &mut back, None).unwrap();
    }
    assert_eq!(back, data);
    assert_eq!(emu.stats().dma_allocs, n, "no new mapping per command");
}
