//! Property tests: every decoder of device-supplied bytes (identify data,
//! log pages, zone reports, FDP logs, directive and key-value buffers,
//! commands and completions) takes arbitrary bytes of any length without
//! panicking, and its output (Debug, JSON, accessors) can be produced.
//!
//! Failing inputs are kept beside this file in
//! `prop_decode.proptest-regressions` (commit it) and replayed first on
//! every run.

use nvmx_spec::{Command, Completion, Status, directive, fdp, identify, kv, log, zoned};
use proptest::prelude::*;
use proptest::test_runner::FileFailurePersistence;
use zerocopy::FromBytes;

/// Decodes a `T` from the front of `b` when it is long enough, and
/// renders it every way the crate offers (not under Miri: rendering a
/// 4 KiB structure is safe code that costs Miri a minute).
macro_rules! decode {
    ($t:ty, $b:expr) => {
        if let Ok((v, _)) = <$t>::read_from_prefix($b) {
            if !cfg!(miri) {
                let _ = format!("{v:?}");
                let _ = serde_json::to_string(&v);
            }
            Some(v)
        } else {
            None
        }
    };
}

/// 1024 cases, or `PROPTEST_CASES` when set (testrig/miri.sh runs a few
/// under Miri).
fn config() -> ProptestConfig {
    ProptestConfig {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1024),
        failure_persistence: Some(Box::new(FileFailurePersistence::WithSource(
            "proptest-regressions",
        ))),
        ..ProptestConfig::default()
    }
}

