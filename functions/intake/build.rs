//! The web app's files are embedded (src/web.rs); a file added to or removed from `web/`
//! rebuilds the crate, not only a changed one.
fn main() {
    println!("cargo:rerun-if-changed=web");
}
