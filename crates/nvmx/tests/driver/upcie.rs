//! The user-space NVMe driver on its emulated PCIe controller: the same
//! round trips as the other backends, the data-pointer paths (PRP lists,
//! SGLs, bounce buffers), metadata, several queues, and injected faults
//! that must end in a clear error or a recovery, never a hang.

use std::sync::Arc;
use std::time::Duration;

use nvmx::be::DataBuf;
use nvmx::be::upcie::emu::{EMULATED, EmuBacking};
use nvmx::be::upcie::open_backing;
use nvmx::spec::Command;
use nvmx::spec::opcode::{AdminOpcode, NvmOpcode};
use nvmx::{Device, Error, Options, Uri};

fn opts(timeout_ms: u64) -> Options {
    Options {
        command_timeout: Duration::from_millis(timeout_ms),
        admin_timeout: Duration::from_millis(timeout_ms),
        ..Options::default()
    }
}

fn open_with(emu: &Arc<EmuBacking>, dev_uri: &str, o: &Options) -> nvmx::Result<Device> {
    let uri = Uri::parse(dev_uri)?;
    let be = open_backing(emu.clone(), &uri, o)?;
    Ok(Device::from_backend(be, &EMULATED, o))
}

fn open(ram: &str, dev_uri: &str) -> (Arc<EmuBacking>, Device) {
    let emu = Arc::new(EmuBacking::new(ram).expect("emulated controller"));
    let dev = open_with(&emu, dev_uri, &opts(2000)).expect("open over the emulated controller");
    (emu, dev)
}

/// Volatile Write Cache feature.
const VWC: u8 = 0x06;

const BDF: &str = "0000:00:04.0";

fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut v = vec![0u8; len];
    nvmx::buf::fill_random(&mut v, seed);
    v
}

#[test]
fn open_reports_a_pcie_namespace_and_dma_memory() {
    let (emu, dev) = open("16MiB", BDF);
    assert_eq!(dev.dtype(), nvmx::DevType::NvmeNamespace);
    assert_eq!(dev.nsid(), 1);
    assert_eq!(dev.backend_ids().mem, "upcie");
    let b = dev.alloc(4096).unwrap();
    assert!(b.io_addr().is_some(), "DMA buffers carry their IOVA");
    assert_eq!(dev.geometry().unwrap().lba_nbytes, 512);
    assert_eq!(emu.stats().enables, 1);
    let regs = dev.registers().unwrap();
    assert!(regs.csts.rdy() && regs.cc.en());
    assert_eq!(regs.cc.iosqes(), 6);
    assert_eq!(regs.cc.iocqes(), 4);
}

#[test]
fn sync_read_write_compare_flush_zeroes_dsm() {
    let (_emu, dev) = open("16MiB", BDF);
    let data = pattern(8 * 512, 1);
    dev.write(10, 7, &data, None).unwrap();
    let mut back = vec![0u8; data.len()];
    dev.read(10, 7, &mut back, None).unwrap();
    assert_eq!(back, data);
    dev.compare(10, 7, &data, None).unwrap();
    let mut other = data.clone();
    other[5] ^= 1;
    let e = dev.compare(10, 7, &other, None).unwrap_err();
    assert!(matches!(e, Error::Status { .. }), "compare mismatch: {e}");
    dev.flush().unwrap();
    dev.write_zeroes(10, 1).unwrap();
    dev.read(10, 7, &mut back, None).unwrap();
    assert!(back[..1024].iter().all(|&b| b == 0));
    assert_eq!(&back[1024..], &data[1024..]);
    dev.dsm(&[(12, 2), (100, 5)], true).unwrap();
}

