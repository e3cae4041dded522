//! Host tests of the kqueue engine's layouts and event decoding.

use std::mem::{offset_of, size_of};

use super::*;

#[test]
fn constants_match_freebsd_headers() {
    // sys/sys/signal.h and sys/sys/event.h.
    assert_eq!(SIGEV_KEVENT, 3);
    assert_eq!(EVFILT_AIO, -3);
    assert_eq!(EV_ERROR, 0x4000);
}

#[test]
fn sigevent_layout_on_lp64() {
    // int, int, union sigval (a pointer), then a union of long[8].
    assert_eq!(size_of::<SigeventLayout>(), 80);
    assert_eq!(offset_of!(SigeventLayout, sigev_notify), 0);
    assert_eq!(offset_of!(SigeventLayout, sigev_signo), 4);
    assert_eq!(offset_of!(SigeventLayout, sigev_value), 8);
    assert_eq!(offset_of!(SigeventLayout, sigev_un), 16);
}

fn aio(slot: usize) -> KqEvent {
    KqEvent {
        ident: 0x7fff_0000_1000,
        filter: EVFILT_AIO,
        flags: 0,
        data: 0,
        udata: slot,
    }
}

#[test]
fn decodes_slots_and_rejects_strangers() {
    assert_eq!(decode(&aio(0), 8), Reaped::Slot(0));
    assert_eq!(decode(&aio(7), 8), Reaped::Slot(7));
    // A slot beyond the queue, or beyond u32: not ours.
    assert_eq!(decode(&aio(8), 8), Reaped::Ignored);
    assert_eq!(decode(&aio(usize::MAX), 8), Reaped::Ignored);
    // Another filter (EVFILT_READ is -1).
    let mut ev = aio(1);
    ev.filter = -1;
    assert_eq!(decode(&ev, 8), Reaped::Ignored);
    // EV_ERROR carries an errno in data, whatever the filter.
    let mut ev = aio(1);
    ev.flags = EV_ERROR;
    ev.data = 9; // EBADF
    assert_eq!(decode(&ev, 8), Reaped::Error(9));
}

#[test]
fn slot_tokens_round_trip_through_decode() {
    for slot in [0u32, 1, 255, 4095] {
        assert_eq!(decode(&aio(slot_token(slot)), 4096), Reaped::Slot(slot));
    }
}

#[cfg(all(unix, not(target_os = "freebsd")))]
#[test]
fn refused_off_freebsd() {
    use crate::posix_aio::testutil;
    let f = testutil::tmp_file(&std::env::temp_dir(), "kq", 1 << 20);
    let (sync, opts) = testutil::open_sync(&f.0, false).unwrap();
    let e = new_engine(&testutil::params(&sync, &opts, 8))
        .err()
        .unwrap()
        .to_string();
    assert!(e.contains("kqueue"), "{e}");
    assert!(e.contains("FreeBSD"), "{e}");
}

#[test]
fn kevent_flags_land_in_the_unions_first_short() {
    assert_eq!(EV_ONESHOT, 0x0010);
    let w = kevent_flags_word(EV_ONESHOT);
    // The first two bytes in memory are the unsigned short, the next two
    // zero, on this host's byte order.
    let b = w.to_ne_bytes();
    assert_eq!(u16::from_ne_bytes([b[0], b[1]]), EV_ONESHOT);
    assert_eq!([b[2], b[3]], [0, 0]);
    assert_eq!(kevent_flags_word(0), 0);
}
