//! Tests of the FDP layouts and parsers against TP4146.

use super::*;
use core::mem::offset_of;
use std::vec::Vec;
use zerocopy::IntoBytes;

#[test]
fn config_descriptor_offsets_match_tp4146() {
    assert_eq!(offset_of!(FdpConfigLogHeader, size), 4);
    assert_eq!(offset_of!(FdpConfigDescriptor, fdpa), 2);
    assert_eq!(offset_of!(FdpConfigDescriptor, nrg), 4);
    assert_eq!(offset_of!(FdpConfigDescriptor, nruh), 8);
    assert_eq!(offset_of!(FdpConfigDescriptor, maxpids), 10);
    assert_eq!(offset_of!(FdpConfigDescriptor, nns), 12);
    assert_eq!(offset_of!(FdpConfigDescriptor, runs), 16);
    assert_eq!(offset_of!(FdpConfigDescriptor, erutl), 24);
}

#[test]
fn event_and_status_offsets_match_tp4146() {
    assert_eq!(offset_of!(FdpEvent, pid), 2);
    assert_eq!(offset_of!(FdpEvent, timestamp), 4);
    assert_eq!(offset_of!(FdpEvent, nsid), 12);
    assert_eq!(offset_of!(FdpEvent, type_specific), 16);
    assert_eq!(offset_of!(FdpEvent, rgid), 32);
    assert_eq!(offset_of!(FdpEvent, ruhid), 34);
    assert_eq!(offset_of!(FdpEvent, vs), 40);
    assert_eq!(offset_of!(RuhStatusHeader, nruhsd), 14);
    assert_eq!(offset_of!(RuhStatusDescriptor, earutr), 4);
    assert_eq!(offset_of!(RuhStatusDescriptor, ruamw), 8);
    assert_eq!(offset_of!(FdpStatsLog, mbe), 32);
}

fn config_log() -> Vec<u8> {
    let mut buf = Vec::new();
    let descs: [(u16, u8, &[u8]); 2] = [(2, 0, &[]), (1, 3, &[0xaa, 0xbb, 0xcc])];
    let mut body = Vec::new();
    for (nruh, vss, vs) in descs {
        let ds = 64 + 4 * nruh as usize + vss as usize;
        let d = FdpConfigDescriptor {
            ds: ds as u16,
            fdpa: 0x80 | 0x1,
            vss,
            nrg: 1,
            nruh,
            maxpids: 7,
            nns: 4,
            runs: 1 << 30,
            ..Default::default()
        };
        body.extend_from_slice(d.as_bytes());
        for i in 0..nruh {
            body.extend_from_slice(
                RuhDescriptor {
                    ruht: 1 + (i as u8 % 2),
                    rsvd1: [0; 3],
                }
                .as_bytes(),
            );
        }
        body.extend_from_slice(vs);
    }
    let h = FdpConfigLogHeader {
        ncfg: 1,
        version: 0,
        size: 16 + body.len() as u32,
        ..Default::default()
    };
    buf.extend_from_slice(h.as_bytes());
    buf.extend_from_slice(&body);
    buf.resize(4096, 0);
    buf
}

#[test]
fn config_log_walks_variable_size_descriptors() {
    let buf = config_log();
    let log = FdpConfigLog::parse(&buf).unwrap();
    let configs: Vec<_> = log.configs().collect();
    assert_eq!(configs.len(), 2);
    assert!(configs[0].desc.valid());
    assert_eq!(configs[0].desc.rgif(), 1);
    let ruhts: Vec<_> = configs[0].ruhs().map(|r| RuhType(r.ruht)).collect();
    assert_eq!(
        ruhts,
        [RuhType::INITIALLY_ISOLATED, RuhType::PERSISTENTLY_ISOLATED]
    );
    assert_eq!(configs[1].ruhs().count(), 1);
    assert_eq!(configs[1].vs, &[0xaa, 0xbb, 0xcc]);
    assert_eq!(configs[1].desc.runs, 1 << 30);
}

#[test]
fn config_log_stops_at_a_bad_descriptor_size() {
    let mut buf = config_log();
    buf[16] = 10; // first descriptor claims 10 bytes: less than its own header
    buf[17] = 0;
    assert_eq!(FdpConfigLog::parse(&buf).unwrap().configs().count(), 0);
    assert!(FdpConfigLog::parse(&buf[..8]).is_none());
}