#[test]
fn dma_buffers_go_direct_and_heap_buffers_bounce() {
    let (emu, dev) = open("16MiB", BDF);
    let mut buf = dev.alloc(8192).unwrap();
    buf.copy_from_slice(&pattern(8192, 2));
    dev.write(0, 15, &buf, None).unwrap();
    let c = emu.last_io_command().unwrap();
    assert_eq!(c.prp1, buf.io_addr().unwrap(), "PRP1 is the buffer itself");
    assert_eq!(
        c.prp2,
        buf.io_addr().unwrap() + 4096,
        "PRP2 its second page"
    );
    let mut rd = dev.alloc(8192).unwrap();
    dev.read(0, 15, &mut rd, None).unwrap();
    assert_eq!(&rd[..], &buf[..]);
    assert_eq!(emu.last_io_command().unwrap().prp1, rd.io_addr().unwrap());
    let heap = pattern(4096, 3);
    dev.write(16, 7, &heap, None).unwrap();
    let c = emu.last_io_command().unwrap();
    assert_ne!(c.prp1, 0);
    assert!(c.prp1 % 4096 == 0, "a bounce buffer is page aligned");
    let mut back = vec![0u8; 4096];
    dev.read(16, 7, &mut back, None).unwrap();
    assert_eq!(back, heap);
    // Bounce memory is reused, not allocated per command.
    let n = emu.stats().dma_allocs;
    for _ in 0..10 {
        dev.read(16, 7, &mut back, None).unwrap();
    }
    assert_eq!(emu.stats().dma_allocs, n);
}

#[test]
fn prp_lists_for_big_and_unaligned_buffers() {
    let (emu, dev) = open("16MiB", BDF);
    // 256 KiB: 64 pages, a PRP list.
    let len = 256 * 1024;
    let nlb = (len / 512 - 1) as u16;
    let mut big = dev.alloc(len).unwrap();
    big.copy_from_slice(&pattern(len, 4));
    let lists = emu.stats().prp_list_commands;
    dev.write(0, nlb, &big, None).unwrap();
    let mut back = dev.alloc(len).unwrap();
    dev.read(0, nlb, &mut back, None).unwrap();
    assert_eq!(&back[..], &big[..]);
    assert_eq!(emu.stats().prp_list_commands, lists + 2);
    // A DMA buffer at an offset inside its page: PRP1 carries it.
    let mut holder = dev.alloc(len + 4096).unwrap();
    let src = pattern(len, 5);
    holder[512..512 + len].copy_from_slice(&src);
    dev.write(1000, nlb, &holder[512..512 + len], None).unwrap();
    let mut out = dev.alloc(len + 4096).unwrap();
    dev.read(1000, nlb, &mut out[1536..1536 + len], None)
        .unwrap();
    assert_eq!(&out[1536..1536 + len], &src[..]);
    assert!(
        out[..1536].iter().all(|&b| b == 0),
        "bytes before the buffer untouched"
    );
    // Heap memory at an odd address: bounced.
    let mut odd = vec![0u8; 4096 + 1];
    odd[1..].copy_from_slice(&pattern(4096, 6));
    dev.write(2000, 7, &odd[1..], None).unwrap();
    let mut r = vec![0u8; 4097];
    dev.read(2000, 7, &mut r[1..], None).unwrap();
    assert_eq!(&r[1..], &odd[1..]);
}

#[test]
fn sgl_path_when_asked_and_supported() {
    let (emu, dev) = open("16MiB", &format!("{BDF}?sgl=always"));
    let data = pattern(64 * 1024, 7);
    let nlb = (data.len() / 512 - 1) as u16;
    dev.write(0, nlb, &data, None).unwrap();
    let mut back = dev.alloc(data.len()).unwrap();
    dev.read(0, nlb, &mut back, None).unwrap();
    assert_eq!(&back[..], &data[..]);
    assert!(emu.stats().sgl_commands >= 2, "{:?}", emu.stats());
}

#[test]
fn a_controller_without_sgls_gets_prps() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    emu.inject_refuse_sgl(true);
    let dev = open_with(&emu, &format!("{BDF}?sgl=always"), &opts(2000)).unwrap();
    let data = pattern(8192, 8);
    dev.write(0, 15, &data, None).unwrap();
    let mut back = vec![0u8; 8192];
    dev.read(0, 15, &mut back, None).unwrap();
    assert_eq!(back, data);
    assert_eq!(emu.stats().sgl_commands, 0);
    assert!(open_with(&emu, &format!("{BDF}?sgl=sometimes"), &opts(2000)).is_err());
}

fn metadata_round_trip(dev_uri: &str) -> Arc<EmuBacking> {
    let (emu, dev) = open("16MiB?lbaf=1", dev_uri);
    assert_eq!(dev.geometry().unwrap().nbytes_oob, 8);
    let data = pattern(4 * 512, 9);
    let meta = pattern(4 * 8, 10);
    dev.write(3, 3, &data, Some(&meta)).unwrap();
    let mut d = vec![0u8; data.len()];
    let mut m = vec![0u8; meta.len()];
    dev.read(3, 3, &mut d, Some(&mut m)).unwrap();
    assert_eq!(d, data);
    assert_eq!(m, meta, "separate metadata came back");
    // DMA buffers for both.
    let mut dd = dev.alloc(data.len()).unwrap();
    let mut mm = dev.alloc(meta.len()).unwrap();
    dev.read(3, 3, &mut dd, Some(&mut mm)).unwrap();
    assert_eq!(&mm[..], &meta[..]);
    emu
}

