//! Admin commands: Identify, Get Log Page, Get / Set Features.

use nvmx_spec::feature::{
    FeatureCaps, FeatureId, GetFeatures, Select, SetFeatures, TemperatureThreshold,
};
use nvmx_spec::identify::{
    Cns, Identify, IdentifyController, IdentifyNamespace, LbaFormat, NamespaceList,
    NsIdDescriptorIter, NsIdType, oncs,
};
use nvmx_spec::log::{
    CommandsSupportedEffects, ErrorInfoEntry, FirmwareSlotLog, GetLogPage, LogPageId,
    SmartHealthLog, SupportedLogPages, effects,
};
use nvmx_spec::opcode::{AdminOpcode, Csi};
use nvmx_spec::status::{sc, sc_cmd, sc_media, sct};
use zerocopy::FromBytes;

use super::*;

const NSID_ALL: u32 = 0xffff_ffff;

/// Runs an Identify and returns its status and 4 KiB of data.
fn identify(c: &RamCtrl, id: Identify) -> (Status, Vec<u8>) {
    let mut buf = vec![0xeeu8; 4096];
    let st = status(admin(c, id.to_command(), DataBuf::In(&mut buf)));
    (st, buf)
}

fn id_ctrl(c: &RamCtrl) -> IdentifyController {
    let (st, buf) = identify(c, Identify::controller());
    assert_eq!(st, Status::SUCCESS);
    IdentifyController::read_from_bytes(&buf).unwrap()
}

fn id_ns(c: &RamCtrl, nsid: u32) -> IdentifyNamespace {
    let (st, buf) = identify(c, Identify::namespace(nsid));
    assert_eq!(st, Status::SUCCESS);
    IdentifyNamespace::read_from_bytes(&buf).unwrap()
}

/// Runs a Get Log Page and returns its status and data.
fn log_page(c: &RamCtrl, glp: GetLogPage) -> (Status, Vec<u8>) {
    let mut buf = vec![0xeeu8; glp.nbytes() as usize];
    let st = status(admin(c, glp.to_command(), DataBuf::In(&mut buf)));
    (st, buf)
}

fn smart(c: &RamCtrl) -> SmartHealthLog {
    let (st, buf) = log_page(c, GetLogPage::new(LogPageId::SMART_HEALTH, NSID_ALL, 512));
    assert_eq!(st, Status::SUCCESS);
    SmartHealthLog::read_from_bytes(&buf).unwrap()
}

fn error_log(c: &RamCtrl) -> Vec<ErrorInfoEntry> {
    let (st, buf) = log_page(c, GetLogPage::new(LogPageId::ERROR_INFO, NSID_ALL, 64 * 64));
    assert_eq!(st, Status::SUCCESS);
    buf.chunks_exact(64)
        .map(|e| ErrorInfoEntry::read_from_bytes(e).unwrap())
        .collect()
}

fn get_feature(c: &RamCtrl, fid: FeatureId, sel: Select, cdw11: u32) -> Result<Completion> {
    let gf = GetFeatures {
        nsid: 0,
        fid,
        sel,
        cdw11,
        uuid: 0,
    };
    admin(c, gf.to_command(), DataBuf::None)
}

fn set_feature(c: &RamCtrl, fid: FeatureId, cdw11: u32) -> Status {
    status(admin(
        c,
        SetFeatures::new(fid, cdw11).to_command(),
        DataBuf::None,
    ))
}

