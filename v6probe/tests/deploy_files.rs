//! The deployment files under `deploy/`, read by the parsers of their formats and checked for
//! what they promise: the systemd unit by `systemd-analyze verify` and `systemd-analyze
//! security` (offline, against a scratch root holding the built binary), the DaemonSet by a YAML
//! parser, the Vector config by a TOML parser, the OpenTelemetry Collector config by a YAML
//! parser, the Fluent Bit config by a reader of its classic format (below). Each log-shipper
//! config must parse the JSON lines and send alerts and packets to different outputs.
//!
//! Vector, Fluent Bit and the OpenTelemetry Collector are not Debian packages, so their own
//! checkers (`vector validate`, `fluent-bit --dry-run`, `otelcol validate`) cannot run here; the
//! checks below follow each tool's documented structure instead.
use std::{
    collections::{BTreeMap, BTreeSet},
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_v6probe");

/// The three capabilities the monitor needs, and nothing else.
const MONITOR_CAPS: [&str; 3] = ["BPF", "NET_ADMIN", "PERFMON"];

fn deploy(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../deploy")
        .join(rel)
}

fn read(rel: &str) -> String {
    let p = deploy(rel);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("reading {}: {e}", p.display()))
}

// --- systemd -------------------------------------------------------------------------------

const UNIT: &str = "systemd/v6probe-monitor.service";

/// A scratch root for `systemd-analyze --root`: the host's unit library (for the targets the
/// unit orders itself after), `/bin/kill` (ExecReload), the built binary as /usr/bin/v6probe
/// (ExecStart must be executable), and the unit in /etc/systemd/system.
fn systemd_root() -> v6probe_lab::TempDir {
    let root = v6probe_lab::TempDir::new("unit").unwrap();
    let r = root.path();
    for d in ["usr/bin", "usr/lib/systemd", "etc/systemd/system"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    let cp = Command::new("cp")
        .args(["-a", "/usr/lib/systemd/system"])
        .arg(r.join("usr/lib/systemd/"))
        .status()
        .unwrap();
    assert!(cp.success(), "copying /usr/lib/systemd/system");
    std::os::unix::fs::symlink("usr/bin", r.join("bin")).unwrap();
    std::fs::copy("/bin/kill", r.join("usr/bin/kill")).unwrap();
    std::fs::copy(BIN, r.join("usr/bin/v6probe")).unwrap();
    std::fs::copy(
        deploy(UNIT),
        r.join("etc/systemd/system/v6probe-monitor.service"),
    )
    .unwrap();
    root
}

/// `systemd-analyze verify` exits 0 even when it ignores an unknown key or a bad value (it
/// prints a warning): any output at all fails the test.
#[test]
fn systemd_unit_passes_systemd_analyze_verify() {
    let root = systemd_root();
    let out = Command::new("systemd-analyze")
        .args(["verify", "--man=no", "--generators=no"])
        .arg(format!("--root={}", root.path().display()))
        .arg("v6probe-monitor.service")
        .output()
        .expect("systemd-analyze (Debian package systemd) must be installed: cargo xtask setup");
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success() && said.trim().is_empty(),
        "systemd-analyze verify ({}): {said}",
        out.status
    );
}

/// The exposure score `systemd-analyze security` gives the unit (0 = locked down, 10 = none):
/// 1.7 when written; the threshold (in tenths) catches a hardening option lost later.
#[test]
fn systemd_unit_exposure_stays_low() {
    let root = systemd_root();
    let out = Command::new("systemd-analyze")
        .args(["security", "--offline=yes", "--threshold=20", "--no-pager"])
        .arg(format!("--root={}", root.path().display()))
        .arg("v6probe-monitor.service")
        .output()
        .expect("systemd-analyze (Debian package systemd) must be installed: cargo xtask setup");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "exposure above 2.0 ({}): {text}{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(text.contains("Overall exposure level"), "{text}");
}

/// `Key=value` lines of one section of a unit file (a key may repeat).
fn unit_section(text: &str, section: &str) -> Vec<(String, String)> {
    let mut cur = String::new();
    let mut out = Vec::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(s) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            cur = s.to_string();
            continue;
        }
        if cur == section {
            let (k, v) = line
                .split_once('=')
                .unwrap_or_else(|| panic!("not Key=value in [{section}]: {line}"));
            out.push((k.trim().to_string(), v.trim().to_string()));
        }
    }
    out
}

