//! Host tests of FreeBSD device-name parsing and the `/dev` walk.

use std::path::Path;

use super::*;

#[test]
fn parses_nvme_node_names() {
    use NodeName::*;
    assert_eq!(parse_node_name("nvme0"), Some(Controller { ctrl: 0 }));
    assert_eq!(parse_node_name("nvme12"), Some(Controller { ctrl: 12 }));
    assert_eq!(
        parse_node_name("nvme0ns1"),
        Some(Namespace { ctrl: 0, nsid: 1 })
    );
    assert_eq!(
        parse_node_name("/dev/nvme3ns42"),
        Some(Namespace { ctrl: 3, nsid: 42 })
    );
    assert_eq!(parse_node_name("nda0"), Some(Nda { unit: 0 }));
    assert_eq!(parse_node_name("/dev/nda7"), Some(Nda { unit: 7 }));
    for name in [
        &Controller { ctrl: 4 },
        &Namespace { ctrl: 1, nsid: 9 },
        &Nda { unit: 2 },
    ] {
        assert_eq!(parse_node_name(&name.name()).as_ref(), Some(name));
    }
}

#[test]
fn rejects_other_names() {
    for name in [
        "nvme",
        "nvmens1",
        "nvme0ns",
        "nvme0ns0",
        "nvme01",
        "nvme0ns01",
        "nvme-1",
        "nvme+1",
        "nvme0n1",
        "nvme0ns1p1",
        "nda",
        "nda0p1",
        "nda0s1a",
        "nvd0",
        "ada0",
        "nvme99999999999",
        "",
    ] {
        assert_eq!(parse_node_name(name), None, "{name}");
    }
}

#[test]
fn entries_for_each_kind() {
    let dir = Path::new("/dev");
    let c = NodeName::Controller { ctrl: 1 }.entry(dir, None);
    assert_eq!(c.uri, "/dev/nvme1");
    assert_eq!(c.kind, EnumKind::Controller);
    assert_eq!(c.dtype, DevType::NvmeController);
    assert_eq!((c.nsid, c.ctrl.as_deref()), (0, Some("nvme1")));
    let n = NodeName::Namespace { ctrl: 1, nsid: 2 }.entry(dir, None);
    assert_eq!(n.uri, "/dev/nvme1ns2");
    assert_eq!(n.kind, EnumKind::NamespaceChar);
    assert_eq!(n.dtype, DevType::NvmeNamespace);
    assert_eq!((n.nsid, n.ctrl.as_deref(), n.csi), (2, Some("nvme1"), 0xff));
    let d = NodeName::Nda { unit: 0 }.entry(dir, Some(("nvme1".into(), 2)));
    assert_eq!(d.uri, "/dev/nda0");
    assert_eq!(d.kind, EnumKind::NamespaceBlock);
    assert_eq!((d.nsid, d.ctrl.as_deref()), (2, Some("nvme1")));
    let d = NodeName::Nda { unit: 0 }.entry(dir, None);
    assert_eq!((d.nsid, d.ctrl), (0, None));
}

#[test]
fn walks_a_fake_dev_directory_in_order() {
    let dir = std::env::temp_dir().join(format!("nvmx-fbsd-dev-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for name in [
        "nda1", "nvme1", "nvme0ns2", "nvme0", "nda0", "nda0p1", "nvme0ns1", "null", "ada0",
        "nvme10",
    ] {
        std::fs::write(dir.join(name), b"").unwrap();
    }
    let mut asked = Vec::new();
    let list = enumerate_at(&dir, |p| {
        let name = p.file_name().unwrap().to_str().unwrap().to_string();
        asked.push(name.clone());
        (name == "nda0").then(|| ("nvme0".to_string(), 1))
    })
    .unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let names: Vec<&str> = list
        .iter()
        .map(|e| e.uri.rsplit('/').next().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "nvme0", "nvme1", "nvme10", "nvme0ns1", "nvme0ns2", "nda0", "nda1"
        ]
    );
    assert_eq!(asked, ["nda0", "nda1"]);
    assert_eq!(list[5].nsid, 1);
    assert_eq!(list[6].nsid, 0);
    let e = enumerate_at(&dir, |_| None).unwrap_err().to_string();
    assert!(e.contains("read_dir"), "{e}");
}
