//! Randomised requests against the webhook listener: whatever arrives, hookd answers with a
//! 2xx/4xx JSON reply, stores nothing it rejected, and keeps serving. Deterministic seeds, so a
//! failure reproduces.

use crate::common;

use common::TestApp;
use hookd::event::{EventFilter, Page};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// xorshift64*: small, deterministic, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }
    fn bytes(&mut self, max: usize) -> Vec<u8> {
        let n = self.below(max + 1);
        (0..n).map(|_| self.next() as u8).collect()
    }
}

const PATHS: &[&str] = &[
    "/webhook/github",
    "/webhook/",
    "/webhook/a/b",
    "/webhook/%00",
    "/webhook/..",
    "/webhook/UP",
    "/",
    "/healthz",
    "/readyz",
    "/webhook/x?y=1",
    "/webhook/%ff%fe",
    "/webhook/ok-source.1",
];
const METHODS: &[&str] = &["POST", "GET", "PUT", "DELETE", "PATCH", "OPTIONS", "BREW"];
const TYPES: &[&str] = &[
    "application/json",
    "application/x-www-form-urlencoded",
    "text/plain",
    "",
    "application/json; charset=latin1",
    "multipart/form-data; boundary=x",
    "application/+json",
];
const HEADERS: &[&str] = &[
    "x-github-delivery",
    "x-github-event",
    "webhook-id",
    "idempotency-key",
    "x-request-id",
    "x-event-type",
    "authorization",
    "x-hub-signature-256",
    "x-weird",
];

/// Builds one random raw HTTP/1.1 request.
fn request(rng: &mut Rng) -> Vec<u8> {
    let mut body = match rng.below(4) {
        0 => br#"{"type":"t","nested":{"a":[1,2,{"b":null}]}}"#.to_vec(),
        1 => b"a=1&b=%zz&&=&c".to_vec(),
        _ => rng.bytes(2048),
    };
    if rng.below(5) == 0 {
        body.truncate(body.len() / 2); // a truncated JSON body
    }
    let mut head = format!(
        "{} {} HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n",
        rng.pick(METHODS),
        rng.pick(PATHS)
    );
    let ct = rng.pick(TYPES);
    if !ct.is_empty() {
        head.push_str(&format!("content-type: {ct}\r\n"));
    }
    for _ in 0..rng.below(4) {
        let value: String = (0..rng.below(300))
            .map(|_| (b' ' + (rng.next() % 94) as u8) as char)
            .collect();
        head.push_str(&format!("{}: {}\r\n", rng.pick(HEADERS), value.trim()));
    }
    head.push_str(&format!("content-length: {}\r\n\r\n", body.len()));
    let mut raw = head.into_bytes();
    raw.extend(body);
    raw
}

#[tokio::test]
async fn random_requests_never_break_the_server() {
    let app = TestApp::start_with(|c| c.max_body = 1024).await;
    let mut rng = Rng(0x5eed_1234_abcd_0001);
    let mut stored_ok = 0;
    for i in 0..600 {
        let raw = request(&mut rng);
        let mut conn = tokio::net::TcpStream::connect(app.webhook).await.unwrap();
        conn.write_all(&raw).await.unwrap();
        let mut answer = Vec::new();
        let _ = conn.read_to_end(&mut answer).await;
        let answer = String::from_utf8_lossy(&answer);
        let status: u16 = answer
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("request {i} got no HTTP answer: {answer:?}"));
        assert!(status < 500, "request {i} got {status}: {answer}");
        if status == 200 && answer.contains("\"received\"") {
            stored_ok += 1;
        }
    }
    let stored = app
        .store()
        .query(EventFilter::default(), Page::Oldest(10_000))
        .await
        .unwrap();
    let fresh = stored.len();
    assert!(fresh <= stored_ok, "only acknowledged requests were stored");
    assert!(stored_ok > 0, "some random requests are valid webhooks");
    let health = reqwest::get(format!("http://{}/healthz", app.webhook))
        .await
        .unwrap();
    assert_eq!(health.status(), 200);
    app.stop().await;
}
