//! Store-only throughput: concurrent appends of one payload, no HTTP. Usage: store_bench <payload.json> [n] [concurrency]
use std::sync::Arc;
use std::time::Instant;

use hookd::event::{NewEvent, PayloadEncoding};
use hookd::store::{Sqlite, Store};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    let body = std::fs::read_to_string(&args[1])?;
    let n: usize = args.get(2).map_or(Ok(50_000), |s| s.parse())?;
    let conc: usize = args.get(3).map_or(Ok(256), |s| s.parse())?;
    let dir = tempfile::tempdir_in("target")?;
    let store: Arc<dyn Store> = Arc::new(Sqlite::open(dir.path())?);
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for w in 0..conc {
        let (store, body) = (store.clone(), body.clone());
        tasks.spawn(async move {
            for i in (w..n).step_by(conc) {
                let e = NewEvent {
                    source: "github".into(),
                    event_type: "push".into(),
                    delivery_id: Some(format!("d-{i}")),
                    received_at: chrono::Utc::now(),
                    headers: Default::default(),
                    content_type: Some("application/json".into()),
                    payload_encoding: PayloadEncoding::Json,
                    payload: hookd::payload::JsonText::new(body.clone()).unwrap(),
                    verified: None,
                    subject: None,
                    occurred_at: None,
                    summary: None,
                    derived: Vec::new(),
                    search_words: None,
                };
                store.append(e).await.unwrap();
            }
        });
    }
    while tasks.join_next().await.is_some() {}
    let secs = start.elapsed().as_secs_f64();
    println!(
        "{n} appends, {conc} concurrent: {:.0} rows/s",
        n as f64 / secs
    );
    Ok(())
}
