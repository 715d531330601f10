//! `cargo xtask bench`: smartex-ipn side by side with the Node.js peer.
//!
//! * **verify one IPN** — the criterion median of `smartex_ipn/receive_sample`
//!   (parse + verify of the sample body through the public API) next to
//!   `tools/node/verify-bench.js` (`qs.parse` + `crypto`, the docs' code),
//!   and the ratio (goal ≥ 25×); the core's parse + verify alone
//!   (`smartex_ipn/core_parse_and_verify_sample`) is shown beside it.
//! * **receiver under load** — the hyper example receiver (release build; once
//!   with one tokio worker, like Node's one thread, once with the default
//!   workers) and `tools/node/receiver.js` on 127.0.0.1, each under the same
//!   bounded load (`SMARTEX_BENCH_LOAD_SECONDS`, default 10 s, after a 1 s
//!   warm-up; `SMARTEX_BENCH_CONNECTIONS` keep-alive connections, default 16),
//!   POSTing one freshly signed IPN: req/s, p50, p99 and the ratio (goal ≥ 3×).
//!   The load comes from a small generator in this file, and also from `wrk`
//!   when it is on PATH; each tool gets its own table.
//!
//! Both need Node.js (`tools/node/ensure.sh` installs `qs`); without it they
//! fail, saying how to install it.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::{Result, capture, cargo, run};

/// The criterion benchmark whose median is compared.
const CRITERION_ID: &str = "smartex_ipn/receive_sample";
/// The core's parse + verify alone, measured in the same benchmark binary.
const CORE_ID: &str = "smartex_ipn/core_parse_and_verify_sample";
/// Goals from the issue.
const VERIFY_GOAL: f64 = 25.0;
const LOAD_GOAL: f64 = 3.0;

/// Suite: verification of one IPN, Rust (criterion) vs Node.
pub(crate) fn verify_vs_node(root: &Path, extra: &[String]) -> Result {
    let filter = format!("^({CRITERION_ID}|{CORE_ID})$");
    run(cargo(root)
        .args([
            "bench",
            "-p",
            "smartex-ipn",
            "--bench",
            "ipn",
            "--",
            &filter,
        ])
        .args(extra))?;
    let rust_ns = criterion_median(root, CRITERION_ID)?;
    let core_ns = criterion_median(root, CORE_ID)?;

    ensure_node(root)?;
    let node_dir = root.join("tools/node");
    let mut node = Command::new("node");
    node.arg("verify-bench.js").current_dir(&node_dir);
    println!("$ (cd tools/node && node verify-bench.js)");
    let line = capture(&mut node)?;
    let node_json: Value = serde_json::from_str(line.trim())
        .map_err(|e| format!("verify-bench.js printed {line:?}: {e}"))?;
    let node_ns = node_json["median_ns"]
        .as_f64()
        .ok_or_else(|| format!("no median_ns in {line:?}"))?;

    let ratio = node_ns / rust_ns;
    println!();
    println!("verify one IPN (the sample body, parse + verify, median per verification):");
    println!(
        "  Rust smartex-ipn   {rust_ns:>10.1} ns   criterion {CRITERION_ID} (the receiver's public API)"
    );
    println!("  Rust core only     {core_ns:>10.1} ns   criterion {CORE_ID} (parse_form + verify)");
    println!(
        "  Node qs + crypto   {node_ns:>10.1} ns   verify-bench.js: {} rounds x {} in {} processes, node {}, qs {}",
        node_json["rounds"],
        node_json["batch"],
        node_json["processes"],
        node_json["node"],
        node_json["qs"]
    );
    println!(
        "  ratio Node / smartex-ipn {ratio:>6.1}x   (goal >= {VERIFY_GOAL}x){}",
        if ratio >= VERIFY_GOAL {
            ""
        } else {
            "  BELOW GOAL"
        }
    );
    println!("  ratio Node / core only   {:>6.1}x", node_ns / core_ns);
    Ok(())
}

