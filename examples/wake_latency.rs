//! Measures how long an MCP client takes to receive a webhook, from the moment the webhook POST
//! is sent to the moment the client has the event, through each way of waiting:
//! `wait_for_event` (rmcp's client, a parked tool call), `events/poll` (a long poll),
//! `events/stream` and `subscriptions/listen` (open event streams, read as a plain HTTP client
//! reads them).
//!
//! Usage: wake_latency <webhook-addr> <mcp-url> [rounds]   (run by bench/run.sh)
//! With two instances, the webhook goes to one and the MCP URL is the other's: the wake-up then
//! crosses Redis.

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};
use tokio::sync::mpsc;

/// The pause before each webhook: a parked call reaches the server and parks, and every path is
/// timed from the same start, an idle hookd (as a webhook usually finds it). Sent back to back
/// instead, the streams measured about 1 ms faster on this VM: its cores had no time to idle.
const IDLE: Duration = Duration::from_millis(20);

struct Bench {
    http: reqwest::Client,
    mcp: String,
    /// A source of this run's own, so events of earlier runs on the same store never answer.
    webhook_url: String,
    rounds: usize,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hookd::outbound::install_tls();
    let args: Vec<String> = std::env::args().collect();
    let [_, webhook, mcp, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: wake_latency <webhook-addr> <mcp-url> [rounds]");
    };
    let bench = Bench {
        http: hookd::outbound::client_builder().build()?,
        mcp: mcp.clone(),
        webhook_url: format!("http://{webhook}/webhook/wakebench-{}", std::process::id()),
        rounds: rest.first().map_or(Ok(200), |r| r.parse())?,
    };
    report("wait_for_event", bench.wait_for_event().await?);
    report("events/poll (long poll)", bench.long_poll().await?);
    report(
        "events/stream",
        bench
            .stream("events/stream", json!({"name": "any", "cursor": null}))
            .await?,
    );
    report(
        "subscriptions/listen",
        bench
            .stream(
                "subscriptions/listen",
                json!({"notifications": {"resourceSubscriptions": ["hookd://events"]}}),
            )
            .await?,
    );
    Ok(())
}

fn report(what: &str, mut latencies: Vec<Duration>) {
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    let ms = |d: Duration| d.as_secs_f64() * 1e3;
    println!(
        "{what} wake-up, webhook sent -> client has the event ({} rounds): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        latencies.len(),
        ms(pct(0.50)),
        ms(pct(0.99)),
        ms(*latencies.last().unwrap()),
    );
}

