//! The FDP Configurations log page (LID 0x20): its descriptors and their
//! parser.

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::zeroed_default;
use crate::opcode::open_enum;

use super::Records;

/// The header of the FDP Configurations log page (LID 0x20): 16 bytes.
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
pub struct FdpConfigLogHeader {
    /// Number of FDP configurations, zero-based (NCFG).
    pub ncfg: u16,
    /// Log page version.
    pub version: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd3: u8,
    /// Size of the whole log page in bytes.
    pub size: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd8: [u8; 8],
}

const _: () = assert!(core::mem::size_of::<FdpConfigLogHeader>() == 16);

/// The fixed part of an FDP configuration descriptor: 64 bytes, followed
/// by `nruh` [`RuhDescriptor`]s and `vss` bytes of vendor specific data.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct FdpConfigDescriptor {
    /// Descriptor size in bytes, including the RUH descriptors and vendor data (DS).
    pub ds: u16,
    /// FDP attributes (FDPA): RGIF bits 3:0, volatile write cache bit 4, valid bit 7.
    pub fdpa: u8,
    /// Vendor specific size in bytes (VSS).
    pub vss: u8,
    /// Number of reclaim groups (NRG).
    pub nrg: u32,
    /// Number of reclaim unit handles (NRUH).
    pub nruh: u16,
    /// Maximum placement identifiers, zero-based (MAXPIDS).
    pub maxpids: u16,
    /// Number of namespaces supported (NNSS).
    pub nns: u32,
    /// Reclaim unit nominal size in bytes (RUNS).
    pub runs: u64,
    /// Estimated reclaim unit time limit in seconds; 0 = not reported (ERUTL).
    pub erutl: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd28: [u8; 36],
}

const _: () = assert!(core::mem::size_of::<FdpConfigDescriptor>() == 64);

impl FdpConfigDescriptor {
    /// Reclaim group identifier format (RGIF, FDPA bits 3:0).
    pub const fn rgif(&self) -> u8 {
        self.fdpa & 0xf
    }

    /// Whether a volatile write cache is in use for this configuration (FDPA bit 4).
    pub const fn fdpvwc(&self) -> bool {
        self.fdpa & 0x10 != 0
    }

    /// Whether this configuration is valid (FDPA bit 7).
    pub const fn valid(&self) -> bool {
        self.fdpa & 0x80 != 0
    }
}

open_enum! {
    /// Reclaim unit handle types (RUHT).
    RuhType: u8 {
        /// Initially isolated.
        INITIALLY_ISOLATED = 0x1, "Initially Isolated";
        /// Persistently isolated.
        PERSISTENTLY_ISOLATED = 0x2, "Persistently Isolated";
    }
}

/// A reclaim unit handle descriptor of an FDP configuration: 4 bytes.
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
pub struct RuhDescriptor {
    /// Reclaim unit handle type (RUHT), see [`RuhType`].
    pub ruht: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 3],
}

const _: () = assert!(core::mem::size_of::<RuhDescriptor>() == 4);

/// One FDP configuration from the FDP Configurations log page.
#[derive(Clone, Copy, Debug)]
pub struct FdpConfig<'a> {
    /// The fixed part of the descriptor.
    pub desc: FdpConfigDescriptor,
    ruhs: &'a [u8],
    /// Vendor specific data (`vss` bytes, or what the buffer holds).
    pub vs: &'a [u8],
}

impl<'a> FdpConfig<'a> {
    /// The reclaim unit handle descriptors.
    pub fn ruhs(&self) -> Records<'a, RuhDescriptor> {
        Records::new(self.ruhs, self.desc.nruh as usize)
    }
}

/// The FDP Configurations log page (LID 0x20), parsed without allocating.
#[derive(Clone, Copy, Debug)]
pub struct FdpConfigLog<'a> {
    /// The log header.
    pub header: FdpConfigLogHeader,
    body: &'a [u8],
}

impl<'a> FdpConfigLog<'a> {
    /// Parses `buf`; `None` if it is shorter than the header.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let (header, _) = FdpConfigLogHeader::read_from_prefix(buf).ok()?;
        // Trust the page's own size when it is smaller than the buffer.
        let end = (header.size as usize).clamp(16, buf.len());
        Some(Self {
            header,
            body: &buf[16..end],
        })
    }

    /// The configurations, in index order. Iteration ends early at a
    /// descriptor whose size is implausible or runs past the buffer.
    pub fn configs(&self) -> FdpConfigIter<'a> {
        FdpConfigIter {
            buf: self.body,
            left: self.header.ncfg as usize + 1,
        }
    }
}

/// Iterator over the configurations of an [`FdpConfigLog`].
#[derive(Clone, Debug)]
pub struct FdpConfigIter<'a> {
    buf: &'a [u8],
    left: usize,
}

impl<'a> Iterator for FdpConfigIter<'a> {
    type Item = FdpConfig<'a>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.left == 0 {
            return None;
        }
        let (desc, _) = FdpConfigDescriptor::read_from_prefix(self.buf).ok()?;
        let ds = desc.ds as usize;
        if ds < 64 || ds > self.buf.len() {
            self.left = 0;
            return None;
        }
        let (this, rest) = self.buf.split_at(ds);
        let body = &this[64..];
        let ruhs_len = (desc.nruh as usize * 4).min(body.len());
        let (ruhs, tail) = body.split_at(ruhs_len);
        let vs = &tail[..(desc.vss as usize).min(tail.len())];
        self.buf = rest;
        self.left -= 1;
        Some(FdpConfig { desc, ruhs, vs })
    }
}

zeroed_default!(FdpConfigDescriptor);
