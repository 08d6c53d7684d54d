//! `cargo xtask demo`: a throwaway lab of network namespaces talking NDP, watched by
//! `v6probe monitor`.
use anyhow::Result;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: &Args) -> Result<()> {
    crate::setup::run(&crate::setup::Args::default())?;
    anyhow::bail!("demo not built yet")
}
