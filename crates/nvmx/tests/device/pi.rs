//! End-to-end protection information, Format NVM and Sanitize.
//!
//! On the ramdisk: PI round trips for types 1-3 × 16b/64b guard × separate
//! and extended metadata × PI first/last × PRACT off/on; corruption found
//! both by the controller (a status) and by the host helpers; format and
//! sanitize with their effects and log.
//!
//! In the QEMU guest (testrig/vm, device set `pi`): the same round trips
//! on the PI1, PI1EXT, PI2, PI3 and PIF2 namespaces through the `emu` and
//! `io_uring_cmd` configurations, and a format of PI1. Elsewhere they are
//! ignored (see `common::env`).

use nvmx::pi::{self, PiField, PiLayout, PiTags};
use nvmx::spec::pi::{PiFormat, PiType};
use nvmx::spec::status::{sc_cmd, sc_media, sct};
use nvmx::{Device, Error, FormatNvm, Options, PiIo, Prchk, Sanitize, SanitizeAction};

use crate::common;

fn open(uri: &str) -> Device {
    Device::open(uri, &Options::default()).unwrap_or_else(|e| panic!("{uri}: {e}"))
}

fn pattern(len: usize, seed: usize) -> Vec<u8> {
    (0..len)
        .map(|i| ((i * 31 + seed * 7) % 251) as u8)
        .collect()
}

/// The (SCT, SC) of a failed command.
fn status(r: nvmx::Result<impl std::fmt::Debug>) -> (u8, u8) {
    match r {
        Err(Error::Status { status, .. }) => (status.sct, status.sc),
        other => panic!("expected an error status, got {other:?}"),
    }
}

/// Buffers for `n` blocks: data (with metadata when extended) and the
/// separate metadata buffer, if the format has one.
fn buffers(l: &PiLayout, n: usize, seed: usize) -> (Vec<u8>, Option<Vec<u8>>) {
    if l.extended {
        (pattern(n * (l.ds + l.ms), seed), None)
    } else {
        (pattern(n * l.ds, seed), Some(pattern(n * l.ms, seed + 1)))
    }
}

fn tags_for(l: &PiLayout) -> PiTags {
    PiTags {
        ilbrt: if l.pi_type.0 == 2 { 0x1_2345 } else { 0 },
        apptag: 0x5a5a,
        apptag_mask: 0xffff,
    }
}

/// Writes `n` blocks at `slba` with host-generated PI, reads them back with
/// every check, compares and verifies on the host; then the same with
/// PRACT, where the controller inserts the PI, which the host verifies on
/// a read without PRACT.
fn roundtrip(dev: &Device, slba: u64, n: usize, what: &str) {
    let l = dev.pi_layout().unwrap_or_else(|e| panic!("{what}: {e}"));
    let tags = tags_for(&l);
    let nlb = (n - 1) as u16;
    let io = PiIo {
        pract: false,
        prchk: Prchk::ALL,
        tags,
    };
    // PRACT off: host generates.
    let (mut data, mut meta) = buffers(&l, n, slba as usize);
    pi::generate(&l, slba, n, &tags, &mut data, meta.as_deref_mut()).unwrap();
    dev.write_pi(slba, nlb, &data, meta.as_deref(), &io)
        .unwrap_or_else(|e| panic!("{what}: write with PI: {e}"));
    let (mut back, mut mback) = (
        vec![0u8; data.len()],
        meta.as_ref().map(|m| vec![0u8; m.len()]),
    );
    dev.read_pi(slba, nlb, &mut back, mback.as_deref_mut(), &io)
        .unwrap_or_else(|e| panic!("{what}: read with PRCHK: {e}"));
    assert!(back == data, "{what}: data read back differs");
    assert_eq!(mback, meta, "{what}: metadata read back differs");
    pi::verify(&l, slba, n, &tags, Prchk::ALL, &back, mback.as_deref()).unwrap();

    // PRACT on: the controller generates.
    let pract = PiIo { pract: true, ..io };
    let slba2 = slba + n as u64;
    let strip = l.ms_is_tuple();
    let (mut pdata, mut pmeta) = buffers(&l, n, slba2 as usize);
    if strip {
        pdata = pattern(n * l.ds, 99);
        pmeta = None;
    }
    dev.write_pi(slba2, nlb, &pdata, pmeta.as_deref(), &pract)
        .unwrap_or_else(|e| panic!("{what}: write with PRACT: {e}"));
    let mut pback = vec![0u8; pdata.len()];
    let mut pmback = pmeta.as_ref().map(|m| vec![0u8; m.len()]);
    dev.read_pi(slba2, nlb, &mut pback, pmback.as_deref_mut(), &pract)
        .unwrap_or_else(|e| panic!("{what}: read with PRACT: {e}"));
    let stride = pdata.len() / n;
    for i in 0..n {
        assert_eq!(
            pback[i * stride..i * stride + l.ds],
            pdata[i * stride..i * stride + l.ds],
            "{what}: PRACT block {i} data"
        );
    }
    // Without PRACT the inserted PI comes back and the host verifies it.
    let (mut full, mut fmeta) = buffers(&l, n, 0);
    dev.read_pi(slba2, nlb, &mut full, fmeta.as_deref_mut(), &io)
        .unwrap_or_else(|e| panic!("{what}: read of controller-generated PI: {e}"));
    pi::verify(&l, slba2, n, &tags, Prchk::ALL, &full, fmeta.as_deref())
        .unwrap_or_else(|e| panic!("{what}: controller-generated PI: {e}"));
}

