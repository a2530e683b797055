//! The real tools: every emitted ruleset is accepted by `nft -c` inside a
//! throwaway network namespace, and real TCP and UDP traffic between two
//! namespaces joined by a veth pair gets through exactly when the
//! evaluator permits it.
//!
//! The namespaces use only namespace-local addresses (10.200.0.0/24,
//! fd00:200::/64), are named after the process id, and are deleted by a
//! guard, also when a test fails. The servers and probes are this test
//! binary itself, run inside a namespace with `ip netns exec` (the ignored
//! test `helper` is their entry point). Without root or `ip netns`, the
//! traffic test says why and returns.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, clippy::print_stderr, clippy::print_stdout)]

mod common;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{IpAddr, SocketAddr, TcpListener, TcpStream, UdpSocket};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{example_policies, lower_fast, policy, random_policy};
use corral_backend_nftables::{NameMode, NftOptions, lower_to_nftables};
use corral_compiler::eval::{Access, Evaluator};
use corral_compiler::ir::Policy;

const HELPER_ENV: &str = "CORRAL_NFT_HELPER";
const SPEC_ENV: &str = "CORRAL_NFT_SPEC";
const TIMEOUT_ENV: &str = "CORRAL_NFT_TIMEOUT_MS";
/// How long a probe waits; a permitted attempt that timed out is retried
/// once with [`RETRY_TIMEOUT_MS`], so that a loaded machine does not fail
/// the test (a ruleset that drops it still fails it twice).
const PROBE_TIMEOUT_MS: u64 = 700;
const RETRY_TIMEOUT_MS: u64 = 3_000;

/// The peer namespace's addresses (servers for connect, clients for bind).
const PEER: [&str; 5] = ["10.200.0.1", "10.200.0.3", "10.200.0.4", "fd00:200::1", "fd00:200::3"];
/// The agent namespace's addresses, paired with PEER: traffic from the
/// peer to AGENT[i] leaves from PEER[i] (a route with `src`).
const AGENT: [&str; 5] = ["10.200.0.2", "10.200.0.5", "10.200.0.6", "fd00:200::2", "fd00:200::5"];
const TCP_PORTS: [u16; 5] = [22, 80, 443, 5432, 8080];
const UDP_PORTS: [u16; 3] = [53, 123, 5353];
/// Loopback servers in the agent namespace: traffic to them passes both
/// chains, so it needs the connect and the bind.
const LOOPBACK: [&str; 2] = ["127.0.0.1", "::1"];
const LOOPBACK_PORTS: [u16; 2] = [22, 8080];

