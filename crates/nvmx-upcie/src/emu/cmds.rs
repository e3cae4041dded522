//! Fetching and running commands: the emulated controller's queues.

use std::sync::atomic::Ordering;

use nvmx_spec::feature::FeatureId;
use nvmx_spec::identify::Cns;
use nvmx_spec::opcode::{AdminOpcode, NvmOpcode};
use nvmx_spec::status::{sc, sct};
use nvmx_spec::{Command, Completion, Status};
use zerocopy::{FromBytes, IntoBytes};

use super::{Cq, EmuBacking, Held, MAX_QUEUES, PAGE, SGLS_OFFSET, Sq, State, lock};
use nvmx_core::be::{Admin, SyncIo};

impl EmuBacking {
    /// Fetches and runs the commands between head and tail of SQ `qid`.
    pub(super) fn process(&self, st: &mut State, qid: u16) {
        loop {
            if st.csts & 1 == 0 || st.csts & 2 != 0 {
                return;
            }
            let Some(sq) = st.sqs.get(&qid) else { return };
            if sq.head == sq.tail {
                return;
            }
            let cqid = sq.cqid;
            let Some(cq) = st.cqs.get(&cqid) else { return };
            if (cq.tail + 1) % cq.size == cq.head {
                return; // CQ full: wait for the head doorbell
            }
            if let Some(n) = st.faults.fatal_after {
                if n == 0 {
                    st.csts |= 2;
                    return;
                }
                st.faults.fatal_after = Some(n - 1);
            }
            let mut raw = [0u8; 64];
            let addr = sq.base + u64::from(sq.head) * 64;
            let sq = st.sqs.get_mut(&qid).map(|s| {
                s.head = (s.head + 1) % s.size;
                s.head
            });
            let Some(sqhd) = sq else { return };
            self.commands.fetch_add(1, Ordering::Relaxed);
            if !self.read_mem(addr, &mut raw) {
                st.csts |= 2; // the SQ points nowhere: the controller fails
                return;
            }
            let mut cmd = Command::read_from_bytes(&raw[..]).unwrap_or_default();
            if qid != 0 {
                st.last_io = Some(cmd);
                if st.faults.hold > 0 {
                    st.faults.hold -= 1;
                    st.held.push(Held {
                        qid,
                        cqid,
                        sqhd,
                        cmd,
                    });
                    continue;
                }
            }
            let (cdw0, status) = if qid == 0 {
                self.admin(st, &mut cmd)
            } else {
                self.io(st, &mut cmd)
            };
            if st.faults.drop_completions > 0 {
                st.faults.drop_completions -= 1;
                continue;
            }
            if !self.post(st, (qid, cqid, sqhd, cmd.cid), cdw0, status) {
                return;
            }
        }
    }

    /// Runs the held commands: their data moves and their completions are
    /// posted if their completion queue still exists.
    pub(super) fn run_held(&self, st: &mut State) -> usize {
        let held = std::mem::take(&mut st.held);
        let n = held.len();
        for mut h in held {
            self.late_commands.fetch_add(1, Ordering::Relaxed);
            let (cdw0, status) = self.io(st, &mut h.cmd);
            self.post(st, (h.qid, h.cqid, h.sqhd, h.cmd.cid), cdw0, status);
        }
        n
    }

    /// Posts a completion for command `cid` of SQ `qid` (SQ head `sqhd`)
    /// on CQ `cqid`; false when the CQ is gone or its memory is not
    /// reachable (the controller then reports a fatal status).
    fn post(&self, st: &mut State, ids: (u16, u16, u16, u16), cdw0: u32, status: u16) -> bool {
        let (qid, cqid, sqhd, cid) = ids;
        let wrong = st.faults.wrong_phase > 0;
        if wrong {
            st.faults.wrong_phase -= 1;
        }
        let Some(cq) = st.cqs.get_mut(&cqid) else {
            return false;
        };
        let phase = cq.phase != wrong;
        let cpl = Completion {
            cdw0,
            cdw1: 0,
            sqhd,
            sqid: qid,
            cid,
            status: (status << 1) | u16::from(phase),
        };
        let at = cq.base + u64::from(cq.tail) * 16;
        cq.tail += 1;
        if cq.tail == cq.size {
            cq.tail = 0;
            cq.phase = !cq.phase;
        }
        let b = cpl.as_bytes();
        // Everything but the status half-word first, then the status
        // with its phase tag.
        if !(self.write_mem(at, &b[..14]) && self.write_mem(at + 14, &b[14..])) {
            st.csts |= 2;
            return false;
        }
        true
    }

    pub(super) fn status(sct: u8, sc: u8) -> u16 {
        Status::new(sct, sc).dnr().to_raw()
    }