/// Bytes up to a little over one 4 KiB identify page, biased to short
/// lengths where the bounds checks are.
///
/// Under Miri the bytes come from a seeded generator instead: proptest's
/// tree of one value per byte costs minutes per case there.
fn bytes() -> BoxedStrategy<Vec<u8>> {
    if cfg!(miri) {
        return (any::<u64>(), prop_oneof![0usize..64, 0usize..4200])
            .prop_map(|(seed, len)| {
                let mut x = seed | 1;
                (0..len)
                    .map(|_| {
                        x ^= x << 13;
                        x ^= x >> 7;
                        x ^= x << 17;
                        x as u8
                    })
                    .collect()
            })
            .boxed();
    }
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..64),
        proptest::collection::vec(any::<u8>(), 0..4200),
    ]
    .boxed()
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn identify_structures_decode_any_bytes(b in bytes()) {
        if let Some(c) = decode!(identify::IdentifyController, &b) {
            let _ = (c.serial(), c.model(), c.firmware(), c.subnqn(), c.power_states().len());
        }
        if let Some(n) = decode!(identify::IdentifyNamespace, &b) {
            for f in n.lbafs() {
                let _ = format!("{f:?}");
            }
        }
        decode!(identify::IdentifyNvmController, &b);
        decode!(identify::IdentifyNvmNamespace, &b);
        decode!(identify::IdentifyZonedController, &b);
        decode!(identify::IdentifyZonedNamespace, &b);
        if let Some(k) = decode!(identify::IdentifyKvNamespace, &b) {
            prop_assert!(k.kv_formats().len() <= 16);
        }
        if let Some(l) = decode!(identify::NamespaceList, &b) {
            prop_assert!(l.iter().count() <= 1024);
            prop_assert!(l.len() <= 1024);
        }
        if let Some(l) = decode!(identify::ControllerList, &b) {
            prop_assert!(l.ids().len() <= 2047);
        }
        decode!(identify::IoCommandSetVectors, &b);
        let _ = identify::trimmed_str(&b);
        let mut total = 0;
        for d in identify::NsIdDescriptorIter::new(&b) {
            let _ = (d.csi(), d.id16(), d.eui64(), serde_json::to_string(&d));
            total += d.nid.len() + 4;
        }
        prop_assert!(total <= b.len());
    }

    #[test]
    fn log_pages_decode_any_bytes(b in bytes(), slot in any::<u8>(), opc in any::<u8>()) {
        decode!(log::SupportedLogPages, &b);
        if let Some(e) = decode!(log::ErrorInfoEntry, &b) {
            let _ = (e.status().to_string(), e.is_valid());
        }
        if let Some(s) = decode!(log::SmartHealthLog, &b) {
            let _ = (s.temperature_celsius(), s.data_units_read(), s.media_errors());
        }
        if let Some(f) = decode!(log::FirmwareSlotLog, &b) {
            let _ = (f.active_slot(), f.next_slot(), f.revision(slot));
        }
        if let Some(c) = decode!(log::CommandsSupportedEffects, &b) {
            let _ = (c.admin(opc), c.io(opc), c.io_supported(opc));
        }
        if let Some(s) = decode!(log::SanitizeStatusLog, &b) {
            let _ = (s.status(), s.progress_percent(), s.global_data_erased());
        }
        if let Some(z) = decode!(log::ChangedZoneList, &b) {
            let _ = (z.overflowed(), z.zids().len());
        }
        decode!(fdp::FdpStatsLog, &b);
        if let Some(l) = fdp::FdpConfigLog::parse(&b) {
            for c in l.configs().take(64) {
                let _ = c.ruhs().count();
            }
        }
        if let Some(l) = fdp::RuhUsageLog::parse(&b) {
            let _ = l.descriptors().count();
        }
        if let Some(l) = fdp::FdpEventsLog::parse(&b) {
            let _ = l.events().count();
        }
        if let Some(l) = fdp::RuhStatus::parse(&b) {
            let _ = l.descriptors().count();
        }
    }

    #[test]
    fn zone_reports_decode_any_bytes(b in bytes(), ext in prop_oneof![Just(0usize), Just(64), 0usize..300]) {
        decode!(zoned::ZoneReportHeader, &b);
        if let Some(d) = decode!(zoned::ZoneDescriptor, &b) {
            let _ = (d.zone_type(), d.state(), d.has_extension());
        }
        if let Some(r) = zoned::ZoneReport::parse(&b, ext) {
            let n = r.iter().count();
            prop_assert_eq!(n, r.len());
            prop_assert!(zoned::report_nbytes(n, ext) <= b.len().max(64));
            for z in &r {
                let _ = format!("{z:?}");
            }
        }
    }

    #[test]
    fn directive_and_key_value_buffers_decode_any_bytes(b in bytes()) {
        if let Some(p) = decode!(directive::IdentifyDirectiveParams, &b) {
            for t in 0..=255u8 {
                let _ = (p.is_supported(t), p.is_enabled(t));
            }
        }
        decode!(directive::StreamsParams, &b);
        prop_assert!(directive::stream_status_ids(&b).count() <= b.len() / 2);
        let _ = kv::KvListIter::reported(&b);
        prop_assert!(kv::KvListIter::new(&b).count() <= b.len());
        let _ = kv::key_from_slice(&b);
    }

    #[test]
    fn commands_and_completions_decode_any_bytes(b in proptest::collection::vec(any::<u8>(), 0..80), raw in any::<u16>()) {
        if let Some(cpl) = decode!(Completion, &b) {
            let st = cpl.status();
            let _ = (st.to_string(), format!("{st:?}"), st.name(), st.sct_name(), cpl.result64());
            prop_assert_eq!(cpl.is_success(), st.is_success());
        }
        if let Some(cmd) = decode!(Command, &b) {
            let _ = format!("{:?}", log::GetLogPage::from_command(&cmd));
            let _ = format!("{:?}", identify::Identify::from_command(&cmd));
            let _ = format!("{:?}", zoned::ZoneMgmtRecv::from_command(&cmd));
            let _ = format!("{:?}", zoned::ZoneMgmtSend::from_command(&cmd));
            let _ = format!("{:?}", directive::Directive::from_command(&cmd));
            let _ = format!("{:?}", kv::KvList::from_command(&cmd));
            let _ = format!("{:?}", fdp::IoMgmtRecv::from_command(&cmd));
        }
        let st = Status::from_raw(raw);
        let _ = (st.to_string(), st.name(), st.sct_name());
        prop_assert_eq!(Status::from_raw(st.to_raw()), st);
    }
}
