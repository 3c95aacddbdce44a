//! Fault policy for one registry host: which failures are retried and after how long (capped
//! exponential backoff with jitter), how `Retry-After` and `RateLimit-Remaining` are read, and
//! the per-host record that stops a run from asking an exhausted registry again. Pure
//! decisions and counters; it sends nothing.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

/// Retries after the first attempt, for 5xx answers and connection errors.
pub const MAX_RETRIES: u32 = 3;
/// 429 answers in a row (with no other answer between) after which a host is given up.
pub const MAX_CONSECUTIVE_429: u64 = 3;
/// The longest `Retry-After` honoured within a run; a longer one means "exhausted".
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(60);
/// Hard bound on requests to a host that has answered nothing but 429.
pub const MAX_REQUESTS_WHEN_ONLY_429: u64 = 10;

/// Backoff before retry number `attempt` (1-based): `base · 2^(attempt-1)`, capped, plus up to
/// 50 % jitter so that parallel requests do not retry in lock step.
pub fn backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.saturating_sub(1).min(16));
    let d = exp.min(cap);
    let jitter_ms = (d.as_millis() as u64 / 2).max(1);
    d + Duration::from_millis(random_u64() % jitter_ms)
}

fn random_u64() -> u64 {
    // uuid's v4 generator is already a dependency and draws from the OS; quality beyond
    // "not in lock step" is not needed here.
    let v = uuid::Uuid::new_v4().as_u128();
    (v as u64) ^ ((v >> 64) as u64)
}

/// Parse `Retry-After`: delta seconds or an HTTP date (IMF-fixdate, RFC 2822 shaped).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let when = chrono::DateTime::parse_from_rfc2822(value).ok()?;
    let when = SystemTime::from(when.with_timezone(&chrono::Utc));
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// Whether `RateLimit-Remaining` (`0`, `0;w=21600`, `100;w=21600`) says nothing is left.
pub fn remaining_is_zero(value: &str) -> bool {
    let first = value.split([';', ',']).next().unwrap_or("").trim();
    first.parse::<u64>().is_ok_and(|n| n == 0)
}

/// Run-long fault state of one registry host.
#[derive(Debug, Default)]
pub struct HostHealth {
    /// The host said stop (or kept saying 429): no more requests this run.
    exhausted: AtomicBool,
    /// Why, for messages.
    exhausted_why: Mutex<String>,
    /// The host could not be reached at all (never answered, retries spent).
    unreachable: AtomicBool,
    /// The failure that made it so (no credential: built from connection errors).
    unreachable_why: Mutex<String>,
    /// How to fix that failure, when known (a CA to add).
    unreachable_hint: Mutex<Option<String>>,
    /// A request timed out: the host accepts connections but does not answer. Unlike
    /// `unreachable`, this holds even when the host answered earlier in the run, since a stall
    /// costs a whole timeout per request and every later request would most likely pay it too.
    stalled: AtomicBool,
    /// Some answer other than 429 was seen.
    answered: AtomicBool,
    /// 429s in a row.
    consecutive_429: AtomicU64,
    /// Requests sent to it.
    sent: AtomicU64,
}

impl HostHealth {
    /// Why requests must not be sent now, if they must not.
    pub fn refusal(&self) -> Option<Refusal> {
        if self.exhausted.load(Ordering::SeqCst) {
            let why = self
                .exhausted_why
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default();
            return Some(Refusal::RateLimited(why));
        }
        if !self.answered.load(Ordering::SeqCst)
            && self.consecutive_429.load(Ordering::SeqCst) > 0
            && self.sent.load(Ordering::SeqCst) >= MAX_REQUESTS_WHEN_ONLY_429
        {
            return Some(Refusal::RateLimited(
                "the registry answered only 429 Too Many Requests".to_owned(),
            ));
        }
        let stalled = self.stalled.load(Ordering::SeqCst);
        if stalled
            || (self.unreachable.load(Ordering::SeqCst) && !self.answered.load(Ordering::SeqCst))
        {
            let why = self
                .unreachable_why
                .lock()
                .map(|s| s.clone())
                .unwrap_or_default();
            let hint = self.unreachable_hint.lock().ok().and_then(|h| h.clone());
            return Some(Refusal::Unreachable(why, hint));
        }
        None
    }

