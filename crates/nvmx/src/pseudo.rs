//! Controller operations that are not NVMe commands, on [`Device`]:
//! controller reset, NVM subsystem reset, namespace rescan, and reading
//! the controller registers. The backend's admin interface performs them
//! (the Linux NVMe driver's ioctls and sysfs, the ramdisk itself); others
//! answer [`crate::Error::Unsupported`] naming the interface.

use nvmx_spec::regs::ControllerRegisters;

use crate::be::Pseudo;
use crate::device::Device;
use crate::error::Result;

impl Device {
    /// Resets the controller. Commands in flight on other handles fail
    /// while it re-initialises; the Linux driver re-enables it
    /// asynchronously, so the first commands after may fail for a moment.
    pub fn controller_reset(&self) -> Result<()> {
        self.admin_if().pseudo(Pseudo::ControllerReset)
    }

    /// Resets the NVM subsystem (every controller in it); refused with
    /// [`crate::Error::Unsupported`] when the controller does not support
    /// it (CAP.NSSRS clear).
    pub fn subsystem_reset(&self) -> Result<()> {
        self.admin_if().pseudo(Pseudo::SubsystemReset)
    }

    /// Has the driver rescan the controller's namespaces (after one was
    /// created, attached or formatted elsewhere).
    pub fn namespace_rescan(&self) -> Result<()> {
        self.admin_if().pseudo(Pseudo::NamespaceRescan)
    }

    /// Reads the controller registers (CAP, VS, CC, CSTS, AQA, ...).
    pub fn registers(&self) -> Result<ControllerRegisters> {
        self.admin_if().registers()
    }
}
