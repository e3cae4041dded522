//! Transfer limits on a controller with a small MDTS (QEMU guest, label
//! SMALLMDTS: MDTS 2, 16 KiB with 4 KiB pages): the largest transfer
//! works, one block more is refused before the device naming MDTS, and a
//! raw command past the kernel's limit is refused naming that limit.

use nvmx::be::DataBuf;
use nvmx::spec::cmd::NvmRw;
use nvmx::{Device, Error, Options};

use crate::common;

#[test]
#[ignore = "needs the QEMU guest's NVMe devices: run by testrig/vm/guest-suite.sh"]
fn small_mdts_is_enforced_by_name_through_every_nvme_path() {
    let (Some(cdev), Some(bdev)) = (
        common::env_var(common::GUEST, "NVMX_DEV_SMALLMDTS_CDEV"),
        common::env_var(common::GUEST, "NVMX_DEV_SMALLMDTS_BDEV"),
    ) else {
        return;
    };
    for (uri, be) in [
        (&cdev, "emu"),
        (&cdev, "io_uring_cmd"),
        (&bdev, "io_uring"),
        (&bdev, "libaio"),
    ] {
        let opts = Options {
            be: Some(be.into()),
            ..Default::default()
        };
        let dev = Device::open(uri, &opts).unwrap();
        let g = dev.geometry().unwrap().clone();
        assert_eq!(g.mdts_nbytes, 16 << 10, "{be}: MDTS 2 with 4 KiB pages");
        let max_nlb = (g.mdts_nbytes / g.lba_nbytes - 1) as u16;
        let data = vec![0xa5u8; g.mdts_nbytes as usize];
        dev.write(0, max_nlb, &data, None).unwrap();
        let big = vec![0u8; (g.mdts_nbytes + g.lba_nbytes) as usize];
        let e = dev.write(0, max_nlb + 1, &big, None).unwrap_err();
        assert!(
            matches!(
                e,
                Error::TooLarge {
                    limit_name: "MDTS bytes",
                    limit: 16384,
                    ..
                }
            ),
            "{be}: {e}"
        );
        let mut q = dev.queue(4).unwrap();
        let r = q
            .write(0, max_nlb + 1, dev.alloc(big.len()).unwrap(), None, 1)
            .unwrap_err();
        assert!(
            matches!(
                r.error,
                Error::TooLarge {
                    limit_name: "MDTS bytes",
                    ..
                }
            ),
            "{be}: {}",
            r.error
        );
        q.read(0, max_nlb, dev.alloc(data.len()).unwrap(), None, 2)
            .unwrap();
        q.drain().unwrap();
        let c = q.pop().unwrap();
        c.result.unwrap();
        assert_eq!(&c.data.unwrap()[..], &data[..], "{be}");
    }
    // A raw command past the limit skips nvmx's MDTS check; the kernel's
    // per-command limit (max_hw_sectors_kb) is checked and named.
    let dev = Device::open(&cdev, &Options::default()).unwrap();
    let mut cmd = NvmRw {
        opc: 0x02,
        nsid: dev.nsid(),
        slba: 0,
        nlb: 4,
        ..Default::default()
    }
    .to_command();
    let mut buf = vec![0u8; 5 * 4096];
    let e = dev
        .cmd_io(&mut cmd, DataBuf::In(&mut buf), DataBuf::None)
        .unwrap_err();
    assert!(
        matches!(e, Error::TooLarge { len: 20480, limit_name, .. } if limit_name.contains("max_hw_sectors_kb")),
        "{e}"
    );
}
