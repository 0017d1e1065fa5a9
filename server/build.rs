//! Rebuilds when a migration is added (sqlx::migrate! embeds them) or the demo site changes.
fn main() {
    println!("cargo:rerun-if-changed=../migrations");
    println!("cargo:rerun-if-changed=demo-site");
}
