//! Shared helpers: signed bodies and a raw HTTP/1.1 client.

use smartex_core::IpnSecret;
use smartex_core::ipn::IpnBody;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

pub const SECRET: &str = "s3cret-for-tests";
pub const FORM: &str = "application/x-www-form-urlencoded";

pub fn secret() -> IpnSecret {
    IpnSecret::new(SECRET).unwrap()
}

/// A signed form body for `order_id` with this status and timestamp (ms),
/// the checksum in the body field `hash`.
pub fn signed_body(order_id: &str, status: &str, ts: u64) -> String {
    signed_body_with(order_id, status, ts, &secret(), "hash")
}

pub fn signed_body_with(
    order_id: &str,
    status: &str,
    ts: u64,
    secret: &IpnSecret,
    field: &str,
) -> String {
    let ts = ts.to_string();
    IpnBody {
        order_uid: "104857",
        signed: smartex_core::checksum::SignedFields {
            order_id,
            new_status: status,
            in_amount: "2",
            out_amount: "317.42",
            xml_from: "ETH",
            xml_to: "WMZ",
            timestamp: &ts,
        },
        to_values: &[("wallet", "Wallet", "Z123 & co")],
    }
    .to_form(secret, field)
}

/// The checksum `signed_body` puts in `hash`.
pub fn checksum_of(body: &str) -> String {
    body.split('&')
        .find_map(|p| p.strip_prefix("hash="))
        .unwrap()
        .to_owned()
}

/// A body with its `hash=…` pair removed.
pub fn without_hash(body: &str) -> String {
    body.split('&')
        .filter(|p| !p.starts_with("hash="))
        .collect::<Vec<_>>()
        .join("&")
}

/// An HTTP answer as seen on the wire.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Sends one HTTP/1.1 request (`Connection: close`) and reads the whole
/// answer. `headers` are sent as given (so a test can omit or repeat any).
pub async fn send(
    addr: std::net::SocketAddr,
    method: &str,
    target: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Reply {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    let mut head = format!(
        "{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\nContent-Length: {}\r\n",
        body.len()
    );
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("\r\n");
    stream.write_all(head.as_bytes()).await.unwrap();
    // The server may answer (413) and stop reading before the body is sent.
    let _ = stream.write_all(body).await;
    let mut raw = Vec::new();
    let _ = tokio::time::timeout(
        std::time::Duration::from_secs(10),
        stream.read_to_end(&mut raw),
    )
    .await
    .expect("the server did not answer within 10 s");
    parse_reply(&raw)
}

fn parse_reply(raw: &[u8]) -> Reply {
    let text = String::from_utf8_lossy(raw);
    let (head, body) = text
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no HTTP answer: {text:?}"));
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap();
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_owned()
    };
    Reply {
        status,
        headers,
        body,
    }
}

fn dechunk(mut s: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = s.split_once("\r\n") {
        let n = usize::from_str_radix(size.trim(), 16).unwrap_or(0);
        if n == 0 {
            break;
        }
        out.push_str(&rest[..n]);
        s = rest[n..].trim_start_matches("\r\n");
    }
    out
}
