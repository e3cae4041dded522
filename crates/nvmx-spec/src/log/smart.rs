//! The SMART / Health Information log page (LID 0x02).

use serde::Serialize;
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

use crate::identify::{ser, zeroed_default};

/// Critical warning bits of [`SmartHealthLog::critical_warning`].
pub mod critical_warning {
    /// Available spare capacity has fallen below the threshold.
    pub const SPARE: u8 = 1 << 0;
    /// A temperature is outside its threshold.
    pub const TEMPERATURE: u8 = 1 << 1;
    /// NVM subsystem reliability is degraded.
    pub const DEGRADED: u8 = 1 << 2;
    /// All media is read-only.
    pub const READ_ONLY: u8 = 1 << 3;
    /// Volatile memory backup device has failed.
    pub const VOLATILE_BACKUP: u8 = 1 << 4;
    /// Persistent memory region has become read-only or unreliable.
    pub const PMR_READ_ONLY: u8 = 1 << 5;
}

/// SMART / Health Information log (LID 0x02; NVMe 2.0 base, Get Log Page): 512 bytes.
#[derive(
    Clone, Copy, PartialEq, Eq, Debug, FromBytes, IntoBytes, Immutable, KnownLayout, Serialize,
)]
#[repr(C)]
pub struct SmartHealthLog {
    /// Critical warning bits, see [`critical_warning`].
    pub critical_warning: u8,
    /// Composite temperature in kelvin, little-endian (unaligned in the page).
    #[serde(serialize_with = "ser::u16_le")]
    pub temperature: [u8; 2],
    /// Available spare, percent.
    pub avail_spare: u8,
    /// Available spare threshold, percent.
    pub spare_thresh: u8,
    /// Percentage used (may exceed 100).
    pub percent_used: u8,
    /// Endurance group critical warning summary.
    pub endu_grp_crit_warn_sumry: u8,
    #[serde(skip)]
    /// Reserved.
    pub rsvd7: [u8; 25],
    /// Data units read, in thousands of 512-byte units.
    #[serde(serialize_with = "ser::u128_le")]
    pub data_units_read: [u8; 16],
    /// Data units written, in thousands of 512-byte units.
    #[serde(serialize_with = "ser::u128_le")]
    pub data_units_written: [u8; 16],
    /// Host read commands completed.
    #[serde(serialize_with = "ser::u128_le")]
    pub host_read_commands: [u8; 16],
    /// Host write commands completed.
    #[serde(serialize_with = "ser::u128_le")]
    pub host_write_commands: [u8; 16],
    /// Controller busy time, in minutes.
    #[serde(serialize_with = "ser::u128_le")]
    pub ctrl_busy_time: [u8; 16],
    /// Power cycles.
    #[serde(serialize_with = "ser::u128_le")]
    pub power_cycles: [u8; 16],
    /// Power-on hours.
    #[serde(serialize_with = "ser::u128_le")]
    pub power_on_hours: [u8; 16],
    /// Unsafe shutdowns.
    #[serde(serialize_with = "ser::u128_le")]
    pub unsafe_shutdowns: [u8; 16],
    /// Media and data integrity errors.
    #[serde(serialize_with = "ser::u128_le")]
    pub media_errors: [u8; 16],
    /// Number of error information log entries over the controller's life.
    #[serde(serialize_with = "ser::u128_le")]
    pub num_err_log_entries: [u8; 16],
    /// Minutes spent above the warning composite temperature threshold.
    pub warning_temp_time: u32,
    /// Minutes spent above the critical composite temperature threshold.
    pub critical_comp_time: u32,
    /// Temperature sensors 1 to 8 in kelvin; 0 = not implemented.
    pub temp_sensor: [u16; 8],
    /// Thermal management temperature 1 transition count.
    pub thm_temp1_trans_count: u32,
    /// Thermal management temperature 2 transition count.
    pub thm_temp2_trans_count: u32,
    /// Total seconds at thermal management temperature 1.
    pub thm_temp1_total_time: u32,
    /// Total seconds at thermal management temperature 2.
    pub thm_temp2_total_time: u32,
    #[serde(skip)]
    /// Reserved.
    pub rsvd232: [u8; 280],
}

const _: () = assert!(core::mem::size_of::<SmartHealthLog>() == 512);

