//! Dual-stack benchmark (run by `cargo xtask bench`); Linux only (network namespaces).
#[cfg(target_os = "linux")]
mod linux;

fn main() -> anyhow::Result<()> {
    #[cfg(target_os = "linux")]
    return linux::main();
    #[cfg(not(target_os = "linux"))]
    {
        eprintln!("bench dualstack: SKIPPED: needs Linux network namespaces");
        Ok(())
    }
}
