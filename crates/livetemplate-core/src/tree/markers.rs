//! The markers the generated template wrapper writes: their codes, and the queue that carries
//! them to the sink without writing any text.

use std::cell::Cell;
use std::fmt;

/// Marker codes written by the generated template wrapper (shared with the derive).
#[doc(hidden)]
pub use livetemplate_contract::mark;

/// Markers waiting for the sink: a FIFO of 4-bit marker codes, oldest in the highest nibble.
///
/// A marker writes nothing: it only queues its code here. The sink drains the queue before
/// every write it receives (and at the end), so each marker takes effect exactly between the
/// writes it stood between in the template. Text in user data can therefore never be taken
/// for a marker, whatever characters it holds.
#[doc(hidden)]
#[derive(Debug, Default)]
pub struct MarkQueue(Cell<u64>);

impl MarkQueue {
    /// An empty queue.
    pub fn new() -> Self {
        Self::default()
    }

    #[inline]
    pub(super) fn take(&self) -> u64 {
        self.0.replace(0)
    }
}

/// A marker value written into the template output by the generated wrapper.
#[doc(hidden)]
#[derive(Debug)]
pub struct Mark<'a> {
    queue: &'a MarkQueue,
    code: u32,
}

impl<'a> Mark<'a> {
    /// A marker of `code` for the sink draining `queue`.
    pub fn new(queue: &'a MarkQueue, code: u32) -> Self {
        Mark { queue, code }
    }

    /// Queue the code; when the queue is full, an empty write makes the sink drain it first.
    #[inline]
    fn push(&self, flush: impl FnOnce() -> fmt::Result) -> fmt::Result {
        if self.queue.0.get() >> 60 != 0 {
            flush()?;
        }
        let q = self.queue.0.get();
        self.queue.0.set((q << 4) | u64::from(self.code));
        Ok(())
    }
}

impl Mark<'_> {
    /// Queue the code now, `dest` taking the empty write that drains a full queue.
    pub fn queue_now(&self, dest: &mut dyn fmt::Write) -> fmt::Result {
        self.push(|| dest.write_str(""))
    }
}

impl fmt::Display for Mark<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.push(|| f.write_str(""))
    }
}

impl askama::FastWritable for Mark<'_> {
    #[inline]
    fn write_into(&self, dest: &mut dyn fmt::Write, _: &dyn askama::Values) -> askama::Result<()> {
        self.push(|| dest.write_str(""))?;
        Ok(())
    }
}
