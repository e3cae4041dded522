//! Raw reads and writes whose LBA range lies near 2^64, or wraps past it,
//! through every configuration that runs here (ramdisks, files on the temp
//! directory's file system and on tmpfs, loop devices as root; files and
//! ramdisks under Wine): each must answer LBA Out of Range, sync and
//! through a queue, and leave the data where it was. An unchecked
//! `slba << ssw` turns SLBA 2^(64 - ssw) + k into block k: the pattern
//! written there first must read back unchanged.

use crate::common;

use nvmx::buf::{fill_random, first_difference};
use nvmx::spec::cmd::NvmRw;
use nvmx::spec::status::{sc, sct};
use nvmx::spec::{Command, Status};
use nvmx::{Device, Error};

/// Blocks at the start of the namespace that carry the pattern.
const PATTERN_BLOCKS: u16 = 16;

/// SLBA and NLB of commands that must be refused on a namespace whose
/// blocks are `1 << ssw` bytes.
fn cases(ssw: u32) -> Vec<(u64, u16)> {
    let wrap = 1u64 << (64 - ssw);
    vec![
        (u64::MAX, 0),
        (u64::MAX, 7),
        // slba + nlb wraps past 2^64 to block 2.
        (u64::MAX - 4, 7),
        (u64::MAX - 7, 7),
        (1 << 63, 0),
        // Shifted by ssw these wrap to byte offsets 0 and 3 blocks.
        (wrap, 0),
        (wrap + 3, 3),
        (wrap - 1, 1),
        // Byte offsets past i64::MAX (negative to the OS).
        (1 << (63 - ssw), 0),
        ((1 << (63 - ssw)) - 1, 0),
    ]
}

fn rw(opc: u8, nsid: u32, slba: u64, nlb: u16) -> Command {
    NvmRw {
        opc,
        nsid,
        slba,
        nlb,
        ..Default::default()
    }
    .to_command()
}

/// Whether `uri` is the guest's namespace reached over NVMe/TCP, whose
/// Linux target (nvmet) answers a passthrough command beyond the
/// namespace with Internal Error instead of LBA Out of Range.
fn over_tcp(uri: &str) -> bool {
    [
        "NVMX_DEV_TCP_BDEV",
        "NVMX_DEV_TCP_CDEV",
        "NVMX_DEV_TCP_CTRL",
    ]
    .iter()
    .any(|k| std::env::var(k).is_ok_and(|v| v == uri))
}

fn assert_lba_out_of_range(tcp: bool, what: &str, e: &Error) {
    let st: Status = e
        .status()
        .unwrap_or_else(|| panic!("{what}: expected LBA Out of Range, got {e}"));
    if tcp && (st.sct, st.sc) == (sct::GENERIC, sc::INTERNAL) {
        return;
    }
    assert_eq!(
        (st.sct, st.sc),
        (sct::GENERIC, sc::LBA_OUT_OF_RANGE),
        "{what}: {e}"
    );
}

/// The pattern's blocks read back as written.
fn assert_pattern(what: &str, dev: &Device, pattern: &[u8]) {
    let mut back = vec![0u8; pattern.len()];
    dev.read(0, PATTERN_BLOCKS - 1, &mut back, None)
        .unwrap_or_else(|e| panic!("{what}: reading the pattern back: {e}"));
    assert_eq!(
        first_difference(pattern, &back),
        None,
        "{what}: data at the start of the namespace changed"
    );
}

#[test]
fn raw_io_near_2_pow_64_answers_lba_out_of_range_and_changes_nothing() {
    let mut ran = 0;
    for t in common::targets() {
        let dev = t.open();
        let g = dev.geometry().unwrap().clone();
        let bs = g.lba_nbytes as usize;
        let nsid = dev.nsid();
        let label = format!("{} on {}", t.be, t.uri);
        let tcp = over_tcp(&t.uri);
        eprintln!("raw_range: {label} (ssw {})", g.ssw);
        let file_len = || std::fs::metadata(&t.uri).ok().map(|m| m.len());
        let len_before = file_len();

        let mut pattern = vec![0u8; usize::from(PATTERN_BLOCKS) * bs];
        fill_random(&mut pattern, 0x5eed ^ u64::from(g.ssw));
        dev.write(0, PATTERN_BLOCKS - 1, &pattern, None).unwrap();

        for (slba, nlb) in cases(g.ssw) {
            let what = format!("{label}: slba {slba:#x} nlb {nlb}");
            let n = (usize::from(nlb) + 1) * bs;
            // Sync: the device's sync interface.
            let junk = vec![0xeeu8; n];
            let mut cmd = rw(0x01, nsid, slba, nlb);
            let e = dev
                .cmd_io(
                    &mut cmd,
                    nvmx::be::DataBuf::Out(&junk),
                    nvmx::be::DataBuf::None,
                )
                .unwrap_err();
            assert_lba_out_of_range(tcp, &format!("{what}: sync write"), &e);
            let mut buf = vec![0x11u8; n];
            let mut cmd = rw(0x02, nsid, slba, nlb);
            let e = dev
                .cmd_io(
                    &mut cmd,
                    nvmx::be::DataBuf::In(&mut buf),
                    nvmx::be::DataBuf::None,
                )
                .unwrap_err();
            assert_lba_out_of_range(tcp, &format!("{what}: sync read"), &e);

            // Through a queue: its engine (nil moves no data and checks
            // nothing: it completes every command with success).
            if !t.moves_data {
                continue;
            }
            let mut q = dev.queue(4).unwrap();
            let mut junk = dev.alloc(n).unwrap();
            junk.fill("x").unwrap();
            let cmd = rw(0x01, nsid, slba, nlb);
            q.submit(cmd, Some(junk), None, 1)
                .unwrap_or_else(|r| panic!("{what}: queue write refused at submit: {r}"));
            let read = dev.alloc(n).unwrap();
            q.submit(rw(0x02, nsid, slba, nlb), Some(read), None, 2)
                .unwrap_or_else(|r| panic!("{what}: queue read refused at submit: {r}"));
            q.drain().unwrap();
            for _ in 0..2 {
                let c = q.pop().expect("two completions");
                let op = if c.tag == 1 { "write" } else { "read" };
                let e = c
                    .result
                    .expect_err(&format!("{what}: queue {op} succeeded"));
                assert_lba_out_of_range(tcp, &format!("{what}: queue {op}"), &e);
            }
            assert!(q.pop().is_none());
        }
        assert_pattern(&label, &dev, &pattern);
        assert_eq!(
            file_len(),
            len_before,
            "{label}: the refused writes changed the file's length"
        );
        ran += 1;
    }
    assert!(ran >= 3, "only {ran} configurations ran");
}