impl Bench {
    /// Sends one webhook; returns when it was sent and its event id.
    async fn send(&self, n: usize) -> anyhow::Result<(Instant, i64)> {
        let sent = Instant::now();
        let resp = self
            .http
            .post(&self.webhook_url)
            .header("content-type", "application/json")
            .body(format!("{{\"n\":{n}}}"))
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "webhook answered {}", resp.status());
        let answer: Value = resp.json().await?;
        Ok((sent, answer["event_id"].as_i64().unwrap_or_default()))
    }

    /// A sessionless (2026-07-28) JSON-RPC request to the MCP endpoint.
    fn rpc(&self, method: &str, mut params: Value) -> reqwest::RequestBuilder {
        params["_meta"] = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientInfo": {"name": "wake-bench", "version": "0"},
            "io.modelcontextprotocol/clientCapabilities": {},
        });
        self.http
            .post(&self.mcp)
            .header("accept", "application/json, text/event-stream")
            .header("mcp-protocol-version", "2026-07-28")
            .header("mcp-method", method)
            .json(&json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params}))
    }

    async fn wait_for_event(&self) -> anyhow::Result<Vec<Duration>> {
        let client = ClientConfig::new(
            ClientCapabilities::default(),
            Implementation::new("wake-bench", "0"),
        )
        .serve(StreamableHttpClientTransport::from_uri(self.mcp.clone()))
        .await?;
        let client = std::sync::Arc::new(client);
        let source = self.webhook_url.rsplit('/').next().unwrap().to_owned();
        let mut latencies = Vec::with_capacity(self.rounds);
        // Start after this run's newest event, whatever ran before.
        let (_, mut cursor) = self.send(usize::MAX).await?;
        for n in 0..self.rounds {
            let c = client.clone();
            let args = json!({"source": source, "after_id": cursor, "timeout_seconds": 30});
            let waiter = tokio::spawn(async move {
                let Value::Object(args) = args else {
                    unreachable!()
                };
                let r = c
                    .call_tool(CallToolRequestParams::new("wait_for_event").with_arguments(args))
                    .await;
                (r, Instant::now())
            });
            // Let the call reach the server and park before the webhook is sent.
            tokio::time::sleep(IDLE).await;
            let (sent, _) = self.send(n).await?;
            let (result, woke) = waiter.await?;
            let event = result?.structured_content.unwrap_or_default();
            cursor = event["event"]["id"]
                .as_i64()
                .ok_or_else(|| anyhow::anyhow!("no event: {event}"))?;
            latencies.push(woke.duration_since(sent));
        }
        Ok(latencies)
    }

    async fn long_poll(&self) -> anyhow::Result<Vec<Duration>> {
        let first: Value = self
            .rpc("events/poll", json!({"name": "any", "cursor": null}))
            .send()
            .await?
            .json()
            .await?;
        let mut cursor = first["result"]["cursor"].clone();
        let mut latencies = Vec::with_capacity(self.rounds);
        for n in 0..self.rounds {
            let poll = self
                .rpc(
                    "events/poll",
                    json!({"name": "any", "cursor": cursor, "timeoutMs": 30_000}),
                )
                .send();
            let waiter = tokio::spawn(async move {
                let answer: anyhow::Result<Value> = async { Ok(poll.await?.json().await?) }.await;
                (answer, Instant::now())
            });
            tokio::time::sleep(IDLE).await;
            let (sent, id) = self.send(n).await?;
            let (answer, woke) = waiter.await?;
            let answer = answer?;
            let got = &answer["result"]["events"][0]["data"]["id"];
            anyhow::ensure!(*got == id, "the poll answered {answer}");
            cursor = answer["result"]["cursor"].clone();
            latencies.push(woke.duration_since(sent));
        }
        Ok(latencies)
    }

    /// Opens one event stream and times each webhook until its notification is read.
    async fn stream(&self, method: &str, params: Value) -> anyhow::Result<Vec<Duration>> {
        let mut resp = self.rpc(method, params).send().await?;
        anyhow::ensure!(resp.status() == 200, "{method} answered {}", resp.status());
        // Each notification, with the moment it was read, from a task of its own.
        let (tx, mut notes) = mpsc::unbounded_channel::<(Value, Instant)>();
        let reader = tokio::spawn(async move {
            let mut buffer = String::new();
            while let Ok(Some(chunk)) = resp.chunk().await {
                let at = Instant::now();
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    for data in event.lines().filter_map(|l| l.strip_prefix("data:")) {
                        if let Ok(message) = serde_json::from_str::<Value>(data.trim()) {
                            let _ = tx.send((message, at));
                        }
                    }
                }
            }
        });
        // The stream is open once its first notification (active / acknowledged) arrives.
        tokio::time::timeout(Duration::from_secs(10), notes.recv()).await?;
        let mut latencies = Vec::with_capacity(self.rounds);
        for n in 0..self.rounds {
            tokio::time::sleep(IDLE).await;
            let (sent, id) = self.send(n).await?;
            loop {
                let (message, at) = tokio::time::timeout(Duration::from_secs(10), notes.recv())
                    .await?
                    .ok_or_else(|| anyhow::anyhow!("{method}: the stream ended"))?;
                let event_id = &message["params"]["data"]["id"];
                let updated = message["method"] == "notifications/resources/updated";
                // A notification read before this webhook was sent belongs to an earlier one.
                if at >= sent && (*event_id == id || updated) {
                    latencies.push(at.duration_since(sent));
                    break;
                }
            }
        }
        reader.abort();
        Ok(latencies)
    }
}
