//! The API-key hash against the platform's own stack: a real Express 4 server
//! (`tools/node/express-server.js`: `express.json()`,
//! `express.urlencoded({extended: true})`, Express's `qs` query parser)
//! recomputes `sha256(sha256(JSON.stringify({...req.query, ...req.body})) +
//! secret)` as the platform documents it and refuses any call whose `hash`
//! differs. Every method × encoding (JSON, form) × verb (POST, GET, PUT) ×
//! random Unicode fields × amounts with trailing zeros and exponents goes
//! through the real client: not one may be refused, and the server must have
//! parsed the amounts and fields we meant.
//!
//! A second test runs the real middleware over tricky form bodies, query
//! strings and JSON texts (`tools/node/express-params.js`) and compares it with
//! `smartex_core::js::express_params_json` — what the sandbox checks with.
//! `SMARTEX_SEED=N` repeats a run; `SMARTEX_EXPRESS_CASES=N` sets how many
//! random form/query cases it draws (default 400).
//!
//! Needs Node.js ≥ 20 with npm (`tools/node/ensure.sh` installs express and
//! qs from the committed lock file). Without `node` the tests FAIL, saying how
//! to install it — unless `SMARTEX_ALLOW_NO_NODE=1` is set, in which case they
//! print a loud SKIPPED line and pass.

use std::io::{BufRead, BufReader, Write};
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};
use smartex_core::js::{Body, exact_js_number, express_params_json};
use smartex_core::request::{CreateOrder, GetRoutes, OrderViewKind};
use smartex_core::{ApiKey, ApiSecret, CurrencyCode, Lang, ObjectId, OrderSecret, OrderUid};
use smartex_http::{ApiKeyAuth, ClientBuilder, Encoding, Verb};

use crate::API_SECRET;
use crate::node::{node_dir, node_ready};

const KEY: &str = "EF04794F718A3FC8C6DFA0B";
/// The Express server, stopped (stdin closed, then killed) when dropped.
struct Express {
    child: Child,
    url: String,
}

impl Express {
    fn start() -> Self {
        let mut child = Command::new("node")
            .args(["express-server.js", "--port", "0", "--key", KEY])
            .args(["--secret", API_SECRET, "--exit-on-stdin-eof"])
            .current_dir(node_dir())
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start tools/node/express-server.js");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let ready: Value = serde_json::from_str(&line)
            .unwrap_or_else(|e| panic!("express-server.js said {line:?}: {e}"));
        let url = ready["listening"].as_str().unwrap().to_owned();
        Express { child, url }
    }

    /// `GET /__stats`, over a plain HTTP/1.0 connection.
    async fn stats(&self) -> Value {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let addr = self.url.strip_prefix("http://").unwrap();
        let mut conn = tokio::net::TcpStream::connect(addr).await.unwrap();
        conn.write_all(b"GET /__stats HTTP/1.0\r\nHost: peer\r\n\r\n")
            .await
            .unwrap();
        let mut answer = Vec::new();
        conn.read_to_end(&mut answer).await.unwrap();
        let text = String::from_utf8(answer).unwrap();
        let (_, body) = text.split_once("\r\n\r\n").unwrap();
        serde_json::from_str(body).unwrap()
    }
}

impl Drop for Express {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A small deterministic generator (xorshift64*), seeded per run.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
    fn flag(&mut self) -> bool {
        self.next() & 1 == 1
    }

    /// 1..=max characters from everything a form or JSON encoder must get
    /// right: the delimiters of both, brackets, `%` and `+`, controls, Latin-1,
    /// Cyrillic, CJK, emoji (astral: surrogate pairs in JavaScript), combining
    /// marks, U+2028, the BOM.
    fn text(&mut self, max: usize) -> String {
        const POOLS: &[&[char]] = &[
            &['a', 'Z', '0', '9', ' ', '_', '-', '.', '~'],
            &[
                '&', '=', '[', ']', '%', '+', '?', '#', '/', ':', ';', ',', '"', '\\', '\'',
            ],
            &['\n', '\t', '\r', '\u{1}', '\u{1f}', '\u{7f}'],
            &['é', 'ß', 'ÿ', '\u{a0}'],
            &['ж', 'Я', 'ё', 'ї'],
            &['中', '文', '日', '\u{3000}'],
            &['😀', '🚀', '\u{1F1FA}', '\u{10FFFF}'],
            &['\u{301}', '\u{2028}', '\u{2029}', '\u{feff}', '\u{fffd}'],
        ];
        let n = 1 + self.below(max);
        (0..n)
            .map(|_| {
                let pool = *self.pick(POOLS);
                *self.pick(pool)
            })
            .collect()
    }

