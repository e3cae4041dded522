//! Both io_uring engines driven directly through `EngineParams`.

use super::*;

// --- engines driven directly ------------------------------------------------

/// The psync interface of a file, with the parameters of a 512-byte
/// namespace, for engine-level tests.
struct Rig {
    sync: Arc<dyn SyncIo>,
    opts: Options,
    _f: TempFile,
}

impl Rig {
    fn new(tag: &str, opts: Options) -> Rig {
        let f = temp_in(&std::env::temp_dir(), tag, 1 << 20);
        let uri = Uri::parse(f.path()).unwrap();
        let be = nvmx::be::file::open(&uri, &opts).unwrap();
        Rig {
            sync: be.sync,
            opts,
            _f: f,
        }
    }

    fn params(&self, capacity: u32) -> EngineParams<'_> {
        EngineParams {
            sync: &self.sync,
            capacity,
            ssw: 9,
            lba_nbytes: BS as u32,
            opts: &self.opts,
        }
    }
}

fn wait_all(e: &mut dyn AsyncEngine, n: u32) -> Vec<(u32, nvmx::Result<Completion>)> {
    let mut got = Vec::new();
    let start = Instant::now();
    while (got.len() as u32) < n {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "engine lost completions"
        );
        e.wait(
            Duration::from_millis(100),
            &mut EngineSink::from_fn(&mut |s, r| got.push((s, r))),
        )
        .unwrap();
    }
    got
}

#[test]
fn engine_wait_returns_after_the_timeout_with_nothing_in_flight() {
    for sq in [false, true] {
        let rig = Rig::new(
            "wait",
            Options {
                poll_sq: sq,
                ..Default::default()
            },
        );
        let mut e = rw::new_engine(&rig.params(8)).unwrap();
        let t = Instant::now();
        let n = e
            .wait(
                Duration::from_millis(150),
                &mut EngineSink::from_fn(&mut |_, _| panic!("nothing was submitted")),
            )
            .unwrap();
        let el = t.elapsed();
        assert_eq!(n, 0);
        assert!(
            el >= Duration::from_millis(140) && el < Duration::from_secs(3),
            "waited {el:?}"
        );
    }
}

#[test]
fn engine_write_read_with_own_buffers() {
    let rig = Rig::new("eng", Options::default());
    let mut e = rw::new_engine(&rig.params(4)).unwrap();
    assert_eq!(e.id(), "io_uring");
    let mut w = vec![0u8; 4 * BS];
    fill_random(&mut w, 5);
    let mut r = vec![0u8; 4 * BS];
    let wc = NvmRw {
        opc: 0x01,
        nsid: 1,
        slba: 10,
        nlb: 3,
        ..Default::default()
    }
    .to_command();
    // SAFETY: `w` outlives the engine's use of it (we wait for slot 0
    // before touching it) and nothing else accesses it meanwhile.
    unsafe { e.submit(0, &wc, raw(&mut w), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    assert_eq!(got[0].0, 0);
    got.into_iter()
        .for_each(|(_, r)| assert!(r.unwrap().is_success()));
    let rc = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 10,
        nlb: 3,
        ..Default::default()
    }
    .to_command();
    // SAFETY: as above, for `r` and slot 3.
    unsafe { e.submit(3, &rc, raw(&mut r), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    assert_eq!(got[0].0, 3);
    assert_eq!(first_difference(&w, &r), None);
}

#[test]
fn engine_explains_a_misaligned_direct_buffer() {
    let rig = Rig::new(
        "misaligned",
        Options {
            direct: true,
            ..Default::default()
        },
    );
    let mut e = rw::new_engine(&rig.params(4)).unwrap();
    let mut v = vec![0u8; 2 * BS + 8];
    let rc = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 0,
        nlb: 0,
        ..Default::default()
    }
    .to_command();
    // SAFETY: `v` stays alive and untouched until slot 0 is reported.
    unsafe { e.submit(0, &rc, raw(&mut v[1..=BS]), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    match &got[0].1 {
        Err(
            err @ Error::Misaligned {
                what: "data buffer",
                ..
            },
        ) => {
            let m = err.to_string();
            assert!(m.contains("Device::alloc"), "{m}");
        }
        // A kernel and device that take any alignment are fine too.
        Ok(_) => println!("misaligned direct read accepted here"),
        Err(err) => panic!("{err}"),
    }
}

#[test]
fn engine_needs_a_file_descriptor() {
    struct NoFd;
    impl SyncIo for NoFd {
        fn id(&self) -> &'static str {
            "nofd"
        }
        fn cmd_io(
            &self,
            _: &mut Command,
            _: DataBuf<'_>,
            _: DataBuf<'_>,
        ) -> nvmx::Result<Completion> {
            Ok(Completion::success(0))
        }
    }
    let sync: Arc<dyn SyncIo> = Arc::new(NoFd);
    let opts = Options::default();
    let p = EngineParams {
        sync: &sync,
        capacity: 4,
        ssw: 9,
        lba_nbytes: 512,
        opts: &opts,
    };
    for (ctor, id) in [
        (rw::new_engine as nvmx::be::EngineCtor, "io_uring"),
        (cmd::new_engine, "io_uring_cmd"),
    ] {
        let m = ctor(&p).err().expect("refused").to_string();
        assert!(
            m.contains(&format!("{id} needs a file descriptor; nofd has none")),
            "{m}"
        );
    }
}

#[test]
fn io_uring_cmd_on_a_regular_file_reports_the_kernels_refusal() {
    for reg in [false, true] {
        let rig = Rig::new(
            "ucmd",
            Options {
                register_files: reg,
                ..Default::default()
            },
        );
        let mut e = cmd::new_engine(&rig.params(8)).unwrap();
        assert_eq!(e.id(), "io_uring_cmd");
        let mut d = vec![0u8; BS];
        let rc = NvmRw {
            opc: 0x02,
            nsid: 1,
            slba: 0,
            nlb: 0,
            ..Default::default()
        }
        .to_command();
        // SAFETY: `d` stays alive and untouched until slot 5 is reported.
        unsafe { e.submit(5, &rc, raw(&mut d), RawBuf::NONE) }.unwrap();
        let got = wait_all(&mut *e, 1);
        assert_eq!(got[0].0, 5);
        let err = got.into_iter().next().unwrap().1.unwrap_err();
        assert!(
            matches!(
                err,
                Error::Io {
                    op: "io_uring_cmd",
                    ..
                }
            ),
            "{err}"
        );
        // A regular file has no uring_cmd handler.
        assert_eq!(err.raw_os_error(), Some(libc::EOPNOTSUPP), "{err}");
        assert!(d.iter().all(|&x| x == 0));
    }
}

#[test]
fn io_uring_cmd_refuses_short_buffers_before_the_kernel() {
    let rig = Rig::new("ucmd-short", Options::default());
    let mut e = cmd::new_engine(&rig.params(4)).unwrap();
    let mut d = vec![0u8; BS];
    let rc = NvmRw {
        opc: 0x02,
        nsid: 1,
        slba: 0,
        nlb: 1,
        ..Default::default()
    }
    .to_command();
    // SAFETY: `d` stays alive and untouched until slot 1 is reported.
    unsafe { e.submit(1, &rc, raw(&mut d), RawBuf::NONE) }.unwrap();
    let got = wait_all(&mut *e, 1);
    let m = got[0].1.as_ref().unwrap_err().to_string();
    assert!(m.contains("512") && m.contains("1024"), "{m}");
}
