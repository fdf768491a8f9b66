//! Randomness is an input, like time: ids, claims, retry jitter and secrets ask a `Random`, so
//! tests can seed it and repeat a run exactly.

pub trait Random: Send + Sync + 'static {
    /// Fills `bytes` with random bytes (from the operating system's generator in production).
    fn fill(&self, bytes: &mut [u8]);

    fn u64(&self) -> u64 {
        let mut b = [0u8; 8];
        self.fill(&mut b);
        u64::from_le_bytes(b)
    }

    fn u128(&self) -> u128 {
        let mut b = [0u8; 16];
        self.fill(&mut b);
        u128::from_le_bytes(b)
    }

    /// A value in [0, 1), for jitter.
    fn unit(&self) -> f64 {
        // 53 random bits: every value is exactly representable and below 1.
        (self.u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// 32 random bytes: API key secrets, OAuth state nonces, PKCE verifiers.
    fn secret32(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        self.fill(&mut b);
        b
    }
}
