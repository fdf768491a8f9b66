//! Where the functions' release binaries are, and whether they are as new as their sources.

use std::path::PathBuf;
use std::time::SystemTime;

/// Where a function's release binary is: `HERALD_LAMBDA_BIN_DIR`, or else the release dir of
/// the target dir this test runs from. Panics, naming the build command, when it is missing or
/// older than the sources it is built from: a cloud-path test must never pass on an old build.
pub fn release_binary(name: &str) -> PathBuf {
    // A dir named explicitly (infra/test.sh, right after building) is taken as built from
    // these sources; the default one is checked against them.
    let (dir, vouched) = match std::env::var_os("HERALD_LAMBDA_BIN_DIR") {
        Some(dir) if !dir.is_empty() => (PathBuf::from(dir), true),
        _ => {
            // target/<profile>/deps/<test binary> → target/release
            let exe = std::env::current_exe().expect("test binary path");
            let dir = exe
                .ancestors()
                .nth(3)
                .expect("the test runs inside a target dir")
                .join("release");
            (dir, false)
        }
    };
    let binary = dir.join(name);
    let build = "cargo build --release -p herald-intake -p herald-publisher -p herald-transcoder \
                 -p herald-aggregator -p herald-relay -p herald-webhooks (infra/test.sh does this first)";
    let built = std::fs::metadata(&binary)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("no release binary {} ({e}): run {build}", binary.display()));
    let workspace = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    if !vouched
        && let Some((source, changed)) = newest_source(&workspace)
        && changed > built
    {
        panic!(
            "{} is older than {}: run {build}",
            binary.display(),
            source.display()
        );
    }
    binary
}

/// The most recently changed file the function binaries are built from: every crate's
/// manifest and `src/`, the lock file (the test tools themselves excluded).
fn newest_source(workspace: &std::path::Path) -> Option<(PathBuf, SystemTime)> {
    let mut newest: Option<(PathBuf, SystemTime)> = None;
    let mut consider = |path: PathBuf| {
        if let Ok(changed) = std::fs::metadata(&path).and_then(|m| m.modified())
            && newest.as_ref().is_none_or(|(_, t)| changed > *t)
        {
            newest = Some((path, changed));
        }
    };
    consider(workspace.join("Cargo.lock"));
    consider(workspace.join("Cargo.toml"));
    for group in ["functions", "shared"] {
        let Ok(crates) = std::fs::read_dir(workspace.join(group)) else {
            continue;
        };
        for krate in crates.flatten() {
            if krate.file_name() == "testkit" || krate.file_name() == "local" {
                continue;
            }
            consider(krate.path().join("Cargo.toml"));
            let mut dirs = vec![krate.path().join("src")];
            while let Some(dir) = dirs.pop() {
                for entry in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
                    let path = entry.path();
                    if path.is_dir() {
                        dirs.push(path);
                    } else {
                        consider(path);
                    }
                }
            }
        }
    }
    newest
}
