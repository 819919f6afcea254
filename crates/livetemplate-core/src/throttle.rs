//! Pacing of one connection's client frames: a token bucket that makes the reader wait for
//! the next token (backpressure) instead of refusing the frame, and the rule that closes a
//! connection for a flood.
//!
//! A client over its rate is read more slowly: while the reader waits, unread frames stay in
//! the kernel's buffers, TCP's window closes, and the client's own sends block. Every frame is
//! still read and applied, in order. A connection is closed (1008, `message flood`) only when
//! its client keeps the throttle engaged without a pause for longer than
//! [`Config::flood_close_after`](crate::Config::flood_close_after): for that whole time, the
//! bucket never refilled to [`PAUSE`]'s worth of tokens (half a second at the rate, at most the
//! burst). The rule reads the bucket, not how promptly the reader woke up, so a server slowed
//! by load still recognises a flood.

use std::time::{Duration, Instant};

/// The longest single wait [`Throttle::delay`] asks for (a rate of zero never refills).
const MAX_DELAY: Duration = Duration::from_secs(60);

/// How long a client must pause for its throttled stretch to end: a frame read when the
/// bucket holds this many seconds of tokens (capped at the burst) starts afresh.
pub const PAUSE: Duration = Duration::from_millis(500);

/// A token bucket over a connection's client frames, with the flood rule.
///
/// ```
/// # use std::time::{Duration, Instant};
/// # use livetemplate_core::throttle::Throttle;
/// // 10 frames a second, bursts of 5, closed after 2 s of non-stop demand.
/// let mut t = Throttle::new(10.0, 5.0, Duration::from_secs(2));
/// let start = Instant::now();
/// for _ in 0..5 {
///     assert_eq!(t.delay(start), Duration::ZERO);
///     t.take(start).unwrap();
/// }
/// // The burst is spent: the sixth frame waits a tenth of a second, then is read.
/// assert_eq!(t.delay(start), Duration::from_millis(100));
/// t.take(start + Duration::from_millis(100)).unwrap();
/// ```
#[derive(Debug, Clone)]
pub struct Throttle {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
    close_after: Duration,
    /// When the current stretch of non-stop throttling began.
    engaged_since: Option<Instant>,
    /// Frames of the current stretch.
    engaged_frames: u64,
}

/// A flood: the client kept the throttle engaged for longer than the configured time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Flood {
    /// How long the throttle had been engaged without a pause.
    pub engaged_for: Duration,
    /// Frames read while it was.
    pub frames: u64,
}

impl Flood {
    /// Log the flood for `page` (a WARN, rate limited process-wide) before the caller closes
    /// the connection with 1008 `message flood`.
    pub fn log(&self, page: &str) {
        static FLOOD_LOG: crate::log_limit::LogLimit = crate::log_limit::LogLimit::new("message flood", 10);
        if FLOOD_LOG.allow() {
            tracing::warn!(
                page,
                seconds = self.engaged_for.as_secs(),
                frames = self.frames,
                "client kept sending past the message rate; closing with 1008"
            );
        }
    }
}

impl Throttle {
    /// A bucket refilling at `rate_per_sec` tokens a second up to `burst` (starting full),
    /// that reports a [`Flood`] once the throttle has been engaged without a pause for longer
    /// than `close_after`. An infinite rate or burst means no limit.
    pub fn new(rate_per_sec: f64, burst: f64, close_after: Duration) -> Self {
        Throttle::starting_at(rate_per_sec, burst, close_after, Instant::now())
    }

    /// As [`Throttle::new`], with the clock starting at `now` (for tests).
    pub fn starting_at(rate_per_sec: f64, burst: f64, close_after: Duration, now: Instant) -> Self {
        Throttle {
            rate: rate_per_sec,
            burst,
            tokens: burst,
            last: now,
            close_after,
            engaged_since: None,
            engaged_frames: 0,
        }
    }

    /// True when there is no limit (an infinite rate or burst).
    pub fn is_unlimited(&self) -> bool {
        self.rate.is_infinite() || self.burst.is_infinite() || self.rate.is_nan() || self.burst.is_nan()
    }

    fn refill(&mut self, now: Instant) {
        // At most a minute counts: the arithmetic stays small, and the bucket is full anyway.
        let elapsed = now.saturating_duration_since(self.last).min(Duration::from_secs(60));
        self.last = self.last.max(now);
        self.tokens = (self.tokens + elapsed.as_secs_f64() * self.rate.max(0.0)).min(self.burst);
    }

    /// How long to wait before reading the next frame at `now`: zero when a token is there.
    /// The caller sleeps that long (without reading) and asks again.
    pub fn delay(&mut self, now: Instant) -> Duration {
        if self.is_unlimited() {
            return Duration::ZERO;
        }
        self.refill(now);
        if self.tokens >= 1.0 {
            return Duration::ZERO;
        }
        if self.rate <= 0.0 {
            return MAX_DELAY;
        }
        // Rounded up to whole microseconds, so the token is there when the caller wakes.
        let micros = ((1.0 - self.tokens) / self.rate * 1e6).ceil();
        Duration::from_micros(micros as u64).min(MAX_DELAY)
    }

