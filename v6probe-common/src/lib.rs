//! Shared by the eBPF programs (`v6probe-ebpf`, no_std, no alloc) and user space (`v6probe`).
//!
//! - [`abi`]: the kernel/user ABI: ring-buffer records, map names, counter indices, config bits.
//! - [`wire`]: the NDP / ICMPv6 codec (zero-copy views everywhere; owned `Repr`s with `alloc`).
#![no_std]

#[cfg(feature = "alloc")]
extern crate alloc;
#[cfg(feature = "std")]
extern crate std;

pub mod abi;
pub mod wire;