#[test]
fn separate_metadata_by_mptr() {
    let emu = metadata_round_trip(BDF);
    assert_eq!(emu.stats().sgl_meta_commands, 0);
}

#[test]
fn separate_metadata_by_sgl() {
    let emu = metadata_round_trip(&format!("{BDF}?sgl=always"));
    assert!(emu.stats().sgl_meta_commands >= 3, "{:?}", emu.stats());
}

#[test]
fn async_queues_round_trip_and_run_side_by_side() {
    let (emu, dev) = open("16MiB", BDF);
    let mut queues: Vec<_> = (0..3).map(|_| dev.queue(16).unwrap()).collect();
    assert_eq!(queues[0].engine_id(), "upcie");
    assert_eq!(emu.io_queues(), 3);
    for (qi, q) in queues.iter_mut().enumerate() {
        for i in 0..8u64 {
            let mut b = dev.alloc(4096).unwrap();
            b.copy_from_slice(&pattern(4096, 100 + qi as u64 * 10 + i));
            let slba = (qi as u64 * 8 + i) * 8;
            q.write(slba, 7, b, None, i).unwrap();
        }
    }
    for q in queues.iter_mut() {
        q.drain().unwrap();
        while let Some(c) = q.pop() {
            c.result.unwrap();
        }
    }
    for (qi, q) in queues.iter_mut().enumerate() {
        for i in 0..8u64 {
            let slba = (qi as u64 * 8 + i) * 8;
            q.read(slba, 7, dev.alloc(4096).unwrap(), None, slba)
                .unwrap();
        }
        q.drain().unwrap();
        let mut n = 0;
        while let Some(c) = q.pop() {
            c.result.unwrap();
            let i = c.tag / 8 - qi as u64 * 8;
            assert_eq!(
                &c.data.unwrap()[..],
                &pattern(4096, 100 + qi as u64 * 10 + i)[..]
            );
            n += 1;
        }
        assert_eq!(n, 8);
    }
    drop(queues);
    assert_eq!(
        emu.io_queues(),
        0,
        "dropping a queue deletes its queue pair"
    );
}

#[test]
fn async_heap_buffers_bounce_and_come_back() {
    let (_emu, dev) = open("16MiB?lbaf=1", BDF);
    let mut q = dev.queue(4).unwrap();
    let data = nvmx::Buffer::from_slice(&pattern(1024, 11)).unwrap();
    let meta = nvmx::Buffer::from_slice(&pattern(16, 12)).unwrap();
    q.write(0, 1, data, Some(meta), 1).unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
    q.read(
        0,
        1,
        nvmx::Buffer::new(1024).unwrap(),
        Some(nvmx::Buffer::new(16).unwrap()),
        2,
    )
    .unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    c.result.unwrap();
    assert_eq!(&c.data.unwrap()[..], &pattern(1024, 11)[..]);
    assert_eq!(&c.meta.unwrap()[..], &pattern(16, 12)[..]);
}

#[test]
fn a_full_ring_is_busy_until_poked() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap().with_mqes(3));
    let dev = open_with(&emu, BDF, &opts(2000)).unwrap();
    let mut q = dev.queue(8).unwrap();
    for i in 0..3 {
        q.write(i * 8, 7, dev.alloc(4096).unwrap(), None, i)
            .unwrap();
    }
    let r = q
        .write(100, 7, dev.alloc(4096).unwrap(), None, 9)
        .unwrap_err();
    assert!(matches!(r.error, Error::Busy { .. }), "{}", r.error);
    q.drain().unwrap();
    q.write(100, 7, dev.alloc(4096).unwrap(), None, 9).unwrap();
    q.drain().unwrap();
}

#[test]
fn dropping_a_queue_with_a_lost_command_does_not_hang() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(300)).unwrap();
    dev.geometry().unwrap();
    let mut q = dev.queue(4).unwrap();
    emu.inject_dropped_completions(1);
    q.write(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    drop(q);
    let data = pattern(4096, 13);
    dev.write(0, 7, &data, None).unwrap();
}

