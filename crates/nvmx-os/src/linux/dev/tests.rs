//! Enumeration over fake sysfs trees shaped like the kernel's.

use std::os::unix::fs::symlink;
use std::path::{Path, PathBuf};

use super::*;

struct Tree(PathBuf);

impl Drop for Tree {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

impl Tree {
    fn new(tag: &str) -> Tree {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let p = std::env::temp_dir().join(format!(
            "nvmx-sysfs-{tag}-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::Relaxed)
        ));
        std::fs::create_dir_all(&p).unwrap();
        Tree(p)
    }

    fn dir(&self, rel: &str) -> PathBuf {
        let p = self.0.join(rel);
        std::fs::create_dir_all(&p).unwrap();
        p
    }

    fn attr(&self, rel: &str, value: &str) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, format!("{value}\n")).unwrap();
    }

    /// A symlink at `rel` to `target` (both relative to the root).
    fn link(&self, rel: &str, target: &str) {
        let p = self.0.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        symlink(self.0.join(target), p).unwrap();
    }

    fn pci_function(&self, bdf: &str, class: &str, driver: Option<&str>) -> String {
        let dev = format!("devices/pci0000:00/{bdf}");
        self.dir(&dev);
        self.attr(&format!("{dev}/class"), class);
        if let Some(d) = driver {
            self.dir(&format!("bus/pci/drivers/{d}"));
            self.link(&format!("{dev}/driver"), &format!("bus/pci/drivers/{d}"));
        }
        self.link(&format!("bus/pci/devices/{bdf}"), &dev);
        dev
    }

    fn controller(&self, parent: &str, name: &str, bdf: Option<&str>) -> String {
        let ctrl = format!("{parent}/nvme/{name}");
        self.dir(&ctrl);
        for (k, v) in [
            ("model", "QEMU NVMe Ctrl"),
            ("serial", &format!("beef-{name}")),
            ("firmware_rev", "8.0.0"),
            ("transport", "pcie"),
            ("subsysnqn", &format!("nqn.2019-08.org.qemu:{name}")),
        ] {
            self.attr(&format!("{ctrl}/{k}"), v);
        }
        if let Some(b) = bdf {
            self.link(
                &format!("{ctrl}/device"),
                &format!("devices/pci0000:00/{b}"),
            );
        }
        self.link(&format!("class/nvme/{name}"), &ctrl);
        ctrl
    }

    fn block_ns(&self, parent: &str, name: &str, nsid: u32, zoned: &str) {
        let d = format!("{parent}/{name}");
        self.attr(&format!("{d}/nsid"), &nsid.to_string());
        self.attr(&format!("{d}/queue/zoned"), zoned);
        self.link(&format!("class/block/{name}"), &d);
    }

    fn generic_ns(&self, parent: &str, name: &str) {
        let d = format!("{parent}/{name}");
        self.dir(&d);
        self.link(&format!("class/nvme-generic/{name}"), &d);
    }
}

fn find<'a>(v: &'a [EnumEntry], uri: &str) -> &'a EnumEntry {
    v.iter()
        .find(|e| e.uri == uri)
        .unwrap_or_else(|| panic!("{uri} missing from {v:#?}"))
}

#[test]
fn an_empty_or_missing_tree_has_no_devices() {
    let t = Tree::new("empty");
    assert!(enumerate_at(&t.0).unwrap().is_empty());
    assert!(
        enumerate_at(Path::new("/nonexistent/nvmx-sys"))
            .unwrap()
            .is_empty()
    );
}

