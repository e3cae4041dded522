//! `nvmx`: the command-line tool of the nvmx library.
//!
//! Subcommands and options follow xNVMe's `xnvme` and `lblk` tools. Results
//! are printed as YAML in the shape xNVMe prints, or as JSON with
//! `--output json`. On failure one line `nvmx: error: <message>` goes to
//! standard error and the exit status is non-zero (1 for a failed command,
//! 2 for a command line that does not parse).

mod args;
mod cmd_ctrl;
mod cmd_dir;
mod cmd_driver;
mod cmd_fdp;
mod cmd_feature;
mod cmd_file;
mod cmd_format;
mod cmd_idfy;
mod cmd_info;
mod cmd_kvs;
mod cmd_lblk;
mod cmd_library;
mod cmd_log;
mod cmd_passthru;
mod cmd_pi;
mod cmd_xdd;
mod cmd_zoned;
mod error;
mod output;
mod perf;
mod transfer;

use std::process::ExitCode;

use clap::error::ErrorKind;
use clap::{Parser, Subcommand};

use crate::args::{DevArgs, UriArg};
use crate::error::CliResult;
use crate::output::{Format, Printer};

/// Cross-platform NVMe utility: devices, files and ramdisks through one API.
#[derive(Parser, Debug)]
#[command(name = "nvmx", version, propagate_version = true)]
struct Cli {
    /// Output format.
    #[arg(long, global = true, value_enum, default_value_t = Format::Yaml)]
    output: Format,
    #[command(subcommand)]
    cmd: Cmd,
}

