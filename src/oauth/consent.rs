//! The authorization endpoint: a page that names the client, where it will send the operator
//! back and the scopes it asks for, and asks for the operator's secret before a code is issued.
//!
//! A request naming an unknown client or a redirect URI the client did not register is answered
//! here with an error page, never redirected (no open redirect). The page cannot be framed, and
//! its form is bound to the browser that loaded it (a random value in a `SameSite=Strict` cookie
//! and in the form). At most four answers are judged at once and a wrong secret costs a second,
//! so the secret cannot be guessed at speed.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use chrono::Utc;
use subtle::ConstantTimeEq;

use super::clients::client_with;
use super::{Authority, CODE_TTL, random};
use crate::mcp::scope;
use crate::store::oauth::{OauthClient, OauthCode, OauthGrant, hash};

const COOKIE: &str = "hookd_consent";
/// The longest `state` carried back.
const MAX_STATE: usize = 1024;

/// What the client asked for, checked.
struct Ask {
    client: OauthClient,
    redirect_uri: String,
    challenge: String,
    state: Option<String>,
    scope: String,
}

/// Why a request is refused: shown here (`Page`) when the client or its redirect URI is not
/// trusted, else sent back to the client (`Back`).
enum Refused {
    Page(String),
    Back {
        redirect_uri: String,
        state: Option<String>,
        error: &'static str,
        description: String,
    },
}

fn fields(raw: &[u8]) -> HashMap<String, String> {
    form_urlencoded::parse(raw).into_owned().collect()
}

async fn check(a: &Authority, f: &HashMap<String, String>) -> Result<Ask, Refused> {
    let get = |k: &str| f.get(k).map(String::as_str).unwrap_or_default();
    let (client_id, redirect_uri) = (get("client_id"), get("redirect_uri"));
    if client_id.is_empty() || redirect_uri.is_empty() {
        return Err(Refused::Page(
            "client_id and redirect_uri are required".into(),
        ));
    }
    let client = client_with(a, client_id, redirect_uri)
        .await
        .map_err(Refused::Page)?;
    let state = f.get("state").cloned();
    let back = |error, description: &str| Refused::Back {
        redirect_uri: redirect_uri.to_owned(),
        state: state.clone(),
        error,
        description: description.to_owned(),
    };
    if state.as_ref().is_some_and(|s| s.len() > MAX_STATE) {
        return Err(back("invalid_request", "state is at most 1024 bytes"));
    }
    if get("response_type") != "code" {
        return Err(back(
            "unsupported_response_type",
            "response_type must be code",
        ));
    }
    let challenge = get("code_challenge");
    let sound = (43..=128).contains(&challenge.len())
        && challenge
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if get("code_challenge_method") != "S256" || !sound {
        return Err(back(
            "invalid_request",
            "PKCE is required: code_challenge (43 to 128 characters) with code_challenge_method S256",
        ));
    }
    let resource = get("resource");
    if !resource.is_empty() && resource != a.resource {
        return Err(back(
            "invalid_target",
            "this server issues tokens only for its MCP URL",
        ));
    }
    let asked: Vec<&str> = get("scope").split_whitespace().collect();
    if let Some(unknown) = asked.iter().find(|s| !scope::SUPPORTED.contains(s)) {
        return Err(back("invalid_scope", &format!("unknown scope {unknown:?}")));
    }
    let scope = if asked.is_empty() {
        scope::SUPPORTED.join(" ")
    } else {
        scope::SUPPORTED
            .iter()
            .filter(|s| asked.contains(s))
            .copied()
            .collect::<Vec<_>>()
            .join(" ")
    };
    Ok(Ask {
        client,
        redirect_uri: redirect_uri.to_owned(),
        challenge: challenge.to_owned(),
        state,
        scope,
    })
}

/// `GET /oauth/authorize`: the consent page.
pub async fn page(State(a): State<Arc<Authority>>, RawQuery(query): RawQuery) -> Response {
    let query = query.unwrap_or_default();
    if query.len() > super::MAX_BODY {
        return refused_page("the request is too long");
    }
    let f = fields(query.as_bytes());
    match check(&a, &f).await {
        Ok(ask) => {
            let csrf = random(24);
            let mut response = render(&a, &ask, &f, &csrf, None, StatusCode::OK);
            let secure = if a.issuer.starts_with("https:") {
                "; Secure"
            } else {
                ""
            };
            let cookie = format!(
                "{COOKIE}={csrf}; Path=/oauth/authorize; HttpOnly; SameSite=Strict; Max-Age=900{secure}"
            );
            if let Ok(v) = HeaderValue::from_str(&cookie) {
                response.headers_mut().insert(header::SET_COOKIE, v);
            }
            response
        }
        Err(refused) => answer(&a, refused),
    }
}