fn run(cmd: &mut Command) -> Result<String, String> {
    let out = cmd.output().map_err(|e| format!("{cmd:?}: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(format!("{cmd:?}: {}", String::from_utf8_lossy(&out.stderr).trim()))
    }
}

fn nft_available() -> Result<(), String> {
    run(Command::new("nft").arg("--version")).map(|_| ())
}

/// `nft -c -f FILE` (and `-j` for JSON) inside `unshare -rn`.
fn nft_check(path: &std::path::Path, json: bool) -> Result<(), String> {
    let mut cmd = Command::new("unshare");
    cmd.args(["-rn", "nft"]);
    if json {
        cmd.arg("-j");
    }
    cmd.arg("-c").arg("-f").arg(path);
    run(&mut cmd).map(|_| ())
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("corral-nft-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn nft_accepts_every_emitted_ruleset_in_both_forms() {
    if let Err(why) = nft_available() {
        // CI installs nftables (.ci/run); elsewhere say why nothing ran.
        eprintln!("skipped: nft is not available: {why}");
        return;
    }
    if let Err(why) = run(Command::new("unshare").args(["-rn", "true"])) {
        eprintln!("skipped: cannot make a network namespace: {why}");
        return;
    }
    let dir = scratch("check");
    let mut rulesets = Vec::new();
    for (stem, p) in example_policies() {
        rulesets.push((format!("{stem}-{}", p.name), lower_fast(&p)));
        if p.proxy.is_some() {
            let options =
                NftOptions { mode: NameMode::Proxy, validate_timeout_ms: None, ..NftOptions::default() };
            rulesets.push((format!("{stem}-{}-proxy", p.name), lower_to_nftables(&p, &options).unwrap()));
        }
    }
    for seed in 0..20 {
        rulesets.push((format!("random-{seed}"), lower_fast(&policy(&random_policy(seed)))));
    }
    let mut checked = 0;
    for (name, l) in &rulesets {
        let text = dir.join(format!("{name}.nft"));
        let json = dir.join(format!("{name}.json"));
        std::fs::write(&text, &l.text).unwrap();
        std::fs::write(&json, serde_json::to_string(&l.json).unwrap()).unwrap();
        nft_check(&text, false).unwrap_or_else(|e| panic!("{name}: {e}\n{}", l.text));
        nft_check(&json, true).unwrap_or_else(|e| panic!("{name} (json): {e}"));
        checked += 2;
    }
    // A broken ruleset is rejected: the check is real.
    let broken = dir.join("broken.nft");
    std::fs::write(&broken, rulesets[0].1.text.replace("policy drop;", "policy maybe;")).unwrap();
    assert!(nft_check(&broken, false).is_err());
    let _ = std::fs::remove_dir_all(&dir);
    assert!(checked >= 2 * 25);
}

// ---------------------------------------------------------------------
// Helpers that run inside a namespace.

/// Entry point of the helper processes (`serve` and `probe`); does nothing
/// when run as a test.
#[test]
#[ignore = "run by the real-traffic test inside a network namespace"]
fn helper() {
    let spec = std::env::var(SPEC_ENV).unwrap_or_default();
    match std::env::var(HELPER_ENV).as_deref() {
        Ok("serve") => serve(&spec),
        Ok("probe") => probe(&spec),
        _ => {}
    }
}

/// Listens on every `PROTO ADDR PORT` line; answers UDP datagrams with an
/// echo; prints `READY` and runs until stdin closes.
fn serve(spec: &str) {
    for line in spec.lines().filter(|l| !l.is_empty()) {
        let mut parts = line.split(' ');
        let (proto, addr, port) = (parts.next().unwrap(), parts.next().unwrap(), parts.next().unwrap());
        let sa = SocketAddr::new(addr.parse().unwrap(), port.parse().unwrap());
        if proto == "tcp" {
            let listener = TcpListener::bind(sa).unwrap_or_else(|e| panic!("{sa}: {e}"));
            std::thread::spawn(move || {
                for stream in listener.incoming() {
                    drop(stream);
                }
            });
        } else {
            let socket = UdpSocket::bind(sa).unwrap_or_else(|e| panic!("{sa}: {e}"));
            std::thread::spawn(move || {
                let mut buf = [0u8; 64];
                while let Ok((n, from)) = socket.recv_from(&mut buf) {
                    let _ = socket.send_to(&buf[..n], from);
                }
            });
        }
    }
    println!("\nREADY");
    std::io::stdout().flush().unwrap();
    let mut sink = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut sink);
}

/// Tries every `PROTO SRC DST PORT [SPORT]` line at once (SRC `-` for any)
/// and prints `RESULT INDEX ok|fail`. UDP probes name their source port,
/// so that no probe reuses a flow that conntrack still knows from an
/// earlier ruleset (it would pass as established).
fn probe(spec: &str) {
    let ms = std::env::var(TIMEOUT_ENV).ok().and_then(|t| t.parse().ok()).unwrap_or(PROBE_TIMEOUT_MS);
    let timeout = Duration::from_millis(ms);
    let lines: Vec<String> = spec.lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
    let handles: Vec<_> = lines
        .into_iter()
        .map(|line| {
            std::thread::spawn(move || {
                let p: Vec<&str> = line.split(' ').collect();
                let dst = SocketAddr::new(p[2].parse().unwrap(), p[3].parse().unwrap());
                if p[0] == "tcp" {
                    TcpStream::connect_timeout(&dst, timeout).is_ok()
                } else {
                    let src: IpAddr = if p[1] == "-" {
                        if dst.is_ipv4() { "0.0.0.0".parse().unwrap() } else { "::".parse().unwrap() }
                    } else {
                        p[1].parse().unwrap()
                    };
                    let sport: u16 = p.get(4).map_or(0, |s| s.parse().unwrap());
                    let Ok(socket) = UdpSocket::bind(SocketAddr::new(src, sport)) else { return false };
                    let _ = socket.set_read_timeout(Some(timeout));
                    if socket.send_to(b"corral", dst).is_err() {
                        return false;
                    }
                    let mut buf = [0u8; 16];
                    matches!(socket.recv_from(&mut buf), Ok((6, from)) if from == dst)
                }
            })
        })
        .collect();
    for (i, h) in handles.into_iter().enumerate() {
        let ok = h.join().unwrap_or(false);
        println!("\nRESULT {i} {}", if ok { "ok" } else { "fail" });
    }
}

// ---------------------------------------------------------------------
// The namespaces.

static NEXT: AtomicUsize = AtomicUsize::new(0);
/// UDP source ports, never reused within a run.
static SPORT: AtomicUsize = AtomicUsize::new(0);

fn udp_sport() -> String {
    (20_000 + SPORT.fetch_add(1, Ordering::SeqCst) % 40_000).to_string()
}

/// Two namespaces joined by a veth pair, with servers on both sides;
/// dropping it kills the servers and deletes the namespaces.
struct Netns {
    agent: String,
    peer: String,
    servers: Vec<Child>,
}

impl Drop for Netns {
    fn drop(&mut self) {
        for child in &mut self.servers {
            let _ = child.kill();
            let _ = child.wait();
        }
        for ns in [&self.agent, &self.peer] {
            let _ = Command::new("ip").args(["netns", "del", ns]).output();
        }
    }
}

fn helper_command(ns: &str, role: &str, spec: &str) -> Command {
    let exe = std::env::current_exe().unwrap();
    let mut cmd = Command::new("ip");
    cmd.args(["netns", "exec", ns]).arg(exe).args([
        "helper",
        "--exact",
        "--ignored",
        "--nocapture",
        "--test-threads=1",
    ]);
    cmd.env(HELPER_ENV, role).env(SPEC_ENV, spec);
    cmd
}

impl Netns {
    fn new() -> Result<Netns, String> {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let base = format!("cnft{}x{n}", std::process::id());
        let ns = Netns { agent: format!("{base}a"), peer: format!("{base}p"), servers: Vec::new() };
        run(Command::new("ip").args(["netns", "add", &ns.agent]))?;
        run(Command::new("ip").args(["netns", "add", &ns.peer]))?;
        let (a, p) = (ns.agent.as_str(), ns.peer.as_str());
        let ip = |ns: &str, args: &str| -> Result<String, String> {
            run(Command::new("ip").args(["-n", ns]).args(args.split(' ')))
        };
        run(Command::new("ip")
            .args(["-n", a, "link", "add", "va", "type", "veth", "peer", "name", "vp", "netns", p]))?;
        for (ns_name, dev, addrs) in [(a, "va", AGENT), (p, "vp", PEER)] {
            for addr in addrs {
                if addr.contains(':') {
                    ip(ns_name, &format!("-6 addr add {addr}/64 dev {dev} nodad"))?;
                } else {
                    ip(ns_name, &format!("addr add {addr}/24 dev {dev}"))?;
                }
            }
            ip(ns_name, &format!("link set {dev} up"))?;
            ip(ns_name, "link set lo up")?;
        }
        // Traffic from the peer to AGENT[i] leaves from PEER[i].
        for (agent, peer) in AGENT.iter().zip(PEER) {
            let six = if agent.contains(':') { "-6 " } else { "" };
            let len = if agent.contains(':') { 128 } else { 32 };
            ip(p, &format!("{six}route add {agent}/{len} dev vp src {peer}"))?;
        }
        Ok(ns)
    }

    fn start_server(&mut self, ns: &str, spec: &str) -> Result<(), String> {
        let mut child = helper_command(ns, "serve", spec)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| e.to_string())?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        self.servers.push(child);
        let ready =
            BufReader::new(stdout).lines().map_while(Result::ok).any(|l| l.trim_end().ends_with("READY"));
        if ready { Ok(()) } else { Err(format!("the server in {ns} did not start")) }
    }

    /// Runs the probes in `ns`; true for each attempt that got through.
    fn probe(&self, ns: &str, attempts: &[String], timeout_ms: u64) -> Vec<bool> {
        if attempts.is_empty() {
            return Vec::new();
        }
        let out = helper_command(ns, "probe", &attempts.join("\n"))
            .env(TIMEOUT_ENV, timeout_ms.to_string())
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        let mut results = vec![None; attempts.len()];
        for line in text.lines() {
            // libtest prints the helper's output after `test helper ... `.
            let Some((_, rest)) = line.split_once("RESULT ") else { continue };
            let (i, r) = rest.split_once(' ').unwrap();
            results[i.parse::<usize>().unwrap()] = Some(r == "ok");
        }
        results.into_iter().map(|r| r.expect("every probe reports")).collect()
    }
}