/// Writes and reads `n` blocks with host-generated PI through an async
/// queue of the device's configuration (metadata separate or extended),
/// and verifies what comes back.
fn queue_roundtrip(dev: &Device, slba: u64, n: usize, what: &str) {
    use nvmx::spec::opcode::NvmOpcode;
    let l = dev.pi_layout().unwrap();
    let tags = tags_for(&l);
    let io = PiIo {
        pract: false,
        prchk: Prchk::ALL,
        tags,
    };
    let (d, m) = buffers(&l, n, 11);
    let mut data = dev.alloc(d.len()).unwrap();
    data.copy_from_slice(&d);
    let mut meta = m.map(|m| {
        let mut b = dev.alloc(m.len()).unwrap();
        b.copy_from_slice(&m);
        b
    });
    pi::generate(&l, slba, n, &tags, &mut data, meta.as_deref_mut()).unwrap();
    let want = data.to_vec();
    let mut q = dev.queue(4).unwrap();
    let nlb = (n - 1) as u16;
    let w = dev.pi_rw_command(NvmOpcode::WRITE, slba, nlb, &io).unwrap();
    q.submit(w, Some(data), meta, 1)
        .map_err(|r| r.error)
        .unwrap_or_else(|e| panic!("{what}: queue write: {e}"));
    q.drain().unwrap();
    q.pop()
        .unwrap()
        .result
        .unwrap_or_else(|e| panic!("{what}: queue write: {e}"));
    let r = dev.pi_rw_command(NvmOpcode::READ, slba, nlb, &io).unwrap();
    let d = dev.alloc(want.len()).unwrap();
    let m = (!l.extended).then(|| dev.alloc(n * l.ms).unwrap());
    q.submit(r, Some(d), m, 2)
        .map_err(|r| r.error)
        .unwrap_or_else(|e| panic!("{what}: queue read: {e}"));
    q.drain().unwrap();
    let done = q.pop().unwrap();
    done.result
        .unwrap_or_else(|e| panic!("{what}: queue read: {e}"));
    let d = done.data.unwrap();
    assert!(d[..] == want[..], "{what}: queue read data differs");
    pi::verify(&l, slba, n, &tags, Prchk::ALL, &d, done.meta.as_deref())
        .unwrap_or_else(|e| panic!("{what}: queue read PI: {e}"));
}