/// The median of a criterion benchmark's last run, in ns.
fn criterion_median(root: &Path, id: &str) -> Result<f64> {
    let estimates = target_dir(root)
        .join("criterion")
        .join(id)
        .join("new")
        .join("estimates.json");
    let text = std::fs::read_to_string(&estimates)
        .map_err(|e| format!("cannot read {}: {e}", estimates.display()))?;
    let json: Value = serde_json::from_str(&text)
        .map_err(|e| format!("{} is not JSON: {e}", estimates.display()))?;
    json["median"]["point_estimate"]
        .as_f64()
        .ok_or_else(|| format!("no median.point_estimate in {}", estimates.display()))
}

/// Suite: the hyper example receiver vs the Node receiver under load.
pub(crate) fn load_vs_node(root: &Path, _extra: &[String]) -> Result {
    let seconds = env_number("SMARTEX_BENCH_LOAD_SECONDS", 10)?;
    let connections = env_number("SMARTEX_BENCH_CONNECTIONS", 16)?;
    let duration = Duration::from_secs(seconds);
    ensure_node(root)?;
    run(cargo(root).args([
        "build",
        "--release",
        "-p",
        "smartex-ipn",
        "--example",
        "hyper_receiver",
    ]))?;
    let body = fresh_body(root)?;
    let hyper_bin = target_dir(root).join("release/examples/hyper_receiver");

    println!(
        "\nload: {connections} keep-alive connections, {seconds} s per server after a 1 s warm-up, \
         POST of one signed IPN ({} bytes) to /ipn; everything on 127.0.0.1 on this machine",
        body.len()
    );
    let mut runs: Vec<(&str, Vec<(&'static str, Load)>)> = Vec::new();
    for (name, workers) in [
        ("hyper example, 1 worker", Some("1")),
        ("hyper example, default workers", None),
    ] {
        let mut cmd = Command::new(&hyper_bin);
        cmd.args(["--port", "0"]);
        if let Some(w) = workers {
            cmd.env("TOKIO_WORKER_THREADS", w);
        }
        let server = Server::start(cmd, name)?;
        runs.push((name, measure(&server, &body, connections, duration)?));
    }
    let mut node = Command::new("node");
    node.args(["receiver.js", "--port", "0", "--exit-on-stdin-eof"])
        .current_dir(root.join("tools/node"));
    let node_name = "Node http + qs receiver.js";
    let server = Server::start(node, node_name)?;
    runs.push((node_name, measure(&server, &body, connections, duration)?));
    drop(server);

    let tools: Vec<&str> = runs
        .first()
        .map(|(_, r)| r.iter().map(|(tool, _)| *tool).collect())
        .unwrap_or_default();
    let mut failed = false;
    for tool in tools {
        println!(
            "
  load tool: {tool}"
        );
        println!(
            "  {:<34} {:>10} {:>9} {:>9} {:>9} {:>8}",
            "server", "req/s", "p50 µs", "p99 µs", "non-200", "errors"
        );
        let of = |name: &str| {
            runs.iter()
                .find(|(n, _)| *n == name)
                .and_then(|(_, r)| r.iter().find(|(t, _)| *t == tool))
                .map(|(_, load)| load.clone())
                .unwrap_or_default()
        };
        for (name, _) in &runs {
            let r = of(name);
            println!(
                "  {name:<34} {:>10.0} {:>9} {:>9} {:>9} {:>8}",
                r.per_second, r.p50_us, r.p99_us, r.non_200, r.errors
            );
            failed |= r.non_200 > 0 || r.requests == 0;
        }
        let node_rps = of(node_name).per_second.max(1.0);
        for (name, _) in runs.iter().filter(|(n, _)| *n != node_name) {
            let ratio = of(name).per_second / node_rps;
            println!(
                "  ratio {name} / Node: {ratio:.1}x req/s (goal >= {LOAD_GOAL}x){}",
                if ratio >= LOAD_GOAL {
                    ""
                } else {
                    "  BELOW GOAL"
                }
            );
        }
    }
    if failed {
        return Err("a server answered something other than 200, or nothing at all".to_owned());
    }
    Ok(())
}

/// `CARGO_TARGET_DIR` or `<root>/target`.
fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from)
}

fn env_number(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => v
            .parse::<u64>()
            .ok()
            .filter(|n| (1..=3600).contains(n))
            .ok_or_else(|| format!("{name}={v:?} is not a number from 1 to 3600")),
        Err(_) => Ok(default),
    }
}

