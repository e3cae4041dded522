//! The Reclaim Unit Handle Usage log page (LID 0x21).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::Records;

/// The header of the Reclaim Unit Handle Usage log page (LID 0x21): 8 bytes.
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
pub struct RuhUsageLogHeader {
    /// Number of reclaim unit handles (NRUH).
    pub nruh: u16,
    #[serde(skip)]
    /// Reserved.
    pub rsvd2: [u8; 6],
}

const _: () = assert!(core::mem::size_of::<RuhUsageLogHeader>() == 8);

/// Reclaim unit handle attributes values of [`RuhUsageDescriptor::ruha`].
pub mod ruha {
    /// Not used by any namespace.
    pub const UNUSED: u8 = 0x0;
    /// Host specified: a namespace's placement handle refers to it.
    pub const HOST_SPECIFIED: u8 = 0x1;
    /// Controller specified: used by default placement.
    pub const CONTROLLER_SPECIFIED: u8 = 0x2;
}

/// A reclaim unit handle usage descriptor: 8 bytes.
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
pub struct RuhUsageDescriptor {
    /// Reclaim unit handle attributes (RUHA), see [`ruha`].
    pub ruha: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd1: [u8; 7],
}

const _: () = assert!(core::mem::size_of::<RuhUsageDescriptor>() == 8);

/// The Reclaim Unit Handle Usage log page (LID 0x21), parsed without allocating.
#[derive(Clone, Copy, Debug)]
pub struct RuhUsageLog<'a> {
    /// The log header.
    pub header: RuhUsageLogHeader,
    body: &'a [u8],
}

impl<'a> RuhUsageLog<'a> {
    /// Parses `buf`; `None` if it is shorter than the header.
    pub fn parse(buf: &'a [u8]) -> Option<Self> {
        let (header, body) = RuhUsageLogHeader::read_from_prefix(buf).ok()?;
        Some(Self { header, body })
    }

    /// The descriptors, indexed by reclaim unit handle identifier.
    pub fn descriptors(&self) -> Records<'a, RuhUsageDescriptor> {
        Records::new(self.body, self.header.nruh as usize)
    }
}
