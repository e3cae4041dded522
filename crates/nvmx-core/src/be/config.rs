//! Backend configurations and how one is selected for a URI.
//!
//! Each platform has an ordered list of configurations (the facade's
//! `platform::CONFIGS`). Opening a device walks the list and takes
//! the first configuration that passes every filter and opens:
//! 1. `--be` must equal the configuration's name;
//! 2. `--async`, `--sync`, `--admin` and `--mem`, when given, must equal
//!    the configuration's interface ids;
//! 3. the configuration's capabilities must include the URI's kind (unlike
//!    xNVMe, naming an interface does not skip this check, so `--async
//!    thrpool` on a file picks the file configuration that has it);
//! 4. its open function must succeed.
//!
//! When none is left, the error lists every configuration with the reason
//! it was passed over, so the user sees what to change.

use serde::Serialize;

use super::{Backend, EngineCtor};
use crate::caps::Caps;
use crate::error::{Error, Rejection, Result};
use crate::opts::Options;
use crate::uri::Uri;

/// A complete recipe for reaching a device.
pub struct BackendConfig {
    /// Name, as given to `--be`.
    pub name: &'static str,
    /// One-line description.
    pub descr: &'static str,
    /// Kinds of target this configuration serves.
    pub caps: Caps,
    /// Async interface id.
    pub async_id: &'static str,
    /// Sync interface id.
    pub sync_id: &'static str,
    /// Admin interface id.
    pub admin_id: &'static str,
    /// Dev interface id.
    pub dev_id: &'static str,
    /// Mem interface id.
    pub mem_id: &'static str,
    /// Opens the device.
    pub open: fn(&Uri, &Options) -> Result<Backend>,
    /// Creates the engine of an async queue.
    pub new_engine: EngineCtor,
}

/// A configuration's public description, for `library-info`.
#[derive(Clone, Debug, Serialize)]
pub struct ConfigAttr {
    /// Name.
    pub name: &'static str,
    /// Async interface id.
    #[serde(rename = "async")]
    pub async_id: &'static str,
    /// Sync interface id.
    pub sync: &'static str,
    /// Admin interface id.
    pub admin: &'static str,
    /// Dev interface id.
    pub dev: &'static str,
    /// Mem interface id.
    pub mem: &'static str,
    /// Description.
    pub descr: &'static str,
    /// Capability bits.
    pub caps: Caps,
    /// Capabilities spelled out.
    pub caps_names: String,
}

impl BackendConfig {
    /// The public description of this configuration.
    pub fn attr(&self) -> ConfigAttr {
        ConfigAttr {
            name: self.name,
            async_id: self.async_id,
            sync: self.sync_id,
            admin: self.admin_id,
            dev: self.dev_id,
            mem: self.mem_id,
            descr: self.descr,
            caps: self.caps,
            caps_names: self.caps.to_string(),
        }
    }
}

impl std::fmt::Debug for BackendConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackendConfig")
            .field("name", &self.name)
            .finish_non_exhaustive()
    }
}

/// Checks that every named interface exists on this platform, so a typo is
/// reported as such instead of as "nothing fits".
fn check_names(list: &[&BackendConfig], opts: &Options) -> Result<()> {
    fn known(what: &'static str, given: &Option<String>, ids: Vec<&'static str>) -> Result<()> {
        let Some(g) = given else { return Ok(()) };
        if ids.contains(&g.as_str()) {
            return Ok(());
        }
        let mut ids = ids;
        ids.sort_unstable();
        ids.dedup();
        Err(Error::invalid(
            what,
            format!(
                "{g:?} is not one on this platform; known: {}",
                ids.join(", ")
            ),
        ))
    }
    known(
        "backend configuration (--be)",
        &opts.be,
        list.iter().map(|c| c.name).collect(),
    )?;
    known(
        "async interface (--async)",
        &opts.async_,
        list.iter().map(|c| c.async_id).collect(),
    )?;
    known(
        "sync interface (--sync)",
        &opts.sync,
        list.iter().map(|c| c.sync_id).collect(),
    )?;
    known(
        "admin interface (--admin)",
        &opts.admin,
        list.iter().map(|c| c.admin_id).collect(),
    )?;
    known(
        "mem interface (--mem)",
        &opts.mem,
        list.iter().map(|c| c.mem_id).collect(),
    )?;
    Ok(())
}

/// Why `cfg` does not fit the options and URI, or `None` when it does.
fn mismatch(cfg: &BackendConfig, uri: &Uri, opts: &Options) -> Option<String> {
    let pairs = [
        ("--be", &opts.be, cfg.name),
        ("--async", &opts.async_, cfg.async_id),
        ("--sync", &opts.sync, cfg.sync_id),
        ("--admin", &opts.admin, cfg.admin_id),
        ("--mem", &opts.mem, cfg.mem_id),
    ];
    for (flag, want, have) in pairs {
        if let Some(w) = want
            && w != have
        {
            return Some(format!("{flag} {w} asked, it has {have}"));
        }
    }
    if !cfg.caps.intersects(uri.caps) {
        return Some(format!("serves {}, the URI is {}", cfg.caps, uri.caps));
    }
    None
}

/// Picks and opens the first configuration in `list` that fits (the
/// facade's `select` passes its platform's list; tests use their own).
pub fn select_from<'c>(
    list: &[&'c BackendConfig],
    uri: &Uri,
    opts: &Options,
) -> Result<(&'c BackendConfig, Backend)> {
    check_names(list, opts)?;
    let mut tried = Vec::new();
    for &cfg in list {
        if let Some(reason) = mismatch(cfg, uri, opts) {
            tried.push(Rejection {
                config: cfg.name,
                reason,
            });
            continue;
        }
        match (cfg.open)(uri, opts) {
            Ok(be) => return Ok((cfg, be)),
            // Bad arguments and permission problems are the same for every
            // configuration: report them as they are, not as a list.
            Err(e) if e.is_caller_mistake() => return Err(e),
            Err(e) if e.is_permission_denied() => return Err(e),
            // The target itself could not be opened (missing, busy, a
            // directory): every other configuration would fail the same way.
            Err(e @ Error::Io { op: "open", .. }) => return Err(e),
            Err(e) => tried.push(Rejection {
                config: cfg.name,
                reason: e.to_string(),
            }),
        }
    }
    // With a filter given, the configurations it excluded are noise: keep
    // only the ones that got as far as the capability check or open.
    let filtered =
        opts.be.is_some() || opts.async_.is_some() || opts.sync.is_some() || opts.admin.is_some();
    if filtered {
        tried.retain(|r| !r.reason.starts_with("--"));
    }
    Err(Error::NoBackend {
        uri: uri.raw.clone(),
        tried,
    })
}