/// Runs `tools/node/ensure.sh`; a missing node is an error that says so.
fn ensure_node(root: &Path) -> Result {
    let status = Command::new("bash")
        .arg(root.join("tools/node/ensure.sh"))
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("could not run tools/node/ensure.sh: {e}"))?;
    match status.code() {
        Some(0) => Ok(()),
        Some(3) => Err(
            "the Node.js comparison needs Node.js >= 20 with npm on PATH \
             (Debian/Ubuntu: apt-get install -y nodejs npm); see tools/node/README.md"
                .to_owned(),
        ),
        _ => Err(format!("tools/node/ensure.sh failed ({status})")),
    }
}

/// The sample IPN with the current time as its timestamp, signed with
/// `SECRET123` by the Node peer (`qs.stringify` + the docs' checksum), so the
/// receivers' timestamp window accepts it.
fn fresh_body(root: &Path) -> Result<String> {
    const SCRIPT: &str = r#"
const qs = require('qs');
const { checksum, KNOWN_ANSWER } = require('./lib');
const f = { ...KNOWN_ANSWER.fields, timestamp: String(Date.now()) };
const body = qs.stringify({
  orderUID: 104857, ...f,
  toValues: [{ key: 'wallet', name: 'Wallet', value: 'Z123456789012' },
             { key: 'email', name: 'E-mail', value: 'customer.name@example.com' }],
  hash: checksum(f, KNOWN_ANSWER.secret),
});
process.stdout.write(body);
"#;
    let mut node = Command::new("node");
    node.args(["-e", SCRIPT])
        .current_dir(root.join("tools/node"));
    capture(&mut node)
}

/// A receiver process started by this suite, stopped when dropped.
struct Server {
    child: Child,
    /// Kept open for `--exit-on-stdin-eof`; closed on drop.
    stdin: Option<ChildStdin>,
    addr: SocketAddr,
}

impl Server {
    /// Starts `cmd` and waits (10 s at most) for `{"listening":"http://…"}`.
    fn start(mut cmd: Command, name: &str) -> Result<Server> {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("could not start {name}: {e}"))?;
        let stdin = child.stdin.take();
        let stdout = child.stdout.take();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut line = String::new();
            if let Some(out) = stdout {
                let mut reader = BufReader::new(out);
                let _ = reader.read_line(&mut line);
                let _ = tx.send(line);
                // Keep draining so the server never blocks on a full pipe.
                let _ = std::io::copy(&mut reader, &mut std::io::sink());
            }
        });
        let mut server = Server {
            child,
            stdin,
            addr: SocketAddr::from(([127, 0, 0, 1], 0)),
        };
        let line = rx
            .recv_timeout(Duration::from_secs(10))
            .map_err(|_| format!("{name} did not say where it listens within 10 s"))?;
        let url = serde_json::from_str::<Value>(line.trim())
            .ok()
            .and_then(|v| v["listening"].as_str().map(str::to_owned))
            .ok_or_else(|| format!("{name} printed {line:?}, not {{\"listening\":…}}"))?;
        server.addr = url
            .trim_start_matches("http://")
            .parse()
            .map_err(|e| format!("{name} listens on {url:?}: {e}"))?;
        println!("started {name} on {}", server.addr);
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        drop(self.stdin.take());
        // This process started the child; stop exactly it.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What one load run measured.
#[derive(Clone, Debug, Default)]
struct Load {
    requests: u64,
    per_second: f64,
    p50_us: u64,
    p99_us: u64,
    non_200: u64,
    errors: u64,
}

/// For each load tool (the built-in generator, and `wrk` when installed): a
/// 1 s warm-up, then `duration` of load.
fn measure(
    server: &Server,
    body: &str,
    connections: u64,
    duration: Duration,
) -> Result<Vec<(&'static str, Load)>> {
    let request = format!(
        "POST /ipn HTTP/1.1\r\nHost: {}\r\nContent-Type: application/x-www-form-urlencoded\r\n\
         Content-Length: {}\r\n\r\n{body}",
        server.addr,
        body.len()
    );
    let first = one_request(server.addr, request.as_bytes())?;
    if first != 200 {
        return Err(format!(
            "{} answered {first} to the first request",
            server.addr
        ));
    }
    let warm_up = Duration::from_secs(1);
    load(server.addr, request.as_bytes(), connections, warm_up);
    let mut results = vec![(
        BUILT_IN,
        load(server.addr, request.as_bytes(), connections, duration),
    )];
    if wrk_installed() {
        wrk(server.addr, body, connections, warm_up);
        if let Some(r) = wrk(server.addr, body, connections, duration) {
            results.push((WRK, r));
        }
    }
    Ok(results)
}