#[test]
fn systemd_unit_runs_the_monitor_with_three_capabilities_only() {
    let text = read(UNIT);
    let svc = unit_section(&text, "Service");
    let get = |k: &str| -> Vec<&str> {
        svc.iter()
            .filter(|(key, _)| key == k)
            .map(|(_, v)| v.as_str())
            .collect()
    };
    let caps = |k: &str| -> BTreeSet<String> {
        get(k)
            .iter()
            .flat_map(|v| v.split_whitespace())
            .map(|c| c.trim_start_matches("CAP_").to_string())
            .collect()
    };
    let want: BTreeSet<String> = MONITOR_CAPS.iter().map(|s| s.to_string()).collect();
    assert_eq!(caps("AmbientCapabilities"), want);
    assert_eq!(caps("CapabilityBoundingSet"), want);
    for (k, v) in [
        ("Type", "notify"),
        ("DynamicUser", "yes"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("StateDirectory", "v6probe"),
        ("Restart", "on-failure"),
    ] {
        assert_eq!(get(k), [v], "{k}");
    }
    assert!(!get("WatchdogSec").is_empty(), "no WatchdogSec");
    let exec = get("ExecStart");
    assert_eq!(exec.len(), 1);
    assert!(
        exec[0].starts_with("/usr/bin/v6probe monitor "),
        "ExecStart: {}",
        exec[0]
    );
    // Nothing that would take the capabilities away from the host's network and BPF.
    for k in ["PrivateNetwork", "PrivateUsers"] {
        assert!(get(k).iter().all(|v| *v == "no"), "{k} is set");
    }
}

// --- Kubernetes ----------------------------------------------------------------------------

/// YAML (yaml-rust2, YAML 1.2) to JSON values, one per document.
fn yaml_docs(text: &str, what: &str) -> Vec<Value> {
    fn conv(y: &yaml_rust2::Yaml) -> Value {
        use yaml_rust2::Yaml;
        match y {
            Yaml::Real(s) => s
                .parse::<f64>()
                .ok()
                .and_then(serde_json::Number::from_f64)
                .map_or(Value::Null, Value::Number),
            Yaml::Integer(i) => Value::from(*i),
            Yaml::String(s) => Value::from(s.as_str()),
            Yaml::Boolean(b) => Value::from(*b),
            Yaml::Array(a) => Value::Array(a.iter().map(conv).collect()),
            Yaml::Hash(h) => Value::Object(
                h.iter()
                    .map(|(k, v)| {
                        let key = match k {
                            Yaml::String(s) => s.clone(),
                            Yaml::Integer(i) => i.to_string(),
                            other => panic!("a mapping key that is not a scalar: {other:?}"),
                        };
                        (key, conv(v))
                    })
                    .collect(),
            ),
            Yaml::Alias(_) | Yaml::Null | Yaml::BadValue => Value::Null,
        }
    }
    yaml_rust2::YamlLoader::load_from_str(text)
        .unwrap_or_else(|e| panic!("{what} is not valid YAML: {e}"))
        .iter()
        .map(conv)
        .collect()
}

fn s<'a>(v: &'a Value, what: &str) -> &'a str {
    v.as_str()
        .unwrap_or_else(|| panic!("{what}: expected a string, found {v}"))
}

