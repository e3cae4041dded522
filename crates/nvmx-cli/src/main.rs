//! `nvmx`: the command-line tool of the nvmx library.
//!
//! Subcommands and options follow xNVMe's `xnvme` and `lblk` tools. Results
//! are printed as YAML in the shape xNVMe prints, or as JSON with
//! `--output json`. On failure one line `nvmx: error: <message>` goes to
//! standard error and the exit status is non-zero (1 for a failed command,
//! 2 for a command line that does not parse).

mod args;
mod cmd_idfy;
mod cmd_info;
mod cmd_lblk;
mod cmd_library;
mod cmd_zoned;
mod error;
mod output;

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
    /// Print the library version, build and backend configurations.
    #[command(name = "library-info")]
    LibraryInfo,
    /// Logical-block I/O: info, read, write, write-zeros, compare.
    #[command(subcommand)]
    Lblk(cmd_lblk::Lblk),
    /// Zoned namespaces: zone management, append and reports.
    #[command(subcommand)]
    Zoned(cmd_zoned::Zoned),
}

fn run(cli: &Cli) -> CliResult {
    let p = Printer::new(cli.output);
    match &cli.cmd {
        Cmd::Enum { dev } => cmd_info::enumerate(&p, dev),
        Cmd::Info { uri, dev } => cmd_info::info(&p, &uri.uri, dev),
        Cmd::Idfy(a) => cmd_idfy::idfy(&p, a),
        Cmd::IdfyCtrlr(a) => cmd_idfy::idfy_ctrlr(&p, a),
        Cmd::IdfyNs(a) => cmd_idfy::idfy_ns(&p, a),
        Cmd::LibraryInfo => cmd_library::library_info(&p),
        Cmd::Lblk(l) => cmd_lblk::run(&p, l),
        Cmd::Zoned(z) => cmd_zoned::run(&p, z),
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