#[test]
fn async_lost_completion_times_out_resets_and_recovers() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(300)).unwrap();
    dev.geometry().unwrap();
    let mut q = dev.queue(4).unwrap();
    emu.inject_dropped_completions(1);
    q.write(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    let e = c.result.unwrap_err();
    assert!(matches!(*e, Error::Timeout { what: "Write", .. }), "{e}");
    q.write(0, 7, dev.alloc(4096).unwrap(), None, 2).unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
}

#[test]
fn sync_lost_completion_times_out_naming_the_command_then_recovers() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(300)).unwrap();
    let data = pattern(4096, 14);
    dev.write(0, 7, &data, None).unwrap();
    emu.inject_dropped_completions(1);
    let mut back = vec![0u8; 4096];
    let e = dev.read(0, 7, &mut back, None).unwrap_err();
    assert!(matches!(e, Error::Timeout { what: "Read", .. }), "{e}");
    assert_eq!(emu.stats().enables, 2, "the controller was reset");
    dev.read(0, 7, &mut back, None).unwrap();
    assert_eq!(back, data);
}

#[test]
fn wrong_phase_is_not_a_completion() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(300)).unwrap();
    dev.flush().unwrap(); // creates the sync queue pair
    emu.inject_wrong_phase(1);
    assert!(matches!(
        dev.flush().unwrap_err(),
        Error::Timeout { what: "Flush", .. }
    ));
    dev.flush().unwrap();
}

#[test]
fn admin_lost_completion_times_out_and_recovers() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(300)).unwrap();
    emu.inject_dropped_completions(1);
    let mut buf = vec![0u8; 4096];
    let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, 0);
    cmd.cdw10 = 1;
    let e = dev.cmd_admin(&mut cmd, DataBuf::In(&mut buf)).unwrap_err();
    assert!(
        matches!(
            e,
            Error::Timeout {
                what: "Identify",
                ..
            }
        ),
        "{e}"
    );
    let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, 0);
    cmd.cdw10 = 1;
    dev.cmd_admin(&mut cmd, DataBuf::In(&mut buf)).unwrap();
    // Sync I/O queues come back too.
    dev.flush().unwrap();
}

#[test]
fn fatal_status_is_an_error_and_the_driver_recovers() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(1000)).unwrap();
    let data = pattern(4096, 15);
    dev.write(0, 7, &data, None).unwrap();
    let mut q = dev.queue(4).unwrap();
    emu.inject_fatal(0);
    let mut back = vec![0u8; 4096];
    let e = dev.read(0, 7, &mut back, None).unwrap_err();
    assert!(
        matches!(&e, Error::ControllerFailed { name, why } if name == "emulated" && why.contains("CSTS.CFS")),
        "{e}"
    );
    dev.read(0, 7, &mut back, None).unwrap();
    assert_eq!(back, data);
    // The async queue lost its queue pair in the reset and re-creates it.
    q.read(0, 7, dev.alloc(4096).unwrap(), None, 1)
        .unwrap_or_else(|r| {
            // Refused once while the queue notices the reset.
            assert!(matches!(r.error, Error::Busy { .. }), "{}", r.error);
            q.poke(0).unwrap();
            q.read(0, 7, r.data.unwrap(), None, 1).unwrap();
        });
    q.drain().unwrap();
    let c = q.pop().unwrap();
    assert_eq!(&c.data.unwrap()[..], &data[..]);
}

#[test]
fn async_fatal_status_fails_the_commands_in_flight() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(1000)).unwrap();
    let mut q = dev.queue(4).unwrap();
    emu.inject_fatal(0);
    q.write(0, 7, dev.alloc(4096).unwrap(), None, 1).unwrap();
    q.drain().unwrap();
    let e = q.pop().unwrap().result.unwrap_err();
    assert!(
        matches!(&*e, Error::ControllerFailed { name, why } if name == "emulated" && why.contains("CSTS.CFS")),
        "{e}"
    );
    q.poke(0).unwrap();
    q.write(0, 7, dev.alloc(4096).unwrap(), None, 2).unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
}

