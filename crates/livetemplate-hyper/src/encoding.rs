//! Content codings: which one a request accepts (`Accept-Encoding`, q-values honoured) and
//! compressing a body with it (gzip or brotli, through `async-compression`).
//!
//! Pages are compressed as they are answered (brotli at quality 5 and gzip at level 6); the
//! client bundle once, at the best quality (gzip only).

use std::io;

use async_compression::Level;
use async_compression::tokio::write::{BrotliEncoder, GzipEncoder};
use http_body_util::{BodyExt, Full};
use hyper::Response;
use hyper::body::Bytes;
use hyper::header::{ACCEPT_ENCODING, CONTENT_ENCODING, CONTENT_TYPE, HeaderMap, HeaderValue, VARY};
use tokio::io::AsyncWriteExt;

use crate::ResponseBody;

/// Bodies shorter than this are sent as they are: compressing them saves less than the
/// header costs.
const MIN_SIZE: usize = 1024;

/// A content coding the server can answer with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Coding {
    Identity,
    Gzip,
    Brotli,
}

/// How hard to compress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Effort {
    /// For a body made per request (a page): fast.
    PerRequest,
    /// For a body compressed once and kept (the client bundle): smallest.
    Once,
}

impl Coding {
    /// The `Content-Encoding` value (none for identity).
    pub(crate) fn header(self) -> Option<&'static str> {
        match self {
            Coding::Identity => None,
            Coding::Gzip => Some("gzip"),
            Coding::Brotli => Some("br"),
        }
    }

    /// The coding to answer a request with: of brotli and gzip, the one `Accept-Encoding`
    /// gives the higher q-value above 0 (brotli on a tie; `*` stands for a coding the header
    /// does not name); identity when it accepts neither, or has no `Accept-Encoding`.
    pub(crate) fn preferred(headers: &HeaderMap) -> Coding {
        let accepted = Accepted::from_headers(headers);
        if accepted.br > 0.0 && accepted.br >= accepted.gzip {
            Coding::Brotli
        } else if accepted.gzip > 0.0 {
            Coding::Gzip
        } else {
            Coding::Identity
        }
    }
}

/// The q-values `Accept-Encoding` gives the codings the server has (0: not accepted).
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Accepted {
    gzip: f32,
    br: f32,
}

impl Accepted {
    /// Read every `Accept-Encoding` header. A q-value that cannot be read, or is outside
    /// 0..=1, counts as not accepted.
    pub(crate) fn from_headers(headers: &HeaderMap) -> Accepted {
        let (mut gzip, mut br, mut star) = (None, None, None);
        for value in headers.get_all(ACCEPT_ENCODING) {
            let Ok(value) = value.to_str() else { continue };
            for item in value.split(',') {
                let mut parts = item.split(';');
                let coding = parts.next().unwrap_or("").trim();
                let q = parts
                    .find_map(|p| {
                        let p = p.trim();
                        p.strip_prefix("q=").or_else(|| p.strip_prefix("Q="))
                    })
                    .map_or(Some(1.0), |q| {
                        q.trim().parse::<f32>().ok().filter(|q| (0.0..=1.0).contains(q))
                    })
                    .unwrap_or(0.0);
                if coding.eq_ignore_ascii_case("gzip") || coding.eq_ignore_ascii_case("x-gzip") {
                    gzip = Some(q);
                } else if coding.eq_ignore_ascii_case("br") {
                    br = Some(q);
                } else if coding == "*" {
                    star = Some(q);
                }
            }
        }
        Accepted {
            gzip: gzip.or(star).unwrap_or(0.0),
            br: br.or(star).unwrap_or(0.0),
        }
    }

    /// Whether `coding` may be used (identity always may).
    pub(crate) fn accepts(self, coding: Coding) -> bool {
        match coding {
            Coding::Identity => true,
            Coding::Gzip => self.gzip > 0.0,
            Coding::Brotli => self.br > 0.0,
        }
    }
}

/// `body` compressed with `coding` (identity: a copy).
pub(crate) async fn compress(body: &[u8], coding: Coding, effort: Effort) -> io::Result<Vec<u8>> {
    let out = Vec::with_capacity(body.len() / 4);
    match coding {
        Coding::Identity => Ok(body.to_vec()),
        Coding::Gzip => {
            let level = match effort {
                Effort::PerRequest => Level::Precise(6),
                Effort::Once => Level::Best,
            };
            let mut enc = GzipEncoder::with_quality(out, level);
            enc.write_all(body).await?;
            enc.shutdown().await?;
            Ok(enc.into_inner())
        }
        Coding::Brotli => {
            let level = match effort {
                Effort::PerRequest => Level::Precise(5),
                Effort::Once => Level::Best,
            };
            let mut enc = BrotliEncoder::with_quality(out, level);
            enc.write_all(body).await?;
            enc.shutdown().await?;
            Ok(enc.into_inner())
        }
    }
}