    fn admin(&self, st: &mut State, cmd: &mut Command) -> (u32, u16) {
        let qid = (cmd.cdw10 & 0xffff) as u16;
        let size = (cmd.cdw10 >> 16) as u16;
        let bad_qid = Self::status(sct::COMMAND_SPECIFIC, 0x01);
        let bad_size = Self::status(sct::COMMAND_SPECIFIC, 0x02);
        let field = Self::status(sct::GENERIC, sc::INVALID_FIELD);
        match AdminOpcode(cmd.opc) {
            AdminOpcode::CREATE_IO_CQ | AdminOpcode::CREATE_IO_SQ => {
                let create_cq = cmd.opc == AdminOpcode::CREATE_IO_CQ.0;
                let exists = if create_cq {
                    st.cqs.contains_key(&qid)
                } else {
                    st.sqs.contains_key(&qid)
                };
                if qid == 0 || qid > MAX_QUEUES || exists {
                    return (0, bad_qid);
                }
                if size < 1 || size > self.mqes {
                    return (0, bad_size);
                }
                if !create_cq && st.faults.fail_create > 0 {
                    st.faults.fail_create -= 1;
                    return (0, bad_qid);
                }
                if cmd.cdw11 & 1 == 0 || !cmd.prp1.is_multiple_of(PAGE) {
                    return (0, field);
                }
                let entry = if create_cq { 16 } else { 64 };
                if lock(&self.mem)
                    .find(cmd.prp1, (usize::from(size) + 1) * entry)
                    .is_none()
                {
                    return (0, field);
                }
                if create_cq {
                    st.cqs.insert(
                        qid,
                        Cq {
                            base: cmd.prp1,
                            size: size + 1,
                            head: 0,
                            tail: 0,
                            phase: true,
                        },
                    );
                } else {
                    let cqid = (cmd.cdw11 >> 16) as u16;
                    if cqid == 0 || !st.cqs.contains_key(&cqid) {
                        return (0, Self::status(sct::COMMAND_SPECIFIC, 0x00));
                    }
                    st.sqs.insert(
                        qid,
                        Sq {
                            base: cmd.prp1,
                            size: size + 1,
                            cqid,
                            head: 0,
                            tail: 0,
                        },
                    );
                }
                (0, 0)
            }
            AdminOpcode::DELETE_IO_SQ => {
                if qid == 0 || st.sqs.remove(&qid).is_none() {
                    return (0, bad_qid);
                }
                (0, 0)
            }
            AdminOpcode::DELETE_IO_CQ => {
                if qid == 0 || !st.cqs.contains_key(&qid) {
                    return (0, bad_qid);
                }
                if st.sqs.values().any(|s| s.cqid == qid) {
                    return (0, Self::status(sct::COMMAND_SPECIFIC, 0x0c));
                }
                st.cqs.remove(&qid);
                (0, 0)
            }
            AdminOpcode::SET_FEATURES | AdminOpcode::GET_FEATURES
                if cmd.cdw10 & 0xff == u32::from(FeatureId::NUM_QUEUES.0) =>
            {
                let n = u32::from(MAX_QUEUES - 1);
                (n | (n << 16), 0)
            }
            _ => {
                let len = match AdminOpcode(cmd.opc) {
                    AdminOpcode::IDENTIFY => Some(4096),
                    AdminOpcode::GET_LOG_PAGE => {
                        let numd = ((cmd.cdw11 & 0xffff) << 16) | (cmd.cdw10 >> 16);
                        Some((numd as usize + 1) * 4)
                    }
                    _ => None,
                };
                let ram: &dyn Admin = &*self.ram;
                let identify_ctrl = cmd.opc == AdminOpcode::IDENTIFY.0
                    && cmd.cdw10 & 0xff == u32::from(Cns::CONTROLLER.0);
                // SGLs for data (no alignment rule) and SGLs in MPTR.
                let sgls: u32 = if st.faults.refuse_sgl {
                    0
                } else {
                    1 | (1 << 19) | (u32::from(st.faults.sgl_longer) << 18)
                };
                let r = self.transfer(st, cmd, len, None, |c, mut d, _| {
                    let r = ram.cmd_admin(c, d.reborrow());
                    if let Some(b) = d.as_mut_slice().filter(|_| identify_ctrl)
                        && let Some(f) = b.get_mut(SGLS_OFFSET..SGLS_OFFSET + 4)
                    {
                        f.copy_from_slice(&sgls.to_le_bytes());
                    }
                    r
                });
                // A new format or namespace changes the transfer shape.
                if matches!(
                    AdminOpcode(cmd.opc),
                    AdminOpcode::FORMAT_NVM | AdminOpcode::SANITIZE | AdminOpcode::NS_MGMT
                ) {
                    st.shape = None;
                }
                r
            }
        }
    }

    fn io(&self, st: &mut State, cmd: &mut Command) -> (u32, u16) {
        let (block, ms) = *st.shape.get_or_insert_with(|| self.ram.xfer_shape());
        let nlb = u64::from(cmd.cdw12 & 0xffff) + 1;
        let (len, mlen) = match NvmOpcode(cmd.opc) {
            NvmOpcode::WRITE | NvmOpcode::READ | NvmOpcode::COMPARE | NvmOpcode::ZONE_APPEND => {
                (Some((nlb * block) as usize), (nlb * ms) as usize)
            }
            NvmOpcode::DSM => (Some(((cmd.cdw10 & 0xff) as usize + 1) * 16), 0),
            NvmOpcode::COPY => {
                let nr = (cmd.cdw12 & 0xff) as usize + 1;
                let desc = if (cmd.cdw12 >> 8) & 1 == 1 { 40 } else { 32 };
                (Some(nr * desc), 0)
            }
            NvmOpcode::ZONE_MGMT_RECV => (Some((cmd.cdw12 as usize + 1) * 4), 0),
            _ => (None, 0),
        };
        let meta = (mlen > 0 && cmd.mptr != 0).then_some(mlen);
        let ram: &dyn SyncIo = &*self.ram;
        self.transfer(st, cmd, len, meta, |c, d, m| ram.cmd_io(c, d, m))
    }
}
