//! The kernel observer: loads the eBPF programs, attaches them, reads the ring buffer.
//!
//! Attachments are BPF links owned by file descriptors (XDP through `bpf_link_create`, TC
//! through TCX on kernels >= 6.6), so they go away when the [`Observer`] is dropped or the
//! process dies: nothing is left attached behind us.
use std::{
    collections::HashMap,
    ffi::CString,
    io,
    sync::Arc,
    time::{Duration, SystemTime},
};

use aya::{
    maps::{Array, MapData, PerCpuArray, RingBuf},
    programs::{
        tc::{SchedClassifierLinkId, TcAttachType},
        xdp::XdpLinkId,
        ProgramError, SchedClassifier, Xdp, XdpMode,
    },
    Ebpf, EbpfError,
};
use aya_log::EbpfLogger;
use thiserror::Error;
use tokio::io::unix::AsyncFd;
use v6probe_common::{
    abi::{self, counter, Config, FloodGuard, MacGuard, RecordRef},
    wire::EthernetAddress,
};

pub mod link;

/// Records handed out per [`Observer::next_batch`] call at most.
pub const DRAIN_BATCH: usize = 4096;

/// The eBPF object built by `build.rs` (empty when built with `AYA_BUILD_SKIP=1`).
pub static EBPF_OBJECT: &[u8] = aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/v6probe"));

/// Which hooks to attach.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum HookSel {
    /// Per interface, when it is attached: `tc` on a veth (XDP's native mode on a veth costs
    /// the sending side), `both` on any other link ([`link::auto_hooks`]).
    #[default]
    Auto,
    /// XDP on ingress only (earliest point, lowest cost; no egress).
    Xdp,
    /// TC clsact on ingress and egress.
    Tc,
    /// XDP on ingress and TC on egress: every frame seen once, in both directions.
    Both,
}

/// XDP attach mode.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum XdpModeSel {
    /// Let the kernel choose (native when the driver supports it).
    #[default]
    Auto,
    /// Generic XDP in the network stack.
    Skb,
    /// Native XDP in the driver.
    Native,
}

impl XdpModeSel {
    fn mode(self) -> XdpMode {
        match self {
            Self::Auto => XdpMode::Default,
            Self::Skb => XdpMode::Skb,
            Self::Native => XdpMode::Driver,
        }
    }
}

/// How much the kernel programs say about what they do (aya-log). `Off` by default: the level
/// is a read-only global fixed at load time, so the verifier removes every disabled log call
/// and the programs cost what they cost without logging.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, clap::ValueEnum)]
pub enum KernelLog {
    #[default]
    Off,
    /// Records lost because the ring buffer was full.
    Error,
    Warn,
    Info,
    /// Also why a frame could not be walked (which header, at which offset) and truncations.
    Debug,
    Trace,
}

impl KernelLog {
    /// The value of aya-log-ebpf's `AYA_LOG_LEVEL` (aya_log_common::Level, 0 = nothing).
    fn level(self) -> u8 {
        match self {
            Self::Off => 0,
            Self::Error => aya_log::Level::Error as u8,
            Self::Warn => aya_log::Level::Warn as u8,
            Self::Info => aya_log::Level::Info as u8,
            Self::Debug => aya_log::Level::Debug as u8,
            Self::Trace => aya_log::Level::Trace as u8,
        }
    }
}

/// Where the kernel programs' log lines go: a function of (level, message). The default sends
/// them to `tracing` (target `v6probe::kernel`).
#[derive(Clone)]
pub struct KernelLogSink(Arc<LogFn>);

/// The function behind a [`KernelLogSink`].
type LogFn = dyn Fn(log::Level, &str) + Send + Sync;

impl KernelLogSink {
    pub fn new(f: impl Fn(log::Level, &str) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    /// Each line as a `tracing` event at its own level.
    pub fn tracing() -> Self {
        Self::new(|level, msg| match level {
            log::Level::Error => tracing::error!(target: "v6probe::kernel", "{msg}"),
            log::Level::Warn => tracing::warn!(target: "v6probe::kernel", "{msg}"),
            log::Level::Info => tracing::info!(target: "v6probe::kernel", "{msg}"),
            log::Level::Debug => tracing::debug!(target: "v6probe::kernel", "{msg}"),
            log::Level::Trace => tracing::trace!(target: "v6probe::kernel", "{msg}"),
        })
    }
}

impl Default for KernelLogSink {
    fn default() -> Self {
        Self::tracing()
    }
}

impl std::fmt::Debug for KernelLogSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("KernelLogSink")
    }
}

impl log::Log for KernelLogSink {
    fn enabled(&self, _: &log::Metadata<'_>) -> bool {
        // The kernel side already filtered by level.
        true
    }

