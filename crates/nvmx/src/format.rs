//! Format NVM and Sanitize: the admin commands that erase a namespace or
//! the whole NVM subsystem, with typed arguments.
//!
//! A Format NVM changes what the cached Identify data and geometry of a
//! [`Device`] describe. [`Device::format`] therefore returns a new handle
//! on the same open device whose Identify data is read anew, and marks the
//! handle it was called on (and every clone of it, including those held by
//! queues) stale: their geometry and Identify calls fail with a message
//! saying to use the new handle, rather than checking I/O against a format
//! that is gone. [`Device::reidentify`] gives a fresh handle for formats
//! done some other way (another process, a raw admin command).

use nvmx_spec::log::{LogPageId, SanitizeStatusLog};
use nvmx_spec::opcode::AdminOpcode;
use nvmx_spec::{Command, Completion};
use zerocopy::FromBytes;

use crate::be::DataBuf;
use crate::device::Device;
use crate::error::{Error, Result};

/// Secure Erase Settings of Format NVM (SES).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SecureErase {
    /// No secure erase requested (0).
    #[default]
    None,
    /// User data erase (1).
    UserData,
    /// Cryptographic erase (2).
    Crypto,
}

impl SecureErase {
    /// The SES field value.
    pub const fn ses(self) -> u8 {
        match self {
            SecureErase::None => 0,
            SecureErase::UserData => 1,
            SecureErase::Crypto => 2,
        }
    }

    /// The setting of a SES value; an error for reserved values.
    pub fn from_ses(ses: u8) -> Result<SecureErase> {
        match ses {
            0 => Ok(SecureErase::None),
            1 => Ok(SecureErase::UserData),
            2 => Ok(SecureErase::Crypto),
            _ => Err(Error::out_of_range(
                "ses",
                format!("{ses}; 0 no secure erase, 1 user data erase, 2 cryptographic erase"),
            )),
        }
    }
}

/// The arguments of Format NVM.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FormatNvm {
    /// Namespace to format; `None` is the device's namespace,
    /// `Some(0xffff_ffff)` every namespace.
    pub nsid: Option<u32>,
    /// LBA format index, 0 to 63 (LBAFL bits 3:0, LBAFU bits 5:4).
    pub lbaf: u8,
    /// Metadata settings (MSET): metadata interleaved with the data
    /// (extended LBA) when set, in a separate buffer when clear.
    pub mset: bool,
    /// Protection information type (PI): 0 none, 1, 2 or 3.
    pub pi: u8,
    /// Protection information location (PIL): in the first bytes of the
    /// metadata when set, in the last bytes when clear.
    pub pil: bool,
    /// Secure erase settings (SES).
    pub ses: SecureErase,
}

impl FormatNvm {
    /// Command dword 10, checked.
    pub fn cdw10(&self) -> Result<u32> {
        if self.lbaf > 63 {
            return Err(Error::out_of_range(
                "LBA format",
                format!("{}; Format NVM addresses LBA formats 0 to 63", self.lbaf),
            ));
        }
        if self.pi > 3 {
            return Err(Error::out_of_range(
                "pi",
                format!(
                    "{}; protection information type is 0 (none), 1, 2 or 3",
                    self.pi
                ),
            ));
        }
        let lbafl = u32::from(self.lbaf & 0xf);
        let lbafu = u32::from(self.lbaf >> 4);
        Ok(lbafl
            | u32::from(self.mset) << 4
            | u32::from(self.pi) << 5
            | u32::from(self.pil) << 8
            | u32::from(self.ses.ses()) << 9
            | lbafu << 12)
    }
}

/// Sanitize actions (SANACT).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SanitizeAction {
    /// Exit Failure Mode (1).
    ExitFailureMode,
    /// Block Erase (2).
    BlockErase,
    /// Overwrite (3) with [`Sanitize::ovrpat`].
    Overwrite,
    /// Crypto Erase (4).
    CryptoErase,
}

impl SanitizeAction {
    /// The SANACT value.
    pub const fn sanact(self) -> u8 {
        match self {
            SanitizeAction::ExitFailureMode => 1,
            SanitizeAction::BlockErase => 2,
            SanitizeAction::Overwrite => 3,
            SanitizeAction::CryptoErase => 4,
        }
    }

    /// The action of a SANACT value; an error for reserved values.
    pub fn from_sanact(v: u8) -> Result<SanitizeAction> {
        match v {
            1 => Ok(SanitizeAction::ExitFailureMode),
            2 => Ok(SanitizeAction::BlockErase),
            3 => Ok(SanitizeAction::Overwrite),
            4 => Ok(SanitizeAction::CryptoErase),
            _ => Err(Error::out_of_range(
                "sanact",
                format!("{v}; 1 exit failure mode, 2 block erase, 3 overwrite, 4 crypto erase"),
            )),
        }
    }
}