/// The subcommands.
#[derive(Subcommand, Debug)]
enum Cmd {
    /// List the devices found on this system.
    #[command(alias = "list")]
    Enum {
        #[command(flatten)]
        dev: DevArgs,
    },
    /// Print a device: identification, backend, options and geometry.
    Info {
        #[command(flatten)]
        uri: UriArg,
        #[command(flatten)]
        dev: DevArgs,
    },
    /// Identify with any CNS; decodes the structures nvmx knows.
    Idfy(cmd_idfy::IdfyArgs),
    /// Identify Controller.
    #[command(name = "idfy-ctrlr")]
    IdfyCtrlr(cmd_idfy::IdfyCtrlrArgs),
    /// Identify Namespace.
    #[command(name = "idfy-ns")]
    IdfyNs(cmd_idfy::IdfyNsArgs),
    /// Identify I/O Command Set data structure (CNS 0x1C): the command set
    /// combinations the controller supports.
    #[command(name = "idfy-cs")]
    IdfyCs(cmd_idfy::IdfyCtrlrArgs),
    /// Print the library version, build and backend configurations.
    #[command(name = "library-info")]
    LibraryInfo,
    /// Logical-block I/O: info, read, write, write-zeros, compare.
    #[command(subcommand)]
    Lblk(cmd_lblk::Lblk),
    /// Format NVM: LBA format, metadata, protection information, secure
    /// erase. Destroys data: needs --force.
    Format(cmd_format::FormatArgs),
    /// Sanitize the NVM subsystem: block erase, crypto erase, overwrite.
    /// Destroys data: needs --force.
    Sanitize(cmd_format::SanitizeArgs),
    /// The Sanitize Status log page (0x81).
    #[command(name = "log-sanitize")]
    LogSanitize(cmd_format::LogSanitizeArgs),
    /// Get Log Page with any log identifier (SMART and error logs decoded).
    Log(cmd_log::LogArgs),
    /// The error information log, decoded.
    #[command(name = "log-erri")]
    LogErri(cmd_log::LogErriArgs),
    /// The SMART / health log, decoded.
    #[command(name = "log-health")]
    LogHealth(cmd_log::LogHealthArgs),
    /// Get Features with any feature identifier.
    #[command(name = "feature-get")]
    FeatureGet(cmd_feature::FeatureGetArgs),
    /// Set Features with any feature identifier.
    #[command(name = "feature-set")]
    FeatureSet(cmd_feature::FeatureSetArgs),
    /// Raw admin command passthrough (every dword settable).
    Padc(cmd_passthru::PassthruArgs),
    /// Raw I/O command passthrough (every dword settable).
    Pioc(cmd_passthru::PassthruArgs),
    /// Dataset Management of one range with any attributes.
    Dsm(cmd_ctrl::DsmArgs),
    /// Reset the controller (needs the controller node on Linux).
    #[command(name = "ctrlr-reset")]
    CtrlrReset(cmd_ctrl::CtrlArgs),
    /// Reset the NVM subsystem, where the controller supports it.
    #[command(name = "subsystem-reset")]
    SubsystemReset(cmd_ctrl::CtrlArgs),
    /// Rescan the controller's namespaces.
    #[command(name = "ns-rescan")]
    NsRescan(cmd_ctrl::CtrlArgs),
    /// Print the controller registers (CAP, VS, CC, CSTS, ...).
    #[command(name = "show-regs")]
    ShowRegs(cmd_ctrl::CtrlArgs),
    /// Copy bytes between files, devices and ramdisks, like dd (sync, async).
    #[command(subcommand)]
    Xdd(cmd_xdd::Xdd),
    /// Whole-file transfers through the file backends: write-read, dump, load, copy.
    #[command(subcommand)]
    File(cmd_file::FileCmd),
    /// Key Value command set: idfy-ns, store, retrieve, delete, exist, list.
    #[command(subcommand)]
    Kvs(cmd_kvs::Kvs),
    /// FDP Configurations log (LID 0x20) of an endurance group.
    #[command(name = "log-fdp-config")]
    LogFdpConfig(cmd_fdp::ConfigArgs),
    /// Reclaim Unit Handle Usage log (LID 0x21) of an endurance group.
    #[command(name = "log-ruhu")]
    LogRuhu(cmd_fdp::RuhuArgs),
    /// FDP Statistics log (LID 0x22) of an endurance group.
    #[command(name = "log-fdp-stats")]
    LogFdpStats(cmd_fdp::StatsArgs),
    /// FDP Events log (LID 0x23) of an endurance group.
    #[command(name = "log-fdp-events")]
    LogFdpEvents(cmd_fdp::EventsArgs),
    /// Reclaim unit handle status (I/O Management Receive).
    #[command(name = "fdp-ruhs")]
    FdpRuhs(cmd_fdp::RuhsArgs),
    /// Reclaim unit handle update (I/O Management Send).
    #[command(name = "fdp-ruhu")]
    FdpRuhu(cmd_fdp::RuhuUpdateArgs),
    /// Enable or disable FDP events of a placement handle (Set Features 0x1E).
    #[command(name = "set-fdp-events")]
    SetFdpEvents(cmd_fdp::SetEventsArgs),
    /// Zoned namespaces: zone management, append and reports.
    #[command(subcommand)]
    Zoned(cmd_zoned::Zoned),
    /// Benchmarks: `perf run` measures IOPS, bandwidth, latency and CPU
    /// time per I/O of any configuration on one or more devices.
    #[command(subcommand)]
    Perf(perf::Perf),
    /// Move NVMe PCI functions between the kernel's nvme driver and
    /// vfio-pci / uio_pci_generic (for the user-space driver); status.
    #[command(subcommand)]
    Driver(cmd_driver::DriverCmd),
}

