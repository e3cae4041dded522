//! Runs the built `nvmx` binary's FDP, KV and directive subcommands on
//! ramdisks. Each run opens a fresh ramdisk, so every check is about one
//! command's output or error.

mod common;
use common::*;

const FDP: &str = "8MiB?lbaf=2&fdp=1&fdp.nrg=2&fdp.nruh=4&fdp.runs=64K&fdp.ruhs=0;2";

#[test]
fn log_fdp_config_decodes_the_configuration() {
    let y = ok(&["log-fdp-config", FDP, "--lsi", "1"]);
    assert!(
        y.starts_with("# FDP configurations of endurance group 1\nlog_fdp_config:\n  ncfg: 0\n"),
        "{y}"
    );
    assert!(
        y.contains("'fdp attributes': {rgif: 1, fdpvwc: 0, fdpcv: 1, val: 0x81}"),
        "{y}"
    );
    assert!(y.contains("      nrg: 2\n      nruh: 4\n"), "{y}");
    assert!(y.contains("      runs: 65536\n"), "{y}");
    assert!(y.contains("      ruht: [1, 1, 1, 1]\n"), "{y}");
    let j = json(&["log-fdp-config", FDP, "--lsi", "1", "--data-nbytes", "512"]);
    assert_eq!(j["log_fdp_config"]["size"], 16 + 64 + 16);
    fails(
        &["log-fdp-config", FDP, "--lsi", "2"],
        &["get log page failed", "Invalid Field"],
    );
    fails(
        &["log-fdp-config", "8MiB", "--lsi", "1"],
        &["Invalid Log Page"],
    );
}

#[test]
fn ruh_usage_status_and_update() {
    let j = json(&["log-ruhu", FDP, "--lsi", "1", "--limit", "4"]);
    let ruha: Vec<u64> = j["log_ruhu"]["ruhus"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["ruha"].as_u64().unwrap())
        .collect();
    assert_eq!(ruha, [1, 0, 1, 0]);
    let y = ok(&["fdp-ruhs", FDP, "--limit", "3"]);
    assert!(y.starts_with("fdp_ruhs:\n  nruhsd: 4\n"), "{y}");
    assert!(
        y.contains("- {pi: 0x1, ruhi: 2, earutr: 0, ruamw: 16}"),
        "{y}"
    );
    assert_eq!(y.matches("- {pi:").count(), 3, "--limit 3: {y}");
    let y = ok(&["fdp-ruhu", FDP, "--pid", "0x8001,0"]);
    assert!(y.contains("pids: [0x8001, 0x0]"), "{y}");
    fails(
        &["fdp-ruhu", FDP, "--pid", "5"],
        &["io management send failed", "Invalid Placement Handle List"],
    );
    fails(
        &["fdp-ruhs", "8MiB", "--limit", "1"],
        &["Invalid Command Opcode"],
    );
}

#[test]
fn stats_events_and_set_fdp_events() {
    let j = json(&["log-fdp-stats", FDP, "--lsi", "1"]);
    assert_eq!(j["log_fdp_stats"]["hbmw"], 0);
    let y = ok(&[
        "set-fdp-events",
        FDP,
        "--fid",
        "0x1e",
        "--feat",
        "0x20001",
        "--cdw12",
        "1",
    ]);
    assert!(y.contains("phndl: 1\n"), "{y}");
    assert!(y.contains("event_types: [0x0, 0x1]"), "{y}");
    let y = ok(&[
        "set-fdp-events",
        FDP,
        "--fid",
        "0x1e",
        "--feat",
        "0",
        "--cdw12",
        "0",
        "--event-types",
        "0x3,0x80",
    ]);
    assert!(y.contains("enable: false"), "{y}");
    fails(
        &[
            "set-fdp-events",
            FDP,
            "--fid",
            "0x1d",
            "--feat",
            "0x10000",
            "--cdw12",
            "1",
        ],
        &["--fid 0x1d"],
    );
    fails(
        &[
            "set-fdp-events",
            FDP,
            "--fid",
            "0x1e",
            "--feat",
            "0x10005",
            "--cdw12",
            "1",
        ],
        &["set features failed", "Invalid Field"],
    );
    fails(
        &[
            "set-fdp-events",
            FDP,
            "--fid",
            "0x1e",
            "--feat",
            "0",
            "--cdw12",
            "1",
        ],
        &["--feat 0x0"],
    );
    let y = ok(&[
        "log-fdp-events",
        FDP,
        "--lsi",
        "1",
        "--lsp",
        "1",
        "--limit",
        "8",
    ]);
    assert!(
        y.contains("log_fdp_events: {nevents: 0, events: []}"),
        "{y}"
    );
    fails(
        &[
            "log-fdp-events",
            FDP,
            "--lsi",
            "1",
            "--lsp",
            "2",
            "--limit",
            "8",
        ],
        &["--lsp 2"],
    );
}

