//! Rate limits on what strangers can make the server do: messages per
//! minute per visitor and per client address, and new visitors per minute
//! per client address. Each is a token bucket per key on this instance
//! (refills at the rate per minute, holds a burst of half a minute's
//! worth); with several instances each counts its own share.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// One limit: `per_minute` (0: off) with bursts of half of it.
pub struct Limiter {
    per_minute: u32,
    buckets: Mutex<HashMap<String, (f64, Instant)>>,
}

/// Keys kept before full buckets are dropped (a full bucket is the same as
/// none).
const PRUNE_AT: usize = 10_000;

impl Limiter {
    pub fn new(per_minute: u32) -> Self {
        Self {
            per_minute,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    fn burst(&self) -> f64 {
        (self.per_minute as f64 / 2.0).max(1.0)
    }

    /// Whether one more is allowed for `key` now (and counts it if so).
    pub fn allow(&self, key: &str) -> bool {
        self.allow_at(key, Instant::now())
    }

    fn allow_at(&self, key: &str, now: Instant) -> bool {
        if self.per_minute == 0 {
            return true;
        }
        let rate = self.per_minute as f64 / 60.0;
        let burst = self.burst();
        let mut buckets = self.buckets.lock().unwrap_or_else(|p| p.into_inner());
        if buckets.len() >= PRUNE_AT {
            buckets.retain(|_, (tokens, at)| {
                (*tokens + now.duration_since(*at).as_secs_f64() * rate) < burst
            });
        }
        let (tokens, at) = buckets.entry(key.to_owned()).or_insert((burst, now));
        *tokens = (*tokens + now.duration_since(*at).as_secs_f64() * rate).min(burst);
        *at = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
            true
        } else {
            false
        }
    }
}

/// The instance's limits (see `TANDEM_LIMIT_*` in the README).
pub struct Limits {
    /// Messages a visitor may send per minute.
    pub visitor_messages: Limiter,
    /// Messages all visitors from one client address may send per minute.
    pub address_messages: Limiter,
    /// New visitors one client address may start per minute.
    pub address_visitors: Limiter,
    /// Typing signals a visitor may send per minute (all their sockets
    /// together; the widget sends one every few seconds at most). Beyond,
    /// they are dropped: typing is a hint, and each one costs a write.
    pub visitor_typing: Limiter,
}

/// Typing signals per visitor per minute, when messages are limited at all.
const TYPING_PER_MINUTE: u32 = 60;

impl Limits {
    pub fn new(visitor_messages: u32, address_messages: u32, address_visitors: u32) -> Self {
        Self {
            visitor_messages: Limiter::new(visitor_messages),
            address_messages: Limiter::new(address_messages),
            address_visitors: Limiter::new(address_visitors),
            visitor_typing: Limiter::new(if visitor_messages == 0 {
                0
            } else {
                TYPING_PER_MINUTE
            }),
        }
    }

    /// No limits (load tests, the fault run).
    pub fn off() -> Self {
        Self::new(0, 0, 0)
    }
}

pub const TOO_FAST: &str =
    "You're sending messages faster than we can take them. Wait a few seconds and send it again.";
pub const TOO_MANY_VISITORS: &str =
    "Too many new chats from your network just now. Wait a minute and try again.";

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn a_burst_then_the_rate() {
        let limit = Limiter::new(20);
        let start = Instant::now();
        let allowed = (0..30).filter(|_| limit.allow_at("v", start)).count();
        assert_eq!(allowed, 10, "a burst of half a minute's worth");
        // Three seconds refill one message at 20 a minute.
        assert!(!limit.allow_at("v", start + Duration::from_secs(2)));
        assert!(limit.allow_at("v", start + Duration::from_secs(3)));
        assert!(!limit.allow_at("v", start + Duration::from_secs(3)));
        // Another key has its own bucket.
        assert!(limit.allow_at("w", start));
        // A minute later the burst is back, no more.
        let later = start + Duration::from_secs(120);
        assert_eq!((0..30).filter(|_| limit.allow_at("v", later)).count(), 10);
    }

    #[test]
    fn zero_is_off() {
        let limit = Limiter::new(0);
        assert!((0..1000).all(|_| limit.allow("v")));
    }

    #[test]
    fn full_buckets_are_pruned() {
        let limit = Limiter::new(60);
        let start = Instant::now();
        for i in 0..PRUNE_AT {
            limit.allow_at(&i.to_string(), start);
        }
        limit.allow_at("last", start + Duration::from_secs(60));
        assert_eq!(limit.buckets.lock().unwrap().len(), 1);
    }
}
