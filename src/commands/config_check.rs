//! `hookd config check`: what `hookd serve` would run with, checked without opening anything.

use crate::config::Config;
use crate::secret::Secret;
use crate::signature::ToSign;
use crate::sources::Source;

pub fn run(config: &Config) -> anyhow::Result<()> {
    let sources = crate::app::check(config)?;
    println!("The configuration is valid. Effective settings (from flags, HOOKD_* or defaults):");
    for (flag, mut value) in settings(config)? {
        if flag == "require-signatures" && config.require_signatures.is_none() {
            let on = if config.require_signatures() {
                "on"
            } else {
                "off"
            };
            value = format!("{on} (by default: on unless the webhook address is loopback)");
        }
        if flag == "mcp-allowed-hosts" {
            value = allowed_hosts(config);
        }
        if flag == "toolsets" {
            let sets: Vec<String> = (sources.toolsets(&config.toolsets).iter())
                .map(|t| format!("{t:?}").to_lowercase())
                .collect();
            value = format!("{} (from {value})", sets.join(","));
        }
        println!("  --{flag:<26} {value}");
    }
    println!();
    let file = config.config_path();
    let file = file
        .as_ref()
        .map_or("none".into(), |p| p.display().to_string());
    println!("Sources (POST /webhook/NAME; sources file: {file}):");
    for s in sources.iter() {
        println!("  {}", describe(s));
    }
    if !config.require_signatures() {
        println!(
            "  any other name: accepted unsigned (--require-signatures is off), at most {} \
             names (--max-open-sources)",
            config.limits.max_open_sources
        );
    }
    let file = config.config_path();
    let triggers = crate::triggers::spec::load(file.as_deref(), |v| std::env::var(v).ok())
        .map_err(anyhow::Error::msg)?;
    if !triggers.is_empty() {
        println!();
        println!("Triggers (see `hookd triggers` for their runs):");
        for t in &triggers {
            let types = match t.types.as_slice() {
                [] => "any type".to_owned(),
                globs => globs.join(","),
            };
            let source = t.source.as_deref().unwrap_or("any source");
            let warning = t
                .missing_program()
                .map_or(String::new(), |why| format!(" (WARNING: {why})"));
            println!(
                "  {}: {} for {source}, {types}{warning}",
                t.name,
                t.describe()
            );
        }
    }
    Ok(())
}

/// The `Host` names the MCP listener answers to, all of them: the loopback names and its own
/// address's are always in, the flag's are added.
fn allowed_hosts(config: &Config) -> String {
    let mut hosts: Vec<String> = Vec::new();
    for host in config.mcp_hosts() {
        if !hosts.contains(&host) {
            hosts.push(host);
        }
    }
    let added = match config.mcp_allowed_hosts.as_slice() {
        [] => "none added".to_owned(),
        flags => format!("{} added", flags.join(",")),
    };
    format!(
        "{} (loopback names and the MCP address's IP always; {added})",
        hosts.join(",")
    )
}

/// Each setting under its flag's name, as a person would write it (secrets `[redacted]`, lists
/// comma-separated, unset ones `(not set)`).
fn settings(config: &Config) -> anyhow::Result<Vec<(String, String)>> {
    let serde_json::Value::Object(all) = serde_json::to_value(config)? else {
        anyhow::bail!("settings are not a table");
    };
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::Null => "(not set)".to_owned(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Ok(all
        .iter()
        .map(|(k, v)| {
            let value = match v {
                serde_json::Value::Array(items) if items.is_empty() => "(none)".to_owned(),
                serde_json::Value::Array(items) => {
                    items.iter().map(text).collect::<Vec<_>>().join(",")
                }
                other => text(other),
            };
            (k.clone(), value)
        })
        .collect())
}

/// `NAME: provider P, secret …; expects …`.
fn describe(s: &Source) -> String {
    let p = &s.provider;
    let asymmetric = p.new_private_key();
    let keys = if asymmetric.is_some() {
        "public key"
    } else {
        "secret"
    };
    let secret = match (p.signs(), s.secrets.len()) {
        (false, _) => "unsigned on purpose".to_owned(),
        (true, 0) if p.enrols().is_some() => {
            "its secret is learned in a handshake (hookd enrol)".to_owned()
        }
        (true, 0) => "NO SECRET: deliveries are stored with verified=false".to_owned(),
        (true, 1) => format!("{keys} set"),
        (true, n) => format!("{n} {keys}s set (rotation)"),
    };
    // The headers a delivery must carry: what the provider signs with, learned by signing.
    let probe = ToSign {
        body: b"{}",
        now: 0,
        delivery_id: "",
        url: "",
    };
    let key = asymmetric.unwrap_or_else(|| Secret::new("probe"));
    let headers: Vec<String> = p
        .sign(&key, &probe)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let in_body = p.sign_body(&key, &probe).is_some();
    let mut expects = match (headers.is_empty(), in_body) {
        (_, true) => "the signature in the body".to_owned(),
        (true, false) => "no signature".to_owned(),
        (false, false) => headers.join(", "),
    };
    if p.signs_url() {
        expects.push_str(" (signed over the URL: see --webhook-public-url)");
    }
    format!(
        "{}: provider {}, {secret}; expects {expects}",
        s.name,
        s.provider.name()
    )
}
