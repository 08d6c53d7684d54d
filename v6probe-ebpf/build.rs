//! Rebuild when bpf-linker changes (it is an undeclared build tool of this crate).
fn main() {
    if let Ok(path) = which::which("bpf-linker") {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}