/// A corrupted guard, application tag and reference tag are found by the
/// controller (status) and by the host helper.
fn corruption(dev: &Device, slba: u64, what: &str) {
    let l = dev.pi_layout().unwrap();
    let tags = tags_for(&l);
    let all = PiIo {
        pract: false,
        prchk: Prchk::ALL,
        tags,
    };
    let none = PiIo {
        prchk: Prchk::NONE,
        ..all
    };
    let (mut data, mut meta) = buffers(&l, 1, 5);
    pi::generate(&l, slba, 1, &tags, &mut data, meta.as_deref_mut()).unwrap();
    // Guard: flip a data bit after generating.
    data[17] ^= 0x10;
    assert_eq!(
        status(dev.write_pi(slba, 0, &data, meta.as_deref(), &all)),
        (sct::MEDIA, sc_media::GUARD_CHECK_ERROR),
        "{what}: write with a bad guard"
    );
    dev.write_pi(slba, 0, &data, meta.as_deref(), &none)
        .unwrap();
    let (mut back, mut mback) = buffers(&l, 1, 0);
    assert_eq!(
        status(dev.read_pi(slba, 0, &mut back, mback.as_deref_mut(), &all)),
        (sct::MEDIA, sc_media::GUARD_CHECK_ERROR),
        "{what}: read of a bad guard"
    );
    dev.read_pi(slba, 0, &mut back, mback.as_deref_mut(), &none)
        .unwrap();
    let m = pi::find_mismatch(&l, slba, 1, &tags, Prchk::ALL, &back, mback.as_deref())
        .unwrap()
        .expect("host finds the bad guard");
    assert_eq!((m.field, m.lba), (PiField::Guard, slba));

    // Application tag: a good block read expecting another tag.
    let (mut data, mut meta) = buffers(&l, 1, 6);
    pi::generate(&l, slba, 1, &tags, &mut data, meta.as_deref_mut()).unwrap();
    dev.write_pi(slba, 0, &data, meta.as_deref(), &all).unwrap();
    let other = PiIo {
        tags: PiTags {
            apptag: 0x1111,
            ..tags
        },
        ..all
    };
    assert_eq!(
        status(dev.read_pi(slba, 0, &mut back, mback.as_deref_mut(), &other)),
        (sct::MEDIA, sc_media::APPTAG_CHECK_ERROR),
        "{what}: read expecting another application tag"
    );
    let m = pi::find_mismatch(
        &l,
        slba,
        1,
        &other.tags,
        Prchk::APPTAG,
        &data,
        meta.as_deref(),
    )
    .unwrap()
    .expect("host finds the application tag");
    assert_eq!(
        (m.field, m.expected, m.found),
        (PiField::AppTag, 0x1111, 0x5a5a)
    );

    // Reference tag (types 1 and 2): PI generated for the next LBA.
    if l.pi_type.0 != 3 {
        let (mut data, mut meta) = buffers(&l, 1, 7);
        let shifted = PiTags {
            ilbrt: tags.ilbrt + 1,
            ..tags
        };
        pi::generate(&l, slba + 1, 1, &shifted, &mut data, meta.as_deref_mut()).unwrap();
        assert_eq!(
            status(dev.write_pi(slba, 0, &data, meta.as_deref(), &all)),
            (sct::MEDIA, sc_media::REFTAG_CHECK_ERROR),
            "{what}: write with a bad reference tag"
        );
        dev.write_pi(slba, 0, &data, meta.as_deref(), &none)
            .unwrap();
        assert_eq!(
            status(dev.read_pi(slba, 0, &mut back, mback.as_deref_mut(), &all)),
            (sct::MEDIA, sc_media::REFTAG_CHECK_ERROR),
            "{what}: read of a bad reference tag"
        );
        let m = pi::find_mismatch(&l, slba, 1, &tags, Prchk::ALL, &data, meta.as_deref())
            .unwrap()
            .expect("host finds the reference tag");
        assert_eq!(m.field, PiField::RefTag);
    }
}

#[test]
fn pi_round_trips_on_the_ramdisk_for_every_type_guard_and_layout() {
    // lbaf 1: 512+8 (16b guard, metadata is the tuple); 4: 4096+64 (16b
    // guard, PI first or last); 5: 512+16 (64b guard, metadata is the tuple).
    let mut cases = 0;
    for lbaf in [1, 4, 5] {
        for pi in 1..=3 {
            for ext in [0, 1] {
                for pil in [0, 1] {
                    let uri = format!("2MiB?lbaf={lbaf}&pi={pi}&ext={ext}&pil={pil}");
                    let dev = open(&uri);
                    let g = dev.geometry().unwrap();
                    assert_eq!((g.pi_type, g.pi_loc), (PiType(pi), pil), "{uri}");
                    assert_eq!(g.pi_format.0, if lbaf == 5 { 2 } else { 0 }, "{uri}");
                    roundtrip(&dev, 8, 4, &uri);
                    corruption(&dev, 40, &uri);
                    queue_roundtrip(&dev, 60, 3, &uri);
                    cases += 1;
                }
            }
        }
    }
    assert_eq!(cases, 36);
}

