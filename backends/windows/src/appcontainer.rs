//! `--target appcontainer`: an AppContainer manifest (`appcontainer.json`,
//! schema in `backends/windows/schema/appcontainer-manifest.schema.json`),
//! `apply.ps1` and `revert.ps1`.
//!
//! - profile: the name from the policy's identity and its SID;
//! - capabilities: `internetClient` for connects to `internet`,
//!   `privateNetworkClientServer` for connects to or binds from `private`
//!   (both directions: Windows has no egress-only private capability),
//!   `internetClientServer` for binds from `internet`; `webcam`,
//!   `microphone`, `location` for the devices, and
//!   `graphicsCaptureProgrammatic` for `screen capture`;
//! - files: allow and deny ACEs for the profile SID on literal paths
//!   (`files.rs`), with masks by right (`allow_mask`, `deny_mask`);
//! - firewall: per-package block rules for the addresses a capability
//!   opens and the policy does not allow, per protocol and port interval;
//! - UI: the `JOB_OBJECT_UILIMIT_*` mask of the job the agent runs in.

use std::collections::BTreeSet;

use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::{Device, DeviceMode, Policy, Proto, Right, Rights};
use serde_json::{Value, json};

use crate::files::{self, Entries, Scope};
use crate::net::{self, Ranges};
use crate::paths::{PathMapper, ps_quote};
use crate::sid::{self, ALL_APPLICATION_PACKAGES, ALL_RESTRICTED_APPLICATION_PACKAGES};
use crate::{Lowering, WindowsOptions, validate};

// File access rights (winnt.h).
pub const FILE_READ_DATA: u32 = 0x0001; // = FILE_LIST_DIRECTORY
pub const FILE_WRITE_DATA: u32 = 0x0002; // = FILE_ADD_FILE
pub const FILE_APPEND_DATA: u32 = 0x0004; // = FILE_ADD_SUBDIRECTORY
pub const FILE_READ_EA: u32 = 0x0008;
pub const FILE_WRITE_EA: u32 = 0x0010;
pub const FILE_EXECUTE: u32 = 0x0020; // = FILE_TRAVERSE
pub const FILE_WRITE_ATTRIBUTES: u32 = 0x0100;
pub const DELETE: u32 = 0x0001_0000;
pub const FILE_GENERIC_READ: u32 = 0x0012_0089;
pub const FILE_GENERIC_WRITE: u32 = 0x0012_0116;
pub const FILE_GENERIC_EXECUTE: u32 = 0x0012_00A0;

/// `JOB_OBJECT_UILIMIT_*` (winnt.h), with what each bit stops.
pub const UI_LIMITS: [(&str, u32, &str); 8] = [
    ("JOB_OBJECT_UILIMIT_HANDLES", 0x01, "using USER handles (windows) of processes outside the job"),
    ("JOB_OBJECT_UILIMIT_READCLIPBOARD", 0x02, "reading the clipboard"),
    ("JOB_OBJECT_UILIMIT_WRITECLIPBOARD", 0x04, "writing the clipboard"),
    ("JOB_OBJECT_UILIMIT_SYSTEMPARAMETERS", 0x08, "changing system parameters (SystemParametersInfo)"),
    ("JOB_OBJECT_UILIMIT_DISPLAYSETTINGS", 0x10, "changing display settings"),
    ("JOB_OBJECT_UILIMIT_GLOBALATOMS", 0x20, "using the global atom table"),
    ("JOB_OBJECT_UILIMIT_DESKTOP", 0x40, "creating or switching desktops"),
    ("JOB_OBJECT_UILIMIT_EXITWINDOWS", 0x80, "logging off or shutting down (ExitWindows)"),
];

/// Bits set whatever the policy says: an agent never changes the
/// machine's settings, desktops or session.
pub const UI_ALWAYS: u32 = 0x08 | 0x10 | 0x40 | 0x80;