/// `POST /oauth/authorize`: the operator's answer.
pub async fn decide(State(a): State<Arc<Authority>>, headers: HeaderMap, body: Bytes) -> Response {
    if body.len() > super::MAX_BODY {
        return refused_page("the form is too long");
    }
    let f = fields(&body);
    let ask = match check(&a, &f).await {
        Ok(ask) => ask,
        Err(refused) => return answer(&a, refused),
    };
    let csrf = f.get("csrf").map(String::as_str).unwrap_or_default();
    if csrf.is_empty()
        || !cookie(&headers).is_some_and(|c| bool::from(c.as_bytes().ct_eq(csrf.as_bytes())))
    {
        return refused_page(
            "this form was not loaded in this browser (or too long ago): open the link again",
        );
    }
    if f.get("decision").map(String::as_str) == Some("deny") {
        return answer(
            &a,
            Refused::Back {
                redirect_uri: ask.redirect_uri,
                state: ask.state,
                error: "access_denied",
                description: "the operator said no".into(),
            },
        );
    }
    let Ok(_turn) = a.judging.acquire().await else {
        return refused_page("hookd is stopping");
    };
    let secret = f.get("secret").map(String::as_str).unwrap_or_default();
    if !bool::from(secret.as_bytes().ct_eq(a.operator.expose().as_bytes())) {
        tokio::time::sleep(Duration::from_secs(1)).await;
        return render(
            &a,
            &ask,
            &f,
            csrf,
            Some("That is not the operator's secret (HOOKD_MCP_TOKEN)."),
            StatusCode::FORBIDDEN,
        );
    }
    // The operator may grant less than was asked (no write, say), never more.
    let ticked: Vec<String> = form_urlencoded::parse(&body)
        .filter(|(k, _)| k == "grant_scope")
        .map(|(_, v)| v.into_owned())
        .collect();
    let granted: Vec<&str> = ask
        .scope
        .split(' ')
        .filter(|s| ticked.iter().any(|t| t == s))
        .collect();
    if granted.is_empty() {
        return answer(
            &a,
            Refused::Back {
                redirect_uri: ask.redirect_uri,
                state: ask.state,
                error: "access_denied",
                description: "the operator granted no scope".into(),
            },
        );
    }
    let granted = granted.join(" ");
    let now = Utc::now();
    let family = super::grant_id();
    let code = random(32);
    let grant = OauthGrant {
        family: family.clone(),
        client_id: ask.client.id.clone(),
        scope: granted.clone(),
        resource: a.resource.clone(),
        created_at: now,
    };
    let stored = OauthCode {
        hash: hash(&code),
        family,
        redirect_uri: ask.redirect_uri.clone(),
        challenge: ask.challenge.clone(),
        expires_at: now + chrono::TimeDelta::from_std(CODE_TTL).unwrap_or_default(),
    };
    // A registered client with a grant is kept for as long as the grant stands; a metadata
    // document's copy keeps its expiry (it is read again when it lapses).
    let kept = OauthClient {
        expires_at: ask
            .client
            .expires_at
            .filter(|_| super::metadata_document::is_document(&ask.client.id)),
        ..ask.client.clone()
    };
    let saved = match a.store.save_client(kept).await {
        Ok(()) => a.store.grant_with_code(grant, stored).await,
        Err(e) => Err(e),
    };
    if let Err(e) = saved {
        tracing::error!(error = %e, "cannot store a grant");
        return refused_page("the store cannot take the grant now; try again");
    }
    tracing::info!(client = %crate::printable::printable(&ask.client.name), scope = %granted, "the operator granted a client access");
    let mut url = match reqwest::Url::parse(&ask.redirect_uri) {
        Ok(u) => u,
        Err(_) => return refused_page("the redirect URI does not parse"),
    };
    {
        let mut q = url.query_pairs_mut();
        q.append_pair("code", &code);
        if let Some(state) = &ask.state {
            q.append_pair("state", state);
        }
        q.append_pair("iss", &a.issuer);
    }
    redirect(url.as_str())
}