#[test]
fn identify_controller_describes_the_ramdisk() {
    let c = ctrl("64MiB?mdts=5");
    let id = id_ctrl(&c);
    assert_eq!(id.model(), "nvmx ramdisk");
    assert_eq!(id.serial(), "NVMX4000000");
    let version: String = env!("CARGO_PKG_VERSION").chars().take(8).collect();
    assert_eq!(id.firmware(), version);
    assert_eq!((id.vid, id.ssvid), (0x4e56, 0x4e56));
    assert_eq!(id.mdts, 5);
    assert_eq!(id.mdts_nbytes(4096), Some(128 * 1024));
    assert_eq!(
        (id.cntlid, id.ver, id.nn, id.cntrltype),
        (1, 0x0002_0000, 1, 1)
    );
    assert_eq!((id.sqes, id.cqes), (0x66, 0x44));
    assert!(id.has_volatile_write_cache());
    // Format NVM and Directives (Identify and Streams) are the optional
    // admin features.
    assert_eq!(
        id.oacs,
        nvmx_spec::identify::oacs::FORMAT_NVM | nvmx_spec::identify::oacs::DIRECTIVES
    );
    assert_eq!((id.sanicap, id.fna), (0x7, 0x4));
    for bit in [
        oncs::COMPARE,
        oncs::WRITE_UNCORRECTABLE,
        oncs::DSM,
        oncs::WRITE_ZEROES,
        oncs::VERIFY,
        oncs::COPY,
    ] {
        assert!(id.supports_oncs(bit), "ONCS bit {bit:#x}");
    }
    assert!(!id.supports_oncs(oncs::RESERVATIONS));
    assert_eq!(id.ocfs, 0x3);
    assert_eq!(id.sgls, 0);
    assert_eq!(id.elpe, 63);
    assert_eq!(
        id.lpa & 0x6,
        0x6,
        "commands supported and effects, extended data"
    );
    assert_eq!(id.subnqn(), "nqn.2026-11.io.nvmx:ramdisk:67108864");
    assert_eq!(id.tnvmcap(), 64 << 20);
    assert_eq!(id.ieee_oui(), 0x0a4e56);
    assert_eq!(ctrl("64MiB").params.mdts, 7);
}

#[test]
fn identify_namespace_reports_size_and_formats() {
    let c = ctrl("64MiB?lbaf=3&ext=1");
    let ns = id_ns(&c, 1);
    assert_eq!((ns.nsze, ns.ncap, ns.nuse), (16384, 16384, 16384));
    assert_eq!(ns.nlbaf, 6);
    assert_eq!(ns.flbas, 0x13, "format 3, extended");
    assert_eq!(ns.flbas_index(), 3);
    assert!(ns.extended_lba());
    assert_eq!((ns.lba_nbytes(), ns.metadata_nbytes()), (4096, 8));
    let want = [
        (0, 9),
        (8, 9),
        (0, 12),
        (8, 12),
        (64, 12),
        (16, 9),
        (16, 12),
    ];
    for (i, (ms, lbads)) in want.into_iter().enumerate() {
        assert_eq!((ns.lbaf[i].ms, ns.lbaf[i].lbads), (ms, lbads), "lbaf {i}");
    }
    assert_eq!(ns.lbaf[7], LbaFormat::default());
    assert_eq!((ns.mc, ns.dlfeat, ns.dps, ns.dpc), (0x3, 0x09, 0, 0x1f));
    assert_eq!((ns.mssrl, ns.mcl, ns.msrc), (128, 1024, 127));
    assert_eq!(ns.nvmcap(), 64 << 20);
    assert_ne!(ns.nguid, [0; 16]);
    assert_ne!(ns.eui64, [0; 8]);
    // Separate metadata, 512-byte blocks.
    let ns = id_ns(&ctrl("64MiB?lbaf=1"), 1);
    assert_eq!((ns.nsze, ns.flbas), (131072, 0x01));
    // nsid FFFFFFFFh: the capabilities common to all namespaces, no size.
    let common = id_ns(&c, NSID_ALL);
    assert_eq!((common.nsze, common.nlbaf, common.flbas), (0, 6, 0));
    assert_eq!(common.lbaf[4].ms, 64);
    // Namespaces that do not exist.
    for nsid in [0, 2, 0xffff_fffe] {
        let (st, _) = identify(&c, Identify::namespace(nsid));
        assert_eq!(
            st,
            dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT),
            "nsid {nsid:#x}"
        );
    }
}