/// The mask of an allow ACE for `rights`. Windows has one bit for reading
/// a file and listing a directory, and one for writing a file and adding
/// an entry to a directory, so `read`/`list` and `write`/`create` are
/// granted together.
pub fn allow_mask(rights: Rights) -> u32 {
    let mut mask = 0;
    if rights.contains(Right::Read) || rights.contains(Right::List) {
        mask |= FILE_GENERIC_READ;
    }
    if rights.contains(Right::Write) || rights.contains(Right::Create) {
        mask |= FILE_GENERIC_WRITE;
    }
    if rights.contains(Right::Delete) {
        mask |= DELETE;
    }
    if rights.contains(Right::Exec) {
        mask |= FILE_GENERIC_EXECUTE;
    }
    mask
}

/// The mask of a deny ACE for `rights`: the data bits only (denying
/// `SYNCHRONIZE` or `READ_CONTROL` would break every open), and always
/// `DELETE`, so that a denied entry cannot be removed and re-created
/// without its ACE.
pub fn deny_mask(rights: Rights) -> u32 {
    let mut mask = DELETE;
    if rights.contains(Right::Read) || rights.contains(Right::List) {
        mask |= FILE_READ_DATA | FILE_READ_EA;
    }
    if rights.contains(Right::Write) || rights.contains(Right::Create) {
        mask |= FILE_WRITE_DATA | FILE_APPEND_DATA | FILE_WRITE_EA | FILE_WRITE_ATTRIBUTES;
    }
    if rights.contains(Right::Exec) {
        mask |= FILE_EXECUTE;
    }
    mask
}

/// The policy rights a mask grants or denies, by the bits that decide
/// them.
pub fn mask_rights(mask: u32) -> Rights {
    let mut r = Rights::default();
    if mask & FILE_READ_DATA != 0 {
        r = r.with(Right::Read).with(Right::List);
    }
    if mask & (FILE_WRITE_DATA | FILE_APPEND_DATA) != 0 {
        r = r.with(Right::Write).with(Right::Create);
    }
    if mask & DELETE != 0 {
        r = r.with(Right::Delete);
    }
    if mask & FILE_EXECUTE != 0 {
        r = r.with(Right::Exec);
    }
    r
}

/// How an ACE is inherited.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Inheritance {
    /// The object only.
    None,
    /// `(OI)(CI)`: the object and everything beneath.
    Tree,
    /// `(OI)(CI)(IO)`: everything beneath, not the object.
    InheritOnly,
}

impl Inheritance {
    pub fn keyword(self) -> &'static str {
        match self {
            Inheritance::None => "none",
            Inheritance::Tree => "tree",
            Inheritance::InheritOnly => "inheritOnly",
        }
    }

    pub fn from_keyword(word: &str) -> Option<Inheritance> {
        Some(match word {
            "none" => Inheritance::None,
            "tree" => Inheritance::Tree,
            "inheritOnly" => Inheritance::InheritOnly,
            _ => return None,
        })
    }

    fn of(scope: Scope) -> Inheritance {
        match scope {
            Scope::Object => Inheritance::None,
            Scope::Tree => Inheritance::Tree,
            Scope::Children => Inheritance::InheritOnly,
        }
    }
}

/// One access control entry for the profile SID.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Ace {
    /// Windows path; `%USERPROFILE%` is expanded when applied.
    pub path: String,
    pub deny: bool,
    pub inheritance: Inheritance,
    pub mask: u32,
    /// A deny on a path that does not exist when applied stops the apply
    /// script when the agent could create the path (it lies in a tree an
    /// allow ACE lets it add entries to); otherwise it is skipped.
    pub must_exist: bool,
}

