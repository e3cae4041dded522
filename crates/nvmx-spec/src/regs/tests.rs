//! Tests of the register layouts and fields against the base specification.

use super::*;
use core::mem::offset_of;

#[test]
fn register_block_offsets_match_base_spec_register_map() {
    assert_eq!(offset_of!(ControllerRegisters, cap), offset::CAP);
    assert_eq!(offset_of!(ControllerRegisters, vs), offset::VS);
    assert_eq!(offset_of!(ControllerRegisters, intms), offset::INTMS);
    assert_eq!(offset_of!(ControllerRegisters, intmc), offset::INTMC);
    assert_eq!(offset_of!(ControllerRegisters, cc), offset::CC);
    assert_eq!(offset_of!(ControllerRegisters, csts), offset::CSTS);
    assert_eq!(offset_of!(ControllerRegisters, nssr), offset::NSSR);
    assert_eq!(offset_of!(ControllerRegisters, aqa), offset::AQA);
    assert_eq!(offset_of!(ControllerRegisters, asq), offset::ASQ);
    assert_eq!(offset_of!(ControllerRegisters, acq), offset::ACQ);
    assert_eq!(offset_of!(ControllerRegisters, cmbloc), offset::CMBLOC);
    assert_eq!(offset_of!(ControllerRegisters, cmbsz), offset::CMBSZ);
    assert_eq!(offset_of!(ControllerRegisters, bpinfo), offset::BPINFO);
    assert_eq!(offset_of!(ControllerRegisters, bpmbl), offset::BPMBL);
    assert_eq!(offset_of!(ControllerRegisters, cmbmsc), offset::CMBMSC);
    assert_eq!(offset_of!(ControllerRegisters, cmbsts), offset::CMBSTS);
    assert_eq!(offset_of!(ControllerRegisters, nssd), offset::NSSD);
    assert_eq!(offset_of!(ControllerRegisters, crto), offset::CRTO);
}

#[test]
fn cap_fields_decode_from_a_qemu_like_value() {
    // MQES 2047, CQR, TO 15 (7.5 s), DSTRD 0, NSSRS, CSS NVM+IOCS, MPSMAX 4 (64 KiB), CMBS.
    let raw: u64 = 0x7ff | 1 << 16 | 15 << 24 | 1 << 36 | 0x41 << 37 | 4 << 52 | 1 << 57;
    let cap = Cap(raw);
    assert_eq!(cap.mqes(), 2047);
    assert_eq!(cap.max_queue_entries(), 2048);
    assert!(cap.cqr());
    assert_eq!(cap.timeout_ms(), 7500);
    assert_eq!(cap.doorbell_stride_bytes(), 4);
    assert!(cap.nssrs());
    assert_eq!(cap.css(), cap_css::NVM | cap_css::IO_COMMAND_SETS);
    assert_eq!(cap.mpsmin_nbytes(), 4096);
    assert_eq!(cap.mpsmax_nbytes(), 65536);
    assert!(cap.cmbs());
    assert!(!cap.pmrs());
    assert_eq!(Cap(3 << 32).dstrd(), 3);
    assert_eq!(Cap(3 << 32).doorbell_stride_bytes(), 32);
}

#[test]
fn cc_setters_touch_only_their_field() {
    let mut cc = Cc::default();
    cc.set_iosqes(6);
    cc.set_iocqes(4);
    cc.set_css(cc_css::ALL_IO);
    cc.set_en(true);
    assert_eq!(cc.0, 0x0046_0061);
    cc.set_shn(shn::NORMAL);
    assert_eq!(cc.shn(), shn::NORMAL);
    cc.set_en(false);
    assert!(!cc.en());
    assert_eq!(cc.iosqes(), 6);
    assert_eq!(cc.iocqes(), 4);
    assert_eq!(cc.css(), cc_css::ALL_IO);
    cc.set_mps(0xff); // truncated to the 4-bit field
    assert_eq!(cc.mps(), 0xf);
    assert_eq!(cc.ams(), 0);
}

#[test]
fn csts_and_aqa_decode() {
    let csts = Csts(0b1001);
    assert!(csts.rdy());
    assert!(!csts.cfs());
    assert_eq!(csts.shst(), shst::COMPLETE);
    let aqa = Aqa::new(31, 63);
    assert_eq!(aqa.0, 0x003f_001f);
    assert_eq!((aqa.asqs(), aqa.acqs()), (31, 63));
}

#[test]
fn doorbells_follow_the_stride() {
    assert_eq!(sq_tail_doorbell(0, 0), 0x1000);
    assert_eq!(cq_head_doorbell(0, 0), 0x1004);
    assert_eq!(sq_tail_doorbell(1, 0), 0x1008);
    assert_eq!(cq_head_doorbell(1, 0), 0x100c);
    assert_eq!(sq_tail_doorbell(2, 2), 0x1000 + 4 * 16);
    assert_eq!(cq_head_doorbell(2, 2), 0x1000 + 5 * 16);
}

#[test]
fn version_prints_dotted() {
    let v = Version::new(2, 0, 1);
    assert_eq!(v.0, 0x0002_0001);
    assert_eq!(std::format!("{v}"), "2.0.1");
    assert!(Version::new(1, 4, 0) < v);
}

#[test]
fn cmbsz_computes_size() {
    let sz = Cmbsz(0x1f | 2 << 8 | 4 << 12); // 4 units of 1 MiB
    assert!(sz.sqs() && sz.cqs() && sz.lists() && sz.rds() && sz.wds());
    assert_eq!(sz.unit_nbytes(), 1 << 20);
    assert_eq!(sz.nbytes(), 4 << 20);
    assert_eq!(Cmbloc(0x2 | 0x10 << 12).ofst(), 0x10);
}

#[test]
fn register_snapshot_reads_from_bar_bytes_and_serializes() {
    let mut bar = [0u8; 0x70];
    bar[0..8].copy_from_slice(&0x7ffu64.to_le_bytes());
    bar[8..12].copy_from_slice(&0x0001_0400u32.to_le_bytes());
    bar[0x1c] = 1;
    let regs = ControllerRegisters::read_from_bytes(&bar[..]).unwrap();
    assert_eq!(regs.cap.mqes(), 0x7ff);
    assert_eq!(regs.vs.mnr(), 4);
    assert!(regs.csts.rdy());
    let v = serde_json::to_value(regs).unwrap();
    assert_eq!(v["cap"], 0x7ff);
    assert_eq!(v["csts"], 1);
    assert!(v.get("rsvd18").is_none());
}
