//! Directives (NVMe 2.0 base, "Directives"): the Directive Send and
//! Directive Receive admin commands, the Identify directive's return
//! parameters, and the Streams directive's parameters and status.
//!
//! A directive is a kind of hint a write carries in DTYPE (CDW12 bits
//! 23:20) with a directive specific value in DSPEC (CDW13 bits 31:16): a
//! stream identifier for the Streams directive, a placement identifier for
//! the Data Placement directive of Flexible Data Placement. The directive
//! types are in [`crate::cmd::dtype`]. Directive Send and Receive carry
//! the directive operation (DOPER) in CDW11 bits 7:0, the type in bits
//! 15:8 and DSPEC in bits 31:16, and the transfer size (NUMD, zero-based
//! dwords) in CDW10.

use serde::Serialize;
use zerocopy::{FromBytes, FromZeros, Immutable, IntoBytes, KnownLayout};

use crate::cmd::Command;
use crate::opcode::AdminOpcode;

/// Directive operations of the Identify directive (DTYPE 0).
pub mod identify_op {
    /// Directive Receive: return parameters (a 4096-byte
    /// [`super::IdentifyDirectiveParams`]).
    pub const RECV_RETURN_PARAMS: u8 = 0x01;
    /// Directive Send: enable or disable the directive named in CDW12
    /// (ENDIR bit 0, TDTYPE bits 15:8).
    pub const SEND_ENABLE: u8 = 0x01;
}

/// Directive operations of the Streams directive (DTYPE 1).
pub mod streams_op {
    /// Directive Receive: return parameters (a 32-byte [`super::StreamsParams`]).
    pub const RECV_RETURN_PARAMS: u8 = 0x01;
    /// Directive Receive: get status (open stream count and identifiers).
    pub const RECV_GET_STATUS: u8 = 0x02;
    /// Directive Receive: allocate resources; CDW12 bits 15:0 is the number
    /// of streams requested, completion dword 0 the number allocated.
    pub const RECV_ALLOCATE_RESOURCES: u8 = 0x03;
    /// Directive Send: release the stream identifier in DSPEC.
    pub const SEND_RELEASE_ID: u8 = 0x01;
    /// Directive Send: release every stream resource of the namespace.
    pub const SEND_RELEASE_RESOURCES: u8 = 0x02;
}

/// Typed view of Directive Send and Directive Receive: the two share
/// their field layout and differ in opcode and data direction.
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct Directive {
    /// Namespace identifier.
    pub nsid: u32,
    /// Number of dwords to transfer, zero-based (CDW10); 0 with no data
    /// is also 0.
    pub numd: u32,
    /// Directive operation (DOPER, CDW11 bits 7:0).
    pub doper: u8,
    /// Directive type (DTYPE, CDW11 bits 15:8), see [`crate::cmd::dtype`].
    pub dtype: u8,
    /// Directive specific (DSPEC, CDW11 bits 31:16).
    pub dspec: u16,
    /// Operation specific CDW12.
    pub cdw12: u32,
}

impl Directive {
    /// Encodes this view as a Directive Send (`send`) or Directive Receive.
    pub fn to_command(&self, send: bool) -> Command {
        let opc = if send {
            AdminOpcode::DIRECTIVE_SEND
        } else {
            AdminOpcode::DIRECTIVE_RECV
        };
        let mut cmd = Command::new(opc.0, self.nsid);
        cmd.cdw10 = self.numd;
        cmd.cdw11 = self.doper as u32 | (self.dtype as u32) << 8 | (self.dspec as u32) << 16;
        cmd.cdw12 = self.cdw12;
        cmd
    }

    /// Decodes a Directive Send or Receive submission entry.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            numd: cmd.cdw10,
            doper: cmd.cdw11 as u8,
            dtype: (cmd.cdw11 >> 8) as u8,
            dspec: (cmd.cdw11 >> 16) as u16,
            cdw12: cmd.cdw12,
        }
    }

    /// The Identify directive's Enable Directive operation: enables
    /// (`enable`) or disables directive type `tdtype`.
    pub const fn enable(nsid: u32, tdtype: u8, enable: bool) -> Self {
        Self {
            nsid,
            numd: 0,
            doper: identify_op::SEND_ENABLE,
            dtype: crate::cmd::dtype::IDENTIFY,
            dspec: 0,
            cdw12: enable as u32 | (tdtype as u32) << 8,
        }
    }

    /// Bytes the command transfers when it carries data.
    pub const fn nbytes(&self) -> u64 {
        (self.numd as u64 + 1) * 4
    }
}