    fn log(&self, record: &log::Record<'_>) {
        (self.0)(record.level(), &record.args().to_string());
    }

    fn flush(&self) {}
}

/// How to load the programs.
#[derive(Clone, Debug)]
pub struct LoadOptions {
    /// [`abi::class`] bits to report.
    pub report_mask: u32,
    /// Ring buffer size in bytes (a power of two, a multiple of the page size).
    pub ring_bytes: u32,
    pub kernel_log: KernelLog,
    pub log_sink: KernelLogSink,
    /// The in-kernel flood guard (`None`: off).
    pub flood_guard: Option<FloodGuard>,
    /// Count every frame (`non_ipv6`, `ipv6`). Off by default: other traffic then leaves the
    /// programs before any map is touched, and those two counters stay 0.
    pub count_frames: bool,
    /// The programs to load (and verify): [`ALL_PROGRAMS`] by default. The verifier takes
    /// most of the start-up time, so the monitor loads only what its hooks attach.
    pub programs: Vec<&'static str>,
}

/// Every program in the object: the three the monitor attaches, and the bare and floor
/// programs the benchmarks compare them with (the `_all` variants stand in for the three
/// when every frame is counted: [`abi::program_for`]).
pub const ALL_PROGRAMS: &[&str] = &[
    abi::PROG_XDP,
    abi::PROG_XDP_BARE,
    abi::PROG_TC_BARE,
    abi::PROG_XDP_FLOOR,
    abi::PROG_TC_INGRESS,
    abi::PROG_TC_EGRESS,
];

impl HookSel {
    /// The programs this choice attaches (in that order on each interface), and the only
    /// names `Observer::attach` knows: XDP, TC ingress, TC egress. For `Auto`, every program
    /// it may attach (an interface gets those of `tc` or of `both`).
    pub fn programs(self) -> &'static [&'static str] {
        match self {
            HookSel::Auto => &[abi::PROG_XDP, abi::PROG_TC_INGRESS, abi::PROG_TC_EGRESS],
            HookSel::Xdp => &[abi::PROG_XDP],
            HookSel::Tc => &[abi::PROG_TC_INGRESS, abi::PROG_TC_EGRESS],
            HookSel::Both => &[abi::PROG_XDP, abi::PROG_TC_EGRESS],
        }
    }

    /// The hooks for interface `iface` (index `ifindex`): this choice, or for `Auto` what
    /// [`link::auto_hooks`] gives for its link kind (`both` when the kind cannot be read).
    /// Never `Auto`.
    pub fn resolve(self, iface: &str, ifindex: u32) -> HookSel {
        if self != HookSel::Auto {
            return self;
        }
        match link::link_kind(ifindex) {
            Ok(kind) => {
                let hooks = link::auto_hooks(kind.as_deref());
                tracing::debug!(
                    iface,
                    ?kind,
                    ?hooks,
                    "--hook auto: hooks from the link kind"
                );
                hooks
            }
            Err(e) => {
                tracing::debug!(
                    iface,
                    error = %e,
                    "--hook auto: the link kind is unknown; attaching XDP ingress and TC egress"
                );
                HookSel::Both
            }
        }
    }
}

impl Default for LoadOptions {
    fn default() -> Self {
        Self {
            report_mask: abi::class::ALL,
            ring_bytes: abi::RING_BYTES,
            flood_guard: None,
            kernel_log: KernelLog::Off,
            log_sink: KernelLogSink::default(),
            count_frames: false,
            programs: ALL_PROGRAMS.to_vec(),
        }
    }
}

