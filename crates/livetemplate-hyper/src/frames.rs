//! RFC 6455 framing, server side, with no buffer held while a connection is idle.
//!
//! fastwebsockets performs the handshake; its frame reader keeps an 8 KiB buffer per
//! connection for the connection's whole life, which was most of what an idle live connection
//! cost. [`FrameReader`] reads only when the socket has bytes (into a chunk on the stack,
//! never held across an `.await`), keeps just the bytes of an unfinished frame, and frees them
//! when a read ends on a frame boundary, which is almost always. Writing a server frame is a
//! header in front of the payload ([`encode`]).
//!
//! The reader checks what RFC 6455 (section 5) requires of a client's frame: reserved bits
//! clear, a known opcode, control frames final and at most 125 bytes, every frame masked, a
//! close frame's code and UTF-8 reason; and the message size limit. It unmasks the payload.

use std::future::poll_fn;
use std::io;
use std::pin::Pin;
use std::task::Poll;

use tokio::io::{AsyncRead, ReadBuf};

/// Bytes read from the socket at a time (on the stack).
const CHUNK: usize = 4096;

/// A frame's opcode.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OpCode {
    Continuation,
    Text,
    Binary,
    Close,
    Ping,
    Pong,
}

impl OpCode {
    fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xA => OpCode::Pong,
            _ => return None,
        })
    }

    fn bits(self) -> u8 {
        match self {
            OpCode::Continuation => 0x0,
            OpCode::Text => 0x1,
            OpCode::Binary => 0x2,
            OpCode::Close => 0x8,
            OpCode::Ping => 0x9,
            OpCode::Pong => 0xA,
        }
    }

    fn is_control(self) -> bool {
        matches!(self, OpCode::Close | OpCode::Ping | OpCode::Pong)
    }
}

/// One frame from the client, unmasked.
#[derive(Debug)]
pub(crate) struct Frame {
    pub(crate) fin: bool,
    pub(crate) opcode: OpCode,
    pub(crate) payload: Vec<u8>,
}

/// Why a client's frame was refused; each maps to a close code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FrameError {
    /// Over the message size limit (1009).
    TooLarge,
    /// A close frame's reason is not UTF-8 (1007).
    BadUtf8,
    /// A frame without a mask (1002; RFC 6455 5.1).
    Unmasked,
    /// Anything else RFC 6455 forbids (1002).
    Protocol(&'static str),
}

/// Reads client frames from a socket, holding memory only for a frame in progress.
#[derive(Debug)]
pub(crate) struct FrameReader {
    /// Bytes read and not yet taken as frames: empty (no allocation) between frames.
    pending: Vec<u8>,
    /// Largest payload accepted, in bytes.
    max: usize,
}

impl FrameReader {
    /// A reader accepting payloads of at most `max` bytes.
    pub(crate) fn new(max: usize) -> Self {
        FrameReader {
            pending: Vec::new(),
            max,
        }
    }

    /// Wait until the socket has bytes and take what it has. `Ok(0)` at the end of the
    /// stream. Cancel-safe: bytes are only taken in the poll that returns them.
    pub(crate) async fn fill<R: AsyncRead + Unpin>(&mut self, io: &mut R) -> io::Result<usize> {
        poll_fn(|cx| {
            let mut chunk = [0u8; CHUNK];
            let mut buf = ReadBuf::new(&mut chunk);
            match Pin::new(&mut *io).poll_read(cx, &mut buf) {
                Poll::Ready(Ok(())) => {
                    let filled = buf.filled();
                    self.pending.extend_from_slice(filled);
                    Poll::Ready(Ok(filled.len()))
                }
                Poll::Ready(Err(err)) => Poll::Ready(Err(err)),
                Poll::Pending => Poll::Pending,
            }
        })
        .await
    }