#[test]
fn identify_lists_descriptors_and_command_set_structures() {
    let c = ctrl("8MiB");
    let list = |nsid| {
        let (st, buf) = identify(
            &c,
            Identify {
                nsid,
                cns: Cns::ACTIVE_NSID_LIST,
                ..Default::default()
            },
        );
        assert_eq!(st, Status::SUCCESS);
        NamespaceList::read_from_bytes(&buf)
            .unwrap()
            .iter()
            .collect::<Vec<_>>()
    };
    assert_eq!(list(0), [1]);
    assert_eq!(list(1), Vec::<u32>::new());
    let (st, _) = identify(
        &c,
        Identify {
            nsid: NSID_ALL,
            cns: Cns::ACTIVE_NSID_LIST,
            ..Default::default()
        },
    );
    assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT));

    let (st, buf) = identify(
        &c,
        Identify {
            nsid: 1,
            cns: Cns::NS_ID_DESCRIPTOR_LIST,
            ..Default::default()
        },
    );
    assert_eq!(st, Status::SUCCESS);
    let descs: Vec<_> = NsIdDescriptorIter::new(&buf).collect();
    let ns = id_ns(&c, 1);
    assert_eq!(
        descs.iter().map(|d| d.nidt).collect::<Vec<_>>(),
        [NsIdType::EUI64, NsIdType::NGUID, NsIdType::CSI]
    );
    assert_eq!(descs[0].eui64(), Some(ns.eui64));
    assert_eq!(descs[1].id16(), Some(ns.nguid));
    assert_eq!(descs[2].csi(), Some(Csi::NVM));

    // The NVM Identify Namespace holds each LBA format's PI format
    // (ELBAF PIF, bits 8:7): 64b guard for formats 5 and 6.
    let (st, buf) = identify(&c, Identify::csi_namespace(1, Csi::NVM));
    assert_eq!(st, Status::SUCCESS);
    let nvm = nvmx_spec::identify::IdentifyNvmNamespace::read_from_bytes(&buf).unwrap();
    let pifs: Vec<u8> = (0..8).map(|i| nvm.elba_format(i).pif().0).collect();
    assert_eq!(pifs, [0, 0, 0, 0, 0, 2, 2, 0]);
    let (st, buf) = identify(&c, Identify::csi_controller(Csi::NVM));
    assert_eq!(st, Status::SUCCESS);
    assert!(buf.iter().all(|&b| b == 0), "no NVM-specific limits");
    for id in [
        Identify::csi_namespace(1, Csi::ZONED),
        Identify::csi_controller(Csi::KV),
    ] {
        assert_eq!(
            identify(&c, id).0,
            dnr(sct::GENERIC, sc::INVALID_FIELD),
            "{:?} {:?}",
            id.cns,
            id.csi
        );
    }
    for cns in [Cns::NVM_SET_LIST, Cns::ALLOCATED_NSID_LIST, Cns(0xff)] {
        let (st, _) = identify(
            &c,
            Identify {
                cns,
                ..Default::default()
            },
        );
        assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_FIELD), "{cns:?}");
    }
    // A buffer shorter than 4 KiB is the caller's mistake.
    let mut small = [0u8; 512];
    let e = admin(
        &c,
        Identify::controller().to_command(),
        DataBuf::In(&mut small),
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            nvmx_core::Error::ShortBuffer {
                len: 512,
                need: 4096,
                ..
            }
        ),
        "{e}"
    );
}

#[test]
fn unknown_admin_opcodes_are_invalid() {
    let c = ctrl("8MiB");
    for opc in [AdminOpcode::NS_MGMT, AdminOpcode(0xc5)] {
        let st = status(admin(&c, Command::new(opc.0, 0), DataBuf::None));
        assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_OPCODE), "{opc:?}");
    }
}

