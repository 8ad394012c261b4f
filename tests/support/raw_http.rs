//! A raw HTTP/1.1 client: bytes a well-behaved client would never send
//! (floods, control bytes, slow bodies) go out as written, and one response
//! is read back and parsed by hand, bounded by [`PATIENCE`].

use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Every wait on the server is bounded by this.
pub const PATIENCE: Duration = Duration::from_secs(10);

/// One parsed response.
#[derive(Debug)]
pub struct Raw {
    pub status: u16,
    /// Names lowercased, values trimmed, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Raw {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    /// The body as JSON, `null` when it is not.
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    /// A guard's answer: the status and a JSON-RPC error object, id null or
    /// the request's.
    pub fn assert_guard_error(&self, status: u16, what: &str) -> Value {
        assert_eq!(self.status, status, "{what}: {self:?}");
        assert_eq!(
            self.header("content-type"),
            Some("application/json"),
            "{what}: {self:?}"
        );
        let body = self.json();
        assert_eq!(body["jsonrpc"], "2.0", "{what}: {body}");
        assert!(body["error"]["code"].is_i64(), "{what}: {body}");
        assert!(body["error"]["message"].is_string(), "{what}: {body}");
        assert!(body.get("id").is_some(), "{what}: {body}");
        body
    }
}

/// Sends `head` (request line and headers, without the final blank line) and
/// `body` to `addr` on a fresh connection; reads one response, bounded by
/// [`PATIENCE`].
pub async fn raw(addr: SocketAddr, head: &[u8], body: &[u8]) -> Raw {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let mut message = head.to_vec();
    if !body.is_empty() {
        message.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    message.extend_from_slice(b"connection: close\r\n\r\n");
    message.extend_from_slice(body);
    // The server may answer and close before it has read everything.
    let _ = stream.write_all(&message).await;
    read_response(&mut stream).await
}

/// Reads and parses one response from `stream`.
pub async fn read_response(stream: &mut TcpStream) -> Raw {
    let bytes = read_bytes(stream).await;
    parse_response(&bytes)
}

/// What came back before the server closed (possibly nothing: a server that
/// stops reading a flood may reset the connection before its answer is read).
pub async fn read_bytes(stream: &mut TcpStream) -> Vec<u8> {
    let mut bytes = Vec::new();
    let read = tokio::time::timeout(PATIENCE, async {
        let mut buffer = [0u8; 16 * 1024];
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => break,
                Ok(n) => bytes.extend_from_slice(&buffer[..n]),
            }
            if complete(&bytes) {
                break;
            }
        }
    })
    .await;
    assert!(read.is_ok(), "no complete response within {PATIENCE:?}");
    bytes
}

fn head_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .windows(4)
        .position(|window| window == b"\r\n\r\n")
        .map(|at| at + 4)
}

/// Whether `bytes` hold a whole response: its head and the body its
/// `content-length` announces, or a chunked body's last chunk.
pub fn complete(bytes: &[u8]) -> bool {
    let Some(end) = head_end(bytes) else {
        return false;
    };
    let head = String::from_utf8_lossy(&bytes[..end]).to_ascii_lowercase();
    match head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
    {
        Some(length) => bytes.len() - end >= length.trim().parse::<usize>().unwrap(),
        None => bytes.ends_with(b"0\r\n\r\n"),
    }
}

/// Parses a whole response (see [`complete`]).
pub fn parse_response(bytes: &[u8]) -> Raw {
    let end = head_end(bytes)
        .unwrap_or_else(|| panic!("no response head in {:?}", String::from_utf8_lossy(bytes)));
    let head = String::from_utf8_lossy(&bytes[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|line| line.split(' ').nth(1))
        .and_then(|code| code.parse().ok())
        .expect("a status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(name, value)| (name.trim().to_ascii_lowercase(), value.trim().to_owned()))
        .collect();
    let mut body = bytes[end..].to_vec();
    let chunked = headers
        .iter()
        .any(|(name, value)| name == "transfer-encoding" && value.contains("chunked"));
    if chunked {
        body = dechunk(&body);
    }
    Raw {
        status,
        headers,
        body,
    }
}

fn dechunk(mut bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(line_end) = bytes.windows(2).position(|window| window == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&bytes[..line_end])
                .split(';')
                .next()
                .unwrap()
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 {
            break;
        }
        let start = line_end + 2;
        out.extend_from_slice(&bytes[start..(start + size).min(bytes.len())]);
        bytes = &bytes[(start + size + 2).min(bytes.len())..];
    }
    out
}

/// `POST /mcp` headers of a well-formed legacy-era request to `addr`, plus
/// `extra` lines.
pub fn post_head(addr: SocketAddr, extra: &[&[u8]]) -> Vec<u8> {
    let mut head = format!(
        "POST /mcp HTTP/1.1\r\nhost: {addr}\r\ncontent-type: application/json\r\naccept: application/json, text/event-stream\r\n",
    )
    .into_bytes();
    for line in extra {
        head.extend_from_slice(line);
        head.extend_from_slice(b"\r\n");
    }
    head
}

/// `authorization: Bearer <token>`, a header line for [`post_head`].
pub fn bearer_line(token: &str) -> Vec<u8> {
    format!("authorization: Bearer {token}").into_bytes()
}