#[test]
fn ramdisk_pi_64b_guard_carries_48_bit_reference_tags() {
    let dev = open("8MiB?lbaf=6&pi=2");
    let l = dev.pi_layout().unwrap();
    let tags = PiTags {
        ilbrt: 0xab_0000_fffe,
        apptag: 1,
        apptag_mask: 0xffff,
    };
    let io = PiIo {
        pract: true,
        prchk: Prchk::ALL,
        tags,
    };
    let data = pattern(2 * 4096, 3);
    dev.write_pi(0, 1, &data, None, &io).unwrap();
    let (mut back, mut meta) = (vec![0u8; 8192], vec![0u8; 32]);
    let plain = PiIo { pract: false, ..io };
    dev.read_pi(0, 1, &mut back, Some(&mut meta), &plain)
        .unwrap();
    // Block 1's reference tag crossed a 32-bit boundary: 0xab_0000_ffff.
    assert_eq!(l.decode(&meta[16..]).unwrap().reftag, 0xab_0000_ffff);
    pi::verify(&l, 0, 2, &tags, Prchk::ALL, &back, Some(&meta)).unwrap();
}

#[test]
fn pi_commands_run_through_an_async_queue() {
    use nvmx::spec::opcode::NvmOpcode;
    let dev = open("4MiB?lbaf=3&pi=1");
    let l = dev.pi_layout().unwrap();
    let io = PiIo::default();
    let mut q = dev.queue(8).unwrap();
    let mut data = dev.alloc(4 * 4096).unwrap();
    data.fill("anum").unwrap();
    let mut meta = dev.alloc(4 * 8).unwrap();
    pi::generate(&l, 12, 4, &io.tags, &mut data, Some(&mut meta)).unwrap();
    let w = dev.pi_rw_command(NvmOpcode::WRITE, 12, 3, &io).unwrap();
    q.submit(w, Some(data), Some(meta), 1)
        .map_err(|r| r.error)
        .unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
    let r = dev.pi_rw_command(NvmOpcode::READ, 12, 3, &io).unwrap();
    let (d, m) = (dev.alloc(4 * 4096).unwrap(), dev.alloc(32).unwrap());
    q.submit(r, Some(d), Some(m), 2)
        .map_err(|r| r.error)
        .unwrap();
    q.drain().unwrap();
    let done = q.pop().unwrap();
    done.result.unwrap();
    let (d, m) = (done.data.unwrap(), done.meta.unwrap());
    pi::verify(&l, 12, 4, &io.tags, Prchk::ALL, &d, Some(&m)).unwrap();
    // A read expecting another application tag fails with its status.
    let other = PiIo {
        tags: PiTags {
            apptag: 9,
            ..io.tags
        },
        ..io
    };
    let r = dev.pi_rw_command(NvmOpcode::READ, 12, 0, &other).unwrap();
    let (d, m) = (dev.alloc(4096).unwrap(), dev.alloc(8).unwrap());
    q.submit(r, Some(d), Some(m), 3)
        .map_err(|r| r.error)
        .unwrap();
    q.drain().unwrap();
    assert_eq!(
        status(q.pop().unwrap().result.map_err(Error::from)),
        (sct::MEDIA, sc_media::APPTAG_CHECK_ERROR)
    );
}

#[test]
fn pi_reads_of_unwritten_blocks_pass_every_check() {
    let dev = open("1MiB?lbaf=1&pi=1");
    let io = PiIo::default();
    let (mut d, mut m) = (vec![0u8; 4 * 512], vec![0u8; 32]);
    dev.read_pi(100, 3, &mut d, Some(&mut m), &io).unwrap();
    assert_eq!(&m[2..8], &[0xff; 6], "escape apptag and reftag");
}

