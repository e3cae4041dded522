//! Linux-only interfaces, one module each.

pub mod aio;
pub mod block;
pub mod dev;
pub mod nvme;
pub mod uring;