#[test]
fn error_log_holds_the_failed_commands_newest_first() {
    let c = ctrl("1MiB?lbaf=2");
    let mut cmd = rw(NvmOpcode::READ, 300, 0);
    cmd.cid = 0x77;
    let mut buf = vec![0u8; 4096];
    assert_eq!(
        status(io(&c, cmd, DataBuf::In(&mut buf), DataBuf::None)),
        dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE)
    );
    let unc = rw(NvmOpcode::WRITE_UNCORRECTABLE, 9, 0);
    assert_eq!(
        status(io(&c, unc, DataBuf::None, DataBuf::None)),
        Status::SUCCESS
    );
    let mut verify = rw(NvmOpcode::VERIFY, 8, 3);
    verify.cid = 0x78;
    let unrecovered = dnr(sct::MEDIA, sc_media::UNRECOVERED_READ_ERROR);
    assert_eq!(
        status(io(&c, verify, DataBuf::None, DataBuf::None)),
        unrecovered
    );
    let mut bad_admin = Command::new(AdminOpcode::NS_MGMT.0, 0);
    bad_admin.cid = 0x79;
    assert_eq!(
        status(admin(&c, bad_admin, DataBuf::None)),
        dnr(sct::GENERIC, sc::INVALID_OPCODE)
    );

    let log = error_log(&c);
    let e = &log[0];
    assert_eq!((e.error_count, e.sqid, e.cid, e.opc), (3, 0, 0x79, 0x0d));
    assert_eq!(e.status(), dnr(sct::GENERIC, sc::INVALID_OPCODE));
    assert_eq!(e.parm_error_location, 0, "the opcode byte");
    let e = &log[1];
    assert_eq!(
        (e.error_count, e.sqid, e.cid, e.nsid, e.lba, e.opc),
        (2, 1, 0x78, 1, 9, 0x0c)
    );
    assert_eq!(e.status(), unrecovered);
    let e = &log[2];
    assert_eq!(
        (e.error_count, e.sqid, e.cid, e.nsid, e.lba),
        (1, 1, 0x77, 1, 300)
    );
    assert_eq!(e.status(), dnr(sct::GENERIC, sc::LBA_OUT_OF_RANGE));
    assert_eq!(e.parm_error_location, 40, "CDW10, the starting LBA");
    assert!(log[3..].iter().all(|e| !e.is_valid()), "no more entries");

    // The ring keeps the last 64.
    for _ in 0..100 {
        let _ = status(admin(
            &c,
            Command::new(AdminOpcode::NS_MGMT.0, 0),
            DataBuf::None,
        ));
    }
    let log = error_log(&c);
    assert_eq!(log[0].error_count, 103);
    assert_eq!(log[63].error_count, 40);
    assert_eq!(smart(&c).num_err_log_entries(), 103);
}

#[test]
fn smart_counts_commands_and_data_units() {
    let c = ctrl("4MiB?lbaf=1");
    let s = smart(&c);
    assert_eq!(
        (
            s.temperature(),
            s.avail_spare,
            s.spare_thresh,
            s.critical_warning
        ),
        (300, 100, 10, 0)
    );
    assert_eq!((s.data_units_read(), s.data_units_written()), (0, 0));
    assert_eq!(s.power_cycles(), 1);
    // 1000 blocks of 512 bytes are one data unit, written in 8 commands
    // (512+8-byte blocks: metadata does not count).
    for i in 0..8u64 {
        let data = pattern(125 * 512, i as u32);
        let meta = vec![0u8; 125 * 8];
        assert_eq!(write(&c, i * 125, 125, &data, &meta), Status::SUCCESS);
    }
    // One more block makes it two units, rounded up.
    assert_eq!(write(&c, 1000, 1, &[0u8; 512], &[0u8; 8]), Status::SUCCESS);
    for _ in 0..3 {
        assert_eq!(read(&c, 0, 10).0, Status::SUCCESS);
    }
    let cmp = io(
        &c,
        rw(NvmOpcode::COMPARE, 1000, 0),
        DataBuf::Out(&[0u8; 512]),
        DataBuf::Out(&[0u8; 8]),
    );
    assert_eq!(status(cmp), Status::SUCCESS);
    // Write Zeroes counts for nothing; Verify adds data read, not a command.
    let wz = rw(NvmOpcode::WRITE_ZEROES, 0, 999);
    assert_eq!(
        status(io(&c, wz, DataBuf::None, DataBuf::None)),
        Status::SUCCESS
    );
    let v = rw(NvmOpcode::VERIFY, 0, 999);
    assert_eq!(
        status(io(&c, v, DataBuf::None, DataBuf::None)),
        Status::SUCCESS
    );
    let unc = rw(NvmOpcode::WRITE_UNCORRECTABLE, 5, 0);
    assert_eq!(
        status(io(&c, unc, DataBuf::None, DataBuf::None)),
        Status::SUCCESS
    );
    assert_eq!(
        read(&c, 5, 1).0,
        dnr(sct::MEDIA, sc_media::UNRECOVERED_READ_ERROR)
    );

    let s = smart(&c);
    assert_eq!(s.host_write_commands(), 9);
    assert_eq!(s.data_units_written(), 2);
    assert_eq!(
        s.host_read_commands(),
        4,
        "3 reads and a compare; the failed read is not counted"
    );
    assert_eq!(
        s.data_units_read(),
        2,
        "31 blocks read and 1000 verified: 1031 units of 512 bytes"
    );
    assert_eq!(s.media_errors(), 1);
    assert_eq!(s.num_err_log_entries(), 1);
}