/// An HTML answer (a page, the 422 of a failed form, an error page) compressed with `coding`
/// when it is long enough, with `Vary: Accept-Encoding` whatever the coding. Other answers
/// are returned as they are.
pub(crate) async fn encode_html(response: Response<ResponseBody>, coding: Coding) -> Response<ResponseBody> {
    let headers = response.headers();
    let is_html = headers
        .get(CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"text/html"));
    if !is_html || headers.contains_key(CONTENT_ENCODING) {
        return response;
    }
    let (mut parts, body) = response.into_parts();
    parts.headers.append(VARY, HeaderValue::from_static("Accept-Encoding"));
    let body = match body.collect().await {
        Ok(collected) => collected.to_bytes(),
        Err(never) => match never {},
    };
    let Some(name) = coding.header().filter(|_| body.len() >= MIN_SIZE) else {
        return Response::from_parts(parts, Full::new(body));
    };
    match compress(&body, coding, Effort::PerRequest).await {
        Ok(compressed) => {
            parts.headers.insert(CONTENT_ENCODING, HeaderValue::from_static(name));
            Response::from_parts(parts, Full::new(Bytes::from(compressed)))
        }
        Err(err) => {
            tracing::debug!(error = %err, "compressing a page failed; sending it as it is");
            Response::from_parts(parts, Full::new(body))
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn accept(values: &[&'static str]) -> Coding {
        let mut m = HeaderMap::new();
        for v in values {
            m.append(ACCEPT_ENCODING, HeaderValue::from_static(v));
        }
        Coding::preferred(&m)
    }

    #[test]
    fn accept_encoding_with_q_values() {
        assert_eq!(accept(&["gzip, deflate, br, zstd"]), Coding::Brotli);
        assert_eq!(accept(&["gzip, deflate"]), Coding::Gzip);
        assert_eq!(accept(&["br;q=0.5, gzip;q=0.8"]), Coding::Gzip);
        assert_eq!(accept(&["br;q=0.8, gzip;q=0.8"]), Coding::Brotli);
        assert_eq!(accept(&["gzip;q=0, br;q=0"]), Coding::Identity);
        assert_eq!(accept(&["gzip;q=0", "br"]), Coding::Brotli, "over two headers");
        assert_eq!(accept(&["identity"]), Coding::Identity);
        assert_eq!(accept(&["*"]), Coding::Brotli);
        assert_eq!(accept(&["*;q=0.5, br;q=0"]), Coding::Gzip);
        assert_eq!(accept(&["*, gzip;q=0, br;q=0"]), Coding::Identity);
        assert_eq!(accept(&["x-gzip"]), Coding::Gzip);
        assert_eq!(accept(&["GZIP;Q=0.3"]), Coding::Gzip);
        assert_eq!(accept(&["br;q=banana, gzip"]), Coding::Gzip, "an unreadable q is no");
        assert_eq!(accept(&["br;q=2"]), Coding::Identity, "q above 1 is invalid");
        assert_eq!(accept(&[]), Coding::Identity);
        let mut m = HeaderMap::new();
        m.append(ACCEPT_ENCODING, HeaderValue::from_static("br, gzip;q=0"));
        assert!(!Accepted::from_headers(&m).accepts(Coding::Gzip));
        assert!(Accepted::from_headers(&m).accepts(Coding::Brotli));
    }

    #[tokio::test]
    async fn compressed_bodies_decode_to_the_original() {
        use async_compression::tokio::bufread::{BrotliDecoder, GzipDecoder};
        use tokio::io::AsyncReadExt;
        let body: Vec<u8> = (0..5000)
            .flat_map(|i| format!("<tr><td>{i}</td></tr>").into_bytes())
            .collect();
        for effort in [Effort::PerRequest, Effort::Once] {
            let gz = compress(&body, Coding::Gzip, effort).await.unwrap();
            let br = compress(&body, Coding::Brotli, effort).await.unwrap();
            assert!(gz.len() < body.len() / 4 && br.len() < body.len() / 4);
            let mut out = Vec::new();
            GzipDecoder::new(&gz[..]).read_to_end(&mut out).await.unwrap();
            assert_eq!(out, body);
            out.clear();
            BrotliDecoder::new(&br[..]).read_to_end(&mut out).await.unwrap();
            assert_eq!(out, body);
        }
    }
}
