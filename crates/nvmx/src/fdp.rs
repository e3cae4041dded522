//! Flexible Data Placement (FDP, NVMe TP4146) on [`Device`].
//!
//! FDP lets the host say where written data goes. The media of an
//! *endurance group* is split into *reclaim groups*, each made of *reclaim
//! units* (RUs, erased as a whole). A *reclaim unit handle* (RUH) points at
//! the RU currently being filled; a namespace is given a list of handles,
//! and a write names one through its *placement identifier* (PID: the
//! reclaim group in the upper RGIF bits, the namespace's placement handle
//! index below) in DSPEC, with DTYPE 2 (data placement).
//!
//! This module reads the four FDP log pages (configurations, reclaim unit
//! handle usage, statistics, events; all scoped to an endurance group by
//! the log specific identifier), gets and sets the two FDP features (FDP
//! mode, FID 0x1D; FDP events, FID 0x1E), runs I/O Management Receive
//! (reclaim unit handle status) and Send (reclaim unit handle update), and
//! writes with a placement identifier. Decoding is done here into owned
//! values; the wire layouts are in [`nvmx_spec::fdp`].

use nvmx_spec::Completion;
use nvmx_spec::cmd::{IoFlags, NvmRw, dtype};
use nvmx_spec::fdp::{
    FdpConfigDescriptor, FdpConfigLog, FdpEvent, FdpEventType, FdpEventsLog, FdpStatsLog,
    IoMgmtRecv, IoMgmtSend, RuhStatus, RuhStatusDescriptor, RuhType, RuhUsageDescriptor,
    RuhUsageLog, placement_id, ruh_status_nbytes,
};
use nvmx_spec::feature::{FdpEventsSelect, FdpMode, FeatureId};
use nvmx_spec::log::{GetLogPage, LogPageId};
use nvmx_spec::opcode::NvmOpcode;
use serde::Serialize;
use zerocopy::FromBytes;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

/// Bytes of the FDP Events log: a 64-byte header and at most 63 events.
pub const FDP_EVENTS_LOG_MAX_NBYTES: usize = 4096;

/// Largest FDP Configurations log read, 64 KiB: room for configurations
/// with hundreds of reclaim unit handles each.
const FDP_CONFIG_LOG_MAX_NBYTES: usize = 64 << 10;

/// One FDP configuration, decoded from the FDP Configurations log.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FdpConfiguration {
    /// The configuration's index (what the FDP mode feature selects).
    pub index: u16,
    /// The fixed part of the descriptor.
    pub desc: FdpConfigDescriptor,
    /// The reclaim unit handle types, indexed by handle identifier.
    pub ruh_types: Vec<RuhType>,
    /// Vendor specific bytes.
    pub vs: Vec<u8>,
}

impl FdpConfiguration {
    /// The placement identifier of reclaim group `rgid` and placement
    /// handle `phndl` under this configuration's RGIF.
    pub fn placement_id(&self, rgid: u16, phndl: u16) -> u16 {
        placement_id(rgid, phndl, self.desc.rgif())
    }
}

/// The FDP Configurations log page (LID 0x20), decoded.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct FdpConfigs {
    /// Number of configurations, zero-based (NCFG).
    pub ncfg: u16,
    /// Log page version.
    pub version: u8,
    /// Size of the log page in bytes.
    pub size: u32,
    /// The configurations, in index order.
    pub configs: Vec<FdpConfiguration>,
}

/// One entry of the FDP events enable list (Get Features FID 0x1E).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct FdpEventSetting {
    /// The event type.
    pub etype: FdpEventType,
    /// Whether the event is enabled for the placement handle.
    pub enabled: bool,
}

fn check_endgid(endgid: u16) -> Result<()> {
    if endgid == 0 {
        return Err(Error::out_of_range(
            "endurance group",
            "0 is not an endurance group identifier; they start at 1",
        ));
    }
    Ok(())
}

impl Device {
    /// Get Log Page `lid` for endurance group `endgid` (the log specific
    /// identifier) into `buf`, with log specific field `lsp`.
    pub fn get_log_page_lsi(
        &self,
        lid: LogPageId,
        lsp: u8,
        endgid: u16,
        buf: &mut [u8],
    ) -> Result<Completion> {
        let glp = GetLogPage {
            lsp,
            lsi: endgid,
            ..GetLogPage::new(lid, 0, buf.len())
        };
        self.get_log(&glp, buf)
    }

    /// The FDP Configurations log (LID 0x20) of endurance group `endgid`.
    pub fn fdp_configs(&self, endgid: u16) -> Result<FdpConfigs> {
        check_endgid(endgid)?;
        // The header says how large the whole page is.
        let mut head = [0u8; 16];
        self.get_log_page_lsi(LogPageId::FDP_CONFIG, 0, endgid, &mut head)?;
        let size = u32::from_le_bytes([head[4], head[5], head[6], head[7]]) as usize;
        let nbytes = size
            .clamp(16, FDP_CONFIG_LOG_MAX_NBYTES)
            .next_multiple_of(4);
        let mut buf = vec![0u8; nbytes];
        self.get_log_page_lsi(LogPageId::FDP_CONFIG, 0, endgid, &mut buf)?;
        Ok(decode_configs(&buf))
    }

