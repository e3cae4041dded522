//! Commands through `io_uring_file`: reads past the end, short buffers, and
//! the opcodes that run through the sync interface.

use super::*;

#[test]
fn reads_past_the_end_answer_lba_out_of_range() {
    let f = temp_in(&std::env::temp_dir(), "eof", 64 * BS as u64);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(4).unwrap();
    // Wholly past the end, and straddling it (one block read, then EOF).
    for (slba, nlb) in [(64u64, 0u16), (1000, 3), (63, 1)] {
        q.read(
            slba,
            nlb,
            dev.alloc((usize::from(nlb) + 1) * BS).unwrap(),
            None,
            slba,
        )
        .unwrap();
    }
    q.drain().unwrap();
    let mut n = 0;
    while let Some(c) = q.pop() {
        let e = c.result.unwrap_err();
        let st = e.status().unwrap_or_else(|| panic!("slba {}: {e}", c.tag));
        assert_eq!(
            (st.sct, st.sc),
            (sct::GENERIC, sc::LBA_OUT_OF_RANGE),
            "slba {}",
            c.tag
        );
        n += 1;
    }
    assert_eq!(n, 3);
    // Offsets no file can have: overflowing 64 bits, ending past the
    // largest file offset, and one that would read as -1 ("the current
    // position") to the kernel.
    for slba in [
        u64::MAX >> 4,
        u64::MAX >> 9,
        (i64::MAX as u64) >> 9,
        u64::MAX,
    ] {
        let cmd = NvmRw {
            opc: 0x02,
            nsid: 1,
            slba,
            nlb: 0,
            ..Default::default()
        }
        .to_command();
        q.submit(cmd, Some(dev.alloc(BS).unwrap()), None, slba)
            .unwrap();
        q.drain().unwrap();
        let c = q.pop().unwrap();
        let st = c
            .result
            .unwrap_err()
            .status()
            .unwrap_or_else(|| panic!("slba {slba:#x}: no status"));
        assert_eq!(st.sc, sc::LBA_OUT_OF_RANGE, "slba {slba:#x}");
    }
}

#[test]
fn a_short_buffer_completes_with_an_error_naming_both_sizes() {
    let f = temp_in(&std::env::temp_dir(), "short", 1 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(4).unwrap();
    let cmd = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 0,
        nlb: 7,
        ..Default::default()
    }
    .to_command();
    let mut b = dev.alloc(BS).unwrap();
    b.fill("u").unwrap();
    q.submit(cmd, Some(b), None, 1).unwrap();
    q.drain().unwrap();
    let c = q.pop().unwrap();
    let e = c.result.unwrap_err();
    let m = e.to_string();
    assert!(
        matches!(
            *e,
            Error::ShortBuffer {
                len: 512,
                need: 4096,
                ..
            }
        ),
        "{m}"
    );
    assert!(
        c.data.unwrap().iter().all(|&x| x == b'u'),
        "the buffer is untouched"
    );
    // No buffer at all for a write.
    let cmd = NvmRw {
        opc: 0x01,
        nsid: 1,
        slba: 0,
        nlb: 0,
        ..Default::default()
    }
    .to_command();
    q.submit(cmd, None, None, 2).unwrap();
    q.drain().unwrap();
    assert!(matches!(
        q.pop().unwrap().result.map_err(|e| *e),
        Err(Error::ShortBuffer { len: 0, .. })
    ));
}

#[test]
fn other_opcodes_run_through_the_sync_interface() {
    let f = temp_in(&std::env::temp_dir(), "other", 1 << 20);
    let dev = open(f.path(), &opts_with(|_| {}));
    let mut q = dev.queue(8).unwrap();
    let mut b = dev.alloc(8 * BS).unwrap();
    b.fill("w").unwrap();
    let expect = b.to_vec();
    q.write(16, 7, b, None, 0).unwrap();
    q.drain().unwrap();
    q.pop().unwrap().result.unwrap();
    // Compare: equal, then different.
    let cmp = NvmRw {
        opc: 0x05,
        nsid: 1,
        slba: 16,
        nlb: 7,
        ..Default::default()
    }
    .to_command();
    q.submit(
        cmp,
        Some(nvmx::Buffer::from_slice(&expect).unwrap()),
        None,
        1,
    )
    .unwrap();
    let mut other = expect.clone();
    other[100] ^= 1;
    q.submit(
        cmp,
        Some(nvmx::Buffer::from_slice(&other).unwrap()),
        None,
        2,
    )
    .unwrap();
    // Write Zeroes on the second half, and a Flush (fsync through the ring).
    let wz = NvmRw {
        opc: 0x08,
        nsid: 1,
        slba: 20,
        nlb: 3,
        ..Default::default()
    }
    .to_command();
    q.submit(wz, None, None, 3).unwrap();
    q.submit(Command::new(0x00, 1), None, None, 4).unwrap();
    q.drain().unwrap();
    let mut seen = [false; 5];
    while let Some(c) = q.pop() {
        seen[c.tag as usize] = true;
        match c.tag {
            2 => {
                let st = c.result.unwrap_err().status().unwrap();
                assert_eq!((st.sct, st.sc), (sct::MEDIA, sc_media::COMPARE_FAILURE));
            }
            _ => {
                c.result.unwrap_or_else(|e| panic!("tag {}: {e}", c.tag));
            }
        }
    }
    assert_eq!(seen, [false, true, true, true, true]);
    let mut back = vec![0u8; 8 * BS];
    dev.read(16, 7, &mut back, None).unwrap();
    assert!(back[..4 * BS].iter().all(|&x| x == b'w'));
    assert!(back[4 * BS..].iter().all(|&x| x == 0));
}