#[test]
fn get_log_page_honours_numd_and_offset() {
    let c = ctrl("4MiB?lbaf=0");
    assert_eq!(write(&c, 0, 1, &[1u8; 512], &[]), Status::SUCCESS);
    // 8 bytes from offset 80: the low half of Host Write Commands.
    let mut glp = GetLogPage::new(LogPageId::SMART_HEALTH, NSID_ALL, 8);
    glp.lpo = 80;
    let (st, buf) = log_page(&c, glp);
    assert_eq!(st, Status::SUCCESS);
    assert_eq!(buf, 1u64.to_le_bytes());
    // A window running past the end of the log reads zeroes there.
    glp.lpo = 508;
    let (st, buf) = log_page(&c, GetLogPage { numd: 3, ..glp });
    assert_eq!(st, Status::SUCCESS);
    assert_eq!(buf, [0u8; 16]);
    // NUMD spans both dwords: NUMDU is CDW11 bits 15:0.
    let big = GetLogPage::new(LogPageId::SMART_HEALTH, NSID_ALL, 0x4_0000 * 4);
    assert_eq!(big.to_command().cdw11 & 0xffff, 3);
    let (st, buf) = log_page(&c, big);
    assert_eq!(st, Status::SUCCESS);
    assert!(buf[512..].iter().all(|&b| b == 0) && buf[1..3] == [0x2c, 0x01]);
    // Offsets must be dword aligned and within the log.
    for lpo in [2, 516, u64::MAX - 3] {
        let (st, _) = log_page(
            &c,
            GetLogPage {
                lpo,
                ..GetLogPage::new(LogPageId::SMART_HEALTH, NSID_ALL, 4)
            },
        );
        assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_FIELD), "offset {lpo}");
    }
    // A buffer shorter than NUMD says is the caller's mistake.
    let mut small = [0u8; 16];
    let cmd = GetLogPage::new(LogPageId::SMART_HEALTH, NSID_ALL, 512).to_command();
    let e = admin(&c, cmd, DataBuf::In(&mut small)).unwrap_err();
    assert!(
        matches!(
            e,
            nvmx_core::Error::ShortBuffer {
                len: 16,
                need: 512,
                ..
            }
        ),
        "{e}"
    );
    // Unknown log pages.
    for lid in [LogPageId::TELEMETRY_HOST, LogPageId(0xca)] {
        let (st, _) = log_page(&c, GetLogPage::new(lid, NSID_ALL, 512));
        assert_eq!(
            st,
            dnr(sct::COMMAND_SPECIFIC, sc_cmd::INVALID_LOG_PAGE),
            "{lid:?}"
        );
    }
    let (st, _) = log_page(&c, GetLogPage::new(LogPageId::SMART_HEALTH, 5, 512));
    assert_eq!(st, dnr(sct::GENERIC, sc::INVALID_NS_OR_FORMAT));
}

#[test]
fn supported_pages_firmware_slots_and_command_effects() {
    let c = ctrl("4MiB");
    let (st, buf) = log_page(&c, GetLogPage::new(LogPageId::SUPPORTED_LOG_PAGES, 0, 1024));
    assert_eq!(st, Status::SUCCESS);
    let pages = SupportedLogPages::read_from_bytes(&buf).unwrap();
    for lid in [0u8, 1, 2, 3, 5] {
        assert!(pages.supports(LogPageId(lid)), "LID {lid}");
    }
    assert!(!pages.supports(LogPageId::TELEMETRY_HOST));

    let (st, buf) = log_page(&c, GetLogPage::new(LogPageId::FW_SLOT, 0, 512));
    assert_eq!(st, Status::SUCCESS);
    let fw = FirmwareSlotLog::read_from_bytes(&buf).unwrap();
    assert_eq!(fw.active_slot(), 1);
    assert_eq!(fw.revision(1), Some(id_ctrl(&c).firmware()));

    let (st, buf) = log_page(&c, GetLogPage::new(LogPageId::CMD_EFFECTS, 0, 4096));
    assert_eq!(st, Status::SUCCESS);
    let fx = CommandsSupportedEffects::read_from_bytes(&buf).unwrap();
    assert_eq!(fx.admin(AdminOpcode::IDENTIFY.0), effects::CSUPP);
    assert_eq!(
        fx.admin(AdminOpcode::FORMAT_NVM.0),
        effects::CSUPP | effects::LBCC | effects::NCC | 1 << 16
    );
    assert_eq!(fx.admin(AdminOpcode::NS_MGMT.0), 0);
    assert_eq!(fx.io(NvmOpcode::READ.0), effects::CSUPP);
    for opc in [
        NvmOpcode::WRITE,
        NvmOpcode::WRITE_ZEROES,
        NvmOpcode::DSM,
        NvmOpcode::COPY,
    ] {
        assert_eq!(fx.io(opc.0), effects::CSUPP | effects::LBCC, "{opc:?}");
    }
    assert!(!fx.io_supported(NvmOpcode::ZONE_APPEND.0));
    let mut zoned = GetLogPage::new(LogPageId::CMD_EFFECTS, 0, 4096);
    zoned.csi = Csi::ZONED;
    assert_eq!(log_page(&c, zoned).0, dnr(sct::GENERIC, sc::INVALID_FIELD));
}

