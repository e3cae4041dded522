//! Namespaces: what a command addresses by nsid.
//!
//! A namespace has a command set ([`NsKind`]) that decides which I/O
//! opcodes it takes; the ramdisk's one namespace is an NVM namespace. Other
//! command sets (Zoned, Key Value) become more kinds, each with its own
//! I/O module next to `nvm`.

use nvmx_spec::opcode::Csi;

pub(crate) mod zones;

use super::media::Media;
use super::params::{LbaShape, Params};
use nvmx_core::error::Result;

/// A namespace's command set.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum NsKind {
    /// The NVM command set: logical blocks, Read and Write.
    Nvm,
    /// The Key Value command set: Store, Retrieve, Delete, Exist, List.
    Kv,
    /// The Zoned Namespace command set (see the zoned module).
    Zoned,
}

impl NsKind {
    /// The command set identifier (CSI).
    pub const fn csi(self) -> Csi {
        match self {
            NsKind::Nvm => Csi::NVM,
            NsKind::Kv => Csi::KV,
            NsKind::Zoned => Csi::ZONED,
        }
    }
}

/// One namespace: its format and its blocks.
pub(super) struct Namespace {
    /// Namespace identifier.
    pub nsid: u32,
    /// Command set.
    pub kind: NsKind,
    /// Index of the active LBA format.
    pub lbaf: u8,
    /// The active LBA format.
    pub shape: LbaShape,
    /// Metadata is interleaved with the data (FLBAS bit 4).
    pub extended: bool,
    /// Size in logical blocks (NSZE).
    pub nsze: u64,
    /// The blocks.
    pub media: Media,
    /// Namespace globally unique identifier.
    pub nguid: [u8; 16],
    /// IEEE extended unique identifier.
    pub eui64: [u8; 8],
    /// Protection information type (DPS bits 2:0), 0 for none.
    pub pi: u8,
    /// Protection information in the first bytes of metadata (DPS bit 3).
    pub pil: bool,
    /// The zones, for a zoned namespace.
    pub zones: Option<Box<zones::Zones>>,
}

impl Namespace {
    /// An NVM namespace shaped by `p`, all blocks reading zero.
    pub fn new_nvm(nsid: u32, p: &Params) -> Result<Namespace> {
        let shape = p.shape();
        let nsze = p.nsze();
        // Made-up identifiers that differ between ramdisks of different
        // sizes and formats: "nvmx" in ASCII, then the size, the format and
        // the nsid. The EUI-64 starts with an OUI from the locally
        // administered range.
        let mut nguid = [0u8; 16];
        nguid[..4].copy_from_slice(b"nvmx");
        nguid[4..12].copy_from_slice(&p.nbytes.to_be_bytes());
        nguid[12] = p.lbaf;
        nguid[13] = u8::from(p.extended);
        nguid[14..16].copy_from_slice(&(nsid as u16).to_be_bytes());
        let mut eui64 = [0u8; 8];
        eui64[..3].copy_from_slice(&super::fail::IEEE_OUI_BE);
        eui64[3..8].copy_from_slice(&(nsze ^ (u64::from(nsid) << 36)).to_be_bytes()[3..8]);
        Ok(Namespace {
            nsid,
            kind: if p.kv { NsKind::Kv } else { NsKind::Nvm },
            lbaf: p.lbaf,
            shape,
            extended: p.extended,
            nsze,
            media: Media::new(nsze, shape.ds, shape.ms)?,
            nguid,
            eui64,
            pi: p.pi,
            pil: p.pil,
            zones: None,
        })
    }

    /// Data bytes per block.
    pub fn ds(&self) -> u64 {
        u64::from(self.shape.ds)
    }

    /// Metadata bytes per block.
    pub fn ms(&self) -> u64 {
        u64::from(self.shape.ms)
    }

    /// Bytes per block in the host's data buffer: data, plus metadata when
    /// it is interleaved.
    pub fn host_block_bytes(&self) -> u64 {
        if self.extended {
            self.ds() + self.ms()
        } else {
            self.ds()
        }
    }

    /// Whether commands carry metadata in a separate buffer.
    pub fn separate_meta(&self) -> bool {
        self.shape.ms > 0 && !self.extended
    }
}
