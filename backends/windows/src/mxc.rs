//! `--target mxc`: a Microsoft Execution Containers `ContainerConfig` of
//! version `0.8.0-alpha` (`../shared/anchors/mxc/mxc-config.schema.0.8.0-alpha.json`).
//!
//! - `filesystem`: an allow entry with `write`, `create` or `delete` is a
//!   `readwritePaths` entry, any other a `readonlyPaths` entry; a deny
//!   entry is a `deniedPaths` entry (MXC denies every right there). Each
//!   path covers itself and everything beneath.
//! - `network.egress`: `default: deny` and one `allow` rule per protocol
//!   and port interval with the CIDRs the policy allows there;
//!   `network.ingress`: `hostLoopback: allow` when the policy connects to
//!   or accepts from loopback (MXC opens both directions), `default:
//!   allow` when it accepts from `private` peers; `network.proxy.url`
//!   from `proxy`, which decides names (MXC rules hold no names).
//! - `ui`: disabled unless the policy allows a UI access; `clipboard`,
//!   `injection`; `processContainer.ui.isolation: container` when neither
//!   `windows` nor `screen capture` is allowed.
//! - `process.timeout` from `timeout`; `containment: processcontainer`;
//!   `processContainer.capabilities` as for AppContainer and
//!   `leastPrivilege` from `--lpac`.

use std::collections::BTreeSet;

use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::{Device, DeviceMode, Policy, Right};
use serde_json::{Value, json};

use crate::files::{self, Scope};
use crate::net::{self, Segment};
use crate::paths::PathMapper;
use crate::{Lowering, WindowsOptions, appcontainer, validate};

pub const MXC_VERSION: &str = "0.8.0-alpha";

fn port_json(proto: &str, lo: u16, hi: u16) -> Value {
    let mut p = json!({ "protocol": proto });
    if lo == 0 && hi == u16::MAX {
        return p;
    }
    // MXC ports start at 1: port 0 cannot be named.
    let lo = lo.max(1);
    p["port"] = json!(lo);
    if hi > lo {
        p["endPort"] = json!(hi);
    }
    p
}

/// Egress allow rules: segments with the same addresses on both
/// protocols merge into `any`.
fn egress_rules(boxes: &net::Boxes) -> Vec<Value> {
    let mut rules: Vec<(String, u16, u16, &net::Ranges)> = Vec::new();
    let udp: &[Segment] = &boxes.udp;
    let mut udp_used = vec![false; udp.len()];
    for t in &boxes.tcp {
        match udp.iter().position(|u| u == t) {
            Some(i) => {
                if let Some(slot) = udp_used.get_mut(i) {
                    *slot = true;
                }
                rules.push(("any".to_owned(), t.lo, t.hi, &t.addrs));
            }
            None => rules.push(("tcp".to_owned(), t.lo, t.hi, &t.addrs)),
        }
    }
    for (u, used) in udp.iter().zip(udp_used) {
        if !used {
            rules.push(("udp".to_owned(), u.lo, u.hi, &u.addrs));
        }
    }
    rules.sort_by(|a, b| (a.1, a.2, &a.0).cmp(&(b.1, b.2, &b.0)));
    rules
        .into_iter()
        .map(|(proto, lo, hi, addrs)| {
            let mut rule = json!({ "ports": [port_json(&proto, lo, hi)] });
            if *addrs != net::all_addrs() {
                let to: Vec<Value> = net::cidrs(addrs).into_iter().map(|c| json!({ "cidr": c })).collect();
                rule["to"] = json!(to);
            }
            rule
        })
        .collect()
}

