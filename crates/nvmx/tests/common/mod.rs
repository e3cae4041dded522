//! Targets shared by the integration tests: every backend configuration of
//! this platform that runs without hardware, each with a URI it can open.

#![allow(dead_code)]

use std::path::PathBuf;

use nvmx::{Device, Options};

/// A configuration and the URI it is tested on.
pub struct Target {
    /// The configuration name (`--be`).
    pub be: &'static str,
    /// The URI.
    pub uri: String,
    /// Whether the async engine moves data (`nil` does not).
    pub moves_data: bool,
    _tmp: Option<TempFile>,
}

/// A file removed when dropped.
pub struct TempFile(pub PathBuf);

impl Drop for TempFile {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A fresh sparse file of `nbytes` in the temp directory.
pub fn temp_file(tag: &str, nbytes: u64) -> TempFile {
    use std::sync::atomic::{AtomicU32, Ordering};
    static N: AtomicU32 = AtomicU32::new(0);
    let p = std::env::temp_dir().join(format!(
        "nvmx-test-{}-{}-{}.img",
        std::process::id(),
        tag,
        N.fetch_add(1, Ordering::Relaxed)
    ));
    let f = std::fs::File::create(&p).expect("create temp file");
    f.set_len(nbytes).expect("size temp file");
    TempFile(p)
}

/// Every configuration with a target it can open here, 8 MiB each.
pub fn targets() -> Vec<Target> {
    let mut v = Vec::new();
    for be in ["ramdisk", "ramdisk_emu", "ramdisk_thrpool"] {
        v.push(Target {
            be,
            uri: "8MiB".into(),
            moves_data: be != "ramdisk",
            _tmp: None,
        });
    }
    // 4 KiB logical blocks (LBA format 2) with a smaller MDTS (128 KiB).
    v.push(Target {
        be: "ramdisk_thrpool",
        uri: "8MiB?lbaf=2&mdts=5".into(),
        moves_data: true,
        _tmp: None,
    });
    for be in ["emu_file", "thrpool_file", "nil_file"] {
        let t = temp_file(be, 8 << 20);
        v.push(Target {
            be,
            uri: t.0.to_string_lossy().into_owned(),
            moves_data: be != "nil_file",
            _tmp: Some(t),
        });
    }
    v
}

impl Target {
    /// Opens the target with its configuration forced by `--be`.
    pub fn open(&self) -> Device {
        let opts = Options {
            be: Some(self.be.into()),
            ..Default::default()
        };
        match Device::open(&self.uri, &opts) {
            Ok(d) => d,
            Err(e) => panic!("{}: open {:?} failed: {e}", self.be, self.uri),
        }
    }
}
