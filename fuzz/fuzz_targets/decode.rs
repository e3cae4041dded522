//! Every decoder of device-supplied bytes in `nvmx-spec` on arbitrary
//! input: identify data, log pages, FDP logs, zone reports, directive and
//! key-value buffers, registers, PI tuples, commands and completions. None
//! may panic, loop without end or read out of bounds, and what it decodes
//! must render (Debug, JSON) and keep its counts within the input.
//!
//! The first three bytes pick the parameters some decoders take (a slot,
//! an opcode, a descriptor extension size); the rest is the buffer.

#![no_main]

use libfuzzer_sys::fuzz_target;
use nvmx_spec::{Command, Completion, Status, directive, fdp, identify, kv, log, pi, regs, zoned};
use zerocopy::FromBytes;

/// Reads a `T` from the front of the buffer and renders it.
fn decode<
    T: FromBytes + zerocopy::KnownLayout + zerocopy::Immutable + std::fmt::Debug + serde::Serialize,
>(
    b: &[u8],
) -> Option<T> {
    let (v, _) = T::read_from_prefix(b).ok()?;
    let _ = format!("{v:?}");
    let _ = serde_json::to_string(&v);
    Some(v)
}

fn identify_data(b: &[u8]) {
    if let Some(c) = decode::<identify::IdentifyController>(b) {
        let _ = (c.serial(), c.model(), c.firmware(), c.subnqn());
        assert!(c.power_states().len() <= 32);
    }
    if let Some(n) = decode::<identify::IdentifyNamespace>(b) {
        assert!(n.lbafs().len() <= 64);
    }
    decode::<identify::IdentifyNvmController>(b);
    decode::<identify::IdentifyNvmNamespace>(b);
    decode::<identify::IdentifyZonedController>(b);
    decode::<identify::IdentifyZonedNamespace>(b);
    if let Some(k) = decode::<identify::IdentifyKvNamespace>(b) {
        assert!(k.kv_formats().len() <= 16);
    }
    if let Some(l) = decode::<identify::NamespaceList>(b) {
        assert!(l.len() <= 1024 && l.iter().count() <= 1024);
    }
    if let Some(l) = decode::<identify::ControllerList>(b) {
        assert!(l.ids().len() <= 2047);
    }
    decode::<identify::IoCommandSetVectors>(b);
    let _ = identify::trimmed_str(b);
    let mut used = 0;
    for d in identify::NsIdDescriptorIter::new(b) {
        let _ = (d.csi(), d.id16(), d.eui64(), serde_json::to_string(&d));
        used += d.nid.len() + 4;
    }
    assert!(used <= b.len(), "descriptors claim more than the buffer");
}

fn log_pages(b: &[u8], slot: u8, opc: u8) {
    decode::<log::SupportedLogPages>(b);
    if let Some(e) = decode::<log::ErrorInfoEntry>(b) {
        let _ = (e.status().to_string(), e.is_valid());
    }
    if let Some(s) = decode::<log::SmartHealthLog>(b) {
        let _ = (
            s.temperature_celsius(),
            s.data_units_read(),
            s.media_errors(),
        );
    }
    if let Some(f) = decode::<log::FirmwareSlotLog>(b) {
        let _ = (f.active_slot(), f.next_slot(), f.revision(slot));
    }
    if let Some(c) = decode::<log::CommandsSupportedEffects>(b) {
        let _ = (c.admin(opc), c.io(opc), c.io_supported(opc));
    }
    if let Some(s) = decode::<log::SanitizeStatusLog>(b) {
        let _ = (s.status(), s.progress_percent(), s.global_data_erased());
    }
    if let Some(z) = decode::<log::ChangedZoneList>(b) {
        let _ = (z.overflowed(), z.zids().len());
    }
    decode::<fdp::FdpStatsLog>(b);
    if let Some(l) = fdp::FdpConfigLog::parse(b) {
        for c in l.configs().take(256) {
            let _ = c.ruhs().count();
        }
    }
    if let Some(l) = fdp::RuhUsageLog::parse(b) {
        assert!(l.descriptors().count() <= b.len());
    }
    if let Some(l) = fdp::FdpEventsLog::parse(b) {
        assert!(l.events().count() <= b.len());
    }
    if let Some(l) = fdp::RuhStatus::parse(b) {
        assert!(l.descriptors().count() <= b.len());
    }
}