/// The ACEs of the file entries.
pub fn aces(entries: &Entries, mapper: &PathMapper) -> Vec<Ace> {
    let mut out: BTreeSet<Ace> = BTreeSet::new();
    let home = mapper.home().to_vec();
    // Could the agent create `segs`? An allow ACE with the write bits on a
    // directory adds entries to it (`none`: its direct children only).
    let creatable = |segs: &[String]| {
        entries.allows.iter().any(|((p, scope), r)| {
            (r.contains(Right::Create) || r.contains(Right::Write))
                && files::strictly_beneath(segs, p)
                && (*scope != Scope::Object || segs.len() == p.len() + 1)
        })
    };
    for ((segs, scope), rights) in &entries.allows {
        let inheritance = Inheritance::of(*scope);
        let mask = allow_mask(*rights);
        out.insert(Ace { path: mapper.to_windows(segs), deny: false, inheritance, mask, must_exist: false });
        // `%USERPROFILE%` is not beneath `C:\home`: a tree over an ancestor
        // of the home directory also covers the profile directory.
        if *scope != Scope::Object && mapper.above_home(segs) {
            out.insert(Ace {
                path: mapper.to_windows(&home),
                deny: false,
                inheritance: Inheritance::Tree,
                mask,
                must_exist: false,
            });
        }
    }
    for ((segs, scope), rights) in &entries.denies {
        let mask = deny_mask(*rights);
        let must_exist = creatable(segs);
        let path = mapper.to_windows(segs);
        out.insert(Ace {
            path: path.clone(),
            deny: true,
            inheritance: Inheritance::of(*scope),
            mask,
            must_exist,
        });
        if *scope == Scope::Children && (rights.contains(Right::Write) || rights.contains(Right::Create)) {
            // Adding entries to the directory itself is decided on it.
            let own = FILE_WRITE_DATA | FILE_APPEND_DATA;
            out.insert(Ace { path, deny: true, inheritance: Inheritance::None, mask: own, must_exist });
        }
        if *scope == Scope::Object {
            continue;
        }
        if mapper.above_home(segs) {
            out.insert(Ace {
                path: mapper.to_windows(&home),
                deny: true,
                inheritance: Inheritance::Tree,
                mask,
                must_exist: false,
            });
        }
        // An explicit allow on an entry beneath precedes an inherited deny
        // in the DACL; repeating the deny there keeps "deny wins".
        for (inner, _) in entries.allows.keys() {
            if files::strictly_beneath(inner, segs) {
                out.insert(Ace {
                    path: mapper.to_windows(inner),
                    deny: true,
                    inheritance: Inheritance::Tree,
                    mask,
                    must_exist: false,
                });
            }
        }
    }
    out.into_iter().collect()
}

/// One per-package firewall rule.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FirewallRule {
    pub name: String,
    pub outbound: bool,
    pub proto: Proto,
    pub lo: u16,
    pub hi: u16,
    pub addresses: Vec<String>,
}

/// The port axis of `segments` cut into intervals that cover 0..=65535,
/// with the addresses allowed on each (none in the gaps).
fn partition(segments: &[net::Segment]) -> Vec<(u16, u16, Ranges)> {
    let mut out = Vec::new();
    let mut next: u32 = 0;
    for s in segments {
        if u32::from(s.lo) > next {
            out.push((u16::try_from(next).unwrap_or(0), s.lo - 1, Vec::new()));
        }
        out.push((s.lo, s.hi, s.addrs.clone()));
        next = u32::from(s.hi) + 1;
    }
    if next <= 65535 {
        out.push((u16::try_from(next).unwrap_or(0), u16::MAX, Vec::new()));
    }
    out
}

/// Block rules for the addresses in `reach` that `boxes` does not allow.
fn block_rules(profile: &str, outbound: bool, boxes: &net::Boxes, reach: &Ranges) -> Vec<FirewallRule> {
    let mut out: Vec<FirewallRule> = Vec::new();
    if reach.is_empty() {
        return out;
    }
    for proto in [Proto::Tcp, Proto::Udp] {
        let mut rules: Vec<(u16, u16, Ranges)> = Vec::new();
        for (lo, hi, allowed) in partition(boxes.of(proto)) {
            let blocked = net::diff(reach, &allowed);
            if blocked.is_empty() {
                continue;
            }
            match rules.last_mut() {
                Some(prev) if prev.2 == blocked && u32::from(prev.1) + 1 == u32::from(lo) => prev.1 = hi,
                _ => rules.push((lo, hi, blocked)),
            }
        }
        for (i, (lo, hi, blocked)) in rules.into_iter().enumerate() {
            let dir = if outbound { "out" } else { "in" };
            out.push(FirewallRule {
                name: format!(
                    "{profile}-{dir}-{}-{}",
                    if proto == Proto::Tcp { "tcp" } else { "udp" },
                    i + 1
                ),
                outbound,
                proto,
                lo,
                hi,
                addresses: net::cidrs(&blocked),
            });
        }
    }
    out
}