#[test]
fn daemonset_runs_on_the_host_network_with_three_capabilities_and_scrape_annotations() {
    let docs = yaml_docs(&read("kubernetes/daemonset.yaml"), "daemonset.yaml");
    for d in &docs {
        assert!(
            d["apiVersion"].is_string()
                && d["kind"].is_string()
                && d["metadata"]["name"].is_string(),
            "every document needs apiVersion, kind and metadata.name: {d}"
        );
    }
    let ds = docs
        .iter()
        .find(|d| d["kind"] == "DaemonSet")
        .expect("no DaemonSet document");
    assert_eq!(ds["apiVersion"], "apps/v1");
    let ns = s(&ds["metadata"]["namespace"], "DaemonSet namespace");
    assert!(
        docs.iter()
            .any(|d| d["kind"] == "Namespace" && d["metadata"]["name"] == ns),
        "namespace {ns} is not created"
    );
    let tmpl = &ds["spec"]["template"];
    // The selector must select the pods the template makes (the API server refuses it else).
    let sel = ds["spec"]["selector"]["matchLabels"]
        .as_object()
        .expect("selector.matchLabels");
    for (k, v) in sel {
        assert_eq!(&tmpl["metadata"]["labels"][k], v, "pod label {k}");
    }
    let pod = &tmpl["spec"];
    assert_eq!(pod["hostNetwork"], true);
    assert_eq!(pod["dnsPolicy"], "ClusterFirstWithHostNet");
    let containers = pod["containers"].as_array().expect("containers");
    assert_eq!(containers.len(), 1);
    let c = &containers[0];
    let sc = &c["securityContext"]["capabilities"];
    assert_eq!(sc["drop"], serde_json::json!(["ALL"]));
    let mut add: Vec<&str> = sc["add"]
        .as_array()
        .expect("capabilities.add")
        .iter()
        .map(|v| s(v, "capability"))
        .collect();
    add.sort_unstable();
    assert_eq!(add, MONITOR_CAPS);
    assert_eq!(c["securityContext"]["allowPrivilegeEscalation"], false);
    assert_ne!(c["securityContext"]["privileged"], true);
    // The metrics port: named, scraped through the annotations, probed on /healthz, and the
    // one the monitor is told to listen on.
    let port = c["ports"]
        .as_array()
        .and_then(|p| p.iter().find(|p| p["name"] == "metrics"))
        .expect("a port named metrics");
    let number = port["containerPort"].as_i64().expect("containerPort");
    let ann = &tmpl["metadata"]["annotations"];
    assert_eq!(ann["prometheus.io/scrape"], "true");
    assert_eq!(ann["prometheus.io/port"], number.to_string().as_str());
    assert_eq!(ann["prometheus.io/path"], "/metrics");
    for probe in ["livenessProbe", "readinessProbe"] {
        let h = &c[probe]["httpGet"];
        assert_eq!(h["path"], "/healthz", "{probe}");
        assert!(
            h["port"] == "metrics" || h["port"] == number,
            "{probe} port {}",
            h["port"]
        );
    }
    let args: Vec<&str> = c["args"]
        .as_array()
        .expect("args")
        .iter()
        .map(|a| s(a, "arg"))
        .collect();
    assert_eq!(args.first(), Some(&"monitor"));
    // The container's root is read-only and its log is stdout: no file output.
    let output = args
        .iter()
        .position(|a| *a == "--output")
        .and_then(|i| args.get(i + 1));
    assert_eq!(output, Some(&"stdout"), "--output stdout in args");
    let listen = args
        .iter()
        .position(|a| *a == "--metrics-listen")
        .and_then(|i| args.get(i + 1))
        .expect("--metrics-listen ADDR:PORT in args");
    assert!(
        listen.ends_with(&format!(":{number}")),
        "--metrics-listen {listen} is not the metrics port {number}"
    );
    // The state survives the pod: a hostPath volume mounted where --state points.
    let state = args
        .iter()
        .position(|a| *a == "--state")
        .and_then(|i| args.get(i + 1))
        .expect("--state FILE in args");
    let mounts = c["volumeMounts"].as_array().expect("volumeMounts");
    let mount = mounts
        .iter()
        .find(|m| state.starts_with(s(&m["mountPath"], "mountPath")))
        .unwrap_or_else(|| panic!("{state} is on no volume mount"));
    let vol = pod["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == mount["name"]))
        .expect("the state mount's volume");
    assert!(vol["hostPath"]["path"].is_string(), "state volume: {vol}");
    for m in mounts {
        assert!(
            pod["volumes"]
                .as_array()
                .is_some_and(|v| v.iter().any(|v| v["name"] == m["name"])),
            "mount {} has no volume",
            m["name"]
        );
    }
}

// --- Vector --------------------------------------------------------------------------------

#[test]
fn vector_parses_the_lines_and_routes_alerts_apart_from_packets() {
    let cfg: toml::Table = read("vector/vector.toml")
        .parse()
        .unwrap_or_else(|e| panic!("vector.toml: {e}"));
    let section = |k: &str| {
        cfg.get(k)
            .and_then(|v| v.as_table())
            .cloned()
            .unwrap_or_default()
    };
    let (sources, transforms, sinks) =
        (section("sources"), section("transforms"), section("sinks"));
    assert!(!sources.is_empty() && !sinks.is_empty());
    // Every component's outputs: its id, `<route>.<name>` and `<route>._unmatched` for a route
    // transform, `<remap>.dropped` for a remap that reroutes what it drops.
    let mut outputs: BTreeSet<String> = sources.keys().cloned().collect();
    let mut route_of: BTreeMap<String, String> = BTreeMap::new();
    for (id, t) in &transforms {
        let ty = t["type"].as_str().unwrap_or_default();
        outputs.insert(id.clone());
        match ty {
            "route" => {
                let routes = t["route"]
                    .as_table()
                    .expect("route transform without route");
                for (name, cond) in routes {
                    outputs.insert(format!("{id}.{name}"));
                    route_of.insert(format!("{id}.{name}"), cond.as_str().unwrap_or("").into());
                }
                outputs.insert(format!("{id}._unmatched"));
            }
            "remap" => {
                let src = t["source"].as_str().expect("remap source");
                assert!(src.contains("parse_json"), "remap {id} does not parse JSON");
                if t.get("reroute_dropped").and_then(|v| v.as_bool()) == Some(true) {
                    outputs.insert(format!("{id}.dropped"));
                }
            }
            other => panic!("transform {id}: unexpected type {other}"),
        }
    }
    for (id, c) in transforms.iter().chain(sinks.iter()) {
        let inputs = c["inputs"]
            .as_array()
            .unwrap_or_else(|| panic!("{id}: no inputs"));
        for i in inputs {
            let i = i.as_str().unwrap_or_default();
            assert!(
                outputs.contains(i),
                "{id} reads `{i}`, which nothing outputs"
            );
        }
    }
    // Which sink gets which route: alerts and packets each to their own sink.
    let sink_of = |cond: &str| -> Vec<String> {
        let route: Vec<&String> = route_of
            .iter()
            .filter(|(_, c)| c.replace(' ', "") == cond)
            .map(|(r, _)| r)
            .collect();
        assert_eq!(route.len(), 1, "no single route with condition {cond}");
        sinks
            .iter()
            .filter(|(_, c)| {
                c["inputs"]
                    .as_array()
                    .is_some_and(|i| i.iter().any(|i| i.as_str() == Some(route[0])))
            })
            .map(|(id, _)| id.clone())
            .collect()
    };
    let alerts = sink_of(r#".kind=="alert""#);
    let packets = sink_of(r#".kind=="packet""#);
    assert!(!alerts.is_empty() && !packets.is_empty());
    assert!(
        alerts.iter().all(|a| !packets.contains(a)),
        "alerts and packets share a sink: {alerts:?} {packets:?}"
    );
}

// --- OpenTelemetry Collector ---------------------------------------------------------------

#[test]
fn otel_collector_parses_the_lines_and_routes_alerts_apart_from_packets() {
    let docs = yaml_docs(&read("otel-collector/config.yaml"), "config.yaml");
    assert_eq!(docs.len(), 1);
    let cfg = &docs[0];
    let ids = |section: &str| -> BTreeSet<String> {
        cfg[section]
            .as_object()
            .map(|m| m.keys().cloned().collect())
            .unwrap_or_default()
    };
    let (receivers, processors, exporters) =
        (ids("receivers"), ids("processors"), ids("exporters"));
    // The filelog receiver parses each line as JSON into the record's attributes.
    let filelog = receivers
        .iter()
        .find(|r| r.split('/').next() == Some("filelog"))
        .expect("a filelog receiver");
    let ops = cfg["receivers"][filelog]["operators"]
        .as_array()
        .expect("filelog operators");
    let json = ops
        .iter()
        .find(|o| o["type"] == "json_parser")
        .expect("a json_parser operator");
    assert_eq!(json["parse_to"], "attributes");
    // Every pipeline names components that exist; gather what each exporter receives.
    let pipelines = cfg["service"]["pipelines"]
        .as_object()
        .expect("service.pipelines");
    let mut kept_by_exporter: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for (name, p) in pipelines {
        assert!(
            name.starts_with("logs"),
            "pipeline {name} is not a logs pipeline"
        );
        let list = |k: &str| -> Vec<String> {
            p[k].as_array()
                .map(|a| a.iter().map(|v| s(v, k).to_string()).collect())
                .unwrap_or_default()
        };
        for (k, known) in [
            ("receivers", &receivers),
            ("processors", &processors),
            ("exporters", &exporters),
        ] {
            for id in list(k) {
                assert!(
                    known.contains(&id),
                    "pipeline {name}: {k} `{id}` is not defined"
                );
            }
        }
        // The filter processors' conditions drop records; what is left is what passes.
        let drops: Vec<String> = list("processors")
            .iter()
            .filter(|id| id.split('/').next() == Some("filter"))
            .flat_map(|id| {
                cfg["processors"][id.as_str()]["logs"]["log_record"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
            })
            .map(|c| s(&c, "filter condition").replace(' ', ""))
            .collect();
        let keeps = |kind: &str| -> bool {
            !drops.contains(&format!(r#"attributes["kind"]=="{kind}""#))
                && drops
                    .iter()
                    .filter(|d| d.contains("!="))
                    .all(|d| *d == format!(r#"attributes["kind"]!="{kind}""#))
        };
        for e in list("exporters") {
            for kind in ["alert", "packet", "stats"] {
                if keeps(kind) {
                    kept_by_exporter
                        .entry(e.clone())
                        .or_default()
                        .push(kind.into());
                }
            }
        }
    }
    let to = |kind: &str| -> Vec<&String> {
        kept_by_exporter
            .iter()
            .filter(|(_, kinds)| kinds.iter().any(|k| k == kind))
            .map(|(e, _)| e)
            .collect()
    };
    let (alerts, packets) = (to("alert"), to("packet"));
    assert!(
        !alerts.is_empty(),
        "no exporter gets alerts: {kept_by_exporter:?}"
    );
    assert!(
        !packets.is_empty(),
        "no exporter gets packets: {kept_by_exporter:?}"
    );
    assert!(
        alerts.iter().all(|a| !packets.contains(a)),
        "alerts and packets share an exporter: {kept_by_exporter:?}"
    );
    assert!(!to("stats").is_empty(), "stats lines reach no exporter");
}

// --- Fluent Bit ----------------------------------------------------------------------------

/// One `[SECTION]` of Fluent Bit's classic configuration format with its `Key Value` entries.
#[derive(Debug)]
struct FbSection {
    name: String,
    entries: Vec<(String, String)>,
}

impl FbSection {
    fn get(&self, key: &str) -> Vec<&str> {
        self.entries
            .iter()
            .filter(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
            .collect()
    }
    fn one(&self, key: &str) -> &str {
        let v = self.get(key);
        assert_eq!(v.len(), 1, "[{}] needs exactly one {key}", self.name);
        v[0]
    }
}

/// The classic format as Fluent Bit reads it: `[SECTION]` headers at column 0, entries indented
/// by spaces (no tabs; the same indentation throughout a section), `Key Value` separated by
/// whitespace, `#` comments, blank lines; `@INCLUDE` and `@SET` refused (the example stands
/// alone). Errors name the line.
fn parse_fluent_bit(text: &str) -> Vec<FbSection> {
    let mut out: Vec<FbSection> = Vec::new();
    let mut indent: Option<usize> = None;
    for (n, raw) in text.lines().enumerate() {
        let n = n + 1;
        assert!(!raw.contains('\t'), "line {n}: a tab");
        let line = raw.trim_end();
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        assert!(
            !line.starts_with('@'),
            "line {n}: directives are not used: {line}"
        );
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            assert!(
                [
                    "SERVICE",
                    "INPUT",
                    "FILTER",
                    "OUTPUT",
                    "PARSER",
                    "MULTILINE_PARSER"
                ]
                .contains(&name.to_ascii_uppercase().as_str()),
                "line {n}: unknown section [{name}]"
            );
            out.push(FbSection {
                name: name.to_ascii_uppercase(),
                entries: Vec::new(),
            });
            indent = None;
            continue;
        }
        let width = line.len() - line.trim_start().len();
        assert!(width > 0, "line {n}: an entry must be indented: {line}");
        assert_eq!(
            *indent.get_or_insert(width),
            width,
            "line {n}: indentation differs"
        );
        let sec = out
            .last_mut()
            .unwrap_or_else(|| panic!("line {n}: an entry before any section"));
        let (k, v) = line
            .trim()
            .split_once(char::is_whitespace)
            .unwrap_or_else(|| panic!("line {n}: `{}` has no value", line.trim()));
        sec.entries.push((k.to_string(), v.trim().to_string()));
    }
    out
}

/// Fluent Bit's tag match: `*` matches any run of characters.
fn fb_match(pattern: &str, tag: &str) -> bool {
    match pattern.split_once('*') {
        None => pattern == tag,
        Some((head, rest)) => {
            tag.starts_with(head)
                && (0..=tag.len() - head.len()).any(|i| fb_match(rest, &tag[head.len() + i..]))
        }
    }
}

#[test]
fn fluent_bit_reader_refuses_what_fluent_bit_refuses() {
    for bad in [
        "[INPUT]\n    Name tail\n  Tag x\n",
        "[INPUT]\nName tail\n",
        "[INPUTS]\n    Name tail\n",
        "[INPUT]\n    Name\n",
        "[INPUT]\n\tName tail\n",
    ] {
        assert!(
            std::panic::catch_unwind(|| parse_fluent_bit(bad)).is_err(),
            "accepted: {bad:?}"
        );
    }
    assert!(fb_match("v6probe.*", "v6probe.alert"));
    assert!(!fb_match("v6probe", "v6probe.alert"));
    assert!(fb_match("*", "v6probe"));
}

#[test]
fn fluent_bit_parses_the_lines_and_routes_alerts_apart_from_packets() {
    let secs = parse_fluent_bit(&read("fluent-bit/fluent-bit.conf"));
    let of = |name: &'static str| secs.iter().filter(move |s| s.name == name);
    let inputs: Vec<&FbSection> = of("INPUT").collect();
    assert_eq!(inputs.len(), 1);
    let input = inputs[0];
    assert_eq!(input.one("Name"), "tail");
    assert_eq!(input.one("Parser"), "json", "the lines are parsed as JSON");
    let tag = input.one("Tag").to_string();
    // Where a record of each kind ends up: rewrite_tag rules (`$kind REGEX NEWTAG KEEP`) move
    // it to a new tag; outputs match tags.
    let tag_of = |kind: &str| -> String {
        for f in of("FILTER").filter(|f| f.one("Name") == "rewrite_tag") {
            if !fb_match(f.one("Match"), &tag) {
                continue;
            }
            for rule in f.get("Rule") {
                let parts: Vec<&str> = rule.split_whitespace().collect();
                assert_eq!(parts.len(), 4, "rule `{rule}`: $KEY REGEX NEW_TAG KEEP");
                assert!(["true", "false"].contains(&parts[3]), "rule `{rule}`: KEEP");
                let re = parts[1];
                let exact = re.strip_prefix('^').and_then(|r| r.strip_suffix('$'));
                if parts[0] == "$kind" && exact == Some(kind) {
                    return parts[2].to_string();
                }
            }
        }
        tag.clone()
    };
    let outputs_for = |t: &str| -> Vec<usize> {
        secs.iter()
            .enumerate()
            .filter(|(_, s)| s.name == "OUTPUT" && fb_match(s.one("Match"), t))
            .map(|(i, _)| i)
            .collect()
    };
    let (alert_tag, packet_tag) = (tag_of("alert"), tag_of("packet"));
    assert_ne!(alert_tag, tag, "alerts keep the input's tag");
    assert_ne!(packet_tag, tag, "packets keep the input's tag");
    let (a, p, o) = (
        outputs_for(&alert_tag),
        outputs_for(&packet_tag),
        outputs_for(&tag_of("stats")),
    );
    assert!(
        !a.is_empty() && !p.is_empty() && !o.is_empty(),
        "{a:?} {p:?} {o:?}"
    );
    assert!(
        a.iter().all(|i| !p.contains(i)),
        "alerts and packets share an output"
    );
}
