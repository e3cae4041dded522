//! The change lists: the Changed Namespace List (LID 0x04) and the Changed
//! Zone List (LID 0xBF).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::zeroed_default;

/// Changed Namespace List log (LID 0x04; NVMe 2.0 base, Get Log Page): the
/// namespace list layout. A first entry of `0xffffffff` means more than
/// 1024 namespaces changed.
pub type ChangedNsList = crate::identify::NamespaceList;

/// Changed Zone List log (LID 0xBF; ZNS 1.1, figure "Changed Zone List Log Page"): 4096 bytes.
#[derive(Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout)]
#[repr(C)]
pub struct ChangedZoneList {
    /// Number of zone identifiers (NRZID); `0xffff` means more than 511 changed.
    pub nrzid: u16,
    /// Reserved.
    pub rsvd2: [u8; 6],
    /// Zone identifiers: the start LBAs of the changed zones.
    pub zid: [u64; 511],
}

const _: () = assert!(core::mem::size_of::<ChangedZoneList>() == 4096);

impl ChangedZoneList {
    /// Whether more zones changed than the list holds.
    pub const fn overflowed(&self) -> bool {
        self.nrzid == 0xffff
    }

    /// The listed zone identifiers (empty when the list overflowed).
    pub fn zids(&self) -> &[u64] {
        if self.overflowed() {
            &[]
        } else {
            &self.zid[..(self.nrzid as usize).min(511)]
        }
    }
}

impl Serialize for ChangedZoneList {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        let mut st = s.serialize_struct("ChangedZoneList", 2)?;
        st.serialize_field("nrzid", &self.nrzid)?;
        st.serialize_field("zid", self.zids())?;
        st.end()
    }
}

zeroed_default!(ChangedZoneList);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn changed_zone_list_limits_to_nrzid() {
        assert_eq!(offset_of!(ChangedZoneList, zid), 8);
        let mut l = ChangedZoneList {
            nrzid: 2,
            ..Default::default()
        };
        l.zid[..3].copy_from_slice(&[0x1000, 0x2000, 0x3000]);
        assert_eq!(l.zids(), &[0x1000, 0x2000]);
        assert_eq!(
            serde_json::to_string(&l).unwrap(),
            r#"{"nrzid":2,"zid":[4096,8192]}"#
        );
        l.nrzid = 0xffff;
        assert!(l.overflowed());
        assert!(l.zids().is_empty());
    }
}
