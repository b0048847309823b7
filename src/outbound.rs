//! hookd's own outgoing HTTP: `hookd send`, and event deliveries to the callback URLs of
//! `events/subscribe`, which are guarded against server-side request forgery.
//!
//! The guard: a callback URL must be `https` (or `http` when private callbacks are allowed), an
//! IP literal must be globally routable, and a host name is resolved *by the client at connect
//! time* through a resolver that drops every address that is not globally routable, so the
//! address checked is the address connected to (no DNS-rebinding window). Redirects are never
//! followed and no proxy is used.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Once};
use std::time::Duration;

use reqwest::Url;
use reqwest::dns::{Addrs, Name, Resolve, Resolving};

/// Makes ring rustls's crypto provider for this process. Every HTTP client needs it first
/// (reqwest is built without a provider of its own); calling it again does nothing.
///
/// rustls 0.23.48 deprecates ring's provider because it offers no post-quantum key exchange.
/// hookd keeps it on purpose: its only TLS is outbound (webhook callbacks, `forward` and
/// `replay`), where a classical X25519/ECDHE exchange is what most receivers offer anyway, and
/// the alternative (aws-lc-rs) compiles a large C library into every build. Revisit when rustls drops
/// ring or receivers expect ML-KEM.
pub fn install_tls() {
    static PROVIDER: Once = Once::new();
    PROVIDER.call_once(|| {
        #[allow(deprecated)]
        let ring = rustls::crypto::ring::default_provider();
        // Fails only if another provider was installed first, which is as good.
        let _ = ring.install_default();
    });
}

/// A client builder with TLS ready.
pub fn client_builder() -> reqwest::ClientBuilder {
    install_tls();
    reqwest::Client::builder()
}

/// The client that delivers events to callback URLs.
pub fn callback_client(allow_private: bool) -> reqwest::Client {
    let mut b = client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10));
    if !allow_private {
        b = b.dns_resolver(Arc::new(PublicOnly));
    }
    b.build()
        .expect("a client with these settings always builds")
}

/// The longest callback URL accepted (a subscription keeps it in the store).
pub const MAX_CALLBACK_URL: usize = 2048;

/// Checks a callback URL before anything is sent to it.
pub fn check_callback_url(url: &str, allow_private: bool) -> Result<Url, String> {
    if url.len() > MAX_CALLBACK_URL {
        return Err(format!(
            "callback url is {} bytes; at most {MAX_CALLBACK_URL}",
            url.len()
        ));
    }
    let parsed = Url::parse(url).map_err(|e| format!("callback url {url:?} is not a URL: {e}"))?;
    match parsed.scheme() {
        "https" => {}
        "http" if allow_private => {}
        "http" => return Err("callback url must be https".into()),
        other => return Err(format!("callback url scheme {other:?} is not https")),
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err("callback url must not carry credentials".into());
    }
    let host = parsed
        .host_str()
        .ok_or("callback url has no host")?
        .trim_start_matches('[')
        .trim_end_matches(']');
    if let Ok(ip) = host.parse::<IpAddr>()
        && !allow_private
        && !is_public(ip)
    {
        return Err(format!(
            "callback address {ip} is not publicly routable (start hookd with --allow-private-callbacks to allow it)"
        ));
    }
    Ok(parsed)
}

/// Whether `ip` is globally routable: not loopback, private, link-local, shared (CGNAT),
/// documentation, benchmarking, multicast, reserved or unspecified.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4s) => v4s.iter().all(|v4| is_public_v4(*v4)),
            None => is_public_v6(v6),
        },
    }
}

/// The IPv4 addresses an IPv6 address carries and is routed by: IPv4-mapped (`::ffff:a.b.c.d`),
/// IPv4-compatible (`::a.b.c.d`, deprecated), 6to4 (`2002:aabb:ccdd::/48`) and Teredo
/// (`2001:0::/32`: the server, and the client's address stored inverted). Each must be public,
/// or `[::127.0.0.1]` would reach loopback.
fn embedded_v4(ip: Ipv6Addr) -> Option<Vec<Ipv4Addr>> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| Ipv4Addr::from((u32::from(hi) << 16) | u32::from(lo));
    if let Some(mapped) = ip.to_ipv4_mapped() {
        return Some(vec![mapped]);
    }
    match s {
        [0, 0, 0, 0, 0, 0, hi, lo] => Some(vec![v4(hi, lo)]),
        [0x2002, hi, lo, ..] => Some(vec![v4(hi, lo)]),
        [0x2001, 0, hi, lo, _, _, chi, clo] => Some(vec![v4(hi, lo), v4(!chi, !clo)]),
        _ => None,
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_private()
        || ip.is_loopback()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_documentation()
        || ip.is_unspecified()
        || ip.is_multicast()
        || a == 0
        || (a == 100 && (64..128).contains(&b))
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (b == 18 || b == 19))
        || a >= 240)
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    let s = ip.segments();
    !(ip.is_loopback()
        || ip.is_unspecified()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0064 && s[1] == 0xff9b) // NAT64
        || (s[0] == 0x0100 && s[1] == 0 && s[2] == 0 && s[3] == 0)) // discard
}

/// Resolves names to their globally routable addresses only.
struct PublicOnly;

impl Resolve for PublicOnly {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> = tokio::net::lookup_host((host.as_str(), 0))
                .await?
                .filter(|a| is_public(a.ip()))
                .collect();
            if addrs.is_empty() {
                return Err(format!("{host} resolves to no publicly routable address").into());
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "::1",
            "::",
            "fc00::1",
            "fd12::1",
            "fe80::1",
            "2001:db8::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            // IPv4-compatible, 6to4 and Teredo forms of private addresses.
            "::127.0.0.1",
            "::10.0.0.1",
            "2002:7f00:1::1",
            "2002:a9fe:a9fe::1",
            "2001:0:a00:1::808:808",
            "2001:0:808:808::80ff:fffe",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip}");
        }
        for ip in [
            "8.8.8.8",
            "1.1.1.1",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "2002:808:808::1",
            "2001:0:808:808::f7f7:f7f7",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip}");
        }
    }

    #[test]
    fn callback_urls_are_checked_before_use() {
        assert!(check_callback_url("https://example.com/hook", false).is_ok());
        let err = |u: &str, allow| check_callback_url(u, allow).unwrap_err();
        assert!(err("http://example.com/hook", false).contains("https"));
        assert!(err("https://127.0.0.1/hook", false).contains("not publicly routable"));
        assert!(err("https://[::1]:8443/hook", false).contains("not publicly routable"));
        assert!(err("https://[::127.0.0.1]/hook", false).contains("not publicly routable"));
        assert!(err("https://[2002:7f00:1::1]/hook", false).contains("not publicly routable"));
        assert!(err("https://169.254.169.254/latest", false).contains("not publicly routable"));
        assert!(err("https://user:pw@example.com/", false).contains("credentials"));
        assert!(err("ftp://example.com/", true).contains("scheme"));
        assert!(err("not a url", false).contains("not a URL"));
        assert!(check_callback_url("http://127.0.0.1:9000/hook", true).is_ok());
    }

    #[tokio::test]
    async fn names_that_resolve_to_private_addresses_are_refused_at_connect_time() {
        let client = callback_client(false);
        let err = client
            .post("http://localhost:9/never")
            .send()
            .await
            .unwrap_err();
        let chain = format!("{err:?}");
        assert!(chain.contains("no publicly routable address"), "{chain}");
    }
}
