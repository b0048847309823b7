//! `hookd config check`: what `hookd serve` would run with, checked without opening anything.

use crate::config::Config;
use crate::secret::Secret;
use crate::signature::ToSign;
use crate::sources::Source;

pub fn run(config: &Config) -> anyhow::Result<()> {
    let sources = crate::app::check(config)?;
    println!("The configuration is valid. Effective settings (secrets redacted):");
    println!("{config:#?}");
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
        println!("  any other name: accepted unsigned (--require-signatures is off)");
    }
    Ok(())
}

/// `NAME: provider P, secret …; expects …`.
fn describe(s: &Source) -> String {
    let secret = match (s.provider.signs(), s.secrets.len()) {
        (false, _) => "unsigned on purpose".to_owned(),
        (true, 0) => "NO SECRET: deliveries are stored with verified=false".to_owned(),
        (true, 1) => "secret set".to_owned(),
        (true, n) => format!("{n} secrets set (rotation)"),
    };
    // The headers a delivery must carry: what the provider signs with, learned by signing.
    let probe = ToSign {
        body: b"",
        now: 0,
        delivery_id: "",
    };
    let headers: Vec<String> = s
        .provider
        .sign(&Secret::new("probe"), &probe)
        .into_iter()
        .map(|(name, _)| name)
        .collect();
    let expects = if headers.is_empty() {
        "no signature".to_owned()
    } else {
        headers.join(", ")
    };
    format!(
        "{}: provider {}, {secret}; expects {expects}",
        s.name,
        s.provider.name()
    )
}