fn bracket(addr: &str) -> String {
    if addr.contains(':') { format!("[{addr}]") } else { addr.to_owned() }
}

/// One attempt: the probe line, where it runs, and the evaluator's verdict.
struct Attempt {
    line: String,
    from_agent: bool,
    what: String,
    permitted: bool,
}

fn attempts(policy: &Policy) -> Vec<Attempt> {
    let eval = Evaluator::new(policy);
    let permitted = |a: &str| eval.decide(&Access::parse(a, "/home/u").unwrap()).permitted;
    let mut out = Vec::new();
    for (proto, ports) in [("tcp", &TCP_PORTS[..]), ("udp", &UDP_PORTS[..])] {
        for (&agent, &peer) in AGENT.iter().zip(PEER.iter()) {
            for &port in ports {
                // The agent connects to the peer's servers.
                let what = format!("connect {proto} {}:{port}", bracket(peer));
                let sport = if proto == "udp" { udp_sport() } else { String::new() };
                out.push(Attempt {
                    line: format!("{proto} - {peer} {port} {sport}").trim_end().to_owned(),
                    from_agent: true,
                    permitted: permitted(&what),
                    what,
                });
                // The peer connects to the agent's servers, from PEER[i].
                let what = format!("bind {proto} {port} from {peer}");
                let sport = if proto == "udp" { udp_sport() } else { String::new() };
                out.push(Attempt {
                    line: format!("{proto} {peer} {agent} {port} {sport}").trim_end().to_owned(),
                    from_agent: false,
                    permitted: permitted(&what),
                    what,
                });
            }
        }
    }
    for addr in LOOPBACK {
        for port in LOOPBACK_PORTS {
            let connect = format!("connect tcp {}:{port}", bracket(addr));
            let bind = format!("bind tcp {port} from {addr}");
            out.push(Attempt {
                line: format!("tcp - {addr} {port}"),
                from_agent: true,
                permitted: permitted(&connect) && permitted(&bind),
                what: format!("{connect} and {bind}"),
            });
        }
    }
    out
}

