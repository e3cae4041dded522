//! Any command, however absurd its fields, gets a completion or a
//! host-side error, never a panic.

use super::*;

/// A small deterministic generator (xorshift64*).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// A dword that is often small, sometimes all ones, otherwise random.
    fn dword(&mut self) -> u32 {
        match self.next() % 4 {
            0 => (self.next() % 8) as u32,
            1 => u32::MAX,
            _ => self.next() as u32,
        }
    }
}

#[test]
fn random_commands_never_panic() {
    let mut rng = Rng(0x1234_5678_9abc_def1);
    for uri in ["64KiB?lbaf=0", "64KiB?lbaf=4&ext=1", "64KiB?lbaf=3&mdts=0"] {
        let c = ctrl(uri);
        for round in 0..4000u32 {
            // Every opcode goes to both the I/O and the admin interface.
            let mut cmd = Command::new((round / 2 % 256) as u8, 0);
            cmd.nsid = match rng.next() % 4 {
                0 => 0xffff_ffff,
                1 => rng.dword(),
                _ => 1,
            };
            cmd.cdw10 = rng.dword();
            cmd.cdw11 = rng.dword();
            cmd.cdw12 = rng.dword();
            cmd.cdw13 = rng.dword();
            cmd.cdw14 = rng.dword();
            cmd.cdw15 = rng.dword();
            let len = [0usize, 7, 512, 4096, 70_000][(rng.next() % 5) as usize];
            let mut data = pattern(len, round);
            let mut meta = pattern(len / 8, round + 1);
            let out = rng.next().is_multiple_of(2);
            let (d, m) = if out {
                (DataBuf::Out(&data), DataBuf::Out(&meta))
            } else {
                (DataBuf::In(&mut data), DataBuf::In(&mut meta))
            };
            if round % 2 == 0 {
                let _ = io(&c, cmd, d, m);
            } else {
                let _ = admin(&c, cmd, d);
            }
        }
    }
}
