//! The Key Value command set through `Device`, on the ramdisk's KV
//! namespace (`?kv=1`). Only here: QEMU has no KV namespace, so the guest
//! suite has nothing to run these against.

use nvmx::kv::{KvStoreOpts, is_key_not_found};
use nvmx::spec::identify::{Cns, IdentifyKvNamespace};
use nvmx::spec::kv::status;
use nvmx::spec::opcode::Csi;
use nvmx::spec::status::{sc, sct};
use nvmx::{Device, Error, Options};
use zerocopy::FromBytes;

fn kv(uri: &str) -> Device {
    Device::open(uri, &Options::default()).unwrap_or_else(|e| panic!("open {uri}: {e}"))
}

fn status_of<T: std::fmt::Debug>(r: nvmx::Result<T>) -> (u8, u8) {
    match r {
        Err(Error::Status { status, .. }) => (status.sct, status.sc),
        other => panic!("expected an NVMe status error, got {other:?}"),
    }
}

fn invalid_what<T: std::fmt::Debug>(r: nvmx::Result<T>) -> &'static str {
    match r {
        Err(Error::Invalid { what, .. }) => what,
        other => panic!("expected Error::Invalid, got {other:?}"),
    }
}

fn out_of_range_what<T: std::fmt::Debug>(r: nvmx::Result<T>) -> &'static str {
    match r {
        Err(Error::OutOfRange { what, .. }) => what,
        other => panic!("expected Error::OutOfRange, got {other:?}"),
    }
}

fn conflict_what<T: std::fmt::Debug>(r: nvmx::Result<T>) -> &'static str {
    match r {
        Err(Error::Conflict { what, .. }) => what,
        other => panic!("expected Error::Conflict, got {other:?}"),
    }
}

const ADD: KvStoreOpts = KvStoreOpts {
    only_update: false,
    only_add: true,
    compress: false,
};
const UPDATE: KvStoreOpts = KvStoreOpts {
    only_update: true,
    only_add: false,
    compress: false,
};

#[test]
fn the_namespace_is_a_kv_namespace() {
    let dev = kv("8MiB?kv=1");
    assert_eq!(dev.ident().csi, Csi::KV.0);
    let mut buf = vec![0u8; 4096];
    dev.identify(Cns::CSI_NAMESPACE.0, 1, Csi::KV.0, &mut buf)
        .unwrap();
    let id = IdentifyKvNamespace::read_from_bytes(&buf).unwrap();
    assert_eq!(id.nsze, 8 << 20);
    assert_eq!(id.nuse, 0);
    let f = id.kv_formats();
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].kml, f[0].mvl),
        (16, 512 << 10),
        "MDTS 7 bounds values"
    );
    dev.kv_store(b"k", b"12345", KvStoreOpts::default())
        .unwrap();
    dev.identify(Cns::CSI_NAMESPACE.0, 1, Csi::KV.0, &mut buf)
        .unwrap();
    assert_eq!(IdentifyKvNamespace::read_from_bytes(&buf).unwrap().nuse, 6);
    // An NVM ramdisk has no KV structure.
    let nvm = kv("8MiB");
    assert_eq!(
        status_of(nvm.identify(Cns::CSI_NAMESPACE.0, 1, Csi::KV.0, &mut buf)),
        (sct::GENERIC, sc::INVALID_FIELD)
    );
}

#[test]
fn store_retrieve_exist_delete() {
    let dev = kv("8MiB?kv=1");
    assert!(!dev.kv_exist(b"alpha").unwrap());
    dev.kv_store(b"alpha", b"first value", KvStoreOpts::default())
        .unwrap();
    assert!(dev.kv_exist(b"alpha").unwrap());
    let mut buf = vec![0u8; 64];
    let n = dev.kv_retrieve(b"alpha", &mut buf, false).unwrap();
    assert_eq!(&buf[..n], b"first value");
    // Overwrite with a shorter value.
    dev.kv_store(b"alpha", b"2nd", KvStoreOpts::default())
        .unwrap();
    assert_eq!(dev.kv_retrieve_vec(b"alpha", 1).unwrap(), b"2nd");
    dev.kv_delete(b"alpha").unwrap();
    assert!(!dev.kv_exist(b"alpha").unwrap());
    let e = dev.kv_delete(b"alpha").unwrap_err();
    assert!(is_key_not_found(&e), "{e}");
    assert_eq!(
        status_of(dev.kv_retrieve(b"alpha", &mut buf, false)),
        (sct::GENERIC, status::KEY_DOES_NOT_EXIST)
    );
    // Empty values and 16-byte keys.
    dev.kv_store(b"0123456789abcdef", b"", KvStoreOpts::default())
        .unwrap();
    assert_eq!(
        dev.kv_retrieve(b"0123456789abcdef", &mut buf, false)
            .unwrap(),
        0
    );
}

#[test]
fn a_short_buffer_gets_the_head_and_the_full_size() {
    let dev = kv("8MiB?kv=1");
    let value: Vec<u8> = (0..1000u32).map(|i| i as u8).collect();
    dev.kv_store(b"big", &value, KvStoreOpts::default())
        .unwrap();
    let mut small = vec![0u8; 100];
    let n = dev.kv_retrieve(b"big", &mut small, false).unwrap();
    assert_eq!(n, 1000, "the value's size, not the bytes copied");
    assert_eq!(small, value[..100]);
    assert_eq!(dev.kv_retrieve_vec(b"big", 16).unwrap(), value);
    // A zero-length buffer asks only for the size.
    assert_eq!(dev.kv_retrieve(b"big", &mut [], false).unwrap(), 1000);
}