#[test]
fn slow_enable_waits_and_a_stuck_one_times_out() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    emu.inject_slow_enable(20);
    open_with(&emu, BDF, &opts(1000)).unwrap().flush().unwrap();
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap().with_timeout_units(1));
    emu.inject_slow_enable(u32::MAX);
    let e = open_with(&emu, BDF, &opts(1000)).unwrap_err();
    assert!(
        matches!(e, Error::Timeout { .. }) && e.to_string().contains("CSTS.RDY"),
        "{e}"
    );
}

#[test]
fn controller_reset_keeps_data_and_rescan_works() {
    let (emu, dev) = open("16MiB", BDF);
    let data = pattern(4096, 16);
    dev.write(40, 7, &data, None).unwrap();
    let vwc = |d: &Device| {
        let c = d.get_features(VWC, 0, 0, 0, None).unwrap();
        c.cdw0 & 1 == 1
    };
    let default = vwc(&dev);
    dev.set_features(VWC, 0, u32::from(!default), 0, false, None)
        .unwrap();
    assert_eq!(vwc(&dev), !default);
    dev.controller_reset().unwrap();
    assert_eq!(vwc(&dev), default, "a reset restores unsaved features");
    let mut back = vec![0u8; 4096];
    dev.read(40, 7, &mut back, None).unwrap();
    assert_eq!(back, data);
    dev.namespace_rescan().unwrap();
    dev.subsystem_reset().unwrap();
    dev.read(40, 7, &mut back, None).unwrap();
    assert_eq!(back, data);
    assert_eq!(emu.stats().enables, 3);
}

#[test]
fn bad_dev_nsid_names_the_active_namespaces() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let o = Options {
        nsid: 2,
        ..opts(1000)
    };
    let e = open_with(&emu, BDF, &o).unwrap_err().to_string();
    assert!(e.contains("dev-nsid") && e.contains("active: 1"), "{e}");
    let o = Options {
        nsid: 0,
        ..opts(1000)
    };
    let dev = open_with(&emu, BDF, &o).unwrap();
    assert_eq!(dev.dtype(), nvmx::DevType::NvmeController);
}

#[test]
fn dropping_the_device_shuts_the_controller_down() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap().with_dstrd(2));
    let dev = open_with(&emu, BDF, &opts(1000)).unwrap();
    let q = dev.queue(8).unwrap();
    dev.flush().unwrap();
    drop(q);
    drop(dev);
    assert_eq!(emu.stats().shutdowns, 1);
    assert_eq!(emu.io_queues(), 0);
}

#[test]
fn unknown_opcodes_come_back_with_the_controller_status() {
    let (_emu, dev) = open("16MiB", BDF);
    let mut cmd = Command::new(0x7f, 1);
    let e = dev
        .cmd_io(&mut cmd, DataBuf::None, DataBuf::None)
        .unwrap_err();
    assert!(matches!(e, Error::Status { .. }), "{e}");
    let _ = NvmOpcode::READ;
}

fn rw_cmd(opc: NvmOpcode, slba: u64, nlb: u16) -> Command {
    let mut c = Command::new(opc.0, 1);
    c.set_cdw10_11(slba);
    c.cdw12 = u32::from(nlb);
    c
}

/// Writes `pieces` vectored at LBA 0 and reads them back vectored.
fn vectored_round_trip(dev: &Device, pieces: &mut [&mut [u8]]) {
    let total: usize = pieces.iter().map(|p| p.len()).sum();
    let nlb = (total / 512 - 1) as u16;
    let want: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
    {
        let iov: Vec<std::io::IoSlice<'_>> =
            pieces.iter().map(|p| std::io::IoSlice::new(p)).collect();
        let mut c = rw_cmd(NvmOpcode::WRITE, 0, nlb);
        dev.cmd_iov(&mut c, nvmx::be::DataVec::Out(&iov), DataBuf::None)
            .unwrap();
    }
    for p in pieces.iter_mut() {
        p.fill(0);
    }
    {
        let mut iov: Vec<std::io::IoSliceMut<'_>> = pieces
            .iter_mut()
            .map(|p| std::io::IoSliceMut::new(p))
            .collect();
        let mut c = rw_cmd(NvmOpcode::READ, 0, nlb);
        dev.cmd_iov(&mut c, nvmx::be::DataVec::In(&mut iov), DataBuf::None)
            .unwrap();
    }
    let got: Vec<u8> = pieces.iter().flat_map(|p| p.iter().copied()).collect();
    assert_eq!(got, want);
}

