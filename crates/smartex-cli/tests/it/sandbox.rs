//! `smartex sandbox`: run as a process, used over loopback HTTP, stopped with
//! Ctrl-C.

use serde_json::Value;
use smartex_sandbox::{TEST_API_KEY, TEST_API_SECRET};

use crate::{Spawned, WMZ_WALLET, smartex, smartex_std, stderr, stdout};

#[test]
fn the_sandbox_command_serves_until_ctrl_c() {
    let mut cmd = smartex_std();
    cmd.args([
        "sandbox",
        "--listen",
        "127.0.0.1:0",
        "--step-ms",
        "20",
        "--json",
    ]);
    let mut sandbox = Spawned::start(cmd);
    let info: Value = serde_json::from_str(&sandbox.line()).unwrap();
    let site = info["site"].as_str().unwrap().to_owned();
    assert!(site.starts_with("http://127.0.0.1:"), "{site}");
    assert_eq!(info["apiRoot"], format!("{site}/service/api/v1/"));
    assert_eq!(info["apiKey"], TEST_API_KEY);
    assert_eq!(info["apiSecret"], TEST_API_SECRET);
    assert_eq!(info["routes"].as_array().unwrap().len(), 3);

    // The test key pair works against it, and so does no key at all.
    let output = smartex()
        .args(["order", "create", "--xml-from", "ETH", "--xml-to", "WMZ"])
        .args([
            "--amount",
            "1",
            "--to-value",
            &format!("wallet={WMZ_WALLET}"),
            "--json",
        ])
        .env("SMARTEX_SITE", &site)
        .env("SMARTEX_API_KEY", TEST_API_KEY)
        .env("SMARTEX_API_SECRET", TEST_API_SECRET)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let created: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(created["outAmount"], "158.71");

    // Its schedule moves the order (20 ms a step) to done.
    let output = smartex()
        .args(["order", "get", "--watch", "--poll-ms", "20", "--json"])
        .args(["--uid", &created["uid"].to_string()])
        .env("SMARTEX_SITE", &site)
        .env("SMARTEX_ORDER_SECRET", created["secret"].as_str().unwrap())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    assert!(
        stdout(&output)
            .trim_end()
            .ends_with(r#""status":"done","uid":1001}"#),
        "{}",
        stdout(&output)
    );

    sandbox.interrupt();
    assert_eq!(sandbox.wait(), Some(0));
}

#[test]
fn the_sandbox_command_prints_its_routes_and_credentials() {
    let mut cmd = smartex_std();
    cmd.args(["sandbox", "--listen", "127.0.0.1:0", "--manual"]);
    let mut sandbox = Spawned::start(cmd);
    let mut text = String::new();
    loop {
        let line = sandbox.line();
        text.push_str(&line);
        text.push('\n');
        if line.starts_with("Ctrl-C to stop") {
            break;
        }
    }
    for needle in [
        "site         http://127.0.0.1:",
        "API root     http://127.0.0.1:",
        "/service/api/v1/",
        "moves only on command",
        TEST_API_KEY,
        TEST_API_SECRET,
        "5f1a0c9e8b3d4a0012a1b001  BTC → USDTTRC20",
        "ETH → WMZ",
        "CARDRUB → BTC",
        "manual payment",
        "toValues: wallet",
        "export SMARTEX_SITE=http://127.0.0.1:",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    sandbox.interrupt();
    assert_eq!(sandbox.wait(), Some(0));
}

#[test]
fn a_taken_port_exits_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let output = smartex()
        .args([
            "sandbox",
            "--listen",
            &taken.local_addr().unwrap().to_string(),
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    let output = smartex()
        .args(["sandbox", "--listen", "nowhere"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

/// The HTTP status of `GET path` on `127.0.0.1:port`, over a bare socket.
fn status_of(port: &str, path: &str, authorization: Option<&str>) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    let auth = authorization.map_or_else(String::new, |v| format!("Authorization: {v}\r\n"));
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: localhost\r\n{auth}Connection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    stream.read_to_string(&mut answer).unwrap();
    answer.split(' ').nth(1).unwrap_or_default().to_owned()
}

#[test]
fn on_a_non_loopback_address_the_sandbox_warns_and_its_admin_endpoint_needs_a_token() {
    let dir = tempfile::tempdir().unwrap();
    let log = dir.path().join("stderr");
    let mut cmd = smartex_std();
    cmd.args(["sandbox", "--listen", "0.0.0.0:0", "--manual", "--json"]);
    let mut sandbox = Spawned::start_with_stderr(
        cmd,
        std::process::Stdio::from(std::fs::File::create(&log).unwrap()),
    );
    let info: Value = serde_json::from_str(&sandbox.line()).unwrap();
    let token = info["adminToken"].as_str().unwrap().to_owned();
    assert_eq!(token.len(), 64, "a fresh 256-bit token");
    assert!(token.bytes().all(|b| b.is_ascii_hexdigit()));
    let site = info["site"].as_str().unwrap();
    let port = site.rsplit(':').next().unwrap();
    assert_eq!(status_of(port, "/_sandbox/orders", None), "401");
    assert_eq!(
        status_of(port, "/_sandbox/orders", Some("Bearer not-it")),
        "401"
    );
    assert_eq!(
        status_of(port, "/_sandbox/orders", Some(&format!("Bearer {token}"))),
        "200"
    );
    sandbox.interrupt();
    assert_eq!(sandbox.wait(), Some(0));
    let warning = std::fs::read_to_string(&log).unwrap();
    assert!(warning.contains("is not a loopback address"), "{warning}");
    assert!(
        !warning.contains(&token),
        "the token is printed once, on stdout"
    );
}

#[test]
fn on_loopback_the_admin_endpoint_needs_no_token_unless_one_is_given() {
    let mut cmd = smartex_std();
    cmd.args(["sandbox", "--listen", "127.0.0.1:0", "--manual", "--json"])
        .env("SMARTEX_SANDBOX_TOKEN", "given-token");
    let mut sandbox = Spawned::start(cmd);
    let info: Value = serde_json::from_str(&sandbox.line()).unwrap();
    assert_eq!(info["adminToken"], "given-token");
    let port = info["site"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(status_of(&port, "/_sandbox", None), "401");
    assert_eq!(
        status_of(&port, "/_sandbox", Some("Bearer given-token")),
        "200"
    );
    sandbox.interrupt();
    assert_eq!(sandbox.wait(), Some(0));

    let mut cmd = smartex_std();
    cmd.args(["sandbox", "--listen", "127.0.0.1:0", "--manual", "--json"]);
    let mut sandbox = Spawned::start(cmd);
    let info: Value = serde_json::from_str(&sandbox.line()).unwrap();
    assert!(info["adminToken"].is_null());
    let port = info["site"]
        .as_str()
        .unwrap()
        .rsplit(':')
        .next()
        .unwrap()
        .to_owned();
    assert_eq!(status_of(&port, "/_sandbox", None), "200");
    sandbox.interrupt();
    assert_eq!(sandbox.wait(), Some(0));
}
