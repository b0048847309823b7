//! Redis pub/sub channels, as both ways hookd uses them see them: the bridge that stores what
//! channels carry (`ingest::redis_bridge`) and the tool that publishes to one (`mcp`).

use std::time::Duration;

/// Publishes `message` on `channel`; returns how many subscribers received it.
pub async fn publish(
    client: &redis::Client,
    channel: &str,
    message: &str,
) -> redis::RedisResult<i64> {
    let mut conn = tokio::time::timeout(
        Duration::from_secs(5),
        client.get_multiplexed_async_connection(),
    )
    .await
    .map_err(|_| std::io::Error::from(std::io::ErrorKind::TimedOut))??;
    redis::cmd("PUBLISH")
        .arg(channel)
        .arg(message)
        .query_async(&mut conn)
        .await
}

/// Whether `channel` matches a Redis glob `pattern` (`*`, `?`; `[` classes are taken literally).
pub fn matches(pattern: &str, channel: &str) -> bool {
    fn go(p: &[u8], c: &[u8]) -> bool {
        match (p.first(), c.first()) {
            (None, None) => true,
            (Some(b'*'), _) => go(&p[1..], c) || (!c.is_empty() && go(p, &c[1..])),
            (Some(b'?'), Some(_)) => go(&p[1..], &c[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &c[1..]),
            _ => false,
        }
    }
    go(pattern.as_bytes(), channel.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_like_redis() {
        assert!(matches("events:*", "events:github"));
        assert!(matches("events:*", "events:"));
        assert!(!matches("events:*", "other:github"));
        assert!(matches("a?c", "abc"));
        assert!(!matches("a?c", "ac"));
        assert!(matches("exact", "exact"));
    }
}
