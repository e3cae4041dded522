//! `nvmx enum` and `nvmx info`: what devices there are and what an opened
//! device is.

use nvmx::Device;
use serde::Serialize;

use crate::args::DevArgs;
use crate::error::CliResult;
use crate::output::{Hex, Printer};

/// `nvmx enum`: lists the NVMe controllers, namespaces and unbound NVMe
/// PCI functions the platform finds, without opening them (on Linux, from
/// sysfs). Ramdisks and files are named by URI, so they never appear.
pub fn enumerate(p: &Printer, dev: &DevArgs) -> CliResult {
    // The options are still checked, so a typo in --be is reported.
    dev.to_options()?.validate()?;
    #[derive(Serialize)]
    struct Enumeration {
        nvmx_enumeration: Vec<nvmx::enumerate::EnumEntry>,
    }
    p.print(&Enumeration {
        nvmx_enumeration: nvmx::enumerate()?,
    })?;
    Ok(())
}

/// `ident:` of `nvmx info`.
#[derive(Serialize)]
pub struct IdentView {
    uri: String,
    dtype: u8,
    nsid: Hex,
    csi: Hex,
    subnqn: String,
}

/// One interface of `be:`, as `{id: '...'}`.
#[derive(Serialize)]
struct IdView {
    id: &'static str,
}

/// `be.attr:` of `nvmx info`.
#[derive(Serialize)]
struct AttrView {
    name: &'static str,
    descr: &'static str,
    caps: Hex,
}

/// `be:` of `nvmx info`.
#[derive(Serialize)]
struct BeView {
    dev: IdView,
    admin: IdView,
    sync: IdView,
    #[serde(rename = "async")]
    async_: IdView,
    mem: IdView,
    attr: AttrView,
}

/// `opts:` of `nvmx info`: the options in effect, with the chosen
/// interface names filled in.
#[derive(Serialize)]
struct OptsView {
    be: Option<String>,
    mem: Option<String>,
    dev: &'static str,
    admin: Option<String>,
    sync: Option<String>,
    #[serde(rename = "async")]
    async_: Option<String>,
}

/// The device, as xNVMe's `xnvme_dev_pr` prints it.
#[derive(Serialize)]
struct DevView<'a> {
    ident: IdentView,
    be: BeView,
    opts: OptsView,
    geo: &'a nvmx::Geometry,
}

#[derive(Serialize)]
struct Info<'a> {
    nvmx_dev: DevView<'a>,
}

/// `nvmx info URI` (also `nvmx lblk info URI`).
pub fn info(p: &Printer, uri: &str, args: &DevArgs) -> CliResult {
    let dev = args.open(uri)?;
    print_dev(p, &dev)
}

/// Prints an opened device.
pub fn print_dev(p: &Printer, dev: &Device) -> CliResult {
    let ident = dev.ident();
    let ids = dev.backend_ids();
    let opts = dev.opts();
    let view = Info {
        nvmx_dev: DevView {
            ident: IdentView {
                uri: ident.uri.clone(),
                dtype: ident.dtype.into(),
                nsid: Hex(ident.nsid.into()),
                csi: Hex(ident.csi.into()),
                subnqn: ident.subnqn.clone(),
            },
            be: BeView {
                dev: IdView { id: ids.dev },
                admin: IdView { id: ids.admin },
                sync: IdView { id: ids.sync },
                async_: IdView { id: ids.async_id },
                mem: IdView { id: ids.mem },
                attr: AttrView {
                    name: ids.be,
                    descr: ids.descr,
                    caps: Hex(ids.caps.0.into()),
                },
            },
            opts: OptsView {
                be: opts.be.clone(),
                mem: opts.mem.clone(),
                dev: ids.dev,
                admin: opts.admin.clone(),
                sync: opts.sync.clone(),
                async_: opts.async_.clone(),
            },
            geo: dev.geometry()?,
        },
    };
    p.print(&view)?;
    Ok(())
}