    /// A request is about to be sent.
    pub fn note_sent(&self) {
        self.sent.fetch_add(1, Ordering::SeqCst);
    }

    /// Whether some non-429 answer has been seen (the host is known to work).
    pub fn answered(&self) -> bool {
        self.answered.load(Ordering::SeqCst)
    }

    /// An answer that is not 429.
    pub fn note_answer(&self) {
        self.answered.store(true, Ordering::SeqCst);
        self.consecutive_429.store(0, Ordering::SeqCst);
    }

    /// A 429; returns the number in a row.
    pub fn note_429(&self) -> u64 {
        self.consecutive_429.fetch_add(1, Ordering::SeqCst) + 1
    }

    /// Stop asking this host for the rest of the run.
    pub fn exhaust(&self, why: &str) {
        if let Ok(mut w) = self.exhausted_why.lock()
            && w.is_empty()
        {
            *w = why.to_owned();
        }
        self.exhausted.store(true, Ordering::SeqCst);
    }

    /// A request timed out: give the host up for the rest of the run.
    pub fn note_stalled(&self, why: &str) {
        if let Ok(mut w) = self.unreachable_why.lock()
            && (w.is_empty() || !self.stalled.load(Ordering::SeqCst))
        {
            *w = why.to_owned();
        }
        self.stalled.store(true, Ordering::SeqCst);
    }

    /// Connection attempts failed with every retry spent.
    pub fn note_unreachable(&self, why: &str, hint: Option<&str>) {
        if let Ok(mut w) = self.unreachable_why.lock()
            && w.is_empty()
        {
            *w = why.to_owned();
            if let Ok(mut h) = self.unreachable_hint.lock() {
                *h = hint.map(str::to_owned);
            }
        }
        self.unreachable.store(true, Ordering::SeqCst);
    }
}

/// Why a request was not sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// Exhausted or only 429s.
    RateLimited(String),
    /// Never reachable this run (and why, and how to fix that when known).
    Unreachable(String, Option<String>),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_caps() {
        let base = Duration::from_millis(100);
        let cap = Duration::from_millis(1000);
        for _ in 0..20 {
            let b1 = backoff(1, base, cap);
            assert!(b1 >= base && b1 < base * 2, "{b1:?}");
            let b3 = backoff(3, base, cap);
            assert!(b3 >= base * 4 && b3 < base * 6, "{b3:?}");
            let b9 = backoff(9, base, cap);
            assert!(b9 >= cap && b9 < cap + cap / 2, "{b9:?}");
        }
    }

    #[test]
    fn retry_after_forms() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_470);
        assert_eq!(parse_retry_after("7", now), Some(Duration::from_secs(7)));
        // Wed, 21 Oct 2015 07:28:00 GMT is 1445412480.
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now),
            Some(Duration::from_secs(10))
        );
        assert_eq!(
            parse_retry_after("Wed, 21 Oct 2015 07:27:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
    }

    #[test]
    fn ratelimit_remaining() {
        assert!(remaining_is_zero("0"));
        assert!(remaining_is_zero("0;w=21600"));
        assert!(!remaining_is_zero("76;w=21600"));
        assert!(!remaining_is_zero(""));
    }

    #[test]
    fn only_429_host_is_refused_after_the_bound() {
        let h = HostHealth::default();
        for _ in 0..MAX_REQUESTS_WHEN_ONLY_429 {
            assert_eq!(h.refusal(), None);
            h.note_sent();
            h.note_429();
        }
        assert!(matches!(h.refusal(), Some(Refusal::RateLimited(_))));
    }

    #[test]
    fn a_stall_gives_the_host_up_even_after_answers() {
        let h = HostHealth::default();
        h.note_answer();
        h.note_unreachable("connection reset", None);
        assert_eq!(h.refusal(), None);
        h.note_stalled("timed out");
        assert_eq!(
            h.refusal(),
            Some(Refusal::Unreachable("timed out".to_owned(), None))
        );
    }
}