fn server_spec(addrs: &[&str], loopback: bool) -> String {
    let mut spec = String::new();
    for addr in addrs.iter().chain(if loopback { &LOOPBACK[..] } else { &[] }) {
        let tcp: &[u16] = if LOOPBACK.contains(addr) { &LOOPBACK_PORTS } else { &TCP_PORTS };
        for port in tcp {
            spec.push_str(&format!("tcp {addr} {port}\n"));
        }
        if !LOOPBACK.contains(addr) {
            for port in UDP_PORTS {
                spec.push_str(&format!("udp {addr} {port}\n"));
            }
        }
    }
    spec
}

/// Applies `policy`'s ruleset in the agent namespace and checks every
/// attempt against the evaluator; returns (attempts, permitted ones).
fn check_policy(
    ns: &Netns,
    name: &str,
    policy: &Policy,
    text: &str,
    dir: &std::path::Path,
) -> Result<(usize, usize), String> {
    let file = dir.join(format!("{name}.nft"));
    std::fs::write(&file, text).unwrap();
    run(Command::new("ip").args(["netns", "exec", &ns.agent, "nft", "-f"]).arg(&file))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let all = attempts(policy);
    let (from_agent, from_peer): (Vec<&Attempt>, Vec<&Attempt>) = all.iter().partition(|a| a.from_agent);
    let agent_lines: Vec<String> = from_agent.iter().map(|a| a.line.clone()).collect();
    let peer_lines: Vec<String> = from_peer.iter().map(|a| a.line.clone()).collect();
    let mut got_agent = ns.probe(&ns.agent, &agent_lines, PROBE_TIMEOUT_MS);
    let mut got_peer = ns.probe(&ns.peer, &peer_lines, PROBE_TIMEOUT_MS);
    for (side, attempts, got) in
        [(&ns.agent, &from_agent, &mut got_agent), (&ns.peer, &from_peer, &mut got_peer)]
    {
        let retry: Vec<usize> = (0..attempts.len()).filter(|&i| attempts[i].permitted && !got[i]).collect();
        let lines: Vec<String> = retry.iter().map(|&i| attempts[i].line.clone()).collect();
        for (i, ok) in retry.iter().zip(ns.probe(side, &lines, RETRY_TIMEOUT_MS)) {
            got[*i] = ok;
        }
    }
    let mut wrong = Vec::new();
    for (a, got) in from_agent.iter().zip(got_agent).chain(from_peer.iter().zip(got_peer)) {
        if a.permitted != got {
            wrong.push(format!("{} — evaluator: {}, traffic: {}", a.what, a.permitted, got));
        }
    }
    if !wrong.is_empty() {
        return Err(format!("{name}: traffic disagrees with the evaluator:\n{}\n{text}", wrong.join("\n")));
    }
    Ok((all.len(), all.iter().filter(|a| a.permitted).count()))
}

