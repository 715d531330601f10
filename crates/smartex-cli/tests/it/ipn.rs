//! `smartex ipn verify | sign | send | listen`, and their exit codes.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use http_body_util::{BodyExt, Full};
use hyper::body::{Bytes, Incoming};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use predicates::prelude::*;
use serde_json::Value;
use smartex_core::IpnSecret;
use smartex_core::ipn::{IpnFormat, UnverifiedIpn};
use tokio::net::TcpListener;

use crate::{SAMPLE, SAMPLE_SECRET, Spawned, smartex, smartex_std, stderr, stdout};

// ---- verify ---------------------------------------------------------------

#[test]
fn verify_accepts_the_sample_body() {
    let output = smartex()
        .args(["ipn", "verify", "--secret", SAMPLE_SECRET])
        .write_stdin(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    for needle in [
        "✓ valid",
        "104857",
        "5d8e6002b80b7b4cd75a6424",
        "inProgress (claimed by the customer: not proof of payment)",
        "2 ETH → 317.42 WMZ",
        "2019-10-17 16:06:46.072 UTC",
        "wallet (Wallet): Z123456789012",
        "customer.name@example.com",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
    assert!(!text.contains('\x1b'), "no colour into a pipe");
}

#[test]
fn verify_takes_the_secret_from_the_environment_and_ignores_a_trailing_newline() {
    smartex()
        .args(["ipn", "verify"])
        .env("SMARTEX_IPN_SECRET", SAMPLE_SECRET)
        .write_stdin(format!("{SAMPLE}\r\n"))
        .assert()
        .code(0)
        .stdout(predicate::str::starts_with("✓ valid"))
        .stdout(predicate::str::contains(SAMPLE_SECRET).not());
}

#[test]
fn verify_prints_the_verified_ipn_as_json() {
    let output = smartex()
        .args(["ipn", "verify", "--json", "--secret", SAMPLE_SECRET])
        .write_stdin(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    // The core's own serialization of the same notification.
    let secret = IpnSecret::new(SAMPLE_SECRET).unwrap();
    let ipn = UnverifiedIpn::parse_form(SAMPLE.as_bytes(), &IpnFormat::default())
        .unwrap()
        .verify(&secret)
        .unwrap();
    assert_eq!(json, serde_json::to_value(&ipn).unwrap());
    assert_eq!(json["newStatus"], "inProgress");
    assert_eq!(json["outAmount"], "317.42");
    assert_eq!(json["toValues"][1]["value"], "customer.name@example.com");
}

#[test]
fn verify_refuses_a_tampered_body_with_exit_1() {
    let tampered = SAMPLE.replace("outAmount=317.42", "outAmount=317.43");
    assert_ne!(tampered, SAMPLE);
    let output = smartex()
        .args(["ipn", "verify", "--secret", SAMPLE_SECRET])
        .write_stdin(tampered)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(stdout(&output).is_empty(), "nothing unverified is shown");
    assert!(
        stderr(&output).contains("bad checksum"),
        "{}",
        stderr(&output)
    );

    smartex()
        .args(["ipn", "verify", "--secret", "not-the-secret"])
        .write_stdin(SAMPLE)
        .assert()
        .code(1)
        .stdout(predicate::str::is_empty())
        .stderr(predicate::str::is_match("^error: not verified: bad checksum").unwrap())
        .stderr(predicate::str::contains("not-the-secret").not());
}

#[test]
fn verify_without_a_checksum_or_with_a_malformed_one_exits_1() {
    let (unsigned, _) = SAMPLE.split_once("&hash=").unwrap();
    let output = smartex()
        .args(["ipn", "verify", "--secret", SAMPLE_SECRET])
        .write_stdin(unsigned)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no `hash` field"),
        "{}",
        stderr(&output)
    );

    let short = format!("{unsigned}&hash=abc123");
    let output = smartex()
        .args(["ipn", "verify", "--secret", SAMPLE_SECRET])
        .write_stdin(short)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1), "{}", stderr(&output));
}

