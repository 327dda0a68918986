//! Inputs shared by the compressor tests (`compress.rs`, `compress_reference.rs`): a small
//! seeded generator, plausible ENet command areas, and the batch of sizes and contents every
//! compressor is run over.
// Each test binary uses a different part of this module.
#![allow(dead_code)]

/// Small deterministic generator (xorshift64*), so inputs can be rebuilt from a seed.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1)
    }

    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

/// A plausible ENet command area of exactly `len` bytes: acknowledgements, pings and reliable /
/// unreliable sends whose payloads look like Godot multiplayer traffic (small headers, node
/// paths, slowly changing floats, some random bytes).
pub fn enet_like(seed: u64, len: usize) -> Vec<u8> {
    let mut rng = Rng::new(seed);
    let mut out = Vec::with_capacity(len + 512);
    let mut reliable_seq = rng.below(60_000) as u16;
    let mut unreliable_seq = rng.below(60_000) as u16;
    let mut position = [0f32; 3];
    while out.len() < len {
        let channel = rng.below(3) as u8;
        match rng.below(6) {
            0 => {
                // ACKNOWLEDGE: header, received reliable sequence, received sent time.
                out.extend_from_slice(&[0x01, channel]);
                out.extend_from_slice(&reliable_seq.wrapping_sub(1).to_be_bytes());
                out.extend_from_slice(&reliable_seq.wrapping_sub(3).to_be_bytes());
                out.extend_from_slice(&(rng.below(65_536) as u16).to_be_bytes());
            }
            1 => {
                // PING.
                out.extend_from_slice(&[0x85, 0xFF]);
                out.extend_from_slice(&reliable_seq.to_be_bytes());
                reliable_seq = reliable_seq.wrapping_add(1);
            }
            kind => {
                // A Godot-style payload.
                let mut payload = Vec::new();
                match rng.below(3) {
                    0 => {
                        payload.extend_from_slice(&[0x00, 0x02, 0x00, 0x00]);
                        payload.extend_from_slice(b"/root/World/Players/Player1:sync_state");
                        payload.extend_from_slice(&(rng.below(1000) as u32).to_le_bytes());
                    }
                    1 => {
                        for axis in position.iter_mut() {
                            *axis += (rng.below(200) as f32 - 100.0) / 1000.0;
                            payload.extend_from_slice(&[0x03, 0x00, 0x00, 0x00]);
                            payload.extend_from_slice(&axis.to_le_bytes());
                        }
                    }
                    _ => {
                        let n = 1 + rng.below(64) as usize;
                        payload.extend((0..n).map(|_| rng.next() as u8));
                    }
                }
                if kind == 2 {
                    // SEND_UNRELIABLE.
                    out.extend_from_slice(&[0x07, channel]);
                    out.extend_from_slice(&reliable_seq.to_be_bytes());
                    out.extend_from_slice(&unreliable_seq.to_be_bytes());
                    unreliable_seq = unreliable_seq.wrapping_add(1);
                } else {
                    // SEND_RELIABLE with the acknowledge flag.
                    out.extend_from_slice(&[0x86, channel]);
                    out.extend_from_slice(&reliable_seq.to_be_bytes());
                    reliable_seq = reliable_seq.wrapping_add(1);
                }
                out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
                out.extend_from_slice(&payload);
            }
        }
    }
    out.truncate(len);
    out
}

/// Inputs for the batch tests: a spread of sizes, half realistic and half random.
pub fn batch_inputs() -> Vec<Vec<u8>> {
    let mut rng = Rng::new(7);
    let mut sizes: Vec<usize> = (1..=40).collect();
    sizes.extend([63, 64, 65, 255, 256, 257, 1000, 1392, 2048, 4095, 4096]);
    sizes.extend((0..40).map(|_| 1 + rng.below(4096) as usize));
    let mut inputs = Vec::new();
    for (i, &len) in sizes.iter().enumerate() {
        inputs.push(enet_like(i as u64, len));
        inputs.push((0..len).map(|_| rng.next() as u8).collect());
    }
    // Long runs and repeats exercise long matches.
    inputs.push(vec![0; 4096]);
    inputs.push(b"abc".repeat(1000));
    inputs
}
