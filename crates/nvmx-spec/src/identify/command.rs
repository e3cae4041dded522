//! The Identify command: its CNS values and its typed view.

use serde::Serialize;

use crate::cmd::Command;
use crate::opcode::{AdminOpcode, Csi, open_enum};

open_enum! {
    /// Controller or Namespace Structure (CNS) values of the Identify
    /// command (NVMe 2.0 base, figure "CNS Values").
    Cns: u8 {
        /// Identify Namespace data structure for the given NSID.
        NAMESPACE = 0x00, "Identify Namespace";
        /// Identify Controller data structure.
        CONTROLLER = 0x01, "Identify Controller";
        /// Active namespace ID list (NSIDs above the given one).
        ACTIVE_NSID_LIST = 0x02, "Active Namespace ID list";
        /// Namespace identification descriptor list for the given NSID.
        NS_ID_DESCRIPTOR_LIST = 0x03, "Namespace Identification Descriptor list";
        /// NVM Set list.
        NVM_SET_LIST = 0x04, "NVM Set List";
        /// I/O command set specific Identify Namespace data structure.
        CSI_NAMESPACE = 0x05, "I/O Command Set specific Identify Namespace";
        /// I/O command set specific Identify Controller data structure.
        CSI_CONTROLLER = 0x06, "I/O Command Set specific Identify Controller";
        /// Active namespace ID list for the given I/O command set.
        CSI_ACTIVE_NSID_LIST = 0x07, "I/O Command Set specific Active Namespace ID list";
        /// I/O command set independent Identify Namespace data structure.
        IO_CMDSET_INDEPENDENT_NS = 0x08, "I/O Command Set Independent Identify Namespace";
        /// Allocated namespace ID list.
        ALLOCATED_NSID_LIST = 0x10, "Allocated Namespace ID list";
        /// Identify Namespace data structure for an allocated NSID.
        ALLOCATED_NAMESPACE = 0x11, "Identify Namespace for an Allocated NSID";
        /// Controllers attached to the given NSID.
        NS_CONTROLLER_LIST = 0x12, "Namespace Attached Controller list";
        /// Controllers that exist in the NVM subsystem.
        CONTROLLER_LIST = 0x13, "Controller list";
        /// Primary controller capabilities.
        PRIMARY_CTRL_CAPS = 0x14, "Primary Controller Capabilities";
        /// Secondary controller list.
        SECONDARY_CTRL_LIST = 0x15, "Secondary Controller list";
        /// Namespace granularity list.
        NS_GRANULARITY = 0x16, "Namespace Granularity List";
        /// UUID list.
        UUID_LIST = 0x17, "UUID List";
        /// Domain list.
        DOMAIN_LIST = 0x18, "Domain List";
        /// Endurance group list.
        ENDURANCE_GROUP_LIST = 0x19, "Endurance Group List";
        /// Allocated namespace ID list for the given I/O command set.
        CSI_ALLOCATED_NSID_LIST = 0x1a, "I/O Command Set specific Allocated Namespace ID list";
        /// I/O command set specific Identify Namespace for an allocated NSID.
        CSI_NS_ALLOCATED = 0x1b, "CSI specific Identify Namespace for an Allocated NSID";
        /// I/O command set data structure (vectors of supported sets).
        IO_CMDSET = 0x1c, "Identify I/O Command Set data structure";
    }
}

/// Typed view of the Identify admin command (NVMe 2.0 base, section 5.17).
#[derive(Clone, Copy, Default, PartialEq, Eq, Debug, Serialize)]
pub struct Identify {
    /// Namespace identifier (for namespace CNS values).
    pub nsid: u32,
    /// Controller or namespace structure to return (CDW10 bits 7:0).
    pub cns: Cns,
    /// Controller identifier (CDW10 bits 31:16), for controller lists.
    pub cntid: u16,
    /// CNS specific identifier (CDW11 bits 15:0): an NVM set, domain or
    /// endurance group identifier, depending on `cns`.
    pub cnssi: u16,
    /// Command set identifier (CDW11 bits 31:24), for the CSI-specific CNS values.
    pub csi: Csi,
    /// UUID index (CDW14 bits 6:0); 0 selects no UUID.
    pub uuid: u8,
}

impl Identify {
    /// Identify Controller.
    pub const fn controller() -> Self {
        Self {
            nsid: 0,
            cns: Cns::CONTROLLER,
            cntid: 0,
            cnssi: 0,
            csi: Csi::NVM,
            uuid: 0,
        }
    }

    /// Identify Namespace (NVM command set layout) for `nsid`.
    pub const fn namespace(nsid: u32) -> Self {
        Self {
            nsid,
            cns: Cns::NAMESPACE,
            cntid: 0,
            cnssi: 0,
            csi: Csi::NVM,
            uuid: 0,
        }
    }

    /// I/O command set specific Identify Controller for `csi`.
    pub const fn csi_controller(csi: Csi) -> Self {
        Self {
            nsid: 0,
            cns: Cns::CSI_CONTROLLER,
            cntid: 0,
            cnssi: 0,
            csi,
            uuid: 0,
        }
    }

    /// I/O command set specific Identify Namespace for `nsid` and `csi`.
    pub const fn csi_namespace(nsid: u32, csi: Csi) -> Self {
        Self {
            nsid,
            cns: Cns::CSI_NAMESPACE,
            cntid: 0,
            cnssi: 0,
            csi,
            uuid: 0,
        }
    }

    /// Encodes this view into a submission entry.
    pub fn to_command(&self) -> Command {
        let mut cmd = Command::new(AdminOpcode::IDENTIFY.0, self.nsid);
        cmd.cdw10 = self.cns.0 as u32 | (self.cntid as u32) << 16;
        cmd.cdw11 = self.cnssi as u32 | (self.csi.0 as u32) << 24;
        cmd.cdw14 = (self.uuid & 0x7f) as u32;
        cmd
    }

    /// Decodes a submission entry as an Identify command.
    pub fn from_command(cmd: &Command) -> Self {
        Self {
            nsid: cmd.nsid,
            cns: Cns(cmd.cdw10 as u8),
            cntid: (cmd.cdw10 >> 16) as u16,
            cnssi: cmd.cdw11 as u16,
            csi: Csi((cmd.cdw11 >> 24) as u8),
            uuid: (cmd.cdw14 & 0x7f) as u8,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identify_view_round_trips_and_places_fields() {
        let id = Identify {
            nsid: 3,
            cns: Cns::CSI_NAMESPACE,
            cntid: 0x12,
            cnssi: 7,
            csi: Csi::ZONED,
            uuid: 2,
        };
        let cmd = id.to_command();
        assert_eq!(cmd.opc, 0x06);
        assert_eq!(cmd.cdw10, 0x0012_0005);
        assert_eq!(cmd.cdw11, 0x0200_0007);
        assert_eq!(cmd.cdw14, 2);
        assert_eq!(Identify::from_command(&cmd), id);
        assert_eq!(Identify::controller().to_command().cdw10, 1);
    }

    #[test]
    fn unknown_cns_round_trips() {
        let cns = Cns(0x1f);
        assert_eq!(cns.name(), None);
        assert_eq!(
            Identify::from_command(
                &Identify {
                    cns,
                    ..Default::default()
                }
                .to_command()
            )
            .cns,
            cns
        );
        assert_eq!(Cns::IO_CMDSET.0, 0x1c);
        assert_eq!(Cns::NS_GRANULARITY.0, 0x16);
    }
}
