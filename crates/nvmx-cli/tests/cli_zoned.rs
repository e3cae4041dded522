//! Runs `nvmx zoned ...` on the ramdisk's zoned namespace and checks the
//! output, exit status and error messages. Every run creates a fresh
//! ramdisk, so each command starts from empty zones (and, with
//! `ro_zones`, read-only ones).

mod common;
use common::*;

/// 4 zones of 256 blocks (capacity 192) with 64-byte extensions; the last
/// zone is read only.
const URI: &str = "4MiB?lbaf=2&zoned=1&zone_size=1MiB&zone_cap=768KiB&zde=64&ro_zones=1";

#[test]
fn report_prints_the_zones_in_xnvme_shape() {
    let y = ok(&["zoned", "report", URI, "--slba", "0x0", "--limit", "2"]);
    assert!(
        y.starts_with(
            "# Zone Information Report for lba: 0x0000000000000000, limit: 2\nzoned_report:\n"
        ),
        "{y}"
    );
    for line in [
        "  report_nbytes: 192\n",
        "  nzones: 4\n",
        "  nentries: 2\n",
        "    - {zslba: 0x0, wp: 0x0, zcap: 192, zt: 0x2, zs: 'EMPTY', za: '0b00000000'}\n",
        "    - {zslba: 0x100, wp: 0x100, zcap: 192, zt: 0x2, zs: 'EMPTY', za: '0b00000000'}\n",
    ] {
        assert!(y.contains(line), "{line:?} not in\n{y}");
    }
    let j = json(&["zoned", "report", URI]);
    let entries = j["zoned_report"]["entries"].as_array().unwrap();
    assert_eq!(entries.len(), 4);
    assert_eq!(entries[3]["zs"], "RONLY");
    assert_eq!(entries[3]["zslba"], 768);
    assert_eq!(entries[3]["wp"], u64::MAX);
    assert_eq!(entries[1]["zcap"], 192);
}

#[test]
fn report_filters_by_state_and_starts_at_the_zone_holding_slba() {
    let j = json(&["zoned", "report", URI, "--filter", "ronly"]);
    let r = &j["zoned_report"];
    assert_eq!(r["nentries"], 1);
    assert_eq!(r["nr_zones"], 1);
    assert_eq!(r["entries"][0]["zslba"], 768);
    let j = json(&["zoned", "report", URI, "--slba", "0x105", "--limit", "1"]);
    assert_eq!(j["zoned_report"]["entries"][0]["zslba"], 256);
    assert_eq!(j["zoned_report"]["nr_zones"], 3);
    fails(
        &["zoned", "report", URI, "--filter", "open"],
        &["--filter", "iopen"],
    );
    fails(&["zoned", "report", URI, "--slba", "0x400"], &["slba"]);
    fails(&["zoned", "report", "4MiB"], &["not a zoned namespace"]);
}

