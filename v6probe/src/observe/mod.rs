//! The kernel observer: loads the eBPF programs, attaches them, reads the ring buffer.

/// The eBPF object built by `build.rs` (empty when built with `AYA_BUILD_SKIP=1`).
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/v6probe"));