/// Names of the load tools in the report.
const BUILT_IN: &str =
    "built-in (xtask: 2 threads, blocking keep-alive sockets, write-all-then-read-all)";
const WRK: &str = "wrk -t2 --latency";

fn one_request(addr: SocketAddr, request: &[u8]) -> Result<u16> {
    let mut conn = Conn::open(addr).map_err(|e| format!("connect {addr}: {e}"))?;
    conn.send(request)
        .and_then(|()| conn.receive())
        .map_err(|e| format!("request to {addr}: {e}"))
}

/// Two threads share the `connections` keep-alive connections; each thread
/// writes the request on all of its connections, then reads every answer,
/// and again, until `duration` has passed: `connections` requests in flight
/// with few threads, so the generator takes little CPU from the server.
fn load(addr: SocketAddr, request: &[u8], connections: u64, duration: Duration) -> Load {
    const THREADS: u64 = 2;
    let stop = Arc::new(AtomicBool::new(false));
    let request: Arc<[u8]> = Arc::from(request);
    let started = Instant::now();
    let threads: Vec<_> = (0..THREADS)
        .map(|t| {
            let share = connections / THREADS + u64::from(t < connections % THREADS);
            let stop = Arc::clone(&stop);
            let request = Arc::clone(&request);
            std::thread::spawn(move || worker(addr, &request, share, &stop))
        })
        .collect();
    std::thread::sleep(duration);
    stop.store(true, Ordering::Relaxed);
    let mut latencies = Vec::new();
    let mut total = Load::default();
    for t in threads {
        if let Ok((lat, non_200, errors)) = t.join() {
            latencies.extend(lat);
            total.non_200 += non_200;
            total.errors += errors;
        } else {
            total.errors += 1;
        }
    }
    let elapsed = started.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((latencies.len() as f64 - 1.0) * p).round() as usize;
        latencies.get(i).copied().unwrap_or(0)
    };
    total.requests = latencies.len() as u64;
    total.per_second = total.requests as f64 / elapsed;
    total.p50_us = pct(0.50);
    total.p99_us = pct(0.99);
    total
}

/// One thread's loop over its `share` of connections: latencies (µs) of
/// successful exchanges, non-200 answers and errors. Bounded by `stop` and by
/// 5 s socket timeouts.
fn worker(addr: SocketAddr, request: &[u8], share: u64, stop: &AtomicBool) -> (Vec<u64>, u64, u64) {
    let mut latencies = Vec::with_capacity(1 << 18);
    let (mut non_200, mut errors) = (0, 0);
    let mut conns: Vec<Option<Conn>> = (0..share).map(|_| None).collect();
    let mut sent: Vec<Option<Instant>> = vec![None; conns.len()];
    while !stop.load(Ordering::Relaxed) {
        for (slot, at) in conns.iter_mut().zip(sent.iter_mut()) {
            *at = None;
            if slot.is_none() {
                *slot = Conn::open(addr).ok();
            }
            let Some(conn) = slot.as_mut() else {
                errors += 1;
                continue;
            };
            let t = Instant::now();
            match conn.send(request) {
                Ok(()) => *at = Some(t),
                Err(_) => {
                    errors += 1;
                    *slot = None;
                }
            }
        }
        for (slot, at) in conns.iter_mut().zip(&sent) {
            let (Some(conn), Some(t)) = (slot.as_mut(), at) else {
                continue;
            };
            match conn.receive() {
                Ok(status) => {
                    latencies.push(t.elapsed().as_micros() as u64);
                    if status != 200 {
                        non_200 += 1;
                    }
                }
                Err(_) => {
                    errors += 1;
                    *slot = None;
                }
            }
        }
        if conns.iter().all(Option::is_none) {
            std::thread::sleep(Duration::from_millis(10));
        }
    }
    (latencies, non_200, errors)
}