#[test]
fn scattered_dma_buffers_go_by_sgl_without_a_bounce() {
    let (emu, dev) = open("16MiB", BDF);
    dev.flush().unwrap();
    let mut a = dev.alloc(4096).unwrap();
    let mut b = dev.alloc(4096).unwrap();
    a.copy_from_slice(&pattern(4096, 20));
    b.copy_from_slice(&pattern(4096, 21));
    let before = emu.stats();
    // 1 KiB pieces: they do not meet at page boundaries, so PRPs cannot
    // describe them; SGLs can.
    vectored_round_trip(&dev, &mut [&mut a[..1024], &mut b[512..1536]]);
    let after = emu.stats();
    assert_eq!(after.sgl_commands, before.sgl_commands + 2, "{after:?}");
    let c = emu.last_io_command().unwrap();
    assert_eq!(c.psdt(), 1, "SGL data, contiguous metadata pointer");
    let sgl1 = nvmx::be::upcie::sgl::Desc::from_dptr(c.prp1, c.prp2);
    assert_eq!(sgl1.kind, nvmx::be::upcie::sgl::kind::LAST_SEGMENT);
    assert_eq!(sgl1.len, 32, "two data block descriptors: no bounce");
}

#[test]
fn page_aligned_pieces_go_by_prp_and_heap_pieces_bounce() {
    let (emu, dev) = open("16MiB", &format!("{BDF}?sgl=never"));
    dev.flush().unwrap();
    let mut a = dev.alloc(8192).unwrap();
    let mut b = dev.alloc(4096).unwrap();
    vectored_round_trip(&dev, &mut [&mut a[..], &mut b[..]]);
    let c = emu.last_io_command().unwrap();
    assert_eq!(emu.stats().sgl_commands, 0);
    assert_eq!(c.psdt(), 0);
    assert_eq!(
        c.prp1,
        a.io_addr().unwrap(),
        "no bounce: PRP1 is the first piece"
    );
    // Unaligned DMA pieces with SGLs off, and heap pieces: bounced.
    vectored_round_trip(&dev, &mut [&mut a[..1024], &mut b[512..1536]]);
    let mut h1 = pattern(1536, 22);
    let mut h2 = pattern(512, 23);
    vectored_round_trip(&dev, &mut [&mut h1[..], &mut h2[..]]);
}

#[test]
fn a_zoned_namespace_reports_its_command_set_and_zones() {
    let (_emu, dev) = open("4MiB?lbaf=2&zoned=1&zone_size=1MiB&zone_cap=768KiB", BDF);
    assert_eq!(dev.ident().csi, 2, "zoned command set");
    let data = pattern(8192, 30);
    let lba = dev.zone_append(0, 1, &data, None).unwrap();
    assert_eq!(lba, 0);
    let mut back = vec![0u8; 8192];
    dev.read(0, 1, &mut back, None).unwrap();
    assert_eq!(back, data);
    let r = dev
        .report_zones(0, nvmx::spec::zoned::ZrasFilter::ALL, None, false, false)
        .unwrap();
    assert_eq!(r.nr_zones, 4);
}

#[test]
fn sync_commands_from_several_threads() {
    let (_emu, dev) = open("16MiB", BDF);
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let dev = dev.clone();
            s.spawn(move || {
                for i in 0..20u64 {
                    let data = pattern(4096, t * 100 + i);
                    let slba = (t * 20 + i) * 8;
                    dev.write(slba, 7, &data, None).unwrap();
                    let mut back = dev.alloc(4096).unwrap();
                    dev.read(slba, 7, &mut back, None).unwrap();
                    assert_eq!(&back[..], &data[..]);
                }
            });
        }
    });
}

#[test]
fn a_controller_that_never_completes_gives_errors_not_a_hang() {
    let emu = Arc::new(EmuBacking::new("16MiB").unwrap());
    let dev = open_with(&emu, BDF, &opts(200)).unwrap();
    dev.flush().unwrap();
    emu.inject_dropped_completions(u32::MAX);
    let e = dev.flush().unwrap_err().to_string();
    assert!(e.contains("Flush") && e.contains("reset"), "{e}");
    let e = dev.controller_reset().unwrap_err().to_string();
    assert!(e.contains("timed out"), "{e}");
    emu.inject_dropped_completions(0);
    dev.controller_reset().unwrap();
    dev.flush().unwrap();
}
