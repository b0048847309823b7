//! `hookd events`: print stored events, or refused deliveries, as JSON lines, newest last.

use super::StoreArgs;

#[derive(Debug, clap::Args)]
pub struct EventsArgs {
    /// `recent` (default) or `rejected`.
    #[arg(default_value = "recent", value_parser = ["recent", "rejected"])]
    pub what: String,
    /// Only events (or refusals) of this source.
    #[arg(long)]
    pub source: Option<String>,
    /// How many (default 20).
    #[arg(long, default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..=1000))]
    pub limit: u32,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(a: EventsArgs) -> anyhow::Result<()> {
    let store = a.store.open().await?;
    let lines: Vec<String> = if a.what == "rejected" {
        let mut r = store.rejections(a.source, a.limit as usize).await?;
        r.reverse();
        r.iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?
    } else {
        let filter = crate::event::EventFilter::of(a.source, None);
        let e = store
            .query(filter, crate::event::Page::Newest(a.limit as usize))
            .await?;
        e.iter()
            .map(serde_json::to_string)
            .collect::<Result<_, _>>()?
    };
    for line in lines {
        println!("{line}");
    }
    Ok(())
}
