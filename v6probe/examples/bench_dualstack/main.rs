//! Dual-stack benchmark (run by `cargo xtask bench`); Linux only (network namespaces).
#[cfg(target_os = "linux")]
mod linux;

fn main() {
    #[cfg(target_os = "linux")]
    let result = linux::main();
    #[cfg(not(target_os = "linux"))]
    let result: anyhow::Result<()> = Err(anyhow::anyhow!("needs Linux network namespaces"));
    if let Err(e) = result {
        eprintln!("bench dualstack: cannot run: {e:#}");
        std::process::exit(1);
    }
}