#[test]
fn extended_report_and_raw_output() {
    let dir = std::env::temp_dir().join(format!("nvmx-cli-zoned-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("report.bin");
    let y = ok(&[
        "zoned",
        "report",
        URI,
        "--extended",
        "--limit",
        "1",
        "--data-output",
        out.to_str().unwrap(),
    ]);
    assert!(y.contains("  extended: true\n"), "{y}");
    assert!(y.contains("  zrent_nbytes: 128\n"), "{y}");
    let raw = std::fs::read(&out).unwrap();
    assert_eq!(raw.len(), 64 + 128);
    assert_eq!(u64::from_le_bytes(raw[..8].try_into().unwrap()), 4);
    assert_eq!(raw[64] & 0xf, 0x2, "zone type");
    assert_eq!(raw[65] >> 4, 0x1, "empty");
    std::fs::remove_dir_all(&dir).unwrap();
    fails(
        &["zoned", "report", "4MiB?zoned=1", "--extended"],
        &["extended report"],
    );
}

#[test]
fn append_prints_the_lba_the_device_chose() {
    let y = ok(&["zoned", "append", URI, "--slba", "0x100", "--nlb", "1"]);
    assert_eq!(
        y,
        "# Zone Append nlb: 1 to zslba: 0x0000000000000100\n\
         # Appended to slba: 0x0000000000000100\n\
         zoned_append: {zslba: 0x100, nlb: 1, nbytes: 8192, alba: 0x100}\n"
    );
    let j = json(&["zoned", "append", URI, "--slba", "0", "--nlb", "0"]);
    assert_eq!(j["zoned_append"]["alba"], 0);
    fails(
        &["zoned", "append", URI, "--slba", "0x101", "--nlb", "0"],
        &["zslba", "not a zone start"],
    );
    fails(
        &["zoned", "append", URI, "--slba", "0x300", "--nlb", "0"],
        &["append failed", "Zone Is Read Only"],
    );
    fails(
        &[
            "zoned", "append", URI, "--slba", "0", "--nlb", "0", "--nsid", "2",
        ],
        &["--nsid", "--dev-nsid"],
    );
}

#[test]
fn management_commands_report_what_they_did() {
    for (sub, action) in [
        ("mgmt-open", "Open Zone"),
        ("mgmt-finish", "Finish Zone"),
        ("mgmt-reset", "Reset Zone"),
    ] {
        let j = json(&["zoned", sub, URI, "--slba", "0x200"]);
        assert_eq!(j["zoned_mgmt"]["action"], action, "{sub}");
        assert_eq!(j["zoned_mgmt"]["zslba"], 512);
        assert_eq!(j["zoned_mgmt"]["status"], "ok");
    }
    fails(
        &["zoned", "mgmt-close", URI, "--slba", "0"],
        &["Close Zone", "Invalid Zone State Transition"],
    );
    fails(
        &["zoned", "mgmt-open", URI, "--slba", "0x300"],
        &["Invalid Zone State Transition"],
    );
    fails(
        &["zoned", "mgmt-reset", URI, "--slba", "0x10"],
        &["not a zone start"],
    );
    let y = ok(&["zoned", "mgmt-reset", URI, "--all"]);
    assert!(y.starts_with("# Reset Zone on all zones\n"), "{y}");
    assert!(y.contains("  select_all: true\n"), "{y}");
}

#[test]
fn mgmt_takes_any_action_by_zsa() {
    let j = json(&["zoned", "mgmt", URI, "--slba", "0x300", "--zsa", "0x5"]);
    assert_eq!(j["zoned_mgmt"]["action"], "Offline Zone");
    let j = json(&["zoned", "mgmt", URI, "--zsa", "0x2", "--all"]);
    assert_eq!(j["zoned_mgmt"]["select_all"], true);
    fails(
        &["zoned", "mgmt", URI, "--slba", "0", "--zsa", "0x9"],
        &["--zsa", "0x9"],
    );
    fails(
        &["zoned", "mgmt", URI, "--slba", "0", "--zsa", "0x10"],
        &["--data-input", "64 bytes"],
    );
    let dir = std::env::temp_dir().join(format!("nvmx-cli-zde-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ext = dir.join("ext.bin");
    std::fs::write(&ext, [0xa5u8; 64]).unwrap();
    let j = json(&[
        "zoned",
        "mgmt",
        URI,
        "--slba",
        "0",
        "--zsa",
        "0x10",
        "--data-input",
        ext.to_str().unwrap(),
    ]);
    assert_eq!(j["zoned_mgmt"]["action"], "Set Zone Descriptor Extension");
    std::fs::remove_dir_all(&dir).unwrap();
    let zrwa = "4MiB?lbaf=2&zoned=1&zone_size=1MiB&zrwa=64KiB";
    ok(&[
        "zoned", "mgmt", zrwa, "--slba", "0", "--zsa", "0x3", "--zrwa",
    ]);
    fails(
        &[
            "zoned", "mgmt", URI, "--slba", "0", "--zsa", "0x3", "--zrwa",
        ],
        &["ZRWA"],
    );
    fails(
        &["zoned", "mgmt", URI, "--slba", "0", "--zsa", "0x11"],
        &["ZRWA"],
    );
}

#[test]
fn write_goes_to_the_write_pointer_and_read_reads() {
    let y = ok(&["zoned", "write", URI, "--slba", "0", "--nlb", "1"]);
    assert!(y.contains("status: 'ok'"), "{y}");
    fails(
        &["zoned", "write", URI, "--slba", "1", "--nlb", "0"],
        &["write failed", "Zone Invalid Write"],
    );
    let y = ok(&["zoned", "read", URI, "--slba", "0x10", "--nlb", "0"]);
    assert!(y.contains("lblk_read"), "{y}");
}

#[test]
fn identify_changes_and_errors() {
    let y = ok(&["zoned", "idfy-ns", URI]);
    assert!(y.starts_with("# identify: cns 0x5, csi 0x2"), "{y}");
    assert!(y.contains("idfy_zoned_ns:\n"), "{y}");
    let j = json(&["zoned", "idfy-ns", URI]);
    assert_eq!(j["idfy_zoned_ns"]["lbafe"][2]["zsze"], 256);
    assert_eq!(j["idfy_zoned_ns"]["lbafe"][2]["zdes"], 1);
    let j = json(&["zoned", "idfy-ctrlr", URI]);
    assert_eq!(j["idfy_zoned_ctrlr"]["zasl"], 0);
    let j = json(&["zoned", "changes", URI]);
    assert_eq!(j["zoned_changes"]["nrzid"], 1);
    assert_eq!(j["zoned_changes"]["zid"][0], 768);
    let j = json(&["zoned", "errors", URI]);
    assert_eq!(j["zoned_errors"].as_array().unwrap().len(), 0);
    fails(
        &["zoned", "idfy-ns", "4MiB"],
        &["identify failed", "Invalid Field"],
    );
    let j = json(&["zoned", "info", URI]);
    assert_eq!(j["nvmx_dev"]["ident"]["csi"], 2);
    assert_eq!(j["nvmx_dev"]["geo"]["nzone"], 4);
}