#[derive(Debug, Error)]
pub enum ObserveError {
    #[error("this v6probe was built without its kernel programs (AYA_BUILD_SKIP=1); rebuild with `cargo build` after `cargo xtask setup`")]
    NoObject,
    #[error("interface `{0}` not found")]
    UnknownInterface(String),
    #[error("missing privileges to {action}: {lacking}the monitor needs CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN (or root)")]
    Privileges {
        action: &'static str,
        /// `this process lacks CAP_X; ` when the effective set says which, else empty.
        lacking: String,
    },
    #[error(
        "kernel {found} is too old: v6probe needs Linux >= 5.8 (BPF ring buffer), >= 6.6 for TCX"
    )]
    KernelTooOld { found: String },
    #[error("interface `{iface}`: a {hook} program is already attached by someone else ({detail}); detach it or use --hook {other}")]
    AlreadyAttached {
        iface: String,
        hook: &'static str,
        other: &'static str,
        detail: String,
    },
    #[error("interface `{iface}`: attaching {hook} failed: {source}")]
    Attach {
        iface: String,
        hook: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error("loading the eBPF programs failed: {0}")]
    Load(#[from] EbpfError),
    #[error("loading program {name} failed: {source}")]
    Program {
        name: &'static str,
        #[source]
        source: ProgramError,
    },
    #[error("map {0} missing from the eBPF object")]
    MissingMap(&'static str),
    #[error("map {name}: {source}")]
    Map {
        name: &'static str,
        #[source]
        source: aya::maps::MapError,
    },
    #[error("ring buffer: {0}")]
    Io(#[from] io::Error),
    #[error("--kernel-log: reading the kernel programs' log: {0}")]
    KernelLog(#[from] aya_log::Error),
}

/// What to load and where to attach.
#[derive(Clone, Debug)]
pub struct ObserverConfig {
    pub interfaces: Vec<String>,
    pub hook: HookSel,
    pub xdp_mode: XdpModeSel,
    /// [`abi::class`] bits to report.
    pub report_mask: u32,
    /// Kernel-side diagnostics and where they go.
    pub kernel_log: KernelLog,
    pub log_sink: KernelLogSink,
    /// The in-kernel flood guard (`None`: off).
    pub flood_guard: Option<FloodGuard>,
    /// Count every frame ([`LoadOptions::count_frames`]).
    pub count_frames: bool,
    /// Interfaces that do not exist yet are left for [`Observer::attach`] (the monitor's
    /// `--wait-for-interface`) instead of failing the start.
    pub wait_for_interfaces: bool,
}

/// A source MAC the flood guard counted frames from instead of recording them.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct FloodSource {
    pub mac: EthernetAddress,
    pub suppressed: u64,
}

/// One attachment, for the record of what we attached (and so detach on drop).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Attachment {
    pub iface: String,
    pub ifindex: u32,
    pub hook: &'static str,
}

/// The loaded programs and maps. Dropping it detaches everything it attached.
pub struct Programs {
    ebpf: Ebpf,
    report_mask: u32,
    flood_guard: Option<FloodGuard>,
    count_frames: bool,
    /// Reads the kernel programs' log ring (with `--kernel-log`). Kept as long as the programs:
    /// it owns that map's descriptor.
    logger: Option<EbpfLogger<KernelLogSink>>,
}

impl Programs {
    /// Loads the object and the programs into the kernel, without attaching anything.
    pub fn load(report_mask: u32) -> Result<Self, ObserveError> {
        Self::load_with(&LoadOptions {
            report_mask,
            ..LoadOptions::default()
        })
    }

    /// Like [`Programs::load`] with a ring buffer of `ring_bytes` (a power of two, at least a
    /// page).
    pub fn load_with_ring(report_mask: u32, ring_bytes: u32) -> Result<Self, ObserveError> {
        Self::load_with(&LoadOptions {
            report_mask,
            ring_bytes,
            ..LoadOptions::default()
        })
    }

    /// Loads with every option.
    pub fn load_with(opts: &LoadOptions) -> Result<Self, ObserveError> {
        if EBPF_OBJECT.is_empty() {
            return Err(ObserveError::NoObject);
        }
        check_kernel()?;
        let level = opts.kernel_log.level();
        let mut ebpf = aya::EbpfLoader::new()
            .map_max_entries(abi::MAP_EVENTS, opts.ring_bytes)
            .override_global(aya_log::LEVEL, &level, true)
            .override_global(abi::GLOBAL_COUNT_FRAMES, &u8::from(opts.count_frames), true)
            .load(EBPF_OBJECT)
            .map_err(map_load_error)?;
        for &name in &opts.programs {
            load_program(&mut ebpf, abi::program_for(name, opts.count_frames))?;
        }
        // Takes the log map out of the object; programs loaded before or after refer to it by
        // descriptor, which the logger keeps open.
        let logger = if opts.kernel_log == KernelLog::Off {
            None
        } else {
            Some(EbpfLogger::init_with_logger(
                &mut ebpf,
                opts.log_sink.clone(),
            )?)
        };
        let mut programs = Self {
            ebpf,
            report_mask: opts.report_mask,
            flood_guard: opts.flood_guard,
            count_frames: opts.count_frames,
            logger,
        };
        programs.write_config()?;
        Ok(programs)
    }

    /// Loads (verifies) program `name` unless it is loaded already: `--hook auto` loads a
    /// program when an interface that needs it is attached, and not before.
    pub fn ensure_loaded(&mut self, name: &'static str) -> Result<(), ObserveError> {
        load_program(&mut self.ebpf, abi::program_for(name, self.count_frames))
    }

    /// Hands the kernel log lines written so far to the sink (with `--kernel-log`).
    pub fn flush_kernel_log(&mut self) {
        if let Some(l) = &mut self.logger {
            l.flush();
        }
    }

    /// Takes the kernel log reader out (once), to wait on its descriptor.
    pub fn take_kernel_logger(&mut self) -> Option<EbpfLogger<KernelLogSink>> {
        self.logger.take()
    }

    /// Chooses which message classes the programs report.
    pub fn set_report_mask(&mut self, mask: u32) -> Result<(), ObserveError> {
        self.report_mask = mask;
        self.write_config()
    }

    /// Sets the in-kernel flood guard (`None`: off, every matching frame is recorded).
    pub fn set_flood_guard(&mut self, guard: Option<FloodGuard>) -> Result<(), ObserveError> {
        self.flood_guard = guard;
        self.write_config()
    }

    fn write_config(&mut self) -> Result<(), ObserveError> {
        let value = Config::new(self.report_mask, self.flood_guard);
        let map = self
            .ebpf
            .map_mut(abi::MAP_CONFIG)
            .ok_or(ObserveError::MissingMap(abi::MAP_CONFIG))?;
        let mut config: Array<_, Config> =
            Array::try_from(map).map_err(|source| ObserveError::Map {
                name: abi::MAP_CONFIG,
                source,
            })?;
        config.set(0, value, 0).map_err(|source| ObserveError::Map {
            name: abi::MAP_CONFIG,
            source,
        })
    }

    /// Source MACs the flood guard counted frames from, with how many (summed over CPUs),
    /// most first. The kernel's table has [`abi::GUARD_MACS`] slots per CPU, two possible per
    /// MAC (by a hash of it): a MAC gets one when one of its frames is recorded and one of its
    /// two is free, and keeps it while it floods. Not listed: frames from MACs that held no
    /// slot when they came (counter `flood_untracked`: a new source MAC per frame, or two
    /// flooding MACs already in both slots), and a MAC's counts from before another MAC took
    /// its slot (a slot is kept [`abi::GUARD_MAC_KEEP_NS`] after its MAC's last counted frame
    /// and bucket refill, longer than user space takes to read it). The per-class counters
    /// count every frame.
    pub fn flood_sources(&self) -> Result<Vec<FloodSource>, ObserveError> {
        let map = self
            .ebpf
            .map(abi::MAP_GUARD_MAC)
            .ok_or(ObserveError::MissingMap(abi::MAP_GUARD_MAC))?;
        let table: PerCpuArray<_, MacGuard> =
            PerCpuArray::try_from(map).map_err(|source| ObserveError::Map {
                name: abi::MAP_GUARD_MAC,
                source,
            })?;
        // A MAC may hold a slot on several CPUs (each has its own table): summed per MAC.
        let mut per_mac: HashMap<u64, u64> = HashMap::new();
        for slot in table.iter() {
            let per_cpu = slot.map_err(|source| ObserveError::Map {
                name: abi::MAP_GUARD_MAC,
                source,
            })?;
            for m in per_cpu.iter().filter(|m| m.used() && m.suppressed > 0) {
                *per_mac.entry(m.key).or_default() += m.suppressed;
            }
        }
        let mut out: Vec<FloodSource> = per_mac
            .into_iter()
            .map(|(key, suppressed)| FloodSource {
                mac: EthernetAddress(abi::key_mac(key)),
                suppressed,
            })
            .collect();
        out.sort_by(|a, b| b.suppressed.cmp(&a.suppressed).then(a.mac.0.cmp(&b.mac.0)));
        Ok(out)
    }

    /// Program `name`: with every frame counted, [`abi::PROG_XDP`] is the object's
    /// [`abi::PROG_XDP_ALL`] ([`abi::program_for`]), and so on for the TC programs.
    pub fn xdp(&mut self, name: &'static str) -> Result<&mut Xdp, ObserveError> {
        let name = abi::program_for(name, self.count_frames);
        self.ebpf
            .program_mut(name)
            .and_then(|p| <&mut Xdp>::try_from(p).ok())
            .ok_or(ObserveError::Program {
                name,
                source: ProgramError::NotLoaded,
            })
    }

    /// Program `name` (see [`Programs::xdp`]).
    pub fn classifier(&mut self, name: &'static str) -> Result<&mut SchedClassifier, ObserveError> {
        let name = abi::program_for(name, self.count_frames);
        self.ebpf
            .program_mut(name)
            .and_then(|p| <&mut SchedClassifier>::try_from(p).ok())
            .ok_or(ObserveError::Program {
                name,
                source: ProgramError::NotLoaded,
            })
    }

    /// Whether every frame is counted ([`LoadOptions::count_frames`]).
    pub fn counts_frames(&self) -> bool {
        self.count_frames
    }

    /// The counters summed over all CPUs, indexed like [`abi::counter`].
    pub fn counters(&self) -> Result<[u64; counter::COUNT as usize], ObserveError> {
        let map = self
            .ebpf
            .map(abi::MAP_COUNTERS)
            .ok_or(ObserveError::MissingMap(abi::MAP_COUNTERS))?;
        let counters: PerCpuArray<_, abi::Counters> =
            PerCpuArray::try_from(map).map_err(|source| ObserveError::Map {
                name: abi::MAP_COUNTERS,
                source,
            })?;
        let per_cpu = counters.get(&0, 0).map_err(|source| ObserveError::Map {
            name: abi::MAP_COUNTERS,
            source,
        })?;
        let mut out = [0u64; counter::COUNT as usize];
        for cpu in per_cpu.iter() {
            for (slot, v) in out.iter_mut().zip(cpu.v.iter()) {
                *slot += v;
            }
        }
        Ok(out)
    }

    /// Takes the ring buffer out of the object for reading (once).
    pub fn take_ring(&mut self) -> Result<RingBuf<MapData>, ObserveError> {
        let map = self
            .ebpf
            .take_map(abi::MAP_EVENTS)
            .ok_or(ObserveError::MissingMap(abi::MAP_EVENTS))?;
        RingBuf::try_from(map).map_err(|source| ObserveError::Map {
            name: abi::MAP_EVENTS,
            source,
        })
    }
}

/// Loaded and attached programs plus the ring buffer reader.
pub struct Observer {
    programs: Programs,
    ring: AsyncFd<RingBuf<MapData>>,
    /// The kernel log reader (with `--kernel-log`), flushed whenever it has lines.
    logger: Option<AsyncFd<EbpfLogger<KernelLogSink>>>,
    attached: Vec<Attachment>,
    names: HashMap<u32, std::sync::Arc<str>>,
    clock: ClockMap,
    hook: HookSel,
    xdp_mode: XdpModeSel,
    /// The links of each attached interface, to detach one interface alone.
    links: HashMap<String, IfaceLinks>,
}

/// One interface's BPF links.
#[derive(Debug, Default)]
struct IfaceLinks {
    xdp: Option<XdpLinkId>,
    tc_ingress: Option<SchedClassifierLinkId>,
    tc_egress: Option<SchedClassifierLinkId>,
}

impl Observer {
    /// Loads the programs and attaches them to every interface. On any failure everything
    /// attached so far is detached (dropped) before the error is returned.
    pub fn start(config: &ObserverConfig) -> Result<Self, ObserveError> {
        // No program is verified here: attaching an interface loads what its hooks need
        // ([`Programs::ensure_loaded`]), so only those are verified (most of the start-up
        // time), and `--hook auto` reads each link's kind once, when it attaches. The maps,
        // the ring and the log reader exist from here on; the programs refer to them by
        // descriptor whenever they load.
        let mut programs = Programs::load_with(&LoadOptions {
            report_mask: config.report_mask,
            kernel_log: config.kernel_log,
            log_sink: config.log_sink.clone(),
            flood_guard: config.flood_guard,
            count_frames: config.count_frames,
            programs: Vec::new(),
            ..LoadOptions::default()
        })?;
        let ring = register_ring(programs.take_ring()?)?;
        let logger = programs
            .take_kernel_logger()
            .map(|l| {
                // SAFETY: the logger owns its ring buffer's descriptor for as long as it lives,
                // and it lives inside the AsyncFd; as_raw_fd always returns that same fd.
                unsafe { AsyncFd::register_with_interest(l, tokio::io::Interest::READABLE) }
                    .map_err(io::Error::from)
            })
            .transpose()?;
        let mut observer = Self {
            programs,
            ring,
            logger,
            attached: Vec::new(),
            names: HashMap::new(),
            clock: ClockMap::now(),
            hook: config.hook,
            xdp_mode: config.xdp_mode,
            links: HashMap::new(),
        };
        for iface in &config.interfaces {
            match observer.attach(iface) {
                Ok(_) => {}
                Err(ObserveError::UnknownInterface(_)) if config.wait_for_interfaces => {}
                // Dropping the observer detaches what was attached so far.
                Err(e) => return Err(e),
            }
        }
        Ok(observer)
    }

    /// Attaches the programs to `iface` (one more interface, or one that came back); returns
    /// its attachments. With `--hook auto` the hooks are chosen from the link's kind now, so
    /// an interface that comes back as another kind of link gets the hooks of that kind. On a
    /// failure, what was attached to it is detached again.
    pub fn attach(&mut self, iface: &str) -> Result<Vec<Attachment>, ObserveError> {
        self.detach(iface);
        let idx = ifindex(iface)?;
        let hooks = self.hook.resolve(iface, idx);
        let mut links = IfaceLinks::default();
        let mut made = Vec::new();
        let res = (|| {
            for &name in hooks.programs() {
                // Loaded (verified) by the first interface that needs it.
                self.programs.ensure_loaded(name)?;
                match name {
                    abi::PROG_XDP => {
                        links.xdp = Some(
                            self.programs
                                .xdp(name)?
                                .attach(iface, self.xdp_mode.mode())
                                .map_err(|e| attach_error(iface, "xdp", "tc", e))?,
                        );
                        made.push("xdp");
                    }
                    abi::PROG_TC_INGRESS => {
                        links.tc_ingress = Some(
                            self.programs
                                .classifier(name)?
                                .attach(iface, TcAttachType::Ingress)
                                .map_err(|e| attach_error(iface, "tc ingress", "xdp", e))?,
                        );
                        made.push("tc_ingress");
                    }
                    // PROG_TC_EGRESS: the only other name HookSel::programs gives.
                    _ => {
                        links.tc_egress = Some(
                            self.programs
                                .classifier(name)?
                                .attach(iface, TcAttachType::Egress)
                                .map_err(|e| attach_error(iface, "tc egress", "xdp", e))?,
                        );
                        made.push("tc_egress");
                    }
                }
            }
            Ok(())
        })();
        self.links.insert(iface.to_string(), links);
        if let Err(e) = res {
            self.detach(iface);
            return Err(e);
        }
        self.names.insert(idx, iface.into());
        let new: Vec<Attachment> = made
            .into_iter()
            .map(|hook| Attachment {
                iface: iface.to_string(),
                ifindex: idx,
                hook,
            })
            .collect();
        self.attached.extend(new.iter().cloned());
        Ok(new)
    }

    /// Detaches the programs from `iface` (gone, or about to be attached again). Its name stays
    /// known for the records of it still in the ring buffer.
    pub fn detach(&mut self, iface: &str) {
        let Some(links) = self.links.remove(iface) else {
            return;
        };
        // A deleted interface took its links with it; detaching them only closes them here.
        if let (Some(id), Ok(p)) = (links.xdp, self.programs.xdp(abi::PROG_XDP)) {
            let _ = p.detach(id);
        }
        if let (Some(id), Ok(p)) = (
            links.tc_ingress,
            self.programs.classifier(abi::PROG_TC_INGRESS),
        ) {
            let _ = p.detach(id);
        }
        if let (Some(id), Ok(p)) = (
            links.tc_egress,
            self.programs.classifier(abi::PROG_TC_EGRESS),
        ) {
            let _ = p.detach(id);
        }
        self.attached.retain(|a| a.iface != iface);
    }

    pub fn attachments(&self) -> &[Attachment] {
        &self.attached
    }

    /// The interface name for a record's ifindex (one of ours, else `if<N>`).
    pub fn iface_name(&self, ifindex: u32) -> String {
        self.iface_shared(ifindex).to_string()
    }

    /// [`Observer::iface_name`] shared, not copied (one per record on the monitor's hot path).
    pub fn iface_shared(&self, ifindex: u32) -> std::sync::Arc<str> {
        self.names
            .get(&ifindex)
            .cloned()
            .unwrap_or_else(|| format!("if{ifindex}").into())
    }

    /// Wall-clock time of a record's kernel timestamp.
    pub fn wall_time(&self, ts_ns: u64) -> SystemTime {
        self.clock.wall(ts_ns)
    }

    pub fn counters(&self) -> Result<[u64; counter::COUNT as usize], ObserveError> {
        self.programs.counters()
    }

    /// See [`Programs::counts_frames`].
    pub fn counts_frames(&self) -> bool {
        self.programs.counts_frames()
    }

    /// The counters with their names ([`abi::counter::NAMES`]), without `non_ipv6` and `ipv6`
    /// when frames are not counted (they would read 0).
    pub fn named_counters(&self) -> Result<Vec<(&'static str, u64)>, ObserveError> {
        let c = self.counters()?;
        let frames = self.counts_frames();
        Ok(counter::NAMES
            .iter()
            .copied()
            .zip(c.iter().copied())
            .enumerate()
            .filter(|(i, _)| {
                frames || (*i != counter::NON_IPV6 as usize && *i != counter::IPV6 as usize)
            })
            .map(|(_, nv)| nv)
            .collect())
    }

    /// See [`Programs::flood_sources`].
    pub fn flood_sources(&self) -> Result<Vec<FloodSource>, ObserveError> {
        self.programs.flood_sources()
    }

    /// Waits until records are available (a wakeup, or the poll tick finds some: the programs
    /// only wake the reader when data piles up), then hands up to [`DRAIN_BATCH`] of them to
    /// `f`. Returns how many: the caller gets control back after each batch, however fast the
    /// kernel produces, so it can check its stop signals.
    pub async fn next_batch(
        &mut self,
        mut f: impl FnMut(RecordRef<'_>),
    ) -> Result<usize, ObserveError> {
        loop {
            let n = self.drain(DRAIN_BATCH, &mut f);
            if n > 0 {
                return Ok(n);
            }
            let tick = tokio::time::sleep(Duration::from_millis(abi::POLL_INTERVAL_MS));
            let log_ready = async {
                match &mut self.logger {
                    Some(l) => l.readable_mut().await.map(|mut g| {
                        g.get_inner_mut().flush();
                        g.clear_ready();
                    }),
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                guard = self.ring.readable_mut() => guard?.clear_ready(),
                r = log_ready => r?,
                _ = tick => {}
            }
        }
    }

    /// Hands up to `max` records already in the ring buffer to `f`, without waiting; returns
    /// how many. Bounded so that a producer faster than the reader cannot keep the caller here.
    pub fn drain(&mut self, max: usize, f: impl FnMut(RecordRef<'_>)) -> usize {
        drain_ring(self.ring.get_mut(), max, f)
    }

    /// Detaches everything now (also done on drop).
    pub fn stop(self) {
        drop(self);
    }
}

/// Hands up to `max` records from `ring` to `f`; returns how many were taken off the ring.
pub fn drain_ring(
    ring: &mut RingBuf<MapData>,
    max: usize,
    mut f: impl FnMut(RecordRef<'_>),
) -> usize {
    let mut n = 0;
    while n < max {
        let Some(item) = ring.next() else { break };
        match RecordRef::parse(&item) {
            Some(rec) => f(rec),
            None => tracing::debug!(len = item.len(), "ring-buffer item shorter than its record"),
        }
        n += 1;
    }
    n
}

/// Loads (verifies) program `name` of `ebpf` unless it is loaded already.
fn load_program(ebpf: &mut Ebpf, name: &'static str) -> Result<(), ObserveError> {
    let prog = ebpf.program_mut(name).ok_or(ObserveError::Program {
        name,
        source: ProgramError::NotLoaded,
    })?;
    if prog.fd().is_ok() {
        return Ok(());
    }
    // The verifier gives up with EAGAIN when a signal arrives mid-verification: retry that
    // (bounded); every other error is final.
    let mut attempt = 0;
    loop {
        let res = match &mut *prog {
            aya::programs::Program::Xdp(p) => p.load(),
            aya::programs::Program::SchedClassifier(p) => p.load(),
            _ => Err(ProgramError::NotLoaded),
        };
        match res {
            Ok(()) => return Ok(()),
            Err(e) if attempt < 3 && os_error(&e) == Some(libc::EAGAIN) => {
                attempt += 1;
                tracing::debug!(name, attempt, "verifier interrupted (EAGAIN), retrying");
            }
            Err(e) => return Err(map_program_error(name, e)),
        }
    }
}

/// Registers the ring buffer with the runtime for readability.
fn register_ring(ring: RingBuf<MapData>) -> Result<AsyncFd<RingBuf<MapData>>, io::Error> {
    // SAFETY: the RingBuf owns its map fd for as long as it lives, and it lives inside the
    // AsyncFd; as_raw_fd always returns that same fd.
    unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(io::Error::from)
}

/// Converts `bpf_ktime_get_ns` (CLOCK_MONOTONIC) to wall-clock time.
#[derive(Clone, Copy, Debug)]
pub struct ClockMap {
    /// Wall-clock nanoseconds since the epoch minus monotonic nanoseconds, sampled together.
    offset_ns: i128,
}

impl ClockMap {
    pub fn now() -> Self {
        let mono = monotonic_ns() as i128;
        let wall = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .map(|d| d.as_nanos() as i128)
            .unwrap_or(0);
        Self {
            offset_ns: wall - mono,
        }
    }

    pub fn wall(&self, mono_ns: u64) -> SystemTime {
        let ns = (mono_ns as i128 + self.offset_ns).max(0) as u128;
        SystemTime::UNIX_EPOCH
            + Duration::new((ns / 1_000_000_000) as u64, (ns % 1_000_000_000) as u32)
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds (the clock of `bpf_ktime_get_ns`).
pub fn monotonic_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

/// The interface index of `name`, or [`ObserveError::UnknownInterface`].
pub fn ifindex(name: &str) -> Result<u32, ObserveError> {
    let c = CString::new(name).map_err(|_| ObserveError::UnknownInterface(name.to_string()))?;
    // SAFETY: c is a valid NUL-terminated string.
    let idx = unsafe { libc::if_nametoindex(c.as_ptr()) };
    if idx == 0 {
        return Err(ObserveError::UnknownInterface(name.to_string()));
    }
    Ok(idx)
}

fn check_kernel() -> Result<(), ObserveError> {
    let release = std::fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let mut parts = release
        .trim()
        .split(|c: char| !c.is_ascii_digit())
        .filter_map(|p| p.parse::<u32>().ok());
    let (major, minor) = (parts.next().unwrap_or(0), parts.next().unwrap_or(0));
    if major != 0 && (major, minor) < (5, 8) {
        return Err(ObserveError::KernelTooOld {
            found: release.trim().to_string(),
        });
    }
    Ok(())
}

fn is_eperm(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if io.raw_os_error() == Some(libc::EPERM) {
                return true;
            }
        }
        cur = err.source();
    }
    false
}

fn os_error(e: &(dyn std::error::Error + 'static)) -> Option<i32> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<io::Error>() {
            if let Some(code) = io.raw_os_error() {
                return Some(code);
            }
        }
        cur = err.source();
    }
    None
}

/// Capabilities (linux/capability.h) the kernel checks when the programs are loaded and attached.
const CAP_NET_ADMIN: (u32, &str) = (12, "CAP_NET_ADMIN");
const CAP_PERFMON: (u32, &str) = (38, "CAP_PERFMON");
const CAP_BPF: (u32, &str) = (39, "CAP_BPF");
const CAP_SYS_ADMIN: u32 = 21;

/// `this process lacks CAP_A, CAP_B; ` for the capabilities among `needed` missing from this
/// process's effective set (`CapEff` in /proc/self/status; CAP_SYS_ADMIN stands in for CAP_BPF
/// and CAP_PERFMON, as in the kernel), or empty when none is missing or the set is unreadable.
fn lacking(needed: &[(u32, &str)]) -> String {
    let eff = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|st| {
            st.lines()
                .find_map(|l| l.strip_prefix("CapEff:"))
                .and_then(|h| u64::from_str_radix(h.trim(), 16).ok())
        });
    let Some(eff) = eff else {
        return String::new();
    };
    let has = |bit: u32| eff & (1u64 << bit) != 0;
    let missing: Vec<&str> = needed
        .iter()
        .filter(|(bit, _)| {
            let covered = has(CAP_SYS_ADMIN) && (*bit == CAP_BPF.0 || *bit == CAP_PERFMON.0);
            !has(*bit) && !covered
        })
        .map(|(_, name)| *name)
        .collect();
    if missing.is_empty() {
        String::new()
    } else {
        format!("this process lacks {}; ", missing.join(", "))
    }
}

fn map_load_error(e: EbpfError) -> ObserveError {
    if is_eperm(&e) {
        return ObserveError::Privileges {
            action: "load eBPF programs and maps",
            lacking: lacking(&[CAP_BPF]),
        };
    }
    ObserveError::Load(e)
}

fn map_program_error(name: &'static str, source: ProgramError) -> ObserveError {
    // XDP and TC programs need CAP_NET_ADMIN to load (EPERM without it); without CAP_PERFMON
    // the verifier refuses their pointer arithmetic (EACCES, "prohibited for !root").
    let lacks = lacking(&[CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN]);
    if is_eperm(&source) || (os_error(&source) == Some(libc::EACCES) && !lacks.is_empty()) {
        return ObserveError::Privileges {
            action: "load eBPF programs",
            lacking: lacks,
        };
    }
    ObserveError::Program { name, source }
}

fn attach_error(
    iface: &str,
    hook: &'static str,
    other: &'static str,
    e: ProgramError,
) -> ObserveError {
    if let ProgramError::UnknownInterface { name } = &e {
        return ObserveError::UnknownInterface(name.clone());
    }
    if is_eperm(&e) {
        return ObserveError::Privileges {
            action: "attach programs to interfaces",
            lacking: lacking(&[CAP_NET_ADMIN, CAP_BPF]),
        };
    }
    if matches!(os_error(&e), Some(libc::EBUSY) | Some(libc::EEXIST)) {
        return ObserveError::AlreadyAttached {
            iface: iface.to_string(),
            hook,
            other,
            detail: e.to_string(),
        };
    }
    ObserveError::Attach {
        iface: iface.to_string(),
        hook,
        source: e,
    }
}
