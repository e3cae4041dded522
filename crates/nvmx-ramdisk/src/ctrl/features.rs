//! The feature settings Get and Set Features read and change (see the
//! features module), and the temperatures they start from.

use std::time::Instant;

use nvmx_spec::feature::PowerManagement;

/// Warning composite temperature threshold (WCTEMP): 358 K, 85 °C.
pub(crate) const WCTEMP: u16 = 358;
/// Critical composite temperature threshold (CCTEMP): 368 K, 95 °C.
pub(crate) const CCTEMP: u16 = 368;
/// The composite temperature the ramdisk reports: 300 K.
pub(crate) const TEMPERATURE: u16 = 300;
/// I/O queues allocated, 0-based, reported for both submission and
/// completion queues: 0x3f, i.e. 64 of each.
pub(crate) const QUEUES_ALLOCATED: u16 = 63;
/// Bytes of the Timestamp feature's data.
pub(crate) const TIMESTAMP_BYTES: usize = 8;
/// Asynchronous event configuration bits the controller keeps: the SMART
/// critical warnings (bits 7:0).
pub(crate) const AEC_SUPPORTED: u32 = 0xff;

/// The current feature settings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Features {
    /// Arbitration (CDW11 of Set Features).
    pub arbitration: u32,
    /// Power management: the power state and workload hint.
    pub power: PowerManagement,
    /// Over temperature threshold of the composite sensor, in kelvins.
    pub temp_over: u16,
    /// Under temperature threshold of the composite sensor, in kelvins.
    pub temp_under: u16,
    /// Error recovery: the time limited error recovery (TLER).
    pub tler: u16,
    /// Volatile write cache enabled.
    pub wce: bool,
    /// Asynchronous event configuration.
    pub async_event: u32,
    /// The timestamp the host set, in milliseconds since the epoch, and
    /// when it was set.
    pub timestamp: Option<(u64, Instant)>,
}

impl Default for Features {
    fn default() -> Self {
        Features {
            arbitration: 0,
            power: PowerManagement { ps: 0, wh: 0 },
            temp_over: WCTEMP,
            temp_under: 0,
            tler: 0,
            wce: true,
            async_event: 0,
            timestamp: None,
        }
    }
}