    /// The next complete frame from the bytes read so far, if there is one.
    pub(crate) fn next_frame(&mut self) -> Result<Option<Frame>, FrameError> {
        let buf = &self.pending;
        if buf.len() < 2 {
            return Ok(None);
        }
        let (b0, b1) = (buf[0], buf[1]);
        if b0 & 0x70 != 0 {
            return Err(FrameError::Protocol("reserved bits set"));
        }
        let fin = b0 & 0x80 != 0;
        let opcode = OpCode::from_bits(b0 & 0x0F).ok_or(FrameError::Protocol("unknown opcode"))?;
        if b1 & 0x80 == 0 {
            return Err(FrameError::Unmasked);
        }
        let (len, at) = match b1 & 0x7F {
            126 => {
                let Some(bytes) = buf.get(2..4) else { return Ok(None) };
                (u64::from(u16::from_be_bytes([bytes[0], bytes[1]])), 4)
            }
            127 => {
                let Some(bytes) = buf.get(2..10) else { return Ok(None) };
                let mut b = [0u8; 8];
                b.copy_from_slice(bytes);
                (u64::from_be_bytes(b), 10)
            }
            n => (u64::from(n), 2),
        };
        if opcode.is_control() && !fin {
            return Err(FrameError::Protocol("fragmented control frame"));
        }
        if opcode.is_control() && len > 125 {
            return Err(FrameError::Protocol("control frame over 125 bytes"));
        }
        if len > self.max as u64 {
            return Err(FrameError::TooLarge);
        }
        let len = len as usize;
        let Some(mask) = buf.get(at..at + 4) else {
            return Ok(None);
        };
        let mask = [mask[0], mask[1], mask[2], mask[3]];
        let start = at + 4;
        if buf.len() < start + len {
            // Make room for the rest of the frame at once.
            self.pending.reserve(start + len - buf.len());
            return Ok(None);
        }
        let mut payload = if start + len == self.pending.len() {
            // The usual case: the frame is all that was read. Its bytes become the payload.
            let mut all = std::mem::take(&mut self.pending);
            all.drain(..start);
            all
        } else {
            let payload = self.pending[start..start + len].to_vec();
            self.pending.drain(..start + len);
            payload
        };
        fastwebsockets::unmask(&mut payload, mask);
        if opcode == OpCode::Close {
            check_close(&payload)?;
        }
        Ok(Some(Frame { fin, opcode, payload }))
    }
}

/// A close frame's body: empty, or a code a peer may send and a UTF-8 reason.
fn check_close(payload: &[u8]) -> Result<(), FrameError> {
    match payload {
        [] => Ok(()),
        [_] => Err(FrameError::Protocol("close frame of one byte")),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            // RFC 6455 7.4: 1004-1006 and 1015 are never sent; below 1000 and 1016-2999 are
            // not assigned.
            let allowed = matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999);
            if !allowed {
                return Err(FrameError::Protocol("close code not allowed"));
            }
            std::str::from_utf8(reason).map_err(|_| FrameError::BadUtf8)?;
            Ok(())
        }
    }
}