fn run(cli: &Cli) -> CliResult {
    let p = Printer::new(cli.output);
    match &cli.cmd {
        Cmd::Enum { dev } => cmd_info::enumerate(&p, dev),
        Cmd::Info { uri, dev } => cmd_info::info(&p, &uri.uri, dev),
        Cmd::Idfy(a) => cmd_idfy::idfy(&p, a),
        Cmd::IdfyCtrlr(a) => cmd_idfy::idfy_ctrlr(&p, a),
        Cmd::IdfyNs(a) => cmd_idfy::idfy_ns(&p, a),
        Cmd::IdfyCs(a) => cmd_idfy::idfy_cs(&p, a),
        Cmd::LibraryInfo => cmd_library::library_info(&p),
        Cmd::Lblk(l) => cmd_lblk::run(&p, l),
        Cmd::Format(a) => cmd_format::format(&p, a),
        Cmd::Sanitize(a) => cmd_format::sanitize(&p, a),
        Cmd::LogSanitize(a) => cmd_format::log_sanitize(&p, a),
        Cmd::Log(a) => cmd_log::log(&p, a),
        Cmd::LogErri(a) => cmd_log::log_erri(&p, a),
        Cmd::LogHealth(a) => cmd_log::log_health(&p, a),
        Cmd::FeatureGet(a) => cmd_feature::feature_get(&p, a),
        Cmd::FeatureSet(a) => cmd_feature::feature_set(&p, a),
        Cmd::Padc(a) => cmd_passthru::passthru(&p, a, cmd_passthru::Queue::Admin),
        Cmd::Pioc(a) => cmd_passthru::passthru(&p, a, cmd_passthru::Queue::Io),
        Cmd::Dsm(a) => cmd_ctrl::dsm(&p, a),
        Cmd::CtrlrReset(a) => cmd_ctrl::pseudo(&p, a, cmd_ctrl::Op::Reset),
        Cmd::SubsystemReset(a) => cmd_ctrl::pseudo(&p, a, cmd_ctrl::Op::SubsystemReset),
        Cmd::NsRescan(a) => cmd_ctrl::pseudo(&p, a, cmd_ctrl::Op::Rescan),
        Cmd::ShowRegs(a) => cmd_ctrl::show_regs(&p, a),
        Cmd::Xdd(x) => cmd_xdd::run(&p, x),
        Cmd::File(f) => cmd_file::run(&p, f),
        Cmd::Kvs(k) => cmd_kvs::run(&p, k),
        Cmd::LogFdpConfig(a) => cmd_fdp::log_config(&p, a),
        Cmd::LogRuhu(a) => cmd_fdp::log_ruhu(&p, a),
        Cmd::LogFdpStats(a) => cmd_fdp::log_stats(&p, a),
        Cmd::LogFdpEvents(a) => cmd_fdp::log_events(&p, a),
        Cmd::FdpRuhs(a) => cmd_fdp::ruhs(&p, a),
        Cmd::FdpRuhu(a) => cmd_fdp::ruhu(&p, a),
        Cmd::SetFdpEvents(a) => cmd_fdp::set_events(&p, a),
        Cmd::Zoned(z) => cmd_zoned::run(&p, z),
        Cmd::Driver(d) => cmd_driver::run(&p, d),
        Cmd::Perf(c) => perf::run(&p, c),
    }
}

/// A clap parse error as one line: the message without clap's usage block
/// and hints, its lines joined.
fn clap_one_line(e: &clap::Error) -> String {
    let text = e.render().to_string();
    let body = text.split("\n\n").next().unwrap_or("");
    let joined = body.split_whitespace().collect::<Vec<_>>().join(" ");
    let msg = joined
        .strip_prefix("error:")
        .map_or(joined.as_str(), str::trim_start);
    format!("{msg} (see --help)")
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            return match e.kind() {
                // Help and version are output, not errors; a bare `nvmx`
                // gets the help text, as clap gives it.
                ErrorKind::DisplayHelp
                | ErrorKind::DisplayVersion
                | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
                    let _ = e.print();
                    ExitCode::from(u8::try_from(e.exit_code()).unwrap_or(2))
                }
                _ => {
                    eprintln!("nvmx: error: {}", clap_one_line(&e));
                    ExitCode::from(2)
                }
            };
        }
    };
    match run(&cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.broken_pipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("nvmx: error: {}", e.one_line());
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_definition_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn parse_errors_become_one_line() {
        let e = Cli::try_parse_from(["nvmx", "lblk", "read", "64MiB", "--slba", "0"]).unwrap_err();
        let line = clap_one_line(&e);
        assert!(!line.contains('\n'), "{line}");
        assert!(line.contains("--nlb"), "{line}");
        let e = Cli::try_parse_from([
            "nvmx", "lblk", "read", "64MiB", "--slba", "zz", "--nlb", "0",
        ])
        .unwrap_err();
        let line = clap_one_line(&e);
        assert!(line.contains("--slba") && line.contains("zz"), "{line}");
    }

    #[test]
    fn xnvme_option_spellings_parse() {
        let cli = Cli::try_parse_from([
            "nvmx",
            "info",
            "64MiB",
            "--be",
            "ramdisk",
            "--async",
            "nil",
            "--dev-nsid",
            "1",
            "--poll_io",
            "--poll_sq",
            "--register_files",
            "--register_buffers",
            "--create_mode",
            "1a4",
            "--output",
            "json",
        ])
        .unwrap();
        assert_eq!(cli.output, Format::Json);
        let Cmd::Info { dev, .. } = cli.cmd else {
            panic!("not info")
        };
        assert_eq!(dev.async_.as_deref(), Some("nil"));
        assert_eq!(dev.create_mode.as_deref(), Some("1a4"));
        assert!(dev.poll_io && dev.poll_sq && dev.register_files && dev.register_buffers);
    }
}
