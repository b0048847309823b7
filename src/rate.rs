//! Per-source rate limits: a token bucket for each configured source, and one shared by every
//! source that is not configured (so inventing source names does not multiply the allowance,
//! and the buckets are a fixed set).
//!
//! The limit is checked before the body is read or its signature checked: a flood of forged
//! deliveries costs neither HMACs nor rejection records beyond it.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use serde::Deserialize;

/// `rate_limit = { per_second = 20, burst = 40 }`: `burst` deliveries at once, refilled at
/// `per_second`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RateLimit {
    pub per_second: u32,
    pub burst: u32,
}

impl RateLimit {
    /// The default for sources without their own: far above what a provider sends in normal
    /// bursts (a GitHub organisation's busiest minutes, a Stripe billing run), far below what
    /// would let one source take all of the machine.
    pub const DEFAULT: Self = Self {
        per_second: 200,
        burst: 2000,
    };

    /// Parses `--rate-limit`: `PER_SECOND/BURST`, `PER_SECOND` (burst = 2 seconds' worth) or `off`.
    pub fn parse_flag(s: &str) -> Result<Option<Self>, String> {
        let s = s.trim();
        if s.eq_ignore_ascii_case("off") {
            return Ok(None);
        }
        let number = |v: &str| v.trim().parse::<u32>().ok().filter(|n| *n > 0);
        let (rate, burst) = match s.split_once('/') {
            Some((r, b)) => (number(r), number(b)),
            None => (number(s), number(s).map(|r| r.saturating_mul(2))),
        };
        match (rate, burst) {
            (Some(per_second), Some(burst)) => Ok(Some(Self { per_second, burst })),
            _ => Err(format!(
                "{s:?} is not a rate limit such as 200/2000 (per second/burst), 200, or off"
            )),
        }
    }

    pub fn validate(&self) -> Result<(), String> {
        if self.per_second == 0 || self.burst == 0 {
            return Err("rate_limit needs per_second and burst of at least 1".into());
        }
        Ok(())
    }

    fn limiter(self) -> Bucket {
        let rate = NonZeroU32::new(self.per_second).unwrap_or(NonZeroU32::MIN);
        let burst = NonZeroU32::new(self.burst).unwrap_or(NonZeroU32::MIN);
        Bucket {
            limit: self,
            limiter: RateLimiter::direct(Quota::per_second(rate).allow_burst(burst)),
        }
    }
}

/// What a source's `rate_limit` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(untagged)]
pub enum RateSetting {
    Limit(RateLimit),
    /// `rate_limit = "off"`.
    Off(Off),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Off {
    Off,
}

struct Bucket {
    limit: RateLimit,
    limiter: DefaultDirectRateLimiter,
}

/// A delivery over its source's limit.
#[derive(Debug, Clone, PartialEq)]
pub struct Limited {
    pub limit: RateLimit,
    /// When a token is next free, in whole seconds (at least 1), for `Retry-After`.
    pub retry_after_secs: u64,
}

/// Every bucket, fixed at start-up.
pub struct RateLimits {
    by_source: HashMap<String, Option<Bucket>>,
    unconfigured: Option<Bucket>,
}

impl RateLimits {
    /// `configured`: each configured source with its own setting (`None`: the default).
    pub fn new<'a>(
        configured: impl IntoIterator<Item = (&'a str, Option<RateSetting>)>,
        default: Option<RateLimit>,
    ) -> Self {
        let by_source = configured
            .into_iter()
            .map(|(name, setting)| {
                let limit = match setting {
                    Some(RateSetting::Limit(l)) => Some(l),
                    Some(RateSetting::Off(_)) => None,
                    None => default,
                };
                (name.to_owned(), limit.map(RateLimit::limiter))
            })
            .collect();
        Self {
            by_source,
            unconfigured: default.map(RateLimit::limiter),
        }
    }

    /// Takes one token from `source`'s bucket, or says when to come back.
    pub fn check(&self, source: &str) -> Result<(), Limited> {
        let bucket = match self.by_source.get(source) {
            Some(bucket) => bucket.as_ref(),
            None => self.unconfigured.as_ref(),
        };
        let Some(bucket) = bucket else {
            return Ok(());
        };
        bucket.limiter.check().map_err(|not_until| {
            let wait = not_until.wait_time_from(DefaultClock::default().now());
            Limited {
                limit: bucket.limit,
                retry_after_secs: whole_seconds(wait),
            }
        })
    }
}

fn whole_seconds(d: Duration) -> u64 {
    d.as_secs() + u64::from(d.subsec_nanos() > 0).max(u64::from(d.as_secs() == 0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_refusal_with_a_retry_time_and_other_sources_unaffected() {
        let own = RateLimit {
            per_second: 1,
            burst: 3,
        };
        let limits = RateLimits::new(
            [
                ("a", Some(RateSetting::Limit(own))),
                ("free", Some(RateSetting::Off(Off::Off))),
                ("b", None),
            ],
            Some(RateLimit {
                per_second: 1,
                burst: 1,
            }),
        );
        for _ in 0..3 {
            assert_eq!(limits.check("a"), Ok(()));
        }
        let refused = limits.check("a").unwrap_err();
        assert_eq!(refused.limit, own);
        assert_eq!(refused.retry_after_secs, 1);
        assert_eq!(limits.check("b"), Ok(()), "b has a bucket of its own");
        assert!(limits.check("b").is_err());
        for _ in 0..100 {
            assert_eq!(limits.check("free"), Ok(()));
        }
        assert_eq!(limits.check("x"), Ok(()));
        assert!(
            limits.check("y").is_err(),
            "unconfigured sources share one bucket"
        );
    }

    #[test]
    fn flags_and_whole_seconds() {
        assert_eq!(RateLimit::parse_flag("off"), Ok(None));
        assert_eq!(
            RateLimit::parse_flag("20/40"),
            Ok(Some(RateLimit {
                per_second: 20,
                burst: 40
            }))
        );
        assert_eq!(
            RateLimit::parse_flag("5"),
            Ok(Some(RateLimit {
                per_second: 5,
                burst: 10
            }))
        );
        assert!(RateLimit::parse_flag("0/1").is_err());
        assert!(RateLimit::parse_flag("fast").is_err());
        assert_eq!(whole_seconds(Duration::from_millis(1)), 1);
        assert_eq!(whole_seconds(Duration::from_millis(1500)), 2);
        assert_eq!(whole_seconds(Duration::from_secs(3)), 3);
    }
}