/// Lowers `policy` (whose `~` was bound to `home`) to an MXC config.
pub fn lower_to_mxc(policy: &Policy, home: &str, options: &WindowsOptions) -> Lowering {
    let eval = Evaluator::new(policy);
    let mapper = PathMapper::with_profile_dir(home, options.drive, &options.profile_dir);
    let entries = files::entries(policy);

    let (mut rw, mut ro, mut denied) = (BTreeSet::new(), BTreeSet::new(), BTreeSet::new());
    for ((segs, _scope), rights) in &entries.allows {
        let path = mapper.to_windows(segs);
        if [Right::Write, Right::Create, Right::Delete].iter().any(|r| rights.contains(*r)) {
            rw.insert(path);
        } else {
            ro.insert(path);
        }
    }
    for (segs, scope) in entries.denies.keys() {
        denied.insert(mapper.to_windows(segs));
        if *scope != Scope::Object && mapper.above_home(segs) {
            denied.insert(mapper.to_windows(mapper.home()));
        }
    }
    // A tree over an ancestor of the home directory also covers it.
    for ((segs, scope), rights) in &entries.allows {
        if *scope != Scope::Object && mapper.above_home(segs) {
            let home = mapper.to_windows(mapper.home());
            if [Right::Write, Right::Create, Right::Delete].iter().any(|r| rights.contains(*r)) {
                rw.insert(home);
            } else {
                ro.insert(home);
            }
        }
    }
    let ro: BTreeSet<String> = ro.difference(&rw).cloned().collect();

    let mut config = json!({
        "$schema": "https://github.com/microsoft/mxc/schemas/stable/mxc-config.schema.0.8.0-alpha.json",
        "version": MXC_VERSION,
        "containerId": format!("corral-{}", policy.name),
        "containment": "processcontainer",
        "process": {},
    });
    if let Some(t) = &policy.timeout {
        config["process"]["timeout"] = json!(t.value.min(u64::from(u32::MAX)));
    }
    let mut fs = json!({});
    for (key, set) in [("readwritePaths", &rw), ("readonlyPaths", &ro), ("deniedPaths", &denied)] {
        if !set.is_empty() {
            fs[key] = json!(set.iter().collect::<Vec<_>>());
        }
    }
    config["filesystem"] = fs;

    let connect = net::connect_boxes(policy);
    let bind = net::bind_boxes(policy);
    let loopback = net::builtin_addrs("loopback");
    let private = net::builtin_addrs("private");
    let mut network = json!({ "egress": { "default": "deny" } });
    let allow = egress_rules(&connect);
    if !allow.is_empty() {
        network["egress"]["allow"] = json!(allow);
    }
    let touches_loopback = !net::inter(&connect.all_addrs(), &loopback).is_empty()
        || !net::inter(&bind.all_addrs(), &loopback).is_empty();
    let accepts_private = !net::inter(&bind.all_addrs(), &private).is_empty();
    network["ingress"] = json!({
        "default": if accepts_private { "allow" } else { "deny" },
        "hostLoopback": if touches_loopback { "allow" } else { "deny" },
    });
    if let Some(p) = &policy.proxy {
        network["proxy"] = json!({ "url": p.value });
    }
    config["network"] = network;

    let permitted = |device, mode| eval.is_permitted(&Access::Device { device, mode });
    let (clip_r, clip_w) =
        (permitted(Device::Clipboard, DeviceMode::Read), permitted(Device::Clipboard, DeviceMode::Write));
    let inject = permitted(Device::Input, DeviceMode::Inject);
    let windows = permitted(Device::Windows, DeviceMode::Use);
    let screen = permitted(Device::Screen, DeviceMode::Capture);
    let any_ui = clip_r || clip_w || inject || windows || screen;
    let mut ui = json!({ "disable": !any_ui });
    if any_ui {
        ui["clipboard"] = json!(match (clip_r, clip_w) {
            (true, true) => "all",
            (true, false) => "read",
            (false, true) => "write",
            (false, false) => "none",
        });
        ui["injection"] = json!(inject);
    }
    config["ui"] = ui;

    let caps = appcontainer_capabilities(policy, &eval);
    let mut pc = json!({ "leastPrivilege": options.lpac });
    if !caps.is_empty() {
        pc["capabilities"] = json!(caps);
    }
    if any_ui && !windows && !screen {
        pc["ui"] = json!({ "isolation": "container" });
    }
    config["processContainer"] = pc;

    let mut diagnostics = Vec::new();
    diagnostics.extend(crate::isolation_gap(policy, "mxc"));
    diagnostics.extend(crate::partial_rules(policy, &entries.partial, "mxc"));
    let model = validate::mxc_model(&config, &mapper, policy);
    let report = validate::validate(policy, &model, "mxc", options.timeout_ms);
    diagnostics.extend(report.diagnostics.iter().cloned());
    corral_compiler::diagnostics::sort(&mut diagnostics);
    let summary = summary(policy, &config, &report, &diagnostics);
    Lowering {
        artifact: config,
        scripts: Vec::new(),
        summary,
        exact: diagnostics.is_empty(),
        validated: report.validated,
        validation: report.json(),
        diagnostics,
    }
}

/// The capability names of the AppContainer lowering.
fn appcontainer_capabilities(policy: &Policy, eval: &Evaluator<'_>) -> Vec<&'static str> {
    appcontainer::capabilities(policy, eval).into_iter().collect()
}

fn summary(
    policy: &Policy,
    config: &Value,
    report: &validate::Report,
    diagnostics: &[corral_compiler::diagnostics::Diagnostic],
) -> String {
    let mut out =
        format!("mxc config {MXC_VERSION} for policy `{}` (containment processcontainer)\n", policy.name);
    for (key, label) in
        [("readwritePaths", "read-write"), ("readonlyPaths", "read-only"), ("deniedPaths", "denied")]
    {
        let list: Vec<&str> =
            config["filesystem"][key].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
        out.push_str(&format!(
            "{label}: {}\n",
            if list.is_empty() { "none".to_owned() } else { list.join(", ") }
        ));
    }
    let rules = config["network"]["egress"]["allow"].as_array().map_or(0, Vec::len);
    out.push_str(&format!(
        "egress: deny by default, {rules} allow rules; ingress: {}, host loopback: {}{}\n",
        config["network"]["ingress"]["default"].as_str().unwrap_or("deny"),
        config["network"]["ingress"]["hostLoopback"].as_str().unwrap_or("deny"),
        config["network"]["proxy"]["url"]
            .as_str()
            .map(|u| format!("; names through {u}"))
            .unwrap_or_default(),
    ));
    out.push_str(&format!("ui: {}\n", config["ui"]));
    out.push_str(&format!("processContainer: {}\n", config["processContainer"]));
    out.push_str(&report.summary_lines());
    out.push_str(&validate::exact_line(diagnostics));
    out
}
