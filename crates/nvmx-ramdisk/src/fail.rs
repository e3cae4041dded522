//! What a command handler returns, and the identifiers and command
//! fields handlers name.
//!
//! A command handler returns `Ok(dword 0)` or a [`Fail`]: either an NVMe
//! status, which becomes an error completion and an error log entry, or a
//! host-side [`Error`] for requests the device never gets to see — data or
//! metadata buffers shorter than the command describes (a real controller
//! would fault on memory the host did not provide; nvmx reports the
//! caller's mistake as `Error::ShortBuffer` rather than a made-up status).

use nvmx_spec::Status;
use nvmx_spec::status::{sc, sct};

use nvmx_core::error::Error;

/// The ramdisk's one namespace identifier.
pub(super) const NSID: u32 = 1;
/// The namespace identifier that means every namespace.
pub(super) const NSID_ALL: u32 = 0xffff_ffff;
/// PCI vendor id reported in Identify Controller: "NV" in ASCII, a made-up
/// value for a controller that has no PCI function.
pub(super) const VID: u16 = 0x4e56;
/// IEEE OUI, most significant byte first: a locally administered (made-up)
/// value.
pub(super) const IEEE_OUI_BE: [u8; 3] = [0x0a, 0x4e, 0x56];
/// Queue identifier recorded for admin commands.
pub(super) const SQID_ADMIN: u16 = 0;
/// Queue identifier recorded for I/O commands.
pub(super) const SQID_IO: u16 = 1;

/// Byte offsets of command fields, for the parameter error location.
pub(super) mod field {
    /// Opcode (CDW0 byte 0).
    pub const OPC: u8 = 0;
    /// Namespace identifier.
    pub const NSID: u8 = 4;
    /// Command dword 10.
    pub const CDW10: u8 = 40;
    /// Command dword 11.
    pub const CDW11: u8 = 44;
    /// Command dword 12.
    pub const CDW12: u8 = 48;
    /// Command dword 14.
    pub const CDW14: u8 = 56;
}

/// A failed command, as a device reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Failed {
    /// Completion status.
    pub status: Status,
    /// First LBA involved, when there is one.
    pub lba: Option<u64>,
    /// Parameter error location (byte, bit) of the command field at fault.
    pub param: Option<(u8, u8)>,
}

/// Why a command handler did not succeed.
#[derive(Debug)]
pub(super) enum Fail {
    /// The device completes the command with an error status.
    Status(Failed),
    /// The request never reached the device: the call returns this error.
    Host(Error),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Fail {
        Fail::Host(e)
    }
}

impl Fail {
    /// A status that will not succeed on retry (DNR set).
    pub fn dnr(sct: u8, sc: u8) -> Fail {
        Fail::Status(Failed {
            status: Status::new(sct, sc).dnr(),
            lba: None,
            param: None,
        })
    }

    /// A status that might succeed on retry (DNR clear).
    pub fn retry(sct: u8, sc: u8) -> Fail {
        Fail::Status(Failed {
            status: Status::new(sct, sc),
            lba: None,
            param: None,
        })
    }

    /// Invalid Field in Command, pointing at byte `byte` of the command.
    pub fn field(byte: u8) -> Fail {
        Fail::dnr(sct::GENERIC, sc::INVALID_FIELD).at(byte, 0)
    }

    /// Invalid Namespace or Format.
    pub fn namespace() -> Fail {
        Fail::dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT).at(field::NSID, 0)
    }

    /// Invalid Command Opcode.
    pub fn opcode() -> Fail {
        Fail::dnr(sct::GENERIC, sc::INVALID_OPCODE).at(field::OPC, 0)
    }

    /// Records the first LBA involved.
    pub fn lba(mut self, lba: u64) -> Fail {
        if let Fail::Status(f) = &mut self {
            f.lba = Some(lba);
        }
        self
    }

    /// Records the command field at fault.
    pub fn at(mut self, byte: u8, bit: u8) -> Fail {
        if let Fail::Status(f) = &mut self {
            f.param = Some((byte, bit));
        }
        self
    }
}

/// What a handler returns: completion dword 0, or why it failed.
pub(super) type Exec = std::result::Result<u32, Fail>;