#[test]
fn type1_foreign_initial_reftag_and_type3_reftag_check_are_invalid_protection_information() {
    let dev = open("1MiB?lbaf=1&pi=1");
    let mut cmd = nvmx::spec::cmd::NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 5,
        nlb: 0,
        flags: Prchk::ALL.flags(),
        reftag: 6,
        ..Default::default()
    }
    .to_command();
    let (mut d, mut m) = (vec![0u8; 512], vec![0u8; 8]);
    let r = dev.cmd_io(
        &mut cmd,
        nvmx::be::DataBuf::In(&mut d),
        nvmx::be::DataBuf::In(&mut m),
    );
    assert_eq!(status(r), (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_PI));
    // Type 3 has no reference tag: the check bit is refused on a raw
    // command, and read_pi leaves it out.
    let dev = open("1MiB?lbaf=1&pi=3");
    cmd.cdw14 = 5;
    let r = dev.cmd_io(
        &mut cmd,
        nvmx::be::DataBuf::In(&mut d),
        nvmx::be::DataBuf::In(&mut m),
    );
    assert_eq!(status(r), (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_PI));
    dev.read_pi(5, 0, &mut d, Some(&mut m), &PiIo::default())
        .unwrap();
}

#[test]
fn pi_calls_on_a_namespace_without_pi_are_refused() {
    let dev = open("1MiB?lbaf=1");
    let e = dev.pi_layout().unwrap_err();
    assert!(
        matches!(&e, Error::Unsupported { interface: "namespace", what } if what.contains("not formatted with")),
        "{e}"
    );
    let e = dev
        .write_pi(0, 0, &[0u8; 512], Some(&[0u8; 8]), &PiIo::default())
        .unwrap_err();
    assert!(matches!(e, Error::Unsupported { .. }), "{e}");
}

#[test]
fn format_changes_geometry_erases_data_and_stales_the_old_handle() {
    let dev = open("8MiB");
    assert_eq!(dev.geometry().unwrap().nbytes, 512);
    dev.write(0, 0, &[0xaa; 512], None).unwrap();
    let f = FormatNvm {
        lbaf: 3,
        pi: 1,
        pil: true,
        mset: true,
        ses: nvmx::SecureErase::UserData,
        ..Default::default()
    };
    let dev2 = dev.format(&f).unwrap();
    let g = dev2.geometry().unwrap();
    assert_eq!(
        (g.nbytes, g.nbytes_oob, g.nsect, g.lba_extended),
        (4096, 8, 2048, true)
    );
    assert_eq!(
        (g.pi_type, g.pi_loc, g.pi_format),
        (PiType::TYPE1, 1, PiFormat::GUARD16)
    );
    let ns = dev2.identify_namespace().unwrap();
    assert_eq!((ns.flbas & 0xf, ns.dps), (3, 0x9));
    let e = dev.geometry().unwrap_err();
    assert!(
        matches!(&e, Error::Stale { what: "device", why } if why.contains("format() returned")),
        "{e}"
    );
    // The old data is gone.
    let mut back = vec![0xffu8; 4104];
    dev2.read(0, 0, &mut back, None).unwrap();
    assert!(back[..4096].iter().all(|&b| b == 0));
    roundtrip(&dev2, 0, 2, "after format");
    // Back to 512 without PI; lbafu 0.
    let dev3 = dev2.format(&FormatNvm::default()).unwrap();
    assert_eq!(dev3.geometry().unwrap().nsect, 16384);
    assert!(dev3.pi_layout().is_err());
}

#[test]
fn format_rejects_formats_it_cannot_take() {
    let dev = open("8MiB");
    let bad = [
        FormatNvm {
            lbaf: 7,
            ..Default::default()
        },
        // 64b guard PI needs 16 metadata bytes: lbaf 3 has 8, but its PIF is
        // 16b, so ask for PI on a format without metadata instead.
        FormatNvm {
            lbaf: 2,
            pi: 1,
            ..Default::default()
        },
    ];
    for f in bad {
        assert_eq!(
            status(dev.format(&f)),
            (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_FORMAT),
            "{f:?}"
        );
    }
    // Nothing changed.
    assert_eq!(dev.geometry().unwrap().nbytes, 512);
}

