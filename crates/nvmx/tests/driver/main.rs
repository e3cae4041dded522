//! The user-space PCIe driver, one test binary: `upcie` drives the
//! emulated PCIe controller on any host; `upcie_linux` moves QEMU's
//! controllers to uio_pci_generic or vfio-pci in the guest boots of
//! testrig/vm/guest-suite-upcie.sh.

#[path = "../common/mod.rs"]
mod common;

mod upcie;
mod upcie_linux;
mod upcie_safety;