/// The arguments of Sanitize.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sanitize {
    /// What to do.
    pub action: SanitizeAction,
    /// Allow Unrestricted Sanitize Exit (AUSE).
    pub ause: bool,
    /// Overwrite pass count, 1 to 16 (OWPASS; 16 is sent as 0).
    pub owpass: u8,
    /// Overwrite Invert Pattern Between Passes (OIPBP).
    pub oipbp: bool,
    /// No-Deallocate After Sanitize (NDAS).
    pub nodas: bool,
    /// Overwrite pattern (CDW11).
    pub ovrpat: u32,
}

impl Sanitize {
    /// A sanitize with `action` and every other field clear (one overwrite
    /// pass).
    pub const fn new(action: SanitizeAction) -> Sanitize {
        Sanitize {
            action,
            ause: false,
            owpass: 1,
            oipbp: false,
            nodas: false,
            ovrpat: 0,
        }
    }

    /// Command dwords 10 and 11, checked.
    pub fn cdw10_11(&self) -> Result<(u32, u32)> {
        if !(1..=16).contains(&self.owpass) {
            return Err(Error::out_of_range(
                "owpass",
                format!("{}; overwrite passes are 1 to 16", self.owpass),
            ));
        }
        let cdw10 = u32::from(self.action.sanact())
            | u32::from(self.ause) << 3
            | u32::from(self.owpass & 0xf) << 4
            | u32::from(self.oipbp) << 8
            | u32::from(self.nodas) << 9;
        Ok((cdw10, self.ovrpat))
    }
}

impl Device {
    /// Format NVM with `f`. Returns a new handle on the same device whose
    /// Identify data and geometry describe the new format; this handle and
    /// its clones are stale afterwards (see the module documentation).
    pub fn format(&self, f: &FormatNvm) -> Result<Device> {
        let mut cmd = Command::new(AdminOpcode::FORMAT_NVM.0, f.nsid.unwrap_or(self.nsid()));
        cmd.cdw10 = f.cdw10()?;
        self.cmd_admin(&mut cmd, DataBuf::None)?;
        self.mark_stale();
        Ok(self.reidentify())
    }

    /// Sanitize with `s`. It acts on the whole NVM subsystem, and may run
    /// on in the background after the command completes: read
    /// [`Device::log_sanitize`] for its progress and outcome.
    pub fn sanitize(&self, s: &Sanitize) -> Result<Completion> {
        let (cdw10, cdw11) = s.cdw10_11()?;
        let mut cmd = Command::new(AdminOpcode::SANITIZE.0, 0);
        cmd.cdw10 = cdw10;
        cmd.cdw11 = cdw11;
        self.cmd_admin(&mut cmd, DataBuf::None)
    }

    /// The Sanitize Status log (LID 81h).
    pub fn log_sanitize(&self) -> Result<SanitizeStatusLog> {
        let mut buf = vec![0u8; size_of::<SanitizeStatusLog>()];
        self.get_log_page(
            LogPageId::SANITIZE_STATUS.0,
            0,
            0,
            0xffff_ffff,
            false,
            &mut buf,
        )?;
        SanitizeStatusLog::read_from_bytes(&buf[..])
            .map_err(|_| Error::bad_reply("Get Log Page", "short Sanitize Status log"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_cdw10_places_every_field() {
        let f = FormatNvm {
            nsid: None,
            lbaf: 0x15,
            mset: true,
            pi: 3,
            pil: true,
            ses: SecureErase::Crypto,
        };
        let c = f.cdw10().unwrap();
        assert_eq!(c & 0xf, 5, "LBAFL");
        assert_eq!(c >> 12 & 3, 1, "LBAFU");
        assert_eq!(c >> 4 & 1, 1, "MSET");
        assert_eq!(c >> 5 & 7, 3, "PI");
        assert_eq!(c >> 8 & 1, 1, "PIL");
        assert_eq!(c >> 9 & 7, 2, "SES");
        let e = FormatNvm { lbaf: 64, ..f }.cdw10();
        assert!(matches!(
            e,
            Err(Error::OutOfRange {
                what: "LBA format",
                ..
            })
        ));
        let e = FormatNvm { pi: 4, ..f }.cdw10();
        assert!(matches!(e, Err(Error::OutOfRange { what: "pi", .. })));
        assert!(matches!(
            SecureErase::from_ses(3),
            Err(Error::OutOfRange { what: "ses", .. })
        ));
    }

    #[test]
    fn sanitize_dwords_place_every_field() {
        let s = Sanitize {
            action: SanitizeAction::Overwrite,
            ause: true,
            owpass: 16,
            oipbp: true,
            nodas: true,
            ovrpat: 0xdead_beef,
        };
        let (c10, c11) = s.cdw10_11().unwrap();
        assert_eq!(c10, 3 | 1 << 3 | 1 << 8 | 1 << 9, "OWPASS 16 is sent as 0");
        assert_eq!(c11, 0xdead_beef);
        let e = Sanitize { owpass: 0, ..s }.cdw10_11();
        assert!(matches!(e, Err(Error::OutOfRange { what: "owpass", .. })));
        let e = SanitizeAction::from_sanact(5);
        assert!(matches!(e, Err(Error::OutOfRange { what: "sanact", .. })));
        assert_eq!(
            SanitizeAction::from_sanact(4).unwrap(),
            SanitizeAction::CryptoErase
        );
    }
}
