pub mod backing;
#[cfg(target_os = "linux")]
pub mod linux;