#[test]
fn sanitize_actions_erase_or_overwrite_and_the_log_says_so() {
    let dev = open("1MiB?lbaf=1");
    let log = dev.log_sanitize().unwrap();
    assert_eq!((log.status(), log.sprog), (0, 0xffff), "never sanitized");
    assert!(log.global_data_erased());
    dev.write(3, 0, &[7u8; 512], Some(&[9u8; 8])).unwrap();
    assert!(!dev.log_sanitize().unwrap().global_data_erased());

    dev.sanitize(&Sanitize::new(SanitizeAction::BlockErase))
        .unwrap();
    let (mut d, mut m) = (vec![1u8; 512], vec![1u8; 8]);
    dev.read(3, 0, &mut d, Some(&mut m)).unwrap();
    assert!(d.iter().chain(&m).all(|&b| b == 0), "block erase zeroes");
    let log = dev.log_sanitize().unwrap();
    assert_eq!((log.status(), log.scdw10 & 7), (1, 2));
    assert!(log.global_data_erased());

    let ow = Sanitize {
        action: SanitizeAction::Overwrite,
        ause: true,
        owpass: 2,
        oipbp: true,
        nodas: true,
        ovrpat: 0x1234_5678,
    };
    dev.sanitize(&ow).unwrap();
    dev.read(100, 0, &mut d, Some(&mut m)).unwrap();
    // Two passes with inversion: the inverse stays.
    let inv = (!0x1234_5678u32).to_le_bytes();
    assert_eq!(&d[..8], &[inv, inv].concat()[..]);
    assert_eq!(&m[..4], &inv);
    let log = dev.log_sanitize().unwrap();
    assert_eq!(log.status(), 4, "completed without deallocation (NDAS)");
    assert_eq!(log.sstat >> 3 & 0x1f, 2, "overwrite passes");
    assert_eq!(log.scdw10 >> 3 & 1, 1, "AUSE recorded");

    dev.sanitize(&Sanitize::new(SanitizeAction::CryptoErase))
        .unwrap();
    dev.read(100, 0, &mut d, Some(&mut m)).unwrap();
    assert!(d.iter().all(|&b| b == 0));
    dev.sanitize(&Sanitize::new(SanitizeAction::ExitFailureMode))
        .unwrap();
}

#[test]
fn format_and_sanitize_on_key_value_and_fdp_ramdisks() {
    let dev = open("1MiB?kv=1");
    dev.kv_store(b"k1", b"value", Default::default()).unwrap();
    assert!(dev.kv_exist(b"k1").unwrap());
    dev.sanitize(&Sanitize::new(SanitizeAction::BlockErase))
        .unwrap();
    assert!(!dev.kv_exist(b"k1").unwrap(), "sanitize erases the pairs");
    dev.kv_store(b"k2", b"value", Default::default()).unwrap();
    let dev = dev.format(&FormatNvm::default()).unwrap();
    assert!(!dev.kv_exist(b"k2").unwrap(), "format erases the pairs");
    let other = FormatNvm {
        lbaf: 2,
        ..Default::default()
    };
    assert_eq!(
        status(dev.format(&other)),
        (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_FORMAT)
    );

    // FDP keeps its sizes: PI may change, the data size may not.
    let dev = open("4MiB?fdp=1&lbaf=3");
    let pi = FormatNvm {
        lbaf: 3,
        pi: 1,
        ..Default::default()
    };
    let dev = dev.format(&pi).unwrap();
    assert_eq!(dev.geometry().unwrap().pi_type, PiType::TYPE1);
    assert_eq!(
        status(dev.format(&FormatNvm::default())),
        (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_FORMAT)
    );

    // Zoned: no PI, no other size; a format empties the zones.
    assert!(Device::open("8MiB?zoned=1&lbaf=1&pi=1", &Options::default()).is_err());
    let dev = open("8MiB?zoned=1");
    for f in [
        FormatNvm {
            pi: 1,
            ..Default::default()
        },
        FormatNvm {
            lbaf: 2,
            ..Default::default()
        },
    ] {
        assert_eq!(
            status(dev.format(&f)),
            (sct::COMMAND_SPECIFIC, sc_cmd::INVALID_FORMAT),
            "{f:?}"
        );
    }
    dev.write(0, 0, &[1u8; 512], None).unwrap();
    let dev = dev.format(&FormatNvm::default()).unwrap();
    assert_eq!(dev.geometry().unwrap().geo_type, nvmx::geo::GeoType::Zoned);
    // The first zone is empty again: a write at its start is accepted.
    dev.write(0, 0, &[2u8; 512], None).unwrap();
}

