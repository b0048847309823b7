//! Open connections per client address (`--max-connections-per-ip`), so that one client cannot
//! hold every connection of a listener that faces the internet. An IPv6 client counts by its /64
//! (one host is given a whole /64), an IPv4-mapped address as its IPv4 address. Addresses in
//! `--trusted-proxies` (loopback by default: a tunnel on the same machine) are not counted: every
//! client behind them arrives from their address, and the proxy must do the per-client limiting.
//!
//! Connections beyond the cap are closed as soon as they are accepted, before a byte is read.

use std::collections::HashMap;
use std::net::{IpAddr, Ipv6Addr};
use std::sync::{Arc, Mutex};

use ipnet::IpNet;

/// The per-address cap of one listener.
#[derive(Debug)]
pub struct PerIp {
    /// Connections one address may hold; 0: no cap.
    max: usize,
    trusted: Vec<IpNet>,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One admitted connection's count, given back when dropped.
#[derive(Debug)]
pub struct Admitted {
    per_ip: Option<(Arc<PerIp>, IpAddr)>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        if let Some((per_ip, key)) = &self.per_ip
            && let Ok(mut open) = per_ip.open.lock()
            && let Some(n) = open.get_mut(key)
        {
            *n -= 1;
            if *n == 0 {
                open.remove(key);
            }
        }
    }
}

/// The address a client is counted as.
fn key(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
        v4 => v4,
    }
}

impl PerIp {
    pub fn new(max: usize, trusted: Vec<IpNet>) -> Arc<Self> {
        Arc::new(Self {
            max,
            trusted,
            open: Mutex::default(),
        })
    }

    /// Counts a new connection from `addr`; `None` when that address already holds the cap.
    pub fn admit(self: &Arc<Self>, addr: IpAddr) -> Option<Admitted> {
        let addr = match addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
            v4 => v4,
        };
        if self.max == 0 || self.trusted.iter().any(|net| net.contains(&addr)) {
            return Some(Admitted { per_ip: None });
        }
        let key = key(addr);
        let mut open = self.open.lock().ok()?;
        let n = open.entry(key).or_default();
        if *n >= self.max {
            return None;
        }
        *n += 1;
        Some(Admitted {
            per_ip: Some((self.clone(), key)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::PerIp;

    fn ip(s: &str) -> std::net::IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn an_address_holds_at_most_the_cap_and_a_v6_host_counts_by_its_64() {
        let cap = PerIp::new(2, vec!["127.0.0.0/8".parse().unwrap()]);
        let a: Vec<_> = (0..2)
            .map(|_| cap.admit(ip("203.0.113.7")).unwrap())
            .collect();
        assert!(cap.admit(ip("203.0.113.7")).is_none());
        assert!(
            cap.admit(ip("::ffff:203.0.113.7")).is_none(),
            "IPv4-mapped is the same client"
        );
        assert!(cap.admit(ip("203.0.113.8")).is_some(), "another address");
        let _b1 = cap.admit(ip("2001:db8:1:2::1")).unwrap();
        let _b2 = cap.admit(ip("2001:db8:1:2:ffff::9")).unwrap();
        assert!(cap.admit(ip("2001:db8:1:2::77")).is_none(), "same /64");
        assert!(cap.admit(ip("2001:db8:1:3::1")).is_some(), "another /64");
        let trusted: Vec<_> = (0..10).map(|_| cap.admit(ip("127.0.0.1"))).collect();
        assert!(trusted.iter().all(Option::is_some), "trusted: not counted");
        drop(a);
        assert!(
            cap.admit(ip("203.0.113.7")).is_some(),
            "given back when closed"
        );
    }

    #[test]
    fn zero_is_no_cap() {
        let cap = PerIp::new(0, Vec::new());
        let all: Vec<_> = (0..100).map(|_| cap.admit(ip("203.0.113.7"))).collect();
        assert!(all.iter().all(Option::is_some));
    }
}