/// A server frame (unmasked, final) with `payload`, ready to write.
pub(crate) fn encode(opcode: OpCode, payload: &[u8]) -> Vec<u8> {
    let len = payload.len();
    let mut out = Vec::with_capacity(len + 10);
    out.push(0x80 | opcode.bits());
    if len < 126 {
        out.push(len as u8);
    } else if len <= usize::from(u16::MAX) {
        out.push(126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(payload);
    out
}

/// A server text frame around `text`, built in the string's own buffer: the header goes in
/// front of the bytes (one move, no second buffer the size of the frame, which for a late
/// joiner's first frame can be 100 KB and more).
pub(crate) fn text(text: String) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    let len = bytes.len();
    let mut head = [0u8; 10];
    head[0] = 0x80 | OpCode::Text.bits();
    let n = if len < 126 {
        head[1] = len as u8;
        2
    } else if len <= usize::from(u16::MAX) {
        head[1] = 126;
        head[2..4].copy_from_slice(&(len as u16).to_be_bytes());
        4
    } else {
        head[1] = 127;
        head[2..10].copy_from_slice(&(len as u64).to_be_bytes());
        10
    };
    bytes.splice(0..0, head[..n].iter().copied());
    bytes
}

/// A close frame with `code` and `reason` (cut at a character boundary to fit the 123 bytes a
/// control frame leaves for it).
pub(crate) fn close(code: u16, reason: &str) -> Vec<u8> {
    let mut end = reason.len().min(123);
    while !reason.is_char_boundary(end) {
        end -= 1;
    }
    let mut body = Vec::with_capacity(2 + end);
    body.extend_from_slice(&code.to_be_bytes());
    body.extend_from_slice(&reason.as_bytes()[..end]);
    encode(OpCode::Close, &body)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A client frame: masked with `mask`.
    fn client(b0: u8, payload: &[u8], mask: [u8; 4]) -> Vec<u8> {
        let mut out = vec![b0];
        let len = payload.len();
        if len < 126 {
            out.push(0x80 | len as u8);
        } else if len <= 65535 {
            out.push(0x80 | 126);
            out.extend_from_slice(&(len as u16).to_be_bytes());
        } else {
            out.push(0x80 | 127);
            out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        out.extend_from_slice(&mask);
        out.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
        out
    }

    fn reader_with(bytes: &[u8], max: usize) -> FrameReader {
        let mut r = FrameReader::new(max);
        r.pending.extend_from_slice(bytes);
        r
    }

    #[test]
    fn text_frames_match_encode_at_every_length_form() {
        for len in [0, 1, 125, 126, 127, 65_535, 65_536, 70_000] {
            let body = "é".repeat(len / 2) + &"x".repeat(len % 2);
            assert_eq!(
                text(body.clone()),
                encode(OpCode::Text, body.as_bytes()),
                "length {len}"
            );
        }
    }

    #[test]
    fn frames_are_unmasked_and_split_at_their_boundaries() {
        let mut bytes = client(0x81, b"hello", [1, 2, 3, 4]);
        bytes.extend(client(0x89, b"p", [9, 9, 9, 9]));
        let long = "x".repeat(70_000);
        bytes.extend(client(0x81, long.as_bytes(), [5, 6, 7, 8]));
        let mut r = reader_with(&bytes, 100_000);
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(
            (f.fin, f.opcode, f.payload.as_slice()),
            (true, OpCode::Text, &b"hello"[..])
        );
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!((f.opcode, f.payload.as_slice()), (OpCode::Ping, &b"p"[..]));
        let f = r.next_frame().unwrap().unwrap();
        assert_eq!(f.payload, long.as_bytes());
        assert!(r.next_frame().unwrap().is_none());
        assert!(r.pending.is_empty());
        assert_eq!(r.pending.capacity(), 0, "nothing is held between frames");
    }

    #[test]
    fn a_partial_frame_waits_for_its_bytes() {
        let bytes = client(0x81, b"hello", [1, 2, 3, 4]);
        for cut in 0..bytes.len() {
            let mut r = reader_with(&bytes[..cut], 100);
            assert!(r.next_frame().unwrap().is_none(), "cut at {cut}");
            r.pending.extend_from_slice(&bytes[cut..]);
            assert_eq!(r.next_frame().unwrap().unwrap().payload, b"hello");
        }
    }

    #[test]
    fn what_rfc_6455_forbids_is_refused() {
        let refused = |bytes: Vec<u8>| reader_with(&bytes, 100).next_frame().unwrap_err();
        assert_eq!(refused(client(0x81, &[b'a'; 101], [0; 4])), FrameError::TooLarge);
        assert!(
            reader_with(&client(0x81, &[b'a'; 100], [0; 4]), 100)
                .next_frame()
                .is_ok()
        );
        let mut unmasked = client(0x81, b"a", [0; 4]);
        unmasked[1] &= 0x7F;
        assert_eq!(refused(unmasked), FrameError::Unmasked);
        assert!(matches!(refused(client(0xC1, b"a", [0; 4])), FrameError::Protocol(_)));
        assert!(matches!(refused(client(0x83, b"a", [0; 4])), FrameError::Protocol(_)));
        assert!(matches!(refused(client(0x09, b"a", [0; 4])), FrameError::Protocol(_)));
        assert!(matches!(
            refused(client(0x89, &[0; 126], [0; 4])),
            FrameError::Protocol(_)
        ));
        assert!(matches!(refused(client(0x88, &[3], [0; 4])), FrameError::Protocol(_)));
        assert!(matches!(
            refused(client(0x88, &1005u16.to_be_bytes(), [0; 4])),
            FrameError::Protocol(_)
        ));
        let mut bad_reason = 1000u16.to_be_bytes().to_vec();
        bad_reason.push(0xFF);
        assert_eq!(refused(client(0x88, &bad_reason, [0; 4])), FrameError::BadUtf8);
        assert!(
            reader_with(&client(0x88, b"\x03\xe8bye", [1; 4]), 100)
                .next_frame()
                .is_ok()
        );
    }

    #[test]
    fn server_frames_carry_their_length() {
        assert_eq!(encode(OpCode::Text, b"hi"), b"\x81\x02hi");
        let mid = encode(OpCode::Text, &[b'a'; 300]);
        assert_eq!(&mid[..4], &[0x81, 126, 1, 44]);
        let big = encode(OpCode::Text, &vec![b'a'; 70_000]);
        assert_eq!(&big[..2], &[0x81, 127]);
        assert_eq!(big.len(), 70_000 + 10);
        let c = close(1008, &"é".repeat(100));
        assert_eq!(c[1] as usize, c.len() - 2);
        assert!(c.len() - 2 <= 125);
        assert!(std::str::from_utf8(&c[4..]).is_ok());
    }
}
