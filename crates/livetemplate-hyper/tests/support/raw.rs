//! A WebSocket spoken byte by byte, so a test can send what no client library would:
//! fragments, frames split or joined across writes, unmasked frames, bad close codes.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xA;
/// The masking key of [`frame`].
pub const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// A client frame: `fin`, `opcode`, `payload` masked with [`MASK`].
pub fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    frame_with(fin, opcode, payload, Some(MASK))
}

/// A client frame masked with `mask` or, with `None`, unmasked (which RFC 6455 forbids).
pub fn frame_with(fin: bool, opcode: u8, payload: &[u8], mask: Option<[u8; 4]>) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
    let masked = if mask.is_some() { 0x80 } else { 0 };
    let len = payload.len();
    if len < 126 {
        out.push(masked | len as u8);
    } else if len <= 65535 {
        out.push(masked | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(masked | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    match mask {
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
        None => out.extend_from_slice(payload),
    }
    out
}

/// The status code at the start of a close frame's payload.
pub fn close_code(payload: &[u8]) -> u16 {
    u16::from_be_bytes([payload[0], payload[1]])
}

pub struct RawWs {
    stream: TcpStream,
    buf: Vec<u8>,
}

impl RawWs {
    /// Upgrades `path` from the server's own origin; panics unless the answer is 101.
    pub async fn open(addr: SocketAddr, path: &str) -> RawWs {
        RawWs::open_with(addr, path, TcpSocket::new_v4().unwrap()).await
    }

    /// [`RawWs::open`] on a socket the caller set up (buffer sizes, say).
    pub async fn open_with(addr: SocketAddr, path: &str, socket: TcpSocket) -> RawWs {
        let mut stream = socket.connect(addr).await.unwrap();
        let req = format!(
            "GET {path} HTTP/1.1\r\nHost: {addr}\r\nOrigin: http://{addr}\r\nUpgrade: websocket\r\n\
             Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
             Sec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(req.as_bytes()).await.unwrap();
        let mut ws = RawWs {
            stream,
            buf: Vec::new(),
        };
        let end = loop {
            if let Some(i) = ws.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                break i + 4;
            }
            ws.fill().await;
        };
        let head = String::from_utf8_lossy(&ws.buf[..end]).into_owned();
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        ws.buf.drain(..end);
        ws
    }

    async fn fill(&mut self) {
        let mut chunk = [0u8; 65536];
        let n = tokio::time::timeout(Duration::from_secs(5), self.stream.read(&mut chunk))
            .await
            .expect("bytes within 5 s")
            .unwrap();
        assert!(n > 0, "the server closed the TCP connection without a close frame");
        self.buf.extend_from_slice(&chunk[..n]);
    }

    /// Writes `bytes` as they are.
    pub async fn send(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    /// The next server frame: opcode and payload (server frames are final and never masked).
    pub async fn next(&mut self) -> (u8, Vec<u8>) {
        loop {
            if let Some((op, start, len)) = self.header()
                && self.buf.len() >= start + len
            {
                let payload = self.buf[start..start + len].to_vec();
                self.buf.drain(..start + len);
                return (op, payload);
            }
            self.fill().await;
        }
    }

    /// The next server frame, which must be text, as JSON.
    pub async fn next_json(&mut self) -> serde_json::Value {
        let (op, payload) = self.next().await;
        assert_eq!(op, TEXT, "{}", String::from_utf8_lossy(&payload));
        serde_json::from_slice(&payload).unwrap()
    }

    fn header(&self) -> Option<(u8, usize, usize)> {
        let b = &self.buf;
        if b.len() < 2 {
            return None;
        }
        assert_eq!(b[0] & 0x80, 0x80, "server frames are final");
        assert_eq!(b[1] & 0x80, 0, "server frames are not masked");
        match b[1] & 0x7f {
            126 if b.len() >= 4 => Some((b[0] & 0x0f, 4, usize::from(u16::from_be_bytes([b[2], b[3]])))),
            127 if b.len() >= 10 => {
                let len = u64::from_be_bytes(b[2..10].try_into().unwrap());
                Some((b[0] & 0x0f, 10, usize::try_from(len).unwrap()))
            }
            126 | 127 => None,
            n => Some((b[0] & 0x0f, 2, usize::from(n))),
        }
    }
}