fn zone_reports(b: &[u8], ext: usize) {
    decode::<zoned::ZoneReportHeader>(b);
    if let Some(d) = decode::<zoned::ZoneDescriptor>(b) {
        let _ = (d.zone_type(), d.state(), d.has_extension());
    }
    if let Some(r) = zoned::ZoneReport::parse(b, ext) {
        let n = r.iter().count();
        assert_eq!(n, r.len(), "report length and iteration disagree");
        assert!(zoned::report_nbytes(n, ext) <= b.len().max(64));
        for z in &r {
            let _ = format!("{z:?}");
        }
    }
}

fn directives_and_kv(b: &[u8]) {
    if let Some(p) = decode::<directive::IdentifyDirectiveParams>(b) {
        for t in 0..=255u8 {
            let _ = (p.is_supported(t), p.is_enabled(t));
        }
    }
    decode::<directive::StreamsParams>(b);
    assert!(directive::stream_status_ids(b).count() <= b.len() / 2);
    let _ = kv::KvListIter::reported(b);
    assert!(kv::KvListIter::new(b).count() <= b.len());
    let _ = kv::key_from_slice(b);
}

fn entries_and_registers(b: &[u8]) {
    if let Some(cpl) = decode::<Completion>(b) {
        let st = cpl.status();
        let _ = (st.to_string(), st.name(), st.sct_name(), cpl.result64());
        assert_eq!(cpl.is_success(), st.is_success());
    }
    if let Some(cmd) = decode::<Command>(b) {
        let _ = format!("{:?}", log::GetLogPage::from_command(&cmd));
        let _ = format!("{:?}", identify::Identify::from_command(&cmd));
        let _ = format!("{:?}", zoned::ZoneMgmtRecv::from_command(&cmd));
        let _ = format!("{:?}", zoned::ZoneMgmtSend::from_command(&cmd));
        let _ = format!("{:?}", directive::Directive::from_command(&cmd));
        let _ = format!("{:?}", kv::KvList::from_command(&cmd));
        let _ = format!("{:?}", fdp::IoMgmtRecv::from_command(&cmd));
    }
    if b.len() >= 2 {
        let st = Status::from_raw(u16::from_le_bytes([b[0], b[1]]));
        let _ = (st.to_string(), st.name(), st.sct_name());
        assert_eq!(Status::from_raw(st.to_raw()), st, "status round trip");
    }
    if let Some(r) = decode::<regs::ControllerRegisters>(b) {
        let _ = (
            r.cap.mqes(),
            r.cap.timeout_ms(),
            r.cap.doorbell_stride_bytes(),
        );
    }
    if let Some(t) = decode::<pi::Pi16>(b) {
        let _ = (t.guard(), t.apptag(), t.reftag());
    }
    if let Some(t) = decode::<pi::Pi64>(b) {
        for sts in [0u8, 16, 47, 48, 64, 255] {
            let _ = (t.reftag(sts), t.storage_tag(sts));
        }
    }
    let _ = (pi::crc16_t10dif(0, b), pi::crc32c(b), pi::crc64_nvme(b));
}

fuzz_target!(|input: &[u8]| {
    let (params, b) = input.split_at(input.len().min(3));
    let slot = params.first().copied().unwrap_or(0);
    let opc = params.get(1).copied().unwrap_or(0);
    let ext = usize::from(params.get(2).copied().unwrap_or(0)) * 4;
    identify_data(b);
    log_pages(b, slot, opc);
    zone_reports(b, ext);
    directives_and_kv(b);
    entries_and_registers(b);
});
