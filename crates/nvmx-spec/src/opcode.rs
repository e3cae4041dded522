//! Command opcodes as open enums, per command set.
//!
//! Each is a newtype over the raw `u8` so that any opcode, known or vendor
//! specific, round-trips unchanged.

macro_rules! open_enum {
    (
        $(#[$meta:meta])*
        $name:ident : $repr:ty {
            $( $(#[$vmeta:meta])* $variant:ident = $value:expr, $text:literal; )*
        }
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[derive(serde::Serialize, serde::Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub $repr);

        impl $name {
            $( $(#[$vmeta])* pub const $variant: Self = Self($value); )*

            /// The specification's name for this value, if it is a known one.
            pub const fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( v if v == $value => Some($text), )*
                    _ => None,
                }
            }
        }

        impl From<$repr> for $name {
            fn from(v: $repr) -> Self {
                Self(v)
            }
        }

        impl From<$name> for $repr {
            fn from(v: $name) -> $repr {
                v.0
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({:#x})", n, self.0),
                    None => write!(f, "{}({:#x})", stringify!($name), self.0),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, "{:#x}", self.0),
                }
            }
        }
    };
}
pub(crate) use open_enum;

open_enum! {
    /// Admin command set opcodes (NVMe 2.0 base, figure 28).
    AdminOpcode: u8 {
        /// Delete I/O Submission Queue.
        DELETE_IO_SQ = 0x00, "Delete I/O Submission Queue";
        /// Create I/O Submission Queue.
        CREATE_IO_SQ = 0x01, "Create I/O Submission Queue";
        /// Get Log Page.
        GET_LOG_PAGE = 0x02, "Get Log Page";
        /// Delete I/O Completion Queue.
        DELETE_IO_CQ = 0x04, "Delete I/O Completion Queue";
        /// Create I/O Completion Queue.
        CREATE_IO_CQ = 0x05, "Create I/O Completion Queue";
        /// Identify.
        IDENTIFY = 0x06, "Identify";
        /// Abort.
        ABORT = 0x08, "Abort";
        /// Set Features.
        SET_FEATURES = 0x09, "Set Features";
        /// Get Features.
        GET_FEATURES = 0x0a, "Get Features";
        /// Asynchronous Event Request.
        ASYNC_EVENT_REQUEST = 0x0c, "Asynchronous Event Request";
        /// Namespace Management.
        NS_MGMT = 0x0d, "Namespace Management";
        /// Firmware Commit.
        FW_COMMIT = 0x10, "Firmware Commit";
        /// Firmware Image Download.
        FW_DOWNLOAD = 0x11, "Firmware Image Download";
        /// Device Self-test.
        DEVICE_SELF_TEST = 0x14, "Device Self-test";
        /// Namespace Attachment.
        NS_ATTACH = 0x15, "Namespace Attachment";
        /// Keep Alive.
        KEEP_ALIVE = 0x18, "Keep Alive";
        /// Directive Send.
        DIRECTIVE_SEND = 0x19, "Directive Send";
        /// Directive Receive.
        DIRECTIVE_RECV = 0x1a, "Directive Receive";
        /// Virtualization Management.
        VIRT_MGMT = 0x1c, "Virtualization Management";
        /// NVMe-MI Send.
        NVME_MI_SEND = 0x1d, "NVMe-MI Send";
        /// NVMe-MI Receive.
        NVME_MI_RECV = 0x1e, "NVMe-MI Receive";
        /// Doorbell Buffer Config.
        DOORBELL_BUFFER_CONFIG = 0x7c, "Doorbell Buffer Config";
        /// Format NVM.
        FORMAT_NVM = 0x80, "Format NVM";
        /// Security Send.
        SECURITY_SEND = 0x81, "Security Send";
        /// Security Receive.
        SECURITY_RECV = 0x82, "Security Receive";
        /// Sanitize.
        SANITIZE = 0x84, "Sanitize";
        /// Get LBA Status.
        GET_LBA_STATUS = 0x86, "Get LBA Status";
    }
}

open_enum! {
    /// NVM command set I/O opcodes (NVM command set spec 1.0, figure 18),
    /// plus the Zoned Namespace opcodes that share the I/O queue.
    NvmOpcode: u8 {
        /// Flush.
        FLUSH = 0x00, "Flush";
        /// Write.
        WRITE = 0x01, "Write";
        /// Read.
        READ = 0x02, "Read";
        /// Write Uncorrectable.
        WRITE_UNCORRECTABLE = 0x04, "Write Uncorrectable";
        /// Compare.
        COMPARE = 0x05, "Compare";
        /// Write Zeroes.
        WRITE_ZEROES = 0x08, "Write Zeroes";
        /// Dataset Management.
        DSM = 0x09, "Dataset Management";
        /// Verify.
        VERIFY = 0x0c, "Verify";
        /// Reservation Register.
        RESV_REGISTER = 0x0d, "Reservation Register";
        /// Reservation Report.
        RESV_REPORT = 0x0e, "Reservation Report";
        /// Reservation Acquire.
        RESV_ACQUIRE = 0x11, "Reservation Acquire";
        /// I/O Management Receive (FDP reclaim unit handle status).
        IO_MGMT_RECV = 0x12, "I/O Management Receive";
        /// Reservation Release.
        RESV_RELEASE = 0x15, "Reservation Release";
        /// Copy (Simple Copy).
        COPY = 0x19, "Copy";
        /// I/O Management Send (FDP reclaim unit handle update).
        IO_MGMT_SEND = 0x1d, "I/O Management Send";
        /// Zone Management Send.
        ZONE_MGMT_SEND = 0x79, "Zone Management Send";
        /// Zone Management Receive.
        ZONE_MGMT_RECV = 0x7a, "Zone Management Receive";
        /// Zone Append.
        ZONE_APPEND = 0x7d, "Zone Append";
    }
}

open_enum! {
    /// Key Value command set opcodes (KV command set spec 1.0).
    KvOpcode: u8 {
        /// Store.
        STORE = 0x01, "Store";
        /// Retrieve.
        RETRIEVE = 0x02, "Retrieve";
        /// List.
        LIST = 0x06, "List";
        /// Delete.
        DELETE = 0x10, "Delete";
        /// Exist.
        EXIST = 0x14, "Exist";
    }
}

open_enum! {
    /// I/O Command Set Identifier (CSI).
    Csi: u8 {
        /// NVM command set.
        NVM = 0x00, "NVM";
        /// Key Value command set.
        KV = 0x01, "Key Value";
        /// Zoned Namespace command set.
        ZONED = 0x02, "Zoned Namespace";
        /// Pseudo command set used for plain files (xNVMe's `FS`, 0x1F).
        FS = 0x1f, "File (pseudo)";
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_opcode_round_trips_and_prints_hex() {
        let op = NvmOpcode(0xc3);
        assert_eq!(op.name(), None);
        assert_eq!(u8::from(op), 0xc3);
        assert_eq!(std::format!("{op}"), "0xc3");
        let json = serde_json::to_string(&op).unwrap();
        assert_eq!(json, "195");
        let back: NvmOpcode = serde_json::from_str(&json).unwrap();
        assert_eq!(back, op);
    }

    #[test]
    fn known_opcodes_have_spec_names() {
        assert_eq!(NvmOpcode::READ.name(), Some("Read"));
        assert_eq!(AdminOpcode::IDENTIFY.0, 0x06);
        assert_eq!(NvmOpcode::ZONE_APPEND.0, 0x7d);
        assert_eq!(KvOpcode::EXIST.0, 0x14);
        assert_eq!(
            std::format!("{:?}", AdminOpcode::GET_LOG_PAGE),
            "Get Log Page(0x2)"
        );
    }
}