#[test]
fn features_get_set_and_select() {
    let c = ctrl("4MiB");
    let cdw0 = |fid, sel, cdw11| {
        let cpl = get_feature(&c, fid, sel, cdw11).unwrap();
        assert!(cpl.is_success(), "{fid:?} {sel:?}: {:?}", cpl.status());
        cpl.cdw0
    };
    // Volatile write cache: on by default, can be turned off.
    assert_eq!(cdw0(FeatureId::VOLATILE_WRITE_CACHE, Select::CURRENT, 0), 1);
    assert_eq!(
        set_feature(&c, FeatureId::VOLATILE_WRITE_CACHE, 0),
        Status::SUCCESS
    );
    assert_eq!(cdw0(FeatureId::VOLATILE_WRITE_CACHE, Select::CURRENT, 0), 0);
    assert_eq!(cdw0(FeatureId::VOLATILE_WRITE_CACHE, Select::DEFAULT, 0), 1);
    assert_eq!(cdw0(FeatureId::VOLATILE_WRITE_CACHE, Select::SAVED, 0), 1);
    let caps = FeatureCaps::from_cdw0(cdw0(
        FeatureId::VOLATILE_WRITE_CACHE,
        Select::SUPPORTED_CAPS,
        0,
    ));
    assert_eq!(
        caps,
        FeatureCaps {
            saveable: false,
            ns_specific: false,
            changeable: true
        }
    );
    let caps = FeatureCaps::from_cdw0(cdw0(FeatureId::ERROR_RECOVERY, Select::SUPPORTED_CAPS, 0));
    assert!(caps.ns_specific);
    // Number of queues: 64 of each (0-based 63), whatever is asked for.
    assert_eq!(cdw0(FeatureId::NUM_QUEUES, Select::CURRENT, 0), 0x003f_003f);
    let cpl = admin(
        &c,
        SetFeatures::new(FeatureId::NUM_QUEUES, 0x0003_0003).to_command(),
        DataBuf::None,
    )
    .unwrap();
    assert_eq!((cpl.status(), cpl.cdw0), (Status::SUCCESS, 0x003f_003f));
    assert_eq!(
        set_feature(&c, FeatureId::NUM_QUEUES, 0xffff_0000),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
    // Arbitration and asynchronous events keep what is set.
    assert_eq!(
        set_feature(&c, FeatureId::ARBITRATION, 0x0403_0203),
        Status::SUCCESS
    );
    assert_eq!(
        cdw0(FeatureId::ARBITRATION, Select::CURRENT, 0),
        0x0403_0203
    );
    assert_eq!(cdw0(FeatureId::ARBITRATION, Select::DEFAULT, 0), 0);
    assert_eq!(
        set_feature(&c, FeatureId::ASYNC_EVENT, 0x1ff),
        Status::SUCCESS
    );
    assert_eq!(cdw0(FeatureId::ASYNC_EVENT, Select::CURRENT, 0), 0xff);
    // Power state 0 is the only one.
    assert_eq!(
        set_feature(&c, FeatureId::POWER_MGMT, 0x20),
        Status::SUCCESS
    );
    assert_eq!(cdw0(FeatureId::POWER_MGMT, Select::CURRENT, 0), 0x20);
    assert_eq!(
        set_feature(&c, FeatureId::POWER_MGMT, 1),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
    // Error recovery: TLER kept, DULBE not supported.
    assert_eq!(
        set_feature(&c, FeatureId::ERROR_RECOVERY, 30),
        Status::SUCCESS
    );
    assert_eq!(cdw0(FeatureId::ERROR_RECOVERY, Select::CURRENT, 0), 30);
    assert_eq!(
        set_feature(&c, FeatureId::ERROR_RECOVERY, 1 << 16),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
    // Nothing is saveable; unknown features are invalid.
    let mut save = SetFeatures::new(FeatureId::VOLATILE_WRITE_CACHE, 1);
    save.save = true;
    let st = status(admin(&c, save.to_command(), DataBuf::None));
    assert_eq!(st, dnr(sct::COMMAND_SPECIFIC, sc_cmd::FEATURE_NOT_SAVEABLE));
    for fid in [
        FeatureId::LBA_RANGE_TYPE,
        FeatureId::HOST_MEM_BUF,
        FeatureId(0xc0),
    ] {
        assert_eq!(
            status(get_feature(&c, fid, Select::CURRENT, 0)),
            dnr(sct::GENERIC, sc::INVALID_FIELD)
        );
        assert_eq!(
            set_feature(&c, fid, 0),
            dnr(sct::GENERIC, sc::INVALID_FIELD),
            "{fid:?}"
        );
    }
    assert_eq!(
        status(get_feature(&c, FeatureId::ARBITRATION, Select(4), 0)),
        dnr(sct::GENERIC, sc::INVALID_FIELD)
    );
}

#[test]
fn temperature_thresholds_and_timestamp() {
    let c = ctrl("4MiB");
    let get = |thsel: u8| {
        let sel = TemperatureThreshold {
            tmpth: 0,
            tmpsel: 0,
            thsel,
        }
        .to_cdw11();
        let cpl = get_feature(&c, FeatureId::TEMP_THRESHOLD, Select::CURRENT, sel).unwrap();
        assert!(cpl.is_success());
        TemperatureThreshold::from_cdw0(cpl.cdw0).tmpth
    };
    assert_eq!(
        (get(0), get(1)),
        (358, 0),
        "over threshold defaults to WCTEMP"
    );
    let set = |tmpth, tmpsel, thsel| {
        set_feature(
            &c,
            FeatureId::TEMP_THRESHOLD,
            TemperatureThreshold {
                tmpth,
                tmpsel,
                thsel,
            }
            .to_cdw11(),
        )
    };
    assert_eq!(set(340, 0, 0), Status::SUCCESS);
    assert_eq!(set(270, 0, 1), Status::SUCCESS);
    assert_eq!((get(0), get(1)), (340, 270));
    assert_eq!(
        set(300, 1, 0),
        dnr(sct::GENERIC, sc::INVALID_FIELD),
        "only the composite sensor"
    );
    assert_eq!(set(300, 0, 2), dnr(sct::GENERIC, sc::INVALID_FIELD));

    let get_ts = || {
        let mut buf = [0u8; 8];
        let cmd = GetFeatures::new(FeatureId::TIMESTAMP).to_command();
        assert!(admin(&c, cmd, DataBuf::In(&mut buf)).unwrap().is_success());
        let mut ms = [0u8; 8];
        ms[..6].copy_from_slice(&buf[..6]);
        (u64::from_le_bytes(ms), (buf[6] >> 1) & 0x7)
    };
    let (ms, origin) = get_ts();
    assert_eq!(origin, 0, "counting from controller creation");
    assert!(ms < 60_000, "{ms} ms since creation");
    let when: u64 = 1_790_000_000_000;
    let mut data = [0u8; 8];
    data[..6].copy_from_slice(&when.to_le_bytes()[..6]);
    let cmd = SetFeatures::new(FeatureId::TIMESTAMP, 0).to_command();
    assert!(admin(&c, cmd, DataBuf::Out(&data)).unwrap().is_success());
    let (ms, origin) = get_ts();
    assert_eq!(origin, 1, "set by the host");
    assert!((when..when + 60_000).contains(&ms), "{ms}");
    let e = admin(&c, cmd, DataBuf::Out(&data[..4])).unwrap_err();
    assert!(
        matches!(
            e,
            nvmx_core::Error::ShortBuffer {
                len: 4,
                need: 8,
                ..
            }
        ),
        "{e}"
    );
}