/// A keep-alive HTTP/1.1 connection that reads `Content-Length` answers.
struct Conn {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl Conn {
    fn open(addr: SocketAddr) -> std::io::Result<Conn> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(5)))?;
        stream.set_write_timeout(Some(Duration::from_secs(5)))?;
        Ok(Conn {
            stream,
            buf: Vec::with_capacity(4096),
        })
    }

    /// Sends one request.
    fn send(&mut self, request: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(request)
    }

    /// Reads one answer; returns its status.
    fn receive(&mut self) -> std::io::Result<u16> {
        use std::io::{Error, ErrorKind};
        self.buf.clear();
        let mut chunk = [0u8; 4096];
        let head_end = loop {
            if let Some(i) = find(&self.buf, b"\r\n\r\n") {
                break i + 4;
            }
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(Error::new(ErrorKind::UnexpectedEof, "closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        };
        let head = String::from_utf8_lossy(&self.buf[..head_end]).into_owned();
        let status = head
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no status"))?;
        let length: usize = head
            .lines()
            .find_map(|l| {
                let (name, value) = l.split_once(':')?;
                name.eq_ignore_ascii_case("content-length")
                    .then(|| value.trim().parse().ok())?
            })
            .ok_or_else(|| Error::new(ErrorKind::InvalidData, "no content-length"))?;
        while self.buf.len() < head_end + length {
            let n = self.stream.read(&mut chunk)?;
            if n == 0 {
                return Err(Error::new(ErrorKind::UnexpectedEof, "closed"));
            }
            self.buf.extend_from_slice(&chunk[..n]);
        }
        Ok(status)
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn wrk_installed() -> bool {
    Command::new("wrk")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok()
}

/// Runs `wrk` with the same request (2 threads, `connections` connections);
/// `None` if it cannot run or its output is not understood.
fn wrk(addr: SocketAddr, body: &str, connections: u64, duration: Duration) -> Option<Load> {
    let script = std::env::temp_dir().join(format!("smartex-ipn-wrk-{}.lua", std::process::id()));
    let lua = format!(
        "wrk.method = \"POST\"\nwrk.body = \"{body}\"\n\
         wrk.headers[\"Content-Type\"] = \"application/x-www-form-urlencoded\"\n"
    );
    std::fs::write(&script, lua).ok()?;
    let output = Command::new("wrk")
        .arg("-t2")
        .arg(format!("-c{connections}"))
        .arg(format!("-d{}s", duration.as_secs()))
        .arg("--latency")
        .arg("-s")
        .arg(&script)
        .arg(format!("http://{addr}/ipn"))
        .stdin(Stdio::null())
        .output()
        .ok();
    let _ = std::fs::remove_file(&script);
    let text = String::from_utf8_lossy(&output?.stdout).into_owned();
    let field = |prefix: &str| {
        text.lines()
            .find_map(|l| l.trim().strip_prefix(prefix))
            .map(str::trim)
    };
    let per_second = field("Requests/sec:")?.parse().ok()?;
    let requests = text
        .lines()
        .find(|l| l.contains("requests in"))
        .and_then(|l| l.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0);
    Some(Load {
        requests,
        per_second,
        p50_us: field("50%").and_then(micros).unwrap_or(0),
        p99_us: field("99%").and_then(micros).unwrap_or(0),
        non_200: field("Non-2xx or 3xx responses:")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0),
        errors: field("Socket errors:").map_or(0, |_| 1),
    })
}

/// wrk's latency text (`850.00us`, `1.23ms`, `2.00s`) in whole microseconds.
fn micros(text: &str) -> Option<u64> {
    let (number, scale) = if let Some(n) = text.strip_suffix("us") {
        (n, 1.0)
    } else if let Some(n) = text.strip_suffix("ms") {
        (n, 1_000.0)
    } else if let Some(n) = text.strip_suffix('s') {
        (n, 1_000_000.0)
    } else {
        return None;
    };
    let value: f64 = number.parse().ok()?;
    Some((value * scale).round() as u64)
}

#[cfg(test)]
mod tests {
    use super::micros;

    #[test]
    fn reads_wrk_latencies() {
        assert_eq!(micros("850.00us"), Some(850));
        assert_eq!(micros("1.23ms"), Some(1_230));
        assert_eq!(micros("2.00s"), Some(2_000_000));
        assert_eq!(micros("fast"), None);
    }
}
