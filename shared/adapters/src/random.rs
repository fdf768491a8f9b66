//! Randomness: the operating system's, and a seeded one for tests that must repeat exactly.

use herald_ports::Random;
use rand::{RngCore, SeedableRng};
use std::sync::Mutex;

/// The operating system's generator (through rand's thread-local CSPRNG).
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemRandom;

impl Random for SystemRandom {
    fn fill(&self, bytes: &mut [u8]) {
        rand::rng().fill_bytes(bytes);
    }
}

/// A deterministic generator: the same seed gives the same values in the same order.
#[derive(Debug)]
pub struct SeededRandom(Mutex<rand::rngs::StdRng>);

impl SeededRandom {
    pub fn new(seed: u64) -> Self {
        SeededRandom(Mutex::new(rand::rngs::StdRng::seed_from_u64(seed)))
    }
}

impl Random for SeededRandom {
    fn fill(&self, bytes: &mut [u8]) {
        self.0.lock().expect("random lock").fill_bytes(bytes);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_seeded_random_repeats_and_differs_by_seed() {
        let (a, b, c) = (
            SeededRandom::new(7),
            SeededRandom::new(7),
            SeededRandom::new(8),
        );
        let xs: Vec<u64> = (0..4).map(|_| a.u64()).collect();
        let ys: Vec<u64> = (0..4).map(|_| b.u64()).collect();
        assert_eq!(xs, ys);
        assert_ne!(xs[0], c.u64());
        let u = a.unit();
        assert!((0.0..1.0).contains(&u));
    }
}