fn cookie(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|p| p.trim().split_once('='))
        .find(|(k, _)| *k == COOKIE)
        .map(|(_, v)| v.to_owned())
}

fn answer(a: &Authority, refused: Refused) -> Response {
    match refused {
        Refused::Page(why) => refused_page(&why),
        Refused::Back {
            redirect_uri,
            state,
            error,
            description,
        } => {
            let Ok(mut url) = reqwest::Url::parse(&redirect_uri) else {
                return refused_page("the redirect URI does not parse");
            };
            {
                let mut q = url.query_pairs_mut();
                q.append_pair("error", error);
                q.append_pair("error_description", &description);
                if let Some(state) = &state {
                    q.append_pair("state", state);
                }
                q.append_pair("iss", &a.issuer);
            }
            redirect(url.as_str())
        }
    }
}

fn redirect(to: &str) -> Response {
    let mut response = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        response.headers_mut().insert(header::LOCATION, v);
    }
    guarded(&mut response);
    response
}

/// No framing, no scripts, no caching, no referrer (the page's URL carries the request).
fn guarded(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
}

fn refused_page(why: &str) -> Response {
    let body = format!(
        "<!doctype html><meta charset=utf-8><title>hookd: request refused</title>\
         <body style=\"font:16px system-ui;max-width:36em;margin:3em auto\">\
         <h1>hookd refused this request</h1><p>{}</p></body>",
        escape(why)
    );
    let mut response = (StatusCode::BAD_REQUEST, Html(body)).into_response();
    guarded(&mut response);
    response
}

fn render(
    a: &Authority,
    ask: &Ask,
    f: &HashMap<String, String>,
    csrf: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let host = reqwest::Url::parse(&ask.redirect_uri)
        .ok()
        .and_then(|u| u.host_str().map(str::to_owned))
        .unwrap_or_default();
    let carried = [
        "response_type",
        "client_id",
        "redirect_uri",
        "code_challenge",
        "code_challenge_method",
        "state",
        "scope",
        "resource",
    ];
    let hidden: String = carried
        .iter()
        .filter_map(|k| f.get(*k).map(|v| (k, v)))
        .map(|(k, v)| format!("<input type=hidden name=\"{k}\" value=\"{}\">", escape(v)))
        .collect();
    let scopes: String = ask
        .scope
        .split(' ')
        .map(|s| {
            let what = if s == scope::WRITE {
                "read events and change things: acknowledge events, publish, run Stripe actions, replay"
            } else {
                "read events, wait for them and be told of new ones"
            };
            format!(
                "<li><label><input type=checkbox name=grant_scope value=\"{s}\" checked> \
                 <code>{s}</code>: {what}</label></li>"
            )
        })
        .collect();
    let error = error
        .map(|e| format!("<p role=alert style=\"color:#b00020\">{}</p>", escape(e)))
        .unwrap_or_default();
    let body = format!(
        "<!doctype html><meta charset=utf-8><meta name=viewport content=\"width=device-width\">\
         <title>hookd: allow {name}?</title>\
         <body style=\"font:16px system-ui;max-width:36em;margin:3em auto;padding:0 1em\">\
         <h1>Allow <q>{name}</q> to use hookd?</h1>\
         <form method=post action=\"/oauth/authorize\">{hidden}\
         <input type=hidden name=csrf value=\"{csrf}\">\
         <p>It will be sent back to <strong>{host}</strong> and asks to (untick what you do \
         not grant):</p><ul>{scopes}</ul>\
         <p>hookd at <code>{resource}</code>.</p>{error}\
         <label>The operator's secret (<code>HOOKD_MCP_TOKEN</code>)<br>\
         <input type=password name=secret autocomplete=current-password autofocus style=\"width:100%\"></label>\
         <p><button name=decision value=allow>Allow</button> \
         <button name=decision value=deny>Deny</button></p></form></body>",
        name = escape(&ask.client.name),
        host = escape(&host),
        resource = escape(&a.resource),
        csrf = escape(csrf),
    );
    let mut response = (status, Html(body)).into_response();
    guarded(&mut response);
    response
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}