#[test]
fn only_add_and_only_update() {
    let dev = kv("8MiB?kv=1");
    assert_eq!(
        status_of(dev.kv_store(b"k", b"v", UPDATE)),
        (sct::GENERIC, status::KEY_DOES_NOT_EXIST)
    );
    dev.kv_store(b"k", b"v1", ADD).unwrap();
    assert_eq!(
        status_of(dev.kv_store(b"k", b"v2", ADD)),
        (sct::GENERIC, status::KEY_EXISTS)
    );
    assert_eq!(dev.kv_retrieve_vec(b"k", 8).unwrap(), b"v1");
    dev.kv_store(b"k", b"v3", UPDATE).unwrap();
    assert_eq!(dev.kv_retrieve_vec(b"k", 8).unwrap(), b"v3");
    let both = KvStoreOpts {
        only_update: true,
        only_add: true,
        compress: false,
    };
    assert_eq!(
        conflict_what(dev.kv_store(b"k", b"v", both)),
        "store options"
    );
    let compress = KvStoreOpts {
        compress: true,
        ..Default::default()
    };
    dev.kv_store(b"c", b"hint only", compress).unwrap();
    assert_eq!(dev.kv_retrieve_vec(b"c", 4).unwrap(), b"hint only");
}

#[test]
fn keys_and_values_are_size_checked() {
    let dev = kv("8MiB?kv=1&mdts=1");
    for bad in [&b""[..], &[7u8; 17][..]] {
        assert_eq!(
            out_of_range_what(dev.kv_store(bad, b"v", KvStoreOpts::default())),
            "key"
        );
        assert_eq!(out_of_range_what(dev.kv_exist(bad)), "key");
        assert_eq!(out_of_range_what(dev.kv_delete(bad)), "key");
        assert_eq!(
            out_of_range_what(dev.kv_retrieve(bad, &mut [0; 4], false)),
            "key"
        );
        assert_eq!(out_of_range_what(dev.kv_list(bad, 64)), "key");
    }
    // MDTS 1: 8 KiB values at most.
    dev.kv_store(b"max", &vec![1u8; 8192], KvStoreOpts::default())
        .unwrap();
    assert_eq!(
        status_of(dev.kv_store(b"over", &vec![1u8; 8193], KvStoreOpts::default())),
        (sct::GENERIC, status::INVALID_VALUE_SIZE)
    );
    assert_eq!(invalid_what(dev.kv_list(b"a", 6)), "list buffer");
}

#[test]
fn list_returns_keys_in_order_from_the_start_key() {
    let dev = kv("8MiB?kv=1");
    for k in ["pear", "apple", "fig", "banana", "0123456789abcdef"] {
        dev.kv_store(k.as_bytes(), b"x", KvStoreOpts::default())
            .unwrap();
    }
    let all = dev.kv_list(b"0", 4096).unwrap();
    assert_eq!(all.reported, 5);
    let keys: Vec<&[u8]> = all.keys.iter().map(Vec::as_slice).collect();
    assert_eq!(
        keys,
        [
            &b"0123456789abcdef"[..],
            b"apple",
            b"banana",
            b"fig",
            b"pear"
        ]
    );
    let from_b = dev.kv_list(b"b", 4096).unwrap();
    assert_eq!(
        from_b.keys,
        [b"banana".to_vec(), b"fig".to_vec(), b"pear".to_vec()]
    );
    // 4 + 8 ("banana": 2 + 6) + 8 ("fig" padded) = 20 bytes hold two keys.
    let two = dev.kv_list(b"b", 20).unwrap();
    assert_eq!(two.reported, 2);
    assert_eq!(two.keys, [b"banana".to_vec(), b"fig".to_vec()]);
    assert!(dev.kv_list(b"q", 64).unwrap().keys.is_empty());
}

#[test]
fn capacity_bounds_what_is_stored() {
    let dev = kv("8KiB?kv=1");
    dev.kv_store(b"a", &vec![0u8; 8000], KvStoreOpts::default())
        .unwrap();
    assert_eq!(
        status_of(dev.kv_store(b"b", &vec![0u8; 500], KvStoreOpts::default())),
        (sct::GENERIC, sc::CAPACITY_EXCEEDED)
    );
    // Replacing a value frees the old one first.
    dev.kv_store(b"a", &vec![0u8; 8100], KvStoreOpts::default())
        .unwrap();
}

#[test]
fn nvm_commands_do_not_reach_a_kv_namespace() {
    let dev = kv("8MiB?kv=1");
    assert_eq!(status_of(dev.flush()), (sct::GENERIC, sc::INVALID_OPCODE));
    // KV commands on an NVM namespace: Store shares Write's opcode, so the
    // NVM namespace sees a malformed write; Exist is not an NVM opcode.
    let nvm = kv("8MiB");
    assert_eq!(
        status_of(nvm.kv_exist(b"k")),
        (sct::GENERIC, sc::INVALID_OPCODE)
    );
}