#[test]
fn verify_refuses_malformed_input_with_exit_2() {
    for body in [
        "",
        "orderUID=104857&orderId=5d8e6002b80b7b4cd75a6424",
        "orderUID=1&orderUID=2&orderId=5d8e6002b80b7b4cd75a6424",
        "orderUID=%ZZ",
    ] {
        let output = smartex()
            .args(["ipn", "verify", "--secret", SAMPLE_SECRET])
            .write_stdin(body)
            .output()
            .unwrap();
        assert_eq!(
            output.status.code(),
            Some(2),
            "{body:?}: {}",
            stderr(&output)
        );
        assert!(
            stderr(&output).contains("malformed IPN body"),
            "{}",
            stderr(&output)
        );
    }
    // Twice the signed value: refused before any checksum is computed.
    let doubled = format!("{SAMPLE}&newStatus=done");
    let output = smartex()
        .args(["ipn", "verify", "--secret", SAMPLE_SECRET])
        .write_stdin(doubled)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn verify_needs_a_secret_and_never_echoes_one() {
    let output = smartex()
        .args(["ipn", "verify"])
        .write_stdin(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("--secret"), "{}", stderr(&output));

    let too_long = "S".repeat(IpnSecret::MAX_LEN + 1);
    let output = smartex()
        .args(["ipn", "verify"])
        .env("SMARTEX_IPN_SECRET", &too_long)
        .write_stdin(SAMPLE)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(!stderr(&output).contains(&too_long));
    assert!(
        stderr(&output).contains("SMARTEX_IPN_SECRET"),
        "{}",
        stderr(&output)
    );
}

// ---- sign -----------------------------------------------------------------

#[test]
fn sign_reproduces_the_sample_body_byte_for_byte() {
    let output = smartex()
        .args([
            "ipn",
            "sign",
            "--secret",
            SAMPLE_SECRET,
            "--timestamp",
            "1571328406072",
        ])
        .args(["--to-value", "wallet=Wallet=Z123456789012"])
        .args(["--to-value", "email=E-mail=customer.name@example.com"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    // Every default is the docs' sample; no trailing newline into a pipe.
    assert_eq!(stdout(&output), SAMPLE);
}

#[test]
fn sign_then_verify_round_trips() {
    let signed = smartex()
        .args(["ipn", "sign", "--order-id", "65F1A0C9E8B3D4A0012A1B00"])
        .args([
            "--order-uid",
            "1001",
            "--status",
            "done",
            "--in-amount",
            "5000",
        ])
        .args([
            "--out-amount",
            "0.00080000",
            "--xml-from",
            "CARDRUB",
            "--xml-to",
            "BTC",
        ])
        .args([
            "--to-value",
            "wallet=BTC address=bc1q&x=y z",
            "--to-value",
            "memo==ünïcode",
        ])
        .env("SMARTEX_IPN_SECRET", "round-trip secret")
        .output()
        .unwrap();
    assert_eq!(signed.status.code(), Some(0), "{}", stderr(&signed));
    let output = smartex()
        .args(["ipn", "verify", "--json"])
        .env("SMARTEX_IPN_SECRET", "round-trip secret")
        .write_stdin(signed.stdout.clone())
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["orderId"], "65f1a0c9e8b3d4a0012a1b00");
    assert_eq!(json["orderUID"], "1001");
    assert_eq!(json["newStatus"], "done");
    assert_eq!(json["outAmount"], "0.00080000", "signed exactly as given");
    assert_eq!(json["toValues"][0]["name"], "BTC address");
    assert_eq!(json["toValues"][0]["value"], "bc1q&x=y z");
    assert_eq!(json["toValues"][1]["name"], "");
    assert_eq!(json["toValues"][1]["value"], "ünïcode");
    let now = smartex_ipn::now().as_millis();
    let ts: u64 = json["timestamp"].as_str().unwrap().parse().unwrap();
    assert!(
        ts <= now && now - ts < 60_000,
        "the timestamp defaults to now"
    );

    // The same body with another secret does not verify.
    let output = smartex()
        .args(["ipn", "verify", "--secret", "another"])
        .write_stdin(signed.stdout)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
}

#[test]
fn sign_honours_the_signature_field() {
    let signed = smartex()
        .args([
            "ipn",
            "sign",
            "--secret",
            "s",
            "--signature-field",
            "signature",
        ])
        .output()
        .unwrap();
    assert!(
        stdout(&signed).contains("&signature="),
        "{}",
        stdout(&signed)
    );
    let verify = |field: Option<&str>| {
        let mut cmd = smartex();
        cmd.args(["ipn", "verify", "--secret", "s"]);
        if let Some(field) = field {
            cmd.args(["--signature-field", field]);
        }
        cmd.write_stdin(signed.stdout.clone()).output().unwrap()
    };
    assert_eq!(verify(Some("signature")).status.code(), Some(0));
    let default = verify(None);
    assert_eq!(default.status.code(), Some(1));
    assert!(stderr(&default).contains("--signature-field"));
}

#[test]
fn sign_refuses_fields_that_do_not_parse() {
    for args in [
        &["--order-id", "nope"][..],
        &["--order-uid", "123456789012"],
        &["--in-amount", "1,5"],
        &["--xml-to", "W M Z"],
        &["--timestamp", "soon"],
        &["--to-value", "wallet=Z1"],
        &["--status", ""],
    ] {
        let output = smartex()
            .args(["ipn", "sign", "--secret", "s"])
            .args(args)
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{args:?}");
        assert!(stdout(&output).is_empty());
    }
}

// ---- send -----------------------------------------------------------------

/// What a test endpoint received.
#[derive(Clone, Debug)]
struct Got {
    method: String,
    content_type: String,
    body: Vec<u8>,
}

/// An HTTP endpoint on 127.0.0.1 that records every request and answers
/// `status` with `answer`.
struct Endpoint {
    addr: SocketAddr,
    got: Arc<Mutex<Vec<Got>>>,
    _rt: tokio::runtime::Runtime,
}

impl Endpoint {
    fn start(status: u16, answer: &'static str) -> Endpoint {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
        let addr = listener.local_addr().unwrap();
        let got: Arc<Mutex<Vec<Got>>> = Arc::default();
        let sink = Arc::clone(&got);
        rt.spawn(async move {
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let sink = Arc::clone(&sink);
                tokio::spawn(async move {
                    let service = service_fn(move |req: Request<Incoming>| {
                        let sink = Arc::clone(&sink);
                        async move {
                            let (parts, body) = req.into_parts();
                            let body = body.collect().await.unwrap().to_bytes().to_vec();
                            sink.lock().unwrap().push(Got {
                                method: parts.method.to_string(),
                                content_type: parts
                                    .headers
                                    .get("content-type")
                                    .map(|v| v.to_str().unwrap().to_owned())
                                    .unwrap_or_default(),
                                body,
                            });
                            let mut response = Response::new(Full::new(Bytes::from(answer)));
                            *response.status_mut() = status.try_into().unwrap();
                            Ok::<_, Infallible>(response)
                        }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Endpoint { addr, got, _rt: rt }
    }

    fn url(&self) -> String {
        format!("http://{}/ipn", self.addr)
    }

    fn got(&self) -> Vec<Got> {
        self.got.lock().unwrap().clone()
    }
}

/// A body that never ends: 64 KiB of `x`, again and again.
struct Endless;

impl hyper::body::Body for Endless {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        _: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<hyper::body::Frame<Bytes>, Infallible>>> {
        static CHUNK: [u8; 64 * 1024] = [b'x'; 64 * 1024];
        std::task::Poll::Ready(Some(Ok(hyper::body::Frame::data(Bytes::from_static(
            &CHUNK,
        )))))
    }
}

/// An endpoint on 127.0.0.1 that answers every request `200` with an
/// [`Endless`] body; returns its URL and the runtime that serves it.
fn endless_endpoint() -> (String, tokio::runtime::Runtime) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    rt.spawn(async move {
        loop {
            let (stream, _) = listener.accept().await.unwrap();
            tokio::spawn(async move {
                let service = service_fn(|_: Request<Incoming>| async {
                    Ok::<_, Infallible>(Response::new(Endless))
                });
                let _ = http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    });
    (format!("http://{addr}/ipn"), rt)
}

#[test]
fn send_reads_only_the_start_of_an_endless_answer() {
    let (url, _rt) = endless_endpoint();
    let output = smartex()
        .args(["ipn", "send", "--to", &url, "--secret", "x", "--json"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["status"], 200);
    assert_eq!(json["body"], format!("{}...", "x".repeat(200)));
}

/// A 127.0.0.1 port with nothing listening on it.
fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap().port()
}

#[test]
fn send_posts_a_signed_form_body_and_shows_the_answer() {
    let endpoint = Endpoint::start(200, "OK");
    let output = smartex()
        .args(["ipn", "send", "--to", &endpoint.url(), "--status", "done"])
        .args(["--to-value", "wallet=Wallet=Z123456789012"])
        .env("SMARTEX_IPN_SECRET", "merchant-secret")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
    let text = stdout(&output);
    assert!(text.contains("→ POST"), "{text}");
    assert!(text.contains("← 200 OK"), "{text}");
    assert!(!text.contains("merchant-secret"));

    let got = endpoint.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].method, "POST");
    assert_eq!(got[0].content_type, "application/x-www-form-urlencoded");
    let secret = IpnSecret::new("merchant-secret").unwrap();
    let ipn = UnverifiedIpn::parse_form(&got[0].body, &IpnFormat::default())
        .unwrap()
        .verify(&secret)
        .unwrap();
    assert_eq!(ipn.status_raw(), "done");
    assert_eq!(ipn.to_values().next().unwrap().value(), "Z123456789012");
}

#[test]
fn send_exits_1_on_a_non_2xx_answer_and_prints_json_if_asked() {
    let endpoint = Endpoint::start(401, "Unauthorized: checksum missing or wrong");
    let output = smartex()
        .args([
            "ipn",
            "send",
            "--to",
            &endpoint.url(),
            "--secret",
            "x",
            "--json",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let json: Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["status"], 401);
    assert_eq!(json["body"], "Unauthorized: checksum missing or wrong");
}

#[test]
fn send_exits_3_without_an_answer_and_2_for_a_bad_url() {
    let url = format!("http://127.0.0.1:{}/ipn", closed_port());
    let output = smartex()
        .args(["ipn", "send", "--to", &url, "--secret", "x"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(stderr(&output).contains("no answer"), "{}", stderr(&output));

    for bad in ["ftp://127.0.0.1/ipn", "not a url", "/ipn"] {
        let output = smartex()
            .args(["ipn", "send", "--to", bad, "--secret", "x"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(2), "{bad}");
    }
}

// ---- listen ---------------------------------------------------------------

/// Starts `smartex ipn listen --json` with `extra` options; returns the
/// process and the URL it listens on.
fn listen(secret: &str, extra: &[&str]) -> (Spawned, String) {
    let mut cmd = smartex_std();
    cmd.args(["ipn", "listen", "--listen", "127.0.0.1:0", "--json"])
        .args(extra)
        .env("SMARTEX_IPN_SECRET", secret);
    let listener = Spawned::start(cmd);
    let first: Value = serde_json::from_str(&listener.line()).unwrap();
    let url = first["listening"].as_str().unwrap().to_owned();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    (listener, url)
}

#[test]
fn listen_verifies_what_send_sends() {
    let (mut listener, url) = listen("shared-secret", &["--count", "3"]);
    let send = |secret: &str, status: &str| {
        smartex()
            .args(["ipn", "send", "--to", &url, "--status", status])
            .env("SMARTEX_IPN_SECRET", secret)
            .output()
            .unwrap()
    };
    let ok = send("shared-secret", "inProgress");
    assert_eq!(ok.status.code(), Some(0), "{}", stdout(&ok));
    assert!(stdout(&ok).contains("← 200 OK"));
    let wrong = send("wrong-secret", "done");
    assert_eq!(wrong.status.code(), Some(1));
    assert!(stdout(&wrong).contains("← 401"), "{}", stdout(&wrong));
    let older = smartex()
        .args(["ipn", "send", "--to", &url, "--status", "waitPayment"])
        .args(["--timestamp", "1"])
        .env("SMARTEX_IPN_SECRET", "shared-secret")
        .output()
        .unwrap();
    assert_eq!(older.status.code(), Some(1), "outside the window: 422");

    let lines: Vec<Value> = listener
        .rest()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    assert_eq!(lines[0]["verified"], true);
    assert_eq!(lines[0]["outcome"], "applied");
    assert_eq!(lines[0]["status"], "inProgress");
    assert_eq!(lines[0]["orderUID"], "104857");
    assert_eq!(lines[0]["answer"]["status"], 200);
    assert_eq!(lines[0]["ipn"]["outAmount"], "317.42");
    assert_eq!(lines[1]["verified"], false);
    assert_eq!(lines[1]["answer"]["status"], 401);
    assert_eq!(lines[2]["verified"], false);
    assert_eq!(lines[2]["answer"]["status"], 422);
    // --count reached with IPNs that did not verify: exit 1.
    assert_eq!(listener.wait(), Some(1));
}

#[test]
fn listen_exits_0_when_every_counted_ipn_verified() {
    let (mut listener, url) = listen("s", &["--count", "2"]);
    for status in ["inProgress", "inProgress"] {
        let output = smartex()
            .args([
                "ipn", "send", "--to", &url, "--status", status, "--secret", "s",
            ])
            .args(["--timestamp", &smartex_ipn::now().as_millis().to_string()])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0));
    }
    let lines: Vec<Value> = listener
        .rest()
        .iter()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["outcome"], "applied");
    // Same order and status again, signed later: the order left the status
    // and came back (applied), or — in the same millisecond — a replay;
    // answered 200 either way.
    assert!(
        matches!(lines[1]["outcome"].as_str(), Some("applied" | "replay")),
        "{lines:?}"
    );
    assert_eq!(lines[1]["answer"]["status"], 200);
    assert_eq!(listener.wait(), Some(0));
}

#[test]
fn listen_forwards_raw_bodies_to_your_app() {
    let app = Endpoint::start(200, "shop says ok");
    let (mut listener, url) = listen("s", &["--count", "1", "--forward-to", &app.url()]);
    let output = smartex()
        .args([
            "ipn", "send", "--to", &url, "--secret", "s", "--status", "done",
        ])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let line: Value = serde_json::from_str(&listener.line()).unwrap();
    assert_eq!(line["verified"], true);
    assert_eq!(line["forwarded"]["status"], 200);
    assert_eq!(line["forwarded"]["body"], "shop says ok");
    assert_eq!(listener.wait(), Some(0));
    let got = app.got();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].content_type, "application/x-www-form-urlencoded");
    let ipn = UnverifiedIpn::parse_form(&got[0].body, &IpnFormat::default())
        .unwrap()
        .verify(&IpnSecret::new("s").unwrap())
        .unwrap();
    assert_eq!(ipn.status_raw(), "done", "the raw body, unchanged");
}

#[test]
fn listen_prints_text_and_stops_on_ctrl_c_with_exit_0() {
    let mut cmd = smartex_std();
    cmd.args(["ipn", "listen", "--listen", "127.0.0.1:0"])
        .env("SMARTEX_IPN_SECRET", "s");
    let mut listener = Spawned::start(cmd);
    let first = listener.line();
    assert!(
        first.starts_with("listening on http://127.0.0.1:"),
        "{first}"
    );
    let url = first.split_whitespace().nth(2).unwrap().to_owned();
    let output = smartex()
        .args(["ipn", "send", "--to", &url, "--secret", "s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(0));
    let line = listener.line();
    assert!(line.contains("✓ verified"), "{line}");
    assert!(line.contains("order 104857"), "{line}");
    assert!(line.contains("→ 200 OK"), "{line}");
    listener.interrupt();
    assert_eq!(listener.wait(), Some(0));
}

#[test]
fn listen_on_a_taken_port_exits_3() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let output = smartex()
        .args(["ipn", "listen", "--listen", &addr, "--secret", "s"])
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr(&output));
    assert!(
        stderr(&output).contains("cannot listen"),
        "{}",
        stderr(&output)
    );
}

// ---- secret ---------------------------------------------------------------

#[test]
fn secret_prints_a_fresh_random_secret_each_time() {
    let mut seen = Vec::new();
    for args in [&["secret"][..], &["ipn", "secret"][..]] {
        let output = smartex().args(args).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr(&output));
        let secret = stdout(&output).trim_end().to_owned();
        assert_eq!(secret.len(), 64, "{secret}");
        assert!(
            secret
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        );
        // It is accepted as an ipnSecret.
        IpnSecret::new(secret.clone()).unwrap();
        seen.push(secret);
    }
    assert_ne!(seen[0], seen[1]);
}