    /// An amount in some spelling: trailing zeros, exponents, signs.
    fn amount(&mut self) -> String {
        const FIXED: &[&str] = &[
            "2.10",
            "100.0",
            "1E-7",
            "-0.50",
            "1.5e+3",
            "12345.678900",
            "0.1",
            "-250",
            "3E2",
            "0.000001",
            "7.0E-10",
            "99999999.99000",
            "1e21",
            "123456789012345.6",
        ];
        if self.flag() {
            return (*self.pick(FIXED)).to_owned();
        }
        let int = 1 + self.below(99_999);
        let frac = self.below(10_000);
        let zeros = "0".repeat(self.below(4));
        let sign = if self.below(4) == 0 { "-" } else { "" };
        let mut s = format!("{sign}{int}.{frac:04}{zeros}");
        if self.flag() {
            let e = ["E-3", "e+2", "e0", "E5"];
            let exp = self.pick::<&str>(&e);
            s.push_str(exp);
        }
        s
    }
}

fn seed() -> u64 {
    std::env::var("SMARTEX_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        })
}

const ROUTE: &str = "5d8e6002b80b7b4cd75a6424";

/// What a create call sent, to compare with what the server parsed.
struct Sent {
    amount_js: String,
    to_values: Vec<(String, String)>,
    partner: String,
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn express_recomputes_every_hash_the_client_sends() {
    if !node_ready("express_peer", "the Express peer test") {
        return;
    }
    let seed = seed();
    let mut rng = Rng(seed);
    let express = Express::start();
    // One key, one nonce counter for every client: the server wants `time`
    // to grow across all of them.
    let auth = ApiKeyAuth::new(
        ApiKey::new(KEY).unwrap(),
        ApiSecret::new(API_SECRET).unwrap(),
    );
    let rounds = 4;
    let mut calls = 0;
    let mut creates: Vec<(Verb, Encoding, Sent)> = Vec::new();
    for _ in 0..rounds {
        for verb in [Verb::Post, Verb::Get, Verb::Put] {
            for encoding in [Encoding::Json, Encoding::Form] {
                let client = ClientBuilder::new(&express.url)
                    .api_key(auth.clone())
                    .encoding(encoding)
                    .default_verb(verb)
                    .lang(if rng.flag() { Lang::EN } else { Lang::RU })
                    .build_with(crate::transport())
                    .unwrap();
                let ctx = format!("seed {seed}, {verb:?} {encoding:?}");

                // order/create, with random fields.
                let amount = rng.amount();
                let partner = rng.text(100);
                let mut b = CreateOrder::builder()
                    .route_id(ROUTE)
                    .amount(amount.clone())
                    .agreement(true)
                    .partner(partner.clone())
                    .ipn_url("https://shop.example/ipn?order=7&x=%20")
                    .ipn_secret(rng.text(200))
                    .email("client+tag@example.com")
                    .hide_out_data(rng.flag())
                    .skip_preview(rng.flag());
                let mut to_values = Vec::new();
                for _ in 0..rng.below(4) {
                    let (k, v) = (rng.text(20), rng.text(60));
                    to_values.push((k.clone(), v.clone()));
                    b = b.to_value(k, v);
                }
                for _ in 0..rng.below(3) {
                    b = b.from_value(rng.text(20), rng.text(60));
                    b = b.route_value(rng.text(20), rng.text(60));
                }
                let order = b.build().unwrap_or_else(|e| panic!("{ctx}: {amount}: {e}"));
                client
                    .create_order(&order)
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: create refused: {e}"));
                creates.push((
                    verb,
                    encoding,
                    Sent {
                        amount_js: exact_js_number(&amount).unwrap(),
                        to_values,
                        partner,
                    },
                ));

                // The reads and update-status.
                let uid = OrderUid::new(1 + rng.next() % 99_999_999_999).unwrap();
                let secret = OrderSecret::new(rng.text(50)).unwrap();
                let view = if rng.flag() {
                    OrderViewKind::Payment
                } else {
                    OrderViewKind::Order
                };
                client
                    .get_order(uid, &secret, view)
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: order/get refused: {e}"));
                client
                    .mark_paid(uid, &secret)
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: update-status refused: {e}"));
                let filter = GetRoutes {
                    from_currency_id: rng.flag().then(|| ObjectId::parse("id", ROUTE).unwrap()),
                    to_currency_id: rng.flag().then(|| ObjectId::parse("id", ROUTE).unwrap()),
                };
                client
                    .routes(&filter)
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: route/get refused: {e}"));
                client
                    .route(ObjectId::parse("id", ROUTE).unwrap())
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: route/get/one refused: {e}"));
                let xml = |s: &str| CurrencyCode::parse("xml", s).unwrap();
                client
                    .route_by_xml(xml("USDTTRC20"), xml("WMZ"))
                    .await
                    .unwrap_or_else(|e| panic!("{ctx}: by-xml refused: {e}"));
                calls += 6;
            }
        }
    }

    let stats = express.stats().await;
    assert_eq!(
        stats["refused"], 0,
        "seed {seed}: Express refused calls; what it computed:\n{:#}",
        stats["refusals"]
    );
    assert_eq!(stats["accepted"], calls, "seed {seed}");

    // The server parsed what was meant: the amount (a JavaScript number from
    // JSON, its text from a form or query), every Unicode field.
    let parsed: Vec<&Value> = stats["params"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["method"] == "public/exchanger/order/create")
        .collect();
    assert_eq!(parsed.len(), creates.len());
    for (p, (verb, encoding, sent)) in parsed.iter().zip(&creates) {
        let params = &p["params"];
        let ctx = format!("seed {seed}, {verb:?} {encoding:?}: {params}");
        let json_body = *verb != Verb::Get && *encoding == Encoding::Json;
        let amount = if json_body {
            assert!(params["amount"].is_number(), "{ctx}");
            params["amount"].to_string()
        } else {
            params["amount"].as_str().unwrap().to_owned()
        };
        // serde_json writes some numbers differently from JavaScript (1e21 as
        // 1e+21 vs 1e21): compare through the JavaScript spelling.
        assert_eq!(exact_js_number(&amount).unwrap(), sent.amount_js, "{ctx}");
        assert_eq!(params["partner"], json!(sent.partner), "{ctx}");
        let to_values = params["toValues"].as_array().map_or(&[][..], Vec::as_slice);
        assert_eq!(to_values.len(), sent.to_values.len(), "{ctx}");
        for (got, (k, v)) in to_values.iter().zip(&sent.to_values) {
            assert_eq!(got["key"], json!(k), "{ctx}");
            assert_eq!(got["value"], json!(v), "{ctx}");
        }
    }
}

/// The sandbox's (and the client's) rebuild of what Express parses,
/// against the real middleware, over inputs chosen to reach qs's corners.
#[test]
fn express_params_match_the_real_middleware() {
    if !node_ready("express_peer", "the Express peer test") {
        return;
    }
    let seed = seed();
    let mut rng = Rng(seed);
    const KEYS: &[&str] = &[
        "a",
        "b",
        "a[]",
        "a[0]",
        "a[1]",
        "a[20]",
        "a[21]",
        "a[100]",
        "a[b]",
        "a[b][c]",
        "a[0][b]",
        "a[][b]",
        "__proto__",
        "a[__proto__]",
        "toString",
        "0",
        "1",
        "a]",
        "a[b",
        "a[[b]]",
        "a[b[c]]",
        "%5Ba%5D",
        "a%5B0%5D",
        "a[b][c][d][e][f][g]",
        "x.y",
        "",
        "a+b",
        "%E2%82%AC",
        "%C3",
        "time",
    ];
    const VALUES: &[&str] = &[
        "", "1", "x", "%20", "+", "%ZZ", "%E2%82", "a%26b", "%5D%3D", "[]", "é", "😀", "1E-7",
    ];
    // Free-form text from the characters qs gives a meaning to.
    const CHARS: &[char] = &[
        '[', ']', '[', ']', '&', '=', '%', '5', 'B', 'D', 'b', 'd', '2', '0', '1', '+', 'a', 'b',
        '.', '_', 'é', '😀', 'E', '8', 'C',
    ];
    let cases: usize = std::env::var("SMARTEX_EXPRESS_CASES")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(400);
    let mut inputs = Vec::new();
    for _ in 0..cases {
        let mut form = String::new();
        if rng.below(4) == 0 {
            let n = rng.below(40);
            form.extend((0..n).map(|_| *rng.pick(CHARS)));
        }
        for i in 0..1 + rng.below(6) {
            if i > 0 || !form.is_empty() {
                form.push('&');
            }
            let key = rng.pick::<&str>(KEYS);
            form.push_str(key);
            if rng.below(5) > 0 {
                form.push('=');
                let value = rng.pick::<&str>(VALUES);
                form.push_str(value);
            }
        }
        let where_ = rng.below(3);
        inputs.push(match where_ {
            0 => json!({"query": form, "json": null, "form": null}),
            1 => json!({"query": null, "json": null, "form": form}),
            _ => json!({"query": "time=1&a=x", "json": null, "form": form}),
        });
    }
    for text in [
        r#"{"a":2.10,"b":100.0,"c":1E-7,"d":-0,"e":1e400,"f":123456789012345678901234567890}"#,
        r#"{"z":1,"10":2,"1":3,"4294967295":4,"4294967294":5,"01":6,"a":{"2":0,"b":1,"1":2}}"#,
        r#"{"a":1,"a":2,"__proto__":{"x":[1,2.50]},"s":"\u0000\u001f\/\u2028\ud83d\ude00\udc00\ud800é"}"#,
        r#"[1,"x",{"time":5}]"#,
        "\u{feff}{\"bom\":true}",
        r#"{"deep":[[[[[[[[[[{"x":1}]]]]]]]]]]}"#,
        r#"{"unclosed":1"#,
        r#""a string""#,
        "",
    ] {
        inputs.push(json!({"query": "a=1&time=2", "json": text, "form": null}));
    }
    // Numbers: random doubles (every magnitude) and random decimal texts,
    // written back by V8 and by ryu-js.
    for _ in 0..60 {
        let mut items = Vec::new();
        for _ in 0..25 {
            let n = f64::from_bits(rng.next());
            if n.is_finite() {
                items.push(if rng.flag() {
                    format!("{n:e}")
                } else {
                    format!("{n:?}")
                });
            }
            let digits = 1 + rng.below(25);
            let int: String = (0..digits)
                .map(|_| char::from(b'0' + rng.below(10) as u8))
                .collect();
            let int = int.trim_start_matches('0');
            let int = if int.is_empty() { "0" } else { int };
            let exp = rng.below(80) as i64 - 40;
            items.push(format!("{int}.{}e{exp}", rng.below(1000)));
        }
        let text = format!("[{}]", items.join(","));
        inputs.push(json!({"query": null, "json": text, "form": null}));
    }
    // Past qs's array limits (20 in a query, max(100, pairs) in a body):
    // arrays become objects, and later pushes go on from the highest index.
    for n in [19, 20, 21, 25, 99, 100, 101, 150] {
        for (unit, tail) in [
            ("a[]=x&", "a[]=y"),
            ("a=x&", "a=y"),
            ("a[]=x&", "a[b]=y"),
            ("a[]=x&", "a=y"),
            ("a[0]=x&", "a[]=y"),
        ] {
            let form = format!("{}{tail}", unit.repeat(n));
            for (query, body) in [(Some(form.clone()), None), (None, Some(form))] {
                inputs.push(json!({"query": query, "json": null, "form": body}));
            }
        }
        let sparse = format!("a[{n}]=x&a[]=y&a[1]=z&a=w&a[{}][b]=v", n + 1);
        inputs.push(json!({"query": sparse, "json": null, "form": null}));
        inputs.push(json!({"query": null, "json": null, "form": sparse}));
    }
    // Express's 100 kB body limit, and body-parser's 1,000 parameters.
    let big = "x".repeat(100 * 1024 - 3);
    for form in [format!("a={big}"), format!("ab={big}"), "a=1&".repeat(1000)] {
        inputs.push(json!({"query": null, "json": null, "form": form}));
    }
    inputs.push(json!({"query": null, "json": null, "form": "a=1&".repeat(999)}));
    inputs.push(json!({"query": "a=1&".repeat(1100), "json": null, "form": null}));
    let mut child = Command::new("node")
        .arg("express-params.js")
        .current_dir(node_dir())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run express-params.js");
    {
        let mut stdin = child.stdin.take().unwrap();
        for input in &inputs {
            writeln!(stdin, "{input}").unwrap();
        }
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "express-params.js failed");
    let answers: Vec<Value> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(answers.len(), inputs.len());
    let mut mismatches = Vec::new();
    for (input, answer) in inputs.iter().zip(&answers) {
        let body = match (input["json"].as_str(), input["form"].as_str()) {
            (Some(j), _) => Body::Json(j.as_bytes()),
            (None, Some(f)) => Body::Form(f.as_bytes()),
            _ => Body::None,
        };
        let ours = express_params_json(input["query"].as_str(), body);
        let agree = match (answer["ok"].as_str(), &ours) {
            (Some(want), Ok(got)) => want == got,
            (None, Err(_)) => true,
            _ => false,
        };
        if !agree {
            mismatches.push(format!("{input}\n  express: {answer}\n  ours:    {ours:?}"));
        }
    }
    assert!(
        mismatches.is_empty(),
        "seed {seed}: {} of {} differ:\n{}",
        mismatches.len(),
        inputs.len(),
        mismatches.join("\n")
    );
}