#[test]
fn real_traffic_gets_through_exactly_when_the_evaluator_permits_it() {
    if let Err(why) = nft_available() {
        eprintln!("skipped: nft is not available: {why}");
        return;
    }
    let mut ns = match Netns::new() {
        Ok(ns) => ns,
        Err(why) => {
            // Needs root (CI runs as root); say why nothing ran.
            eprintln!("skipped: cannot set up network namespaces: {why}");
            return;
        }
    };
    let (agent, peer) = (ns.agent.clone(), ns.peer.clone());
    ns.start_server(&peer, &server_spec(&PEER, false)).unwrap();
    ns.start_server(&agent, &server_spec(&AGENT, true)).unwrap();
    let dir = scratch("traffic");

    // Without a ruleset everything gets through: the servers and probes work.
    let open = policy("policy open {\n    allow connect any:*\n    allow bind *\n}");
    let (total, permitted) = check_policy(&ns, "open", &open, &lower_fast(&open).text, &dir).unwrap();
    assert_eq!(total, permitted, "the open policy permits every attempt");
    // A ruleset that does not match its policy is caught.
    let closed = policy("policy closed {\n    allow connect tcp \"10.200.0.1\":22\n}");
    let err = check_policy(&ns, "mismatch", &closed, &lower_fast(&open).text, &dir).unwrap_err();
    assert!(err.contains("connect tcp 10.200.0.3:22 — evaluator: false, traffic: true"), "{err}");

    let mut policies: Vec<(String, Policy)> =
        example_policies().into_iter().map(|(stem, p)| (format!("{stem}-{}", p.name), p)).collect();
    for seed in 0..50 {
        policies.push((format!("random-{seed}"), policy(&random_policy(seed))));
    }
    let (mut attempts_total, mut permitted_total) = (0, 0);
    for (name, p) in &policies {
        let (t, ok) = check_policy(&ns, name, p, &lower_fast(p).text, &dir).unwrap();
        attempts_total += t;
        permitted_total += ok;
    }
    // The JSON form behaves the same (applied with `nft -j -f`).
    for (name, p) in policies.iter().take(12) {
        let file = dir.join(format!("{name}.json"));
        std::fs::write(&file, serde_json::to_string(&lower_fast(p).json).unwrap()).unwrap();
        run(Command::new("ip").args(["netns", "exec", &agent, "nft", "-j", "-f"]).arg(&file)).unwrap();
        let listed =
            run(Command::new("ip").args(["netns", "exec", &agent, "nft", "list", "table", "inet", "corral"]))
                .unwrap();
        let expected = {
            let text_file = dir.join(format!("{name}.nft"));
            run(Command::new("ip").args(["netns", "exec", &agent, "nft", "-f"]).arg(&text_file)).unwrap();
            run(Command::new("ip").args(["netns", "exec", &agent, "nft", "list", "table", "inet", "corral"]))
                .unwrap()
        };
        assert_eq!(listed, expected, "{name}: the JSON and text forms load the same ruleset");
    }
    let _ = std::fs::remove_dir_all(&dir);
    println!("{} policies, {attempts_total} attempts, {permitted_total} permitted", policies.len());
    assert!(permitted_total > 0 && permitted_total < attempts_total, "both outcomes occur");
}
