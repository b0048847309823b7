//! Client ID metadata documents: a client whose id is an `https` URL publishes its metadata there,
//! and hookd reads it instead of asking the client to register. The fetch goes through the guard
//! webhook callbacks use (`https` only, a public address checked as it connects, no redirects,
//! short deadlines; `--allow-private-callbacks` lifts the address check), reads at most
//! [`MAX_DOCUMENT`], and keeps the copy for [`KEPT`] in the store. The document must name itself
//! as `client_id`, and its redirect URIs pass the same checks a registration's do.

use chrono::Utc;
use serde::Deserialize;

use super::Authority;
use super::register::check_redirects;
use crate::store::oauth::OauthClient;

/// The largest document read.
pub const MAX_DOCUMENT: usize = 64 * 1024;
/// How long a copy is used before the document is read again.
pub const KEPT: std::time::Duration = std::time::Duration::from_secs(3600);

#[derive(Deserialize)]
struct Document {
    client_id: String,
    #[serde(default)]
    client_name: Option<String>,
    #[serde(default)]
    redirect_uris: Vec<String>,
    #[serde(default)]
    token_endpoint_auth_method: Option<String>,
}

/// Whether `id` names a metadata document rather than a registration.
pub fn is_document(id: &str) -> bool {
    id.starts_with("https://") || id.starts_with("http://")
}

/// The client that `url` describes: the store's copy while fresh, else the document read again.
pub async fn client(a: &Authority, url: &str) -> Result<OauthClient, String> {
    if let Ok(Some(kept)) = a.store.client(url.to_owned()).await
        && kept.expires_at.is_none_or(|at| at > Utc::now())
    {
        return Ok(kept);
    }
    let document = fetch(a, url).await?;
    if document.client_id != url {
        return Err(format!(
            "the metadata document at this client_id names another client_id ({:?})",
            document.client_id
        ));
    }
    if let Some(method) = &document.token_endpoint_auth_method
        && method != "none"
    {
        return Err(format!(
            "token_endpoint_auth_method {method:?}: this server has public clients only (none)"
        ));
    }
    check_redirects(&document.redirect_uris)?;
    let now = Utc::now();
    let name: String = document
        .client_name
        .as_deref()
        .unwrap_or(url)
        .chars()
        .filter(|c| !c.is_control())
        .take(100)
        .collect();
    let client = OauthClient {
        id: url.to_owned(),
        name,
        redirect_uris: serde_json::json!(document.redirect_uris).to_string(),
        metadata: "{}".into(),
        created_at: now,
        expires_at: Some(now + chrono::TimeDelta::from_std(KEPT).unwrap_or_default()),
    };
    a.store
        .save_client(client.clone())
        .await
        .map_err(|e| format!("the store cannot keep the client: {e}"))?;
    Ok(client)
}

async fn fetch(a: &Authority, url: &str) -> Result<Document, String> {
    let checked = crate::outbound::check_callback_url(url, a.allow_private)
        .map_err(|e| e.replace("callback url", "client_id"))?;
    if checked.path() == "/" || checked.fragment().is_some() {
        return Err("a client_id URL has a path and no fragment".into());
    }
    let client = crate::outbound::callback_client(a.allow_private);
    let mut response = client
        .get(checked)
        .header(reqwest::header::ACCEPT, "application/json")
        .send()
        .await
        .map_err(|e| {
            format!(
                "cannot read the client's metadata document: {}",
                e.without_url()
            )
        })?;
    if !response.status().is_success() {
        return Err(format!(
            "the client's metadata document answered HTTP {}",
            response.status()
        ));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| e.without_url().to_string())?
    {
        if body.len() + chunk.len() > MAX_DOCUMENT {
            return Err(format!(
                "the client's metadata document is larger than {MAX_DOCUMENT} bytes"
            ));
        }
        body.extend_from_slice(&chunk);
    }
    serde_json::from_slice(&body).map_err(|e| format!("the client's metadata document: {e}"))
}