    /// The reclaim unit handle usage log (LID 0x21) of endurance group
    /// `endgid`: one descriptor per reclaim unit handle.
    pub fn fdp_ruh_usage(&self, endgid: u16) -> Result<Vec<RuhUsageDescriptor>> {
        check_endgid(endgid)?;
        let mut head = [0u8; 8];
        self.get_log_page_lsi(LogPageId::RUH_USAGE, 0, endgid, &mut head)?;
        let nruh = usize::from(u16::from_le_bytes([head[0], head[1]]));
        let mut buf = vec![0u8; 8 + nruh * 8];
        self.get_log_page_lsi(LogPageId::RUH_USAGE, 0, endgid, &mut buf)?;
        let log = RuhUsageLog::parse(&buf).ok_or_else(|| {
            Error::bad_reply(
                "Get Log Page",
                "reclaim unit handle usage log shorter than 8 bytes",
            )
        })?;
        Ok(log.descriptors().collect())
    }

    /// The FDP statistics log (LID 0x22) of endurance group `endgid`.
    pub fn fdp_stats(&self, endgid: u16) -> Result<FdpStatsLog> {
        check_endgid(endgid)?;
        let mut buf = [0u8; 64];
        self.get_log_page_lsi(LogPageId::FDP_STATS, 0, endgid, &mut buf)?;
        FdpStatsLog::read_from_bytes(&buf)
            .map_err(|_| Error::bad_reply("Get Log Page", "FDP statistics log not 64 bytes"))
    }

    /// The FDP events log (LID 0x23) of endurance group `endgid`: host
    /// events (`host`, LSP bit 0 set) or controller events, at most `max`
    /// of them (the log holds up to 63).
    pub fn fdp_events(&self, endgid: u16, host: bool, max: usize) -> Result<Vec<FdpEvent>> {
        check_endgid(endgid)?;
        let nbytes = (64 + max.min(63) * 64).next_multiple_of(4);
        let mut buf = vec![0u8; nbytes];
        self.get_log_page_lsi(LogPageId::FDP_EVENTS, u8::from(host), endgid, &mut buf)?;
        let log = FdpEventsLog::parse(&buf).ok_or_else(|| {
            Error::bad_reply("Get Log Page", "FDP events log shorter than 64 bytes")
        })?;
        Ok(log.events().collect())
    }

    /// The FDP mode feature (FID 0x1D) of endurance group `endgid`:
    /// whether FDP is enabled and the configuration index in use.
    pub fn fdp_mode(&self, endgid: u16) -> Result<FdpMode> {
        check_endgid(endgid)?;
        let cpl = self.get_features(FeatureId::FDP_MODE.0, 0, 0, u32::from(endgid), None)?;
        Ok(FdpMode::from_cdw0(cpl.cdw0))
    }

    /// Sets the FDP mode feature (FID 0x1D) of endurance group `endgid`.
    /// Controllers commonly allow this only while the group has no
    /// namespaces.
    pub fn set_fdp_mode(&self, endgid: u16, mode: FdpMode, save: bool) -> Result<Completion> {
        check_endgid(endgid)?;
        let sf = mode.set_features(endgid, save);
        self.set_features(sf.fid.0, 0, sf.cdw11, sf.cdw12, save, None)
    }

    /// Which FDP event types are enabled for placement handle `phndl` of
    /// the device's namespace (Get Features FID 0x1E); `max` bounds the
    /// number of event types returned.
    pub fn fdp_events_enabled(&self, phndl: u16, max: u8) -> Result<Vec<FdpEventSetting>> {
        if max == 0 {
            return Err(Error::out_of_range(
                "event type count",
                "0; ask for at least one event type",
            ));
        }
        let sel = FdpEventsSelect { phndl, noet: max };
        let mut buf = vec![0u8; usize::from(max) * 2];
        let cpl = self.get_features(
            FeatureId::FDP_EVENTS.0,
            0,
            self.nsid(),
            sel.to_cdw11(),
            Some(&mut buf),
        )?;
        // Completion dword 0 holds the number of descriptors returned.
        let n = (cpl.cdw0 as usize & 0xff).min(usize::from(max));
        Ok(buf
            .chunks_exact(2)
            .take(n)
            .map(|d| FdpEventSetting {
                etype: FdpEventType(d[0]),
                enabled: d[1] & 1 == 1,
            })
            .collect())
    }