#[test]
fn format_and_sanitize_are_advertised() {
    let dev = open("1MiB");
    let c = dev.identify_controller().unwrap();
    assert!(c.supports_oacs(nvmx::spec::identify::oacs::FORMAT_NVM));
    assert_eq!(c.sanicap & 0x7, 0x7);
    let mut buf = vec![0u8; 4096];
    dev.get_log_page(0x05, 0, 0, 0, false, &mut buf).unwrap();
    let acs = |opc: usize| u32::from_le_bytes(buf[opc * 4..opc * 4 + 4].try_into().unwrap());
    assert_eq!(acs(0x80) & 0x3, 0x3, "Format NVM: CSUPP, LBCC");
    assert_eq!(acs(0x84) & 0x3, 0x3, "Sanitize: CSUPP, LBCC");
    let mut lp = vec![0u8; 1024];
    dev.get_log_page(0x00, 0, 0, 0, false, &mut lp).unwrap();
    assert_eq!(
        lp[0x81 * 4] & 1,
        1,
        "Sanitize Status in the supported log pages"
    );
    let ns = dev.identify_namespace().unwrap();
    assert_eq!(ns.dpc, 0x1f);
    assert_eq!(ns.nlbaf, 6);
}

// ---- QEMU guest ----

/// The guest's PI namespaces: label, and the env of its char device.
const LABELS: [&str; 5] = ["PI1", "PI1EXT", "PI2", "PI3", "PIF2"];

fn guest_dev(label: &str, be: &str) -> Option<Device> {
    if common::upcie_be().is_some() {
        // The user-space driver's boots: the controller bound to it, once.
        return (be == "emu").then(|| common::upcie_open(label)).flatten();
    }
    let cdev = common::env_var(common::GUEST, &format!("NVMX_DEV_{label}_CDEV"))?;
    let opts = Options {
        be: Some(be.into()),
        ..Default::default()
    };
    Some(Device::open(&cdev, &opts).unwrap_or_else(|e| panic!("{be} on {cdev}: {e}")))
}

fn env_num(label: &str, key: &str) -> u32 {
    std::env::var(format!("NVMX_DEV_{label}_{key}"))
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("NVMX_DEV_{label}_{key} is not set"))
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices (or, through the user-space driver, guest-suite-upcie.sh): run by testrig/vm/guest-suite.sh"]
fn guest_pi_round_trips_on_qemu_namespaces() {
    for label in LABELS {
        for be in ["emu", "io_uring_cmd"] {
            let Some(dev) = guest_dev(label, be) else {
                continue;
            };
            let g = dev.geometry().unwrap().clone();
            assert_eq!(g.nbytes, env_num(label, "LBS"), "{label}");
            assert_eq!(g.nbytes_oob, env_num(label, "MS"), "{label}");
            assert_eq!(u32::from(g.pi_type.0), env_num(label, "PI"), "{label}");
            assert_eq!(u32::from(g.pi_format.0), env_num(label, "PIF"), "{label}");
            assert_eq!(u32::from(g.lba_extended), env_num(label, "MSET"), "{label}");
            let what = format!("{label} via {}", dev.config().name);
            roundtrip(&dev, 16, 4, &what);
            corruption(&dev, 64, &what);
            queue_roundtrip(&dev, 80, 3, &what);
            println!("{what}: PI round trips (sync and queue) and corruption checks passed");
        }
    }
}

#[test]
#[ignore = "needs the QEMU guest's NVMe devices (or, through the user-space driver, guest-suite-upcie.sh): run by testrig/vm/guest-suite.sh"]
fn guest_format_on_a_qemu_pi_namespace() {
    let Some(dev) = guest_dev("PI1", "emu") else {
        return;
    };
    let ns = *dev.identify_namespace().unwrap();
    let orig = ns.flbas_index();
    let want = ns
        .lbafs()
        .iter()
        .position(|f| f.lbads == 12 && f.ms == 8)
        .expect("QEMU offers 4096+8");
    let f = FormatNvm {
        lbaf: want as u8,
        pi: 2,
        ..Default::default()
    };
    let dev = dev.format(&f).unwrap_or_else(|e| panic!("format: {e}"));
    let g = dev.geometry().unwrap().clone();
    assert_eq!(
        (g.nbytes, g.nbytes_oob, g.pi_type),
        (4096, 8, PiType::TYPE2)
    );
    roundtrip(&dev, 0, 2, "PI1 formatted 4096+8 type 2");
    let back = FormatNvm {
        lbaf: orig as u8,
        pi: 1,
        ..Default::default()
    };
    let dev = dev.format(&back).unwrap();
    assert_eq!(dev.geometry().unwrap().nbytes, 512);
}
