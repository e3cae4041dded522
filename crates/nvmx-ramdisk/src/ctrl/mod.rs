//! The controller: state shared by all commands.
//!
//! [`RamCtrl`] implements both [`SyncIo`](nvmx_core::be::SyncIo) and
//! [`Admin`](nvmx_core::be::Admin) (see the dispatch module). Each command runs
//! to completion on the calling thread; commands from several threads run
//! in parallel, serialized only where they touch the same chunk of blocks
//! (see the media module), the error log or the feature settings.

pub(crate) mod directive;
pub(crate) mod fdp;
pub(crate) mod features;
pub(crate) mod kv;
pub(crate) mod sanitize;

use std::sync::{Arc, Mutex, PoisonError, RwLock};
use std::time::{Duration, Instant};

use super::errlog::ErrorLog;
use super::fail::NSID;
use super::ns::{self, Namespace};
use super::params::Params;
use super::stats::Stats;
use features::Features;
use nvmx_core::error::Result;

/// An NVMe controller in memory with one NVM namespace.
///
/// Created by [`super::open`]; shared by the sync, admin and async
/// interfaces of a device. All methods take `&self` and may be called from
/// several threads at once.
pub struct RamCtrl {
    pub(super) params: Params,
    pub(super) subnqn: String,
    /// The namespace; Format NVM replaces it whole.
    pub(super) ns: RwLock<Arc<Namespace>>,
    /// Sanitize state, for the Sanitize Status log.
    pub(super) sanitize: Mutex<sanitize::SanitizeState>,
    pub(super) errors: Mutex<ErrorLog>,
    pub(super) stats: Stats,
    pub(super) features: Mutex<Features>,
    /// When the controller was created (power-on hours, timestamp).
    pub(super) created: Instant,
    /// Flexible Data Placement, with `fdp=1`.
    pub(super) fdp: Option<fdp::Fdp>,
    /// The key-value pairs of a KV namespace, with `kv=1`.
    pub(super) kv: Option<kv::KvSpace>,
    /// Directive settings of the namespace.
    pub(super) directives: directive::Directives,
    /// Injected faults (`fatal_after`, `stall_after`).
    pub(super) faults: super::fault::Faults,
    /// How long the sync path waits for a command the controller holds
    /// (the device's `command-timeout`).
    pub(super) io_timeout: Duration,
}

impl std::fmt::Debug for RamCtrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let ns = self.ns();
        f.debug_struct("RamCtrl")
            .field("subnqn", &self.subnqn)
            .field("nsze", &ns.nsze)
            .field("lbaf", &ns.lbaf)
            .field("extended", &ns.extended)
            .field("mdts", &self.params.mdts)
            .finish_non_exhaustive()
    }
}

impl RamCtrl {
    /// A controller shaped by `params`.
    pub(super) fn new(params: Params) -> Result<RamCtrl> {
        Ok(RamCtrl {
            subnqn: format!("nqn.2026-11.io.nvmx:ramdisk:{}", params.nbytes),
            ns: RwLock::new(Arc::new(match params.zoned {
                Some(z) => ns::zones::namespace(NSID, &params, z)?,
                None => Namespace::new_nvm(NSID, &params)?,
            })),
            sanitize: Mutex::new(sanitize::SanitizeState::default()),
            params,
            errors: Mutex::new(ErrorLog::default()),
            stats: Stats::default(),
            features: Mutex::new(Features::default()),
            created: Instant::now(),
            fdp: params
                .fdp
                .enabled
                .then(|| fdp::Fdp::new(params.fdp, params.shape().ds, params.shape().ms)),
            kv: params.kv.then(kv::KvSpace::default),
            directives: Default::default(),
            faults: super::fault::Faults::new(params.fatal_after, params.stall_after),
            io_timeout: nvmx_core::opts::Options::default().command_timeout,
        })
    }

    /// Sets how long the sync path waits for a held command.
    pub(super) fn with_io_timeout(mut self, timeout: Duration) -> RamCtrl {
        self.io_timeout = timeout;
        self
    }

    /// The NVM subsystem NQN, as reported in Identify Controller.
    pub fn subnqn(&self) -> &str {
        &self.subnqn
    }

    /// The namespace's block shape for data transfers: bytes per block in
    /// the data buffer (data plus interleaved metadata) and bytes of
    /// separate metadata per block (0 when metadata is interleaved or
    /// absent).
    pub fn xfer_shape(&self) -> (u64, u64) {
        let ns = self.ns();
        let meta = if ns.separate_meta() { ns.ms() } else { 0 };
        (ns.host_block_bytes(), meta)
    }

    /// The one namespace, as it is now (a Format NVM replaces it).
    pub(super) fn ns(&self) -> Arc<Namespace> {
        Arc::clone(&self.ns.read().unwrap_or_else(PoisonError::into_inner))
    }

    /// Replaces the namespace (Format NVM, Sanitize); commands already
    /// running finish on the one they started on.
    pub(super) fn replace_ns(&self, ns: Namespace) {
        *self.ns.write().unwrap_or_else(PoisonError::into_inner) = Arc::new(ns);
    }

    /// The namespace `nsid` names, if it exists.
    pub(super) fn namespace(&self, nsid: u32) -> Option<Arc<Namespace>> {
        let ns = self.ns();
        (nsid == ns.nsid).then_some(ns)
    }

    /// The namespaces, in nsid order.
    pub(super) fn namespaces(&self) -> impl Iterator<Item = Arc<Namespace>> {
        std::iter::once(self.ns())
    }

    /// The error log, locked.
    pub(super) fn error_log(&self) -> std::sync::MutexGuard<'_, ErrorLog> {
        self.errors.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The feature settings, locked.
    pub(super) fn features(&self) -> std::sync::MutexGuard<'_, Features> {
        self.features.lock().unwrap_or_else(PoisonError::into_inner)
    }
}
