//! Which client a request names, and whether the redirect URI is one of its own: the dashboard's
//! built-in client, a client known by its metadata document, or a registered one.

use chrono::Utc;
use serde_json::json;

use super::Authority;
use crate::store::oauth::OauthClient;

/// The dashboard's own client: public, sent back to the dashboard at the issuer's origin.
pub const DASHBOARD: &str = "hookd-dashboard";

/// The client `id` and whether `redirect_uri` is one of its own, exactly.
pub async fn client_with(
    a: &Authority,
    id: &str,
    redirect_uri: &str,
) -> Result<OauthClient, String> {
    if id == DASHBOARD {
        let home = format!("{}/", a.issuer);
        if redirect_uri != home {
            return Err(format!(
                "the dashboard signs in only at {home} (hookd's --mcp-public-url): open it there, \
                 or give it the token"
            ));
        }
        let now = Utc::now();
        return Ok(OauthClient {
            id: DASHBOARD.into(),
            name: "hookd's dashboard".into(),
            redirect_uris: json!([home]).to_string(),
            metadata: "{}".into(),
            created_at: now,
            expires_at: None,
        });
    }
    let client = if super::metadata_document::is_document(id) {
        super::metadata_document::client(a, id).await?
    } else {
        match a.store.client(id.to_owned()).await {
            Ok(Some(c)) => c,
            Ok(None) => return Err("this client is not registered here".into()),
            Err(e) => return Err(format!("the store cannot be read: {e}")),
        }
    };
    let uris: Vec<String> = serde_json::from_str(&client.redirect_uris).unwrap_or_default();
    if !uris.iter().any(|u| u == redirect_uri) {
        return Err("redirect_uri is not one this client registered".into());
    }
    Ok(client)
}