/// The capabilities the policy needs, by name, sorted.
pub fn capabilities(policy: &Policy, eval: &Evaluator<'_>) -> BTreeSet<&'static str> {
    let mut caps = BTreeSet::new();
    let internet = net::builtin_addrs("internet");
    let private = net::builtin_addrs("private");
    let connect = net::connect_boxes(policy).all_addrs();
    let bind = net::bind_boxes(policy).all_addrs();
    if net::allows_names(policy) || !net::inter(&connect, &internet).is_empty() {
        caps.insert("internetClient");
    }
    if !net::inter(&connect, &private).is_empty() || !net::inter(&bind, &private).is_empty() {
        caps.insert("privateNetworkClientServer");
    }
    if !net::inter(&bind, &internet).is_empty() {
        caps.insert("internetClientServer");
    }
    for (device, mode, cap) in DEVICE_CAPABILITIES {
        if eval.is_permitted(&Access::Device { device, mode }) {
            caps.insert(cap);
        }
    }
    caps
}

/// Devices granted by a capability.
pub const DEVICE_CAPABILITIES: [(Device, DeviceMode, &str); 4] = [
    (Device::Camera, DeviceMode::Use, "webcam"),
    (Device::Microphone, DeviceMode::Use, "microphone"),
    (Device::Location, DeviceMode::Use, "location"),
    (Device::Screen, DeviceMode::Capture, "graphicsCaptureProgrammatic"),
];

/// The addresses the network capabilities open to outbound connections.
pub fn outbound_reach(caps: &[&str]) -> Ranges {
    let mut r = Vec::new();
    if caps.contains(&"internetClient") || caps.contains(&"internetClientServer") {
        r = net::union(&r, &net::builtin_addrs("internet"));
    }
    if caps.contains(&"privateNetworkClientServer") {
        r = net::union(&r, &net::builtin_addrs("private"));
    }
    r
}

/// The peers the network capabilities let connections come from.
pub fn inbound_reach(caps: &[&str]) -> Ranges {
    let mut r = Vec::new();
    if caps.contains(&"internetClientServer") {
        r = net::union(&r, &net::builtin_addrs("internet"));
    }
    if caps.contains(&"privateNetworkClientServer") {
        r = net::union(&r, &net::builtin_addrs("private"));
    }
    r
}

/// The UI-limit mask: a bit for each UI access the policy denies.
fn ui_mask(eval: &Evaluator<'_>) -> u32 {
    let permitted = |device, mode| eval.is_permitted(&Access::Device { device, mode });
    let mut mask = UI_ALWAYS;
    if !permitted(Device::Clipboard, DeviceMode::Read) {
        mask |= 0x02;
    }
    if !permitted(Device::Clipboard, DeviceMode::Write) {
        mask |= 0x04;
    }
    if !permitted(Device::Windows, DeviceMode::Use) {
        mask |= 0x01 | 0x20;
    }
    mask
}

/// Lowers `policy` (whose `~` was bound to `home`) to an AppContainer
/// manifest and its scripts.
pub fn lower_to_appcontainer(policy: &Policy, home: &str, options: &WindowsOptions) -> Lowering {
    let eval = Evaluator::new(policy);
    let mapper = PathMapper::with_profile_dir(home, options.drive, &options.profile_dir);
    let profile = crate::profile_name(policy);
    let profile_sid = sid::profile_sid(&profile).unwrap_or_default();
    let entries = files::entries(policy);
    let aces = aces(&entries, &mapper);
    let caps: Vec<&str> = capabilities(policy, &eval).into_iter().collect();
    let mut firewall = block_rules(&profile, true, &net::connect_boxes(policy), &outbound_reach(&caps));
    firewall.extend(block_rules(&profile, false, &net::bind_boxes(policy), &inbound_reach(&caps)));
    let ui = ui_mask(&eval);

    let cap_json: Vec<Value> = caps
        .iter()
        .filter_map(|c| sid::capability_sids(c).ok())
        .map(|s| json!({ "name": s.name, "sid": s.capability, "groupSid": s.group }))
        .collect();
    let ace_json: Vec<Value> = aces
        .iter()
        .map(|a| {
            json!({
                "path": a.path,
                "type": if a.deny { "deny" } else { "allow" },
                "inheritance": a.inheritance.keyword(),
                "mask": a.mask,
                "maskHex": format!("0x{:08X}", a.mask),
                "rights": files::right_words(mask_rights(a.mask)),
                "mustExist": a.must_exist,
            })
        })
        .collect();
    let fw_json: Vec<Value> = firewall
        .iter()
        .map(|r| {
            let ports =
                if r.lo == 0 && r.hi == u16::MAX { "Any".to_owned() } else { net::port_text(r.lo, r.hi) };
            json!({
                "name": r.name,
                "direction": if r.outbound { "outbound" } else { "inbound" },
                "action": "block",
                "protocol": if r.proto == Proto::Tcp { "TCP" } else { "UDP" },
                "ports": ports,
                "remoteAddresses": r.addresses,
            })
        })
        .collect();
    let flags: Vec<&str> = UI_LIMITS.iter().filter(|(_, bit, _)| ui & bit != 0).map(|(n, _, _)| *n).collect();
    let mut manifest = json!({
        "version": 1,
        "policy": policy.name,
        "profile": {
            "name": profile,
            "sid": profile_sid,
            "leastPrivilege": options.lpac,
            "packageGroupSid": if options.lpac { ALL_RESTRICTED_APPLICATION_PACKAGES } else { ALL_APPLICATION_PACKAGES },
        },
        "capabilities": cap_json,
        "files": { "profileDirectory": options.profile_dir, "drive": format!("{}:", mapper.drive()), "aces": ace_json },
        "firewall": fw_json,
        "uiLimits": { "mask": ui, "maskHex": format!("0x{ui:08X}"), "flags": flags },
    });
    if let Some(t) = &policy.timeout {
        manifest["timeoutMs"] = json!(t.value);
    }
    if let Some(p) = &policy.proxy {
        manifest["proxy"] = json!(p.value);
    }

    let mut diagnostics = Vec::new();
    diagnostics.extend(crate::isolation_gap(policy, "appcontainer"));
    diagnostics.extend(crate::partial_rules(policy, &entries.partial, "appcontainer"));
    let model = validate::appcontainer_model(&manifest, &mapper);
    let report = validate::validate(policy, &model, "appcontainer", options.timeout_ms);
    diagnostics.extend(report.diagnostics.iter().cloned());
    corral_compiler::diagnostics::sort(&mut diagnostics);
    let apply = apply_script(&manifest, &aces, &firewall);
    let revert = revert_script(&manifest, &aces);
    let summary = summary(policy, &manifest, &aces, &firewall, &report, &diagnostics, options);
    Lowering {
        artifact: manifest,
        scripts: vec![("apply.ps1", apply), ("revert.ps1", revert)],
        summary,
        exact: diagnostics.is_empty(),
        validated: report.validated,
        validation: report.json(),
        diagnostics,
    }
}

const SCRIPT_HEAD: &str = "#Requires -RunAsAdministrator
Set-StrictMode -Version Latest
$ErrorActionPreference = 'Stop'
";

fn apply_script(manifest: &Value, aces: &[Ace], firewall: &[FirewallRule]) -> String {
    let profile = manifest["profile"]["name"].as_str().unwrap_or_default();
    let sid = manifest["profile"]["sid"].as_str().unwrap_or_default();
    let policy = manifest["policy"].as_str().unwrap_or_default();
    let mut s = format!(
        "# Generated by corral from policy `{policy}`: applies appcontainer.json for the\n\
         # AppContainer profile {profile} ({sid}). Undo with revert.ps1.\n\
         # The launcher creates the profile, checks its SID against the manifest,\n\
         # and starts the agent with the manifest's capabilities and UI limits.\n{SCRIPT_HEAD}"
    );
    s.push_str(&format!("$ProfileSid = {}\n", ps_quote(sid)));
    s.push_str(&format!("$Group = {}\n", ps_quote(&format!("Corral {profile}"))));
    s.push_str(
        r#"$Sid = New-Object System.Security.Principal.SecurityIdentifier($ProfileSid)

function Add-CorralAce([string]$Path, [int]$Mask, [string]$Inheritance, [string]$Type, [bool]$MustExist) {
    $target = [Environment]::ExpandEnvironmentVariables($Path)
    if (-not (Test-Path -LiteralPath $target)) {
        if ($MustExist) { throw "corral: $target does not exist; its deny cannot be applied and the agent could create it" }
        Write-Warning "corral: $target does not exist; skipped"
        return
    }
    $isDir = Test-Path -LiteralPath $target -PathType Container
    if (-not $isDir -and $Inheritance -eq 'inheritOnly') { return }
    $flags = 'None'
    $propagation = 'None'
    if ($isDir -and $Inheritance -ne 'none') {
        $flags = 'ContainerInherit, ObjectInherit'
        if ($Inheritance -eq 'inheritOnly') { $propagation = 'InheritOnly' }
    }
    $rule = New-Object System.Security.AccessControl.FileSystemAccessRule($Sid, [System.Security.AccessControl.FileSystemRights]$Mask, $flags, $propagation, $Type)
    $acl = Get-Acl -LiteralPath $target
    $acl.AddAccessRule($rule)
    Set-Acl -LiteralPath $target -AclObject $acl
}

"#,
    );
    // Nothing is changed when a deny cannot be applied.
    let required: BTreeSet<&str> = aces.iter().filter(|a| a.must_exist).map(|a| a.path.as_str()).collect();
    if !required.is_empty() {
        s.push_str("# Denied paths the agent could create: all must exist before anything is changed.\n");
        for p in &required {
            s.push_str(&format!(
                "if (-not (Test-Path -LiteralPath ([Environment]::ExpandEnvironmentVariables({})))) {{ throw \"corral: {} does not exist; its deny cannot be applied and the agent could create it\" }}\n",
                ps_quote(p),
                p.replace('"', "`\"").replace('$', "`$"),
            ));
        }
        s.push('\n');
    }
    s.push_str("# File ACEs, denies first (Windows orders explicit denies before allows in each DACL).\n");
    let (denies, allows): (Vec<&Ace>, Vec<&Ace>) = aces.iter().partition(|a| a.deny);
    for a in denies.into_iter().chain(allows) {
        s.push_str(&format!(
            "Add-CorralAce -Path {} -Mask 0x{:08X} -Inheritance '{}' -Type '{}' -MustExist ${}\n",
            ps_quote(&a.path),
            a.mask,
            a.inheritance.keyword(),
            if a.deny { "Deny" } else { "Allow" },
            a.must_exist,
        ));
    }
    s.push_str(
        "\n# Per-package firewall rules: block what the capabilities open and the policy does not allow.\n\
         # Rules of an earlier apply are replaced.\n\
         Get-NetFirewallRule -Group $Group -ErrorAction SilentlyContinue | Remove-NetFirewallRule\n",
    );
    for r in firewall {
        let (dir, port_flag) =
            if r.outbound { ("Outbound", "-RemotePort") } else { ("Inbound", "-LocalPort") };
        let ports = if r.lo == 0 && r.hi == u16::MAX { "Any".to_owned() } else { net::port_text(r.lo, r.hi) };
        let addrs: Vec<String> = r.addresses.iter().map(|a| ps_quote(a)).collect();
        s.push_str(&format!(
            "New-NetFirewallRule -Name {} -DisplayName {} -Group $Group -Direction {dir} -Action Block -Package $ProfileSid -Protocol {} {port_flag} {} -RemoteAddress @({}) | Out-Null\n",
            ps_quote(&r.name),
            ps_quote(&r.name),
            if r.proto == Proto::Tcp { "TCP" } else { "UDP" },
            ps_quote(&ports),
            addrs.join(", "),
        ));
    }
    s
}

fn revert_script(manifest: &Value, aces: &[Ace]) -> String {
    let profile = manifest["profile"]["name"].as_str().unwrap_or_default();
    let sid = manifest["profile"]["sid"].as_str().unwrap_or_default();
    let mut s = format!(
        "# Generated by corral: reverts apply.ps1 for the AppContainer profile {profile}.\n\
         # Removes every ACE of the profile SID on the manifest's paths and its firewall rules.\n{SCRIPT_HEAD}"
    );
    s.push_str(&format!("$ProfileSid = {}\n", ps_quote(sid)));
    s.push_str(&format!("$Group = {}\n", ps_quote(&format!("Corral {profile}"))));
    s.push_str("$Sid = New-Object System.Security.Principal.SecurityIdentifier($ProfileSid)\n$Paths = @(\n");
    let paths: BTreeSet<&str> = aces.iter().map(|a| a.path.as_str()).collect();
    for p in &paths {
        s.push_str(&format!("    {}\n", ps_quote(p)));
    }
    s.push_str(
        r#")
foreach ($path in $Paths) {
    $target = [Environment]::ExpandEnvironmentVariables($path)
    if (-not (Test-Path -LiteralPath $target)) { continue }
    $acl = Get-Acl -LiteralPath $target
    $acl.PurgeAccessRules($Sid)
    Set-Acl -LiteralPath $target -AclObject $acl
}
Get-NetFirewallRule -Group $Group -ErrorAction SilentlyContinue | Remove-NetFirewallRule
"#,
    );
    s
}

fn summary(
    policy: &Policy,
    manifest: &Value,
    aces: &[Ace],
    firewall: &[FirewallRule],
    report: &validate::Report,
    diagnostics: &[corral_compiler::diagnostics::Diagnostic],
    options: &WindowsOptions,
) -> String {
    let mut out = format!(
        "appcontainer manifest for policy `{}`\nprofile: {} ({}){}\n",
        policy.name,
        manifest["profile"]["name"].as_str().unwrap_or_default(),
        manifest["profile"]["sid"].as_str().unwrap_or_default(),
        if options.lpac { ", least privilege" } else { "" },
    );
    let caps = capability_names(manifest);
    out.push_str(&format!(
        "capabilities: {}\n",
        if caps.is_empty() { "none".to_owned() } else { caps.join(", ") }
    ));
    out.push_str("file ACEs:\n");
    if aces.is_empty() {
        out.push_str("  (none)\n");
    }
    for a in aces {
        out.push_str(&format!(
            "  {} {} [{}] {}\n",
            if a.deny { "deny " } else { "allow" },
            a.path,
            a.inheritance.keyword(),
            files::right_words(mask_rights(a.mask)).join(", "),
        ));
    }
    out.push_str(&format!("firewall: {} block rules\n", firewall.len()));
    let flags: Vec<&str> =
        manifest["uiLimits"]["flags"].as_array().into_iter().flatten().filter_map(Value::as_str).collect();
    out.push_str(&format!(
        "ui limits: {} ({})\n",
        manifest["uiLimits"]["maskHex"].as_str().unwrap_or_default(),
        flags.iter().map(|f| f.trim_start_matches("JOB_OBJECT_UILIMIT_")).collect::<Vec<_>>().join(", ")
    ));
    if options.lpac {
        out.push_str("note: existing grants to ALL RESTRICTED APPLICATION PACKAGES (S-1-15-2-2) are outside the model\n");
    } else {
        out.push_str("note: existing grants to ALL APPLICATION PACKAGES (S-1-15-2-1; system directories) are outside the model; `--lpac` drops most\n");
    }
    out.push_str(&report.summary_lines());
    out.push_str(&validate::exact_line(diagnostics));
    out
}

/// The names of the capabilities a manifest grants (`internetClient`, …).
pub(crate) fn capability_names(manifest: &Value) -> Vec<&str> {
    manifest["capabilities"].as_array().into_iter().flatten().filter_map(|c| c["name"].as_str()).collect()
}