#[test]
fn ruh_usage_and_status_parse_from_unaligned_buffers() {
    let mut raw = std::vec![0u8; 1 + 8 + 3 * 8];
    let buf = &mut raw[1..];
    buf[0] = 3;
    buf[8] = ruha::HOST_SPECIFIED;
    buf[16] = ruha::CONTROLLER_SPECIFIED;
    let log = RuhUsageLog::parse(buf).unwrap();
    let attrs: Vec<u8> = log.descriptors().map(|d| d.ruha).collect();
    assert_eq!(attrs, [1, 2, 0]);

    let mut st = std::vec![0u8; 1 + ruh_status_nbytes(2)];
    let b = &mut st[1..];
    b[14] = 2;
    let d = RuhStatusDescriptor {
        pid: 0x4001,
        ruhid: 1,
        earutr: 60,
        ruamw: 1000,
        ..Default::default()
    };
    b[48..80].copy_from_slice(d.as_bytes());
    let status = RuhStatus::parse(b).unwrap();
    let descs: Vec<_> = status.descriptors().collect();
    assert_eq!(descs.len(), 2);
    assert_eq!(descs[1], d);
}

#[test]
fn records_never_read_past_the_buffer() {
    let buf = [0u8; 16 + 40]; // header + one full descriptor and a partial one
    let status = RuhStatus::parse(&buf).unwrap();
    assert_eq!(status.descriptors().len(), 0, "nruhsd is 0");
    let mut b = buf;
    b[14] = 5;
    assert_eq!(RuhStatus::parse(&b).unwrap().descriptors().count(), 1);
}

#[test]
fn events_log_decodes_events() {
    let mut buf = std::vec![0u8; 64 + 2 * 64];
    buf[0] = 1;
    let mut ev = FdpEvent {
        etype: 0x80,
        flags: fdp_event_flags::PIV | fdp_event_flags::LV,
        pid: 3,
        nsid: 1,
        rgid: 0,
        ruhid: 2,
        ..Default::default()
    };
    ev.timestamp[..6].copy_from_slice(&[0x10, 0x27, 0, 0, 0, 0]);
    buf[64..128].copy_from_slice(ev.as_bytes());
    let log = FdpEventsLog::parse(&buf).unwrap();
    let events: Vec<_> = log.events().collect();
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].event_type(), FdpEventType::MEDIA_REALLOCATED);
    assert_eq!(events[0].timestamp_ms(), 10_000);
    assert_eq!(FdpEventType(0x42).name(), None);
}

#[test]
fn stats_log_decodes_128_bit_counters() {
    let mut s = FdpStatsLog::default();
    s.hbmw[0] = 1;
    s.mbmw[1] = 1;
    s.mbe[15] = 1;
    assert_eq!((s.hbmw(), s.mbmw(), s.mbe()), (1, 256, 1 << 120));
}

#[test]
fn io_mgmt_views_round_trip() {
    let r = IoMgmtRecv::ruh_status(1, ruh_status_nbytes(8));
    let cmd = r.to_command();
    assert_eq!(cmd.opc, 0x12);
    assert_eq!(cmd.cdw10, 1);
    assert_eq!(cmd.cdw11, (16 + 8 * 32) / 4 - 1);
    assert_eq!(IoMgmtRecv::from_command(&cmd), r);

    let s = IoMgmtSend::ruh_update(1, 4);
    let cmd = s.to_command();
    assert_eq!(cmd.opc, 0x1d);
    assert_eq!(cmd.cdw10, 3 << 16 | 1);
    assert_eq!(IoMgmtSend::from_command(&cmd), s);
    let unknown = IoMgmtSend {
        nsid: 1,
        mo: IoMgmtSendOp(0xff),
        mos: 0,
    };
    assert_eq!(
        IoMgmtSend::from_command(&unknown.to_command()).mo,
        IoMgmtSendOp(0xff)
    );
}

#[test]
fn placement_id_packs_reclaim_group_in_upper_bits() {
    assert_eq!(placement_id(0, 5, 0), 5);
    assert_eq!(placement_id(1, 5, 1), 0x8005);
    assert_eq!(placement_id(3, 0xffff, 4), 0x3fff);
}
