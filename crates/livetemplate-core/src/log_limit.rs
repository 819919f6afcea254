//! Log lines that a client can cause: a cap per kind and minute, and client text clipped and
//! escaped before it reaches a log.
//!
//! A refused request (a flood, a frame over the limit, a bad origin) is worth a line for the
//! operator, but a client that repeats it must not be able to fill the disk or bury other
//! lines, nor to write its own text into the log (newlines, terminal escapes, megabytes).
//! Each kind of line gets a static [`LogLimit`]: at most `per_minute` lines a minute across
//! the whole process, then one `suppressed K similar messages` line when the next minute
//! begins. Text a client chose goes through [`ClientText`].
//!
//! ```
//! use livetemplate_core::log_limit::{ClientText, LogLimit};
//!
//! static REFUSED: LogLimit = LogLimit::new("origin refused", 10);
//! # let origin = "https://evil.example\n";
//! if REFUSED.allow() {
//!     tracing::warn!(origin = %ClientText(origin), "WebSocket upgrade refused");
//! }
//! ```

use std::fmt;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// The window a [`LogLimit`] counts lines in.
const WINDOW: Duration = Duration::from_secs(60);

/// Most characters of client text a log line shows.
pub const CLIENT_TEXT_CHARS: usize = 64;

/// A cap on one kind of log line: at most `per_minute` a minute, process-wide.
#[derive(Debug)]
pub struct LogLimit {
    kind: &'static str,
    per_minute: u32,
    window: Mutex<Window>,
}

#[derive(Debug)]
struct Window {
    start: Option<Instant>,
    logged: u32,
    suppressed: u64,
}

impl LogLimit {
    /// A limit of `per_minute` lines a minute for lines of `kind` (named in the
    /// `suppressed` line).
    pub const fn new(kind: &'static str, per_minute: u32) -> Self {
        LogLimit {
            kind,
            per_minute,
            window: Mutex::new(Window {
                start: None,
                logged: 0,
                suppressed: 0,
            }),
        }
    }

    /// Whether a line of this kind may be written now. The first call of a minute after
    /// lines were held back writes one WARN line saying how many.
    pub fn allow(&self) -> bool {
        self.allow_at(Instant::now())
    }

    /// As [`LogLimit::allow`], at `now` (for tests).
    pub fn allow_at(&self, now: Instant) -> bool {
        let mut w = self.window.lock().unwrap_or_else(|p| p.into_inner());
        if w.start.is_none_or(|s| now.saturating_duration_since(s) >= WINDOW) {
            let suppressed = std::mem::take(&mut w.suppressed);
            w.start = Some(now);
            w.logged = 0;
            if suppressed > 0 {
                tracing::warn!(
                    kind = self.kind,
                    suppressed,
                    "suppressed {suppressed} similar messages ({}) in the last minute",
                    self.kind
                );
            }
        }
        if w.logged < self.per_minute {
            w.logged += 1;
            true
        } else {
            w.suppressed += 1;
            false
        }
    }

    /// Lines held back in the current minute.
    pub fn suppressed(&self) -> u64 {
        self.window.lock().unwrap_or_else(|p| p.into_inner()).suppressed
    }
}

/// Text a client chose, as a log shows it: at most [`CLIENT_TEXT_CHARS`] characters, with
/// control characters, quotes and backslashes escaped (Rust's `escape_debug`), and `…` when
/// cut.
///
/// ```
/// # use livetemplate_core::log_limit::ClientText;
/// assert_eq!(ClientText("a\nb").to_string(), "a\\nb");
/// assert_eq!(ClientText(&"x".repeat(100)).to_string(), format!("{}…", "x".repeat(64)));
/// ```
#[derive(Debug, Clone, Copy)]
pub struct ClientText<'a>(pub &'a str);

impl fmt::Display for ClientText<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut chars = self.0.chars();
        for c in chars.by_ref().take(CLIENT_TEXT_CHARS) {
            fmt::Display::fmt(&c.escape_debug(), f)?;
        }
        if chars.next().is_some() {
            f.write_str("…")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn at_most_n_a_minute_then_a_new_minute() {
        let limit = LogLimit::new("test", 3);
        let start = Instant::now();
        let allowed = (0..100)
            .filter(|i| limit.allow_at(start + Duration::from_millis(*i)))
            .count();
        assert_eq!(allowed, 3);
        assert_eq!(limit.suppressed(), 97);
        assert!(limit.allow_at(start + WINDOW));
        assert_eq!(limit.suppressed(), 0, "reported and reset");
    }

    #[test]
    fn client_text_is_clipped_and_escaped() {
        assert_eq!(ClientText("\u{1b}[31mred\r\n").to_string(), "\\u{1b}[31mred\\r\\n");
        let long = "é".repeat(1000);
        let shown = ClientText(&long).to_string();
        assert_eq!(shown.chars().count(), CLIENT_TEXT_CHARS + 1);
        assert!(shown.ends_with('…'));
    }
}