/// Return parameters of the Identify directive: which directive types the
/// namespace supports, has enabled, and keeps across controller resets,
/// one bit per type (bit 0 Identify, bit 1 Streams, bit 2 Data Placement).
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct IdentifyDirectiveParams {
    /// Directives supported, a bit per directive type.
    #[serde(serialize_with = "crate::identify::ser::hex")]
    pub supported: [u8; 32],
    /// Directives enabled.
    #[serde(serialize_with = "crate::identify::ser::hex")]
    pub enabled: [u8; 32],
    /// Directives persistent across controller level resets.
    #[serde(serialize_with = "crate::identify::ser::hex")]
    pub persistent: [u8; 32],
    #[serde(skip)]
    /// Reserved.
    pub rsvd96: [u8; 4000],
}

const _: () = assert!(core::mem::size_of::<IdentifyDirectiveParams>() == 4096);

impl Default for IdentifyDirectiveParams {
    fn default() -> Self {
        Self::new_zeroed()
    }
}

fn bit(set: &[u8; 32], dtype: u8) -> bool {
    set[usize::from(dtype / 8) % 32] & (1 << (dtype % 8)) != 0
}

impl IdentifyDirectiveParams {
    /// Whether directive type `dtype` is supported.
    pub fn is_supported(&self, dtype: u8) -> bool {
        bit(&self.supported, dtype)
    }

    /// Whether directive type `dtype` is enabled.
    pub fn is_enabled(&self, dtype: u8) -> bool {
        bit(&self.enabled, dtype)
    }
}

/// Return parameters of the Streams directive: 32 bytes.
#[derive(
    Clone,
    Copy,
    Default,
    PartialEq,
    Eq,
    Debug,
    FromBytes,
    IntoBytes,
    Immutable,
    KnownLayout,
    Serialize,
)]
#[repr(C)]
pub struct StreamsParams {
    /// Maximum streams limit (MSL).
    pub msl: u16,
    /// NVM subsystem streams available (NSSA).
    pub nssa: u16,
    /// NVM subsystem streams open (NSSO).
    pub nsso: u16,
    /// NVM subsystem stream capability (NSSC).
    pub nssc: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd7: [u8; 9],
    /// Stream write size in logical blocks (SWS).
    pub sws: u32,
    /// Stream granularity size in units of SWS (SGS).
    pub sgs: u16,
    /// Namespace streams allocated (NSA).
    pub nsa: u16,
    /// Namespace streams open (NSO).
    pub nso: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd26: [u8; 6],
}

const _: () = assert!(core::mem::size_of::<StreamsParams>() == 32);

/// Walks the Streams directive's Get Status data: a 2-byte open stream
/// count, then one 2-byte stream identifier per open stream.
pub fn stream_status_ids(buf: &[u8]) -> impl Iterator<Item = u16> + '_ {
    let count = buf
        .first_chunk::<2>()
        .map_or(0, |c| u16::from_le_bytes(*c) as usize);
    buf.get(2..)
        .unwrap_or_default()
        .chunks_exact(2)
        .take(count)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn streams_params_offsets_match_the_base_specification() {
        assert_eq!(offset_of!(StreamsParams, nssc), 6);
        assert_eq!(offset_of!(StreamsParams, sws), 16);
        assert_eq!(offset_of!(StreamsParams, sgs), 20);
        assert_eq!(offset_of!(StreamsParams, nsa), 22);
        assert_eq!(offset_of!(StreamsParams, nso), 24);
        assert_eq!(offset_of!(IdentifyDirectiveParams, enabled), 32);
    }

    #[test]
    fn directive_fields_sit_in_cdw10_to_cdw12() {
        let d = Directive {
            nsid: 1,
            numd: 7,
            doper: streams_op::RECV_ALLOCATE_RESOURCES,
            dtype: crate::cmd::dtype::STREAMS,
            dspec: 0xabcd,
            cdw12: 4,
        };
        let cmd = d.to_command(false);
        assert_eq!(cmd.opc, 0x1a);
        assert_eq!(cmd.cdw10, 7);
        assert_eq!(cmd.cdw11, 0xabcd_0103);
        assert_eq!(Directive::from_command(&cmd), d);
        assert_eq!(d.to_command(true).opc, 0x19);
        let e = Directive::enable(1, crate::cmd::dtype::STREAMS, true);
        assert_eq!(e.to_command(true).cdw12, 0x101);
    }

    #[test]
    fn identify_params_and_stream_status_decode() {
        let mut p = IdentifyDirectiveParams::default();
        p.supported[0] = 0b111;
        p.enabled[0] = 0b001;
        assert!(p.is_supported(2) && !p.is_enabled(1) && p.is_enabled(0));
        let buf = [2u8, 0, 3, 0, 9, 0, 7, 0];
        let ids: std::vec::Vec<u16> = stream_status_ids(&buf).collect();
        assert_eq!(ids, [3, 9]);
        assert_eq!(stream_status_ids(&[]).count(), 0);
    }
}