    /// Count one frame read at `now`. Errors with a [`Flood`] when the throttle has been
    /// engaged without a pause for longer than the configured time: the caller closes the
    /// connection (1008).
    ///
    /// The throttle counts as engaged for a frame when the bucket holds less than [`PAUSE`]'s
    /// worth of tokens (`rate × 0.5 s`, at most the burst, at least one) as it is read: the
    /// client has been sending faster than the rate and has not paused since. A client that
    /// pauses long enough for the bucket to refill that far ends the stretch; a reader that
    /// wakes late under load does not.
    pub fn take(&mut self, now: Instant) -> Result<(), Flood> {
        if self.is_unlimited() {
            return Ok(());
        }
        self.refill(now);
        let pause = (self.rate * PAUSE.as_secs_f64()).max(1.0).min(self.burst);
        let engaged = self.tokens < pause;
        // Never below one token of debt: a frame read early only makes the next wait longer.
        self.tokens = (self.tokens - 1.0).max(-1.0);
        if !engaged {
            self.engaged_since = None;
            self.engaged_frames = 0;
            return Ok(());
        }
        let since = *self.engaged_since.get_or_insert(now);
        self.engaged_frames += 1;
        let engaged_for = now.saturating_duration_since(since);
        if engaged_for > self.close_after {
            return Err(Flood {
                engaged_for,
                frames: self.engaged_frames,
            });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);

    /// Read `n` frames as fast as the throttle lets a client that always has one waiting.
    fn flood(t: &mut Throttle, now: &mut Instant, n: usize) -> Result<(), Flood> {
        for _ in 0..n {
            *now += t.delay(*now);
            t.take(*now)?;
        }
        Ok(())
    }

    #[test]
    fn a_burst_passes_then_frames_are_paced_at_the_rate() {
        let start = Instant::now();
        let mut now = start;
        let mut t = Throttle::starting_at(50.0, 100.0, Duration::from_secs(30), start);
        flood(&mut t, &mut now, 100).unwrap();
        assert_eq!(now, start, "the burst needs no waiting");
        flood(&mut t, &mut now, 200).unwrap();
        let paced = now - start;
        assert!(
            paced >= Duration::from_secs(4) && paced < Duration::from_millis(4010),
            "{paced:?}"
        );
    }

    #[test]
    fn non_stop_demand_is_a_flood_after_the_configured_time() {
        let start = Instant::now();
        let mut now = start;
        let mut t = Throttle::starting_at(10.0, 5.0, Duration::from_secs(2), start);
        let flood = flood(&mut t, &mut now, 100).unwrap_err();
        assert!(flood.engaged_for > Duration::from_secs(2), "{flood:?}");
        // The stretch starts once the bucket is below half a second of tokens, within the
        // burst: the rest of the burst, then 2 s at 10/s, and one more.
        assert!((24..=26).contains(&flood.frames), "{flood:?}");
        assert!(now - start <= Duration::from_millis(2300), "{:?}", now - start);
    }

    #[test]
    fn a_pause_of_half_a_second_ends_the_stretch() {
        let start = Instant::now();
        let mut now = start;
        let mut t = Throttle::starting_at(10.0, 5.0, Duration::from_secs(2), start);
        for _ in 0..10 {
            flood(&mut t, &mut now, 15).unwrap();
            // An honest client stops for a moment: the next frame finds the bucket refilled.
            now += 500 * MS;
            t.take(now).unwrap();
        }
    }

    #[test]
    fn a_reader_that_wakes_late_still_sees_a_flood() {
        // A loaded server: every wait the throttle asks for is overslept by 60 ms (three
        // tokens at 50/s), while the client always has the next frame waiting.
        let start = Instant::now();
        let mut now = start;
        let mut t = Throttle::starting_at(50.0, 100.0, Duration::from_secs(5), start);
        let mut result = Ok(());
        for _ in 0..2_000 {
            let wait = t.delay(now);
            if !wait.is_zero() {
                now += wait + 60 * MS;
            }
            result = t.take(now);
            if result.is_err() {
                break;
            }
        }
        let flood = result.unwrap_err();
        assert!(flood.engaged_for > Duration::from_secs(5), "{flood:?}");
        assert!(now - start < Duration::from_secs(10), "{:?}", now - start);
    }

    #[test]
    fn an_idle_client_after_a_wait_is_not_engaged() {
        let start = Instant::now();
        let mut now = start;
        let mut t = Throttle::starting_at(10.0, 1.0, Duration::from_millis(500), start);
        flood(&mut t, &mut now, 5).unwrap();
        // The reader was told to wait, then the client sent nothing for a minute.
        let _ = t.delay(now);
        now += Duration::from_secs(60);
        t.take(now).unwrap();
        flood(&mut t, &mut now, 3).unwrap();
    }

    #[test]
    fn infinite_rate_or_burst_is_no_limit() {
        let now = Instant::now();
        for mut t in [
            Throttle::starting_at(f64::INFINITY, 1.0, Duration::ZERO, now),
            Throttle::starting_at(1.0, f64::INFINITY, Duration::ZERO, now),
        ] {
            for _ in 0..10_000 {
                assert_eq!(t.delay(now), Duration::ZERO);
                t.take(now).unwrap();
            }
        }
    }

    #[test]
    fn a_zero_rate_waits_without_panicking() {
        let now = Instant::now();
        let mut t = Throttle::starting_at(0.0, 1.0, Duration::from_secs(1), now);
        t.take(now).unwrap();
        assert_eq!(t.delay(now), MAX_DELAY);
    }
}