#[test]
fn lblk_write_dir_and_directives() {
    let y = ok(&[
        "lblk",
        "write-dir",
        FDP,
        "--slba",
        "0",
        "--nlb",
        "3",
        "--dtype",
        "2",
        "--dspec",
        "0x8001",
    ]);
    assert!(y.contains("nbytes: 16384\n"), "{y}");
    // A stream write needs the streams directive enabled first.
    fails(
        &[
            "lblk",
            "write-dir",
            "8MiB",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--dtype",
            "1",
            "--dspec",
            "1",
        ],
        &["write failed", "Invalid Field"],
    );
    fails(
        &[
            "lblk",
            "write-dir",
            "8MiB",
            "--slba",
            "0",
            "--nlb",
            "0",
            "--dtype",
            "2",
        ],
        &["write failed", "Invalid Field"],
    );
    let j = json(&["lblk", "dir-receive", FDP]);
    assert_eq!(
        j["dir_identify"]["supported"],
        serde_json::json!(["identify", "streams", "data placement"])
    );
    assert_eq!(
        j["dir_identify"]["enabled"],
        serde_json::json!(["identify", "data placement"])
    );
    let j = json(&[
        "lblk",
        "dir-receive",
        "8MiB",
        "--dtype",
        "1",
        "--doper",
        "1",
    ]);
    assert_eq!(j["dir_streams_params"]["msl"], 16);
    let y = ok(&[
        "lblk", "dir-send", "8MiB", "--dtype", "0", "--doper", "1", "--endir", "1", "--tgtdir", "1",
    ]);
    assert!(y.contains("cdw12: 0x101"), "{y}");
    fails(
        &["lblk", "dir-send", "8MiB", "--endir", "1", "--tgtdir", "2"],
        &["directive send failed", "Invalid Field"],
    );
    fails(
        &[
            "lblk",
            "dir-receive",
            "8MiB",
            "--dtype",
            "1",
            "--doper",
            "3",
            "--nsr",
            "4",
        ],
        &["directive receive failed"],
    );
    fails(
        &["lblk", "dir-receive", "8MiB", "--dtype", "5"],
        &["dir-receive knows"],
    );
}

#[test]
fn kvs_subcommands() {
    let kv = "8MiB?kv=1";
    let y = ok(&[
        "kvs",
        "store",
        kv,
        "--key",
        "hello",
        "--value",
        "world",
        "--only-add",
    ]);
    assert!(y.contains("only_add: true"), "{y}");
    fails(
        &[
            "kvs",
            "store",
            kv,
            "--key",
            "hello",
            "--value",
            "w",
            "--only-update",
        ],
        &["store failed", "Key Does Not Exist"],
    );
    fails(
        &["kvs", "retrieve", kv, "--key", "hello"],
        &["retrieve failed", "Key Does Not Exist"],
    );
    fails(
        &["kvs", "delete", kv, "--key", "hello"],
        &["delete failed", "Key Does Not Exist"],
    );
    let j = json(&["kvs", "exist", kv, "--key", "hello"]);
    assert_eq!(j["kvs_exist"]["exists"], false);
    let j = json(&["kvs", "list", kv, "--key", "a"]);
    assert_eq!(j["kvs_list"]["nkeys"], 0);
    fails(
        &["kvs", "exist", kv, "--key", "0123456789abcdefg"],
        &["key out of range", "17 bytes"],
    );
    let j = json(&["kvs", "idfy-ns", kv]);
    assert_eq!(j["kvs_idfy_ns"]["kvf"][0]["kml"], 16);
    fails(
        &["kvs", "idfy-ns", "8MiB"],
        &["identify failed", "Invalid Field"],
    );
}
