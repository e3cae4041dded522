//! The admin queue registers: attributes (AQA) and base addresses (ASQ,
//! ACQ).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use super::{bits32, set32};

/// Admin Queue Attributes, AQA (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Aqa(pub u32);

impl Aqa {
    /// Attributes for admin queues of the given sizes, zero-based.
    pub const fn new(asqs: u16, acqs: u16) -> Self {
        Self((asqs as u32 & 0xfff) | (acqs as u32 & 0xfff) << 16)
    }

    /// Admin submission queue size (ASQS), zero-based.
    pub const fn asqs(self) -> u16 {
        bits32(self.0, 0, 12) as u16
    }

    /// Sets the admin submission queue size (ASQS), zero-based.
    pub fn set_asqs(&mut self, v: u16) {
        self.0 = set32(self.0, 0, 12, v as u32);
    }

    /// Admin completion queue size (ACQS), zero-based.
    pub const fn acqs(self) -> u16 {
        bits32(self.0, 16, 12) as u16
    }

    /// Sets the admin completion queue size (ACQS), zero-based.
    pub fn set_acqs(&mut self, v: u16) {
        self.0 = set32(self.0, 16, 12, v as u32);
    }
}

/// Admin Submission Queue Base Address, ASQ (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Asq(pub u64);

impl Asq {
    /// The page-aligned base address (bits 63:12).
    pub const fn base(self) -> u64 {
        self.0 & !0xfff
    }
}

/// Admin Completion Queue Base Address, ACQ (NVMe 2.0 base, controller properties).
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
#[repr(transparent)]
#[serde(transparent)]
pub struct Acq(pub u64);

impl Acq {
    /// The page-aligned base address (bits 63:12).
    pub const fn base(self) -> u64 {
        self.0 & !0xfff
    }
}