    /// Enables (`enable`) or disables the FDP event types `events` for
    /// placement handle `phndl` of the device's namespace (Set Features
    /// FID 0x1E).
    pub fn set_fdp_events(
        &self,
        phndl: u16,
        enable: bool,
        events: &[FdpEventType],
        save: bool,
    ) -> Result<Completion> {
        let noet = u8::try_from(events.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::out_of_range(
                    "event types",
                    format!("{} given; 1 to 255 allowed", events.len()),
                )
            })?;
        let sel = FdpEventsSelect { phndl, noet };
        let buf: Vec<u8> = events.iter().map(|e| e.0).collect();
        self.set_features(
            FeatureId::FDP_EVENTS.0,
            self.nsid(),
            sel.to_cdw11(),
            u32::from(enable),
            save,
            Some(&buf),
        )
    }

    /// Reclaim unit handle status (I/O Management Receive, MO 1) of the
    /// device's namespace: one descriptor per placement identifier.
    pub fn fdp_ruh_status(&self) -> Result<Vec<RuhStatusDescriptor>> {
        let mut buf = vec![0u8; 4096];
        let n = self.io_mgmt_recv_ruhs(&mut buf)?;
        if ruh_status_nbytes(n) > buf.len() {
            buf = vec![0u8; ruh_status_nbytes(n)];
            self.io_mgmt_recv_ruhs(&mut buf)?;
        }
        let st = RuhStatus::parse(&buf).ok_or_else(|| {
            Error::bad_reply(
                "I/O Management Receive",
                "reclaim unit handle status shorter than 16 bytes",
            )
        })?;
        Ok(st.descriptors().collect())
    }

    /// Runs I/O Management Receive (RUH status) into `buf` and returns the
    /// descriptor count the device reports.
    fn io_mgmt_recv_ruhs(&self, buf: &mut [u8]) -> Result<usize> {
        let mut cmd = IoMgmtRecv::ruh_status(self.nsid(), buf.len()).to_command();
        self.cmd_io(&mut cmd, DataBuf::In(buf), DataBuf::None)?;
        Ok(usize::from(u16::from_le_bytes([buf[14], buf[15]])))
    }

    /// Reclaim unit handle update (I/O Management Send, MO 1): points the
    /// handles behind each placement identifier in `pids` at new, empty
    /// reclaim units.
    pub fn fdp_ruh_update(&self, pids: &[u16]) -> Result<Completion> {
        let npids = u16::try_from(pids.len())
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                Error::out_of_range(
                    "placement identifiers",
                    format!("{} given; 1 to 65535 allowed", pids.len()),
                )
            })?;
        let mut buf: Vec<u8> = pids.iter().flat_map(|p| p.to_le_bytes()).collect();
        // Transfers are whole dwords.
        buf.resize(buf.len().next_multiple_of(4), 0);
        let mut cmd = IoMgmtSend::ruh_update(self.nsid(), npids).to_command();
        cmd.cdw11 = (buf.len() / 4 - 1) as u32;
        self.cmd_io(&mut cmd, DataBuf::Out(&buf), DataBuf::None)
    }

    /// Writes `nlb + 1` blocks at `slba` with directive type `dtype` and
    /// directive specific value `dspec` (a stream identifier for DTYPE 1,
    /// a placement identifier for DTYPE 2).
    pub fn write_directive(
        &self,
        slba: u64,
        nlb: u16,
        dtype: u8,
        dspec: u16,
        data: &[u8],
        meta: Option<&[u8]>,
    ) -> Result<Completion> {
        if dtype > 0xf {
            return Err(Error::out_of_range(
                "directive type",
                format!("{dtype:#x} does not fit DTYPE's 4 bits"),
            ));
        }
        self.check_lba_io(slba, nlb, data.len(), meta.map(<[u8]>::len))?;
        let mut cmd = NvmRw {
            opc: NvmOpcode::WRITE.0,
            nsid: self.nsid(),
            slba,
            nlb,
            flags: IoFlags::NONE,
            dtype,
            dspec,
            ..Default::default()
        }
        .to_command();
        self.cmd_io(
            &mut cmd,
            DataBuf::Out(data),
            meta.map_or(DataBuf::None, DataBuf::Out),
        )
    }

    /// Writes `nlb + 1` blocks at `slba` to the reclaim unit that placement
    /// identifier `pid` selects (DTYPE 2).
    pub fn write_placement(
        &self,
        slba: u64,
        nlb: u16,
        pid: u16,
        data: &[u8],
        meta: Option<&[u8]>,
    ) -> Result<Completion> {
        self.write_directive(slba, nlb, dtype::DATA_PLACEMENT, pid, data, meta)
    }
}

/// Decodes an FDP Configurations log into owned values.
pub fn decode_configs(buf: &[u8]) -> FdpConfigs {
    let Some(log) = FdpConfigLog::parse(buf) else {
        return FdpConfigs {
            ncfg: 0,
            version: 0,
            size: 0,
            configs: Vec::new(),
        };
    };
    let configs = log
        .configs()
        .enumerate()
        .map(|(i, c)| FdpConfiguration {
            index: i as u16,
            desc: c.desc,
            ruh_types: c.ruhs().map(|r| RuhType(r.ruht)).collect(),
            vs: c.vs.to_vec(),
        })
        .collect();
    FdpConfigs {
        ncfg: log.header.ncfg,
        version: log.header.version,
        size: log.header.size,
        configs,
    }
}
