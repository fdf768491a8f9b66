//! What every bench builds alike: the use cases' inputs over a given table, with blobs in
//! `dir`, the in-process bus, the system clock and randomness, inline wake-ups.

use herald_adapters::{FsBlobStore, InProcessBus};
use herald_app::Deps;
use herald_networks::crypto::Sealer;
use herald_ports::{Clock, Connectors, Table};
use std::path::Path;
use std::sync::Arc;

pub fn deps(
    table: Arc<dyn Table>,
    dir: &Path,
    clock: Arc<dyn Clock>,
    connectors: Connectors,
) -> Deps {
    Deps {
        table,
        blobs: Arc::new(
            FsBlobStore::new(
                dir.join("blobs"),
                "http://127.0.0.1:9",
                vec![1; 32],
                clock.clone(),
            )
            .unwrap(),
        ),
        bus: Arc::new(InProcessBus::new()),
        clock,
        random: Arc::new(herald_adapters::SystemRandom),
        connectors: Arc::new(connectors),
        sealer: Arc::new(Sealer::new([7; 32])),
        guard: Arc::new(herald_networks::guard::Guard::new(false)),
        oauth: Default::default(),
        wakeups: Arc::new(herald_adapters::InlineWakeUps),
        video: Arc::new(herald_adapters::Ffmpeg::new(None)),
    }
}