#[test]
fn controllers_namespaces_and_unbound_functions_are_listed() {
    let t = Tree::new("full");
    let f4 = t.pci_function("0000:00:04.0", "0x010802", Some("nvme"));
    t.pci_function("0000:00:05.0", "0x010802", Some("vfio-pci"));
    t.pci_function("0000:00:06.0", "0x020000", Some("e1000e"));
    t.pci_function("0000:00:07.0", "0x010802", None);
    let c0 = t.controller(&f4, "nvme0", Some("0000:00:04.0"));
    t.block_ns(&c0, "nvme0n1", 1, "none");
    t.generic_ns(&c0, "ng0n1");
    t.block_ns(&c0, "nvme0n2", 2, "host-managed");
    t.generic_ns(&c0, "ng0n2");
    // A Key Value namespace: no block device, only the generic node.
    t.generic_ns(&c0, "ng0n3");
    // Per-path nodes, partitions and other block devices are not listed.
    t.block_ns(&c0, "nvme0c0n1", 1, "none");
    t.block_ns(&format!("{c0}/nvme0n1"), "nvme0n1p1", 1, "none");
    t.block_ns("devices/virtual/block", "loop0", 0, "none");

    let v = enumerate_at(&t.0).unwrap();
    let uris: Vec<&str> = v.iter().map(|e| e.uri.as_str()).collect();
    assert_eq!(
        uris,
        [
            "/dev/nvme0",
            "/dev/nvme0n1",
            "/dev/ng0n1",
            "/dev/nvme0n2",
            "/dev/ng0n2",
            "/dev/ng0n3",
            "0000:00:05.0",
            "0000:00:07.0"
        ]
    );
    let c = find(&v, "/dev/nvme0");
    assert_eq!(
        (c.kind, c.dtype, c.nsid),
        (EnumKind::Controller, DevType::NvmeController, 0)
    );
    assert_eq!(c.pci.as_deref(), Some("0000:00:04.0"));
    assert_eq!(c.kernel_driver.as_deref(), Some("nvme"));
    assert_eq!(c.transport.as_deref(), Some("pcie"));
    assert_eq!(
        (c.model.as_str(), c.serial.as_str(), c.firmware.as_str()),
        ("QEMU NVMe Ctrl", "beef-nvme0", "8.0.0")
    );
    assert_eq!(c.subnqn, "nqn.2019-08.org.qemu:nvme0");

    let b = find(&v, "/dev/nvme0n1");
    assert_eq!(
        (b.kind, b.dtype, b.nsid, b.csi),
        (EnumKind::NamespaceBlock, DevType::NvmeNamespace, 1, 0)
    );
    assert_eq!(
        (b.ctrl.as_deref(), b.pci.as_deref()),
        (Some("nvme0"), Some("0000:00:04.0"))
    );
    let g = find(&v, "/dev/ng0n1");
    assert_eq!((g.kind, g.nsid, g.csi), (EnumKind::NamespaceChar, 1, 0));
    assert_eq!(
        (find(&v, "/dev/nvme0n2").csi, find(&v, "/dev/ng0n2").csi),
        (2, 2)
    );
    let kv = find(&v, "/dev/ng0n3");
    assert_eq!(
        (kv.nsid, kv.csi),
        (0, 0xff),
        "no block sibling: nsid and command set unknown"
    );

    let vfio = find(&v, "0000:00:05.0");
    assert_eq!(
        (vfio.kind, vfio.dtype),
        (EnumKind::PciFunction, DevType::NvmeController)
    );
    assert_eq!(vfio.kernel_driver.as_deref(), Some("vfio-pci"));
    assert_eq!(find(&v, "0000:00:07.0").kernel_driver, None);

    let json = serde_json::to_value(&v).unwrap();
    assert_eq!(json[0]["kind"], "controller");
    assert_eq!(json[0]["dtype"], 1);
    assert_eq!(json[1]["kind"], "namespace_block");
    assert_eq!(json[6]["pci"], "0000:00:05.0");
    assert!(json[7]["kernel_driver"].is_null());
}

#[test]
fn multipath_namespaces_belong_to_the_subsystems_first_controller() {
    let t = Tree::new("mpath");
    let f8 = t.pci_function("0000:00:08.0", "0x010802", Some("nvme"));
    let c1 = t.controller(&f8, "nvme1", Some("0000:00:08.0"));
    let subsys = "devices/virtual/nvme-subsystem/nvme-subsys1";
    t.attr(
        &format!("{subsys}/subsysnqn"),
        "nqn.2019-08.org.qemu:subsys1",
    );
    t.link(&format!("{subsys}/nvme1"), &c1);
    t.block_ns(subsys, "nvme1n1", 7, "none");
    t.attr(&format!("{subsys}/nvme1n1/csi"), "0");
    t.generic_ns(subsys, "ng1n1");
    // The per-path node under the controller is not a namespace node.
    t.block_ns(&c1, "nvme1c1n1", 7, "none");

    let v = enumerate_at(&t.0).unwrap();
    let uris: Vec<&str> = v.iter().map(|e| e.uri.as_str()).collect();
    assert_eq!(uris, ["/dev/nvme1", "/dev/nvme1n1", "/dev/ng1n1"]);
    for uri in ["/dev/nvme1n1", "/dev/ng1n1"] {
        let e = find(&v, uri);
        assert_eq!(e.nsid, 7, "{uri}");
        assert_eq!(e.csi, 0, "{uri}");
        assert_eq!(e.subnqn, "nqn.2019-08.org.qemu:subsys1", "{uri}");
        assert_eq!(e.ctrl.as_deref(), Some("nvme1"), "{uri}");
        assert_eq!(e.kernel_driver.as_deref(), Some("nvme"), "{uri}");
        assert_eq!(e.pci.as_deref(), Some("0000:00:08.0"), "{uri}");
    }
}

#[test]
fn fabrics_controllers_have_no_pci_address() {
    let t = Tree::new("tcp");
    let ctrl = "devices/virtual/nvme-fabrics/ctl/nvme2";
    t.attr(&format!("{ctrl}/transport"), "tcp");
    t.attr(
        &format!("{ctrl}/subsysnqn"),
        "nqn.2014-08.org.nvmexpress:uuid:1",
    );
    t.link("class/nvme/nvme2", ctrl);
    let v = enumerate_at(&t.0).unwrap();
    assert_eq!(v.len(), 1);
    assert_eq!((v[0].pci.clone(), v[0].kernel_driver.clone()), (None, None));
    assert_eq!(v[0].transport.as_deref(), Some("tcp"));
}
