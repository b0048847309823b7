//! `hookd grants`: the clients the operator let in through hookd's own authorization server
//! (`--mcp-authorization-server self`), and `hookd grants --revoke ID` to shut one out: its
//! access and refresh tokens stop working at once, on every instance.

use std::io::Write;

use super::StoreArgs;
use crate::printable::printable;

#[derive(Debug, clap::Args)]
pub struct GrantsArgs {
    /// Revoke this grant (its id as `hookd grants` lists it): every token of it stops working.
    #[arg(long, value_name = "ID")]
    pub revoke: Option<String>,
    /// One JSON object per line instead of a readable line.
    #[arg(long)]
    pub json: bool,
    #[command(flatten)]
    pub store: StoreArgs,
}

pub async fn run(a: GrantsArgs) -> anyhow::Result<()> {
    let store = a.store.open().await?;
    if let Some(id) = a.revoke {
        if store.revoke_grant(id.clone()).await? {
            eprintln!(
                "hookd grants: revoked {}; its tokens no longer work",
                printable(&id)
            );
            return Ok(());
        }
        anyhow::bail!(
            "no standing grant {} (see `hookd grants` for the ids)",
            printable(&id)
        );
    }
    let grants = store.grants().await?;
    let mut out = anstream::stdout();
    if grants.is_empty() && !a.json {
        eprintln!("hookd grants: no client has been granted access");
    }
    for (grant, client) in &grants {
        let name = client
            .as_ref()
            .map(|c| c.name.as_str())
            .unwrap_or("(registration forgotten)");
        let line = if a.json {
            serde_json::json!({
                "id": grant.family,
                "client_id": grant.client_id,
                "client_name": name,
                "scope": grant.scope,
                "resource": grant.resource,
                "granted_at": crate::time::format_time(grant.created_at),
            })
            .to_string()
        } else {
            format!(
                "{}  {}  {}  granted {}",
                grant.family,
                printable(name),
                grant.scope,
                grant.created_at.format("%Y-%m-%d %H:%M UTC"),
            )
        };
        if writeln!(out, "{line}").is_err() {
            return Ok(());
        }
    }
    Ok(())
}