impl SmartHealthLog {
    /// Composite temperature in kelvin.
    pub const fn temperature(&self) -> u16 {
        u16::from_le_bytes(self.temperature)
    }

    /// Composite temperature in degrees Celsius.
    pub const fn temperature_celsius(&self) -> i32 {
        self.temperature() as i32 - 273
    }

    /// Data units read (each 1000 × 512 bytes).
    pub const fn data_units_read(&self) -> u128 {
        u128::from_le_bytes(self.data_units_read)
    }

    /// Data units written (each 1000 × 512 bytes).
    pub const fn data_units_written(&self) -> u128 {
        u128::from_le_bytes(self.data_units_written)
    }

    /// Host read commands completed.
    pub const fn host_read_commands(&self) -> u128 {
        u128::from_le_bytes(self.host_read_commands)
    }

    /// Host write commands completed.
    pub const fn host_write_commands(&self) -> u128 {
        u128::from_le_bytes(self.host_write_commands)
    }

    /// Controller busy time in minutes.
    pub const fn ctrl_busy_time(&self) -> u128 {
        u128::from_le_bytes(self.ctrl_busy_time)
    }

    /// Power cycles.
    pub const fn power_cycles(&self) -> u128 {
        u128::from_le_bytes(self.power_cycles)
    }

    /// Power-on hours.
    pub const fn power_on_hours(&self) -> u128 {
        u128::from_le_bytes(self.power_on_hours)
    }

    /// Unsafe shutdowns.
    pub const fn unsafe_shutdowns(&self) -> u128 {
        u128::from_le_bytes(self.unsafe_shutdowns)
    }

    /// Media and data integrity errors.
    pub const fn media_errors(&self) -> u128 {
        u128::from_le_bytes(self.media_errors)
    }

    /// Number of error information log entries.
    pub const fn num_err_log_entries(&self) -> u128 {
        u128::from_le_bytes(self.num_err_log_entries)
    }
}

zeroed_default!(SmartHealthLog);

#[cfg(test)]
mod tests {
    use super::*;
    use core::mem::offset_of;

    #[test]
    fn smart_log_offsets_match_base_spec() {
        assert_eq!(offset_of!(SmartHealthLog, temperature), 1);
        assert_eq!(offset_of!(SmartHealthLog, percent_used), 5);
        assert_eq!(offset_of!(SmartHealthLog, data_units_read), 32);
        assert_eq!(offset_of!(SmartHealthLog, host_read_commands), 64);
        assert_eq!(offset_of!(SmartHealthLog, power_cycles), 112);
        assert_eq!(offset_of!(SmartHealthLog, power_on_hours), 128);
        assert_eq!(offset_of!(SmartHealthLog, num_err_log_entries), 176);
        assert_eq!(offset_of!(SmartHealthLog, warning_temp_time), 192);
        assert_eq!(offset_of!(SmartHealthLog, temp_sensor), 200);
        assert_eq!(offset_of!(SmartHealthLog, thm_temp1_trans_count), 216);
        assert_eq!(offset_of!(SmartHealthLog, thm_temp2_total_time), 228);
    }

    #[test]
    fn smart_log_decodes_counters_and_temperature() {
        let mut raw = [0u8; 512];
        raw[1..3].copy_from_slice(&310u16.to_le_bytes());
        raw[32] = 0x01;
        raw[47] = 0x80; // top byte of data units read
        raw[128..130].copy_from_slice(&1000u16.to_le_bytes());
        let log = SmartHealthLog::read_from_bytes(&raw[..]).unwrap();
        assert_eq!(log.temperature(), 310);
        assert_eq!(log.temperature_celsius(), 37);
        assert_eq!(log.data_units_read(), 1 << 127 | 1);
        assert_eq!(log.power_on_hours(), 1000);
        // Counters beyond 64 bits need the format's u128 support...
        let json = serde_json::to_string(&log).unwrap();
        assert!(json.contains(r#""data_units_read":170141183460469231731687303715884105729"#));
        // ...the others serialize as u64, so they also fit a serde_json::Value.
        let mut small = log;
        small.data_units_read = [0; 16];
        let v = serde_json::to_value(small).unwrap();
        assert_eq!(v["temperature"], 310);
        assert_eq!(v["power_on_hours"], 1000);
    }
}
