//! Measures how long an MCP client parked in `wait_for_event` takes to receive a webhook:
//! from the moment the webhook POST is sent to the moment the tool result arrives.
//!
//! Usage: wake_latency <webhook-addr> <mcp-url> [rounds]   (run by bench/run.sh)

use std::time::{Duration, Instant};

use rmcp::ServiceExt;
use rmcp::model::{CallToolRequestParams, ClientCapabilities, ClientConfig, Implementation};
use rmcp::transport::StreamableHttpClientTransport;
use serde_json::{Value, json};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    hookd::outbound::install_tls();
    let args: Vec<String> = std::env::args().collect();
    let [_, webhook, mcp, rest @ ..] = args.as_slice() else {
        anyhow::bail!("usage: wake_latency <webhook-addr> <mcp-url> [rounds]");
    };
    let rounds: usize = rest.first().map_or(Ok(200), |r| r.parse())?;
    let client = ClientConfig::new(
        ClientCapabilities::default(),
        Implementation::new("wake-bench", "0"),
    )
    .serve(StreamableHttpClientTransport::from_uri(mcp.clone()))
    .await?;
    let client = std::sync::Arc::new(client);
    let http = hookd::outbound::client_builder().build().unwrap();
    // A source of this run's own, so events of earlier runs on the same store never answer.
    let source = format!("wakebench-{}", std::process::id());
    let url = format!("http://{webhook}/webhook/{source}");
    let mut latencies = Vec::with_capacity(rounds);
    let mut cursor = 0i64;
    for n in 0..rounds {
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
        tokio::time::sleep(Duration::from_millis(20)).await;
        let sent = Instant::now();
        let resp = http
            .post(&url)
            .header("content-type", "application/json")
            .body(format!("{{\"n\":{n}}}"))
            .send()
            .await?;
        anyhow::ensure!(resp.status() == 200, "webhook answered {}", resp.status());
        let (result, woke) = waiter.await?;
        let event = result?.structured_content.unwrap_or_default();
        cursor = event["event"]["id"]
            .as_i64()
            .ok_or_else(|| anyhow::anyhow!("no event: {event}"))?;
        latencies.push(woke.duration_since(sent));
    }
    latencies.sort();
    let pct = |p: f64| latencies[((latencies.len() as f64 * p) as usize).min(latencies.len() - 1)];
    println!(
        "wait_for_event wake-up, webhook sent -> tool result ({rounds} rounds): p50 {:.2} ms, p99 {:.2} ms, max {:.2} ms",
        pct(0.50).as_secs_f64() * 1e3,
        pct(0.99).as_secs_f64() * 1e3,
        latencies.last().unwrap().as_secs_f64() * 1e3,
    );
    Ok(())
}
