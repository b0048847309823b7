//! Sources: which provider signs the deliveries to `/webhook/{source}`, and with which secrets.
//!
//! Loaded once at start-up from `hookd.toml` (`[sources.NAME]` tables) on top of four
//! preconfigured sources (`github`, `stripe`, `slack`, `vercel`) whose secrets come from the
//! environment variables the providers' guides use.

use crate::config::Toolset;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;

use crate::providers::{self, Provider};
use crate::secret::Secret;
use crate::signature::HmacScheme;

/// One configured source.
#[derive(Debug, Clone)]
pub struct Source {
    pub name: String,
    /// Verifies, signs and reads its deliveries.
    pub provider: Arc<dyn Provider>,
    /// What verifies its deliveries: shared secrets, or the public keys of a provider that signs
    /// with a private key. Several allow rotation: a delivery signed with any of them verifies.
    pub secrets: Vec<Secret>,
    /// What `hookd send` and replays sign with: the first secret (for a provider that signs with
    /// a private key, the private key given as `secret`).
    pub signing_key: Option<Secret>,
    /// Configured in `hookd.toml` (not one of the preconfigured four).
    pub from_file: bool,
    /// Its own `rate_limit`, if `hookd.toml` gives one (else `--rate-limit` applies).
    pub rate_limit: Option<crate::rate::RateSetting>,
}

impl Source {
    /// A signed provider with no secret configured (nor learned in a handshake): deliveries
    /// are stored unverified.
    pub fn is_unsigned(&self) -> bool {
        self.provider.signs() && self.secrets.is_empty() && self.provider.enrols().is_none()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SourcesError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("invalid {path}: {message}")]
    Invalid { path: String, message: String },
}

/// Every configured source by name.
#[derive(Debug, Clone, Default)]
pub struct Sources {
    by_name: BTreeMap<String, Source>,
    /// What `hookd.toml` configures for providers beyond one source (`[stripe.actions]`).
    pub settings: providers::Settings,
    /// Whether `hookd.toml` declares `[[triggers]]` (which `triggers::spec` reads and checks):
    /// the tools that show their runs are offered then.
    pub declares_triggers: bool,
}

/// `secret = "…"` or `secret = ["new", "old"]`; a value `env:NAME` reads the variable NAME.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
enum SecretSpec {
    One(String),
    Many(Vec<String>),
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct SourceSpec {
    provider: String,
    secret: Option<SecretSpec>,
    /// For a provider that signs with a private key (Discord, SendGrid): what verifies.
    public_key: Option<SecretSpec>,
    /// Meta's verify token (answered in its `hub.challenge` handshake).
    verify_token: Option<String>,
    hmac: Option<HmacScheme>,
    rate_limit: Option<crate::rate::RateSetting>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileSpec {
    #[serde(default)]
    sources: BTreeMap<String, SourceSpec>,
    #[serde(default)]
    stripe: StripeSpec,
    /// Read and checked by `triggers::spec`; here only whether there are any.
    #[serde(default)]
    triggers: Vec<toml::Table>,
}

/// `[stripe.actions]`: event type = action type ("" removes a default rule).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct StripeSpec {
    #[serde(default)]
    actions: BTreeMap<String, String>,
}

/// The preconfigured sources and the variables their secrets come from.
/// Each is named after its provider.
const DEFAULTS: [(&str, &str); 4] = [
    ("github", "GITHUB_WEBHOOK_SECRET"),
    ("stripe", "STRIPE_WEBHOOK_SECRET"),
    ("slack", "SLACK_SIGNING_SECRET"),
    ("vercel", "VERCEL_WEBHOOK_SECRET"),
];

/// Where a source's secret comes from, as a hint: its variable for a preconfigured source, else
/// its table in `hookd.toml`.
pub fn secret_hint(source: &str) -> String {
    match DEFAULTS.iter().find(|(name, _)| *name == source) {
        Some((_, var)) => format!(
            "set {var} where it runs (or in a file given with --env-file), or `secret` under \
             [sources.{source}] in its hookd.toml"
        ),
        None => format!("give [sources.{source}] a `secret` in its hookd.toml"),
    }
}

/// Why a delivery of `source` would go out unsigned from here (`forward`, `replay`), and how to
/// fix it; `None` when it is signed (or its provider signs nothing).
pub fn unsigned_here(sources: &Sources, source: &str) -> Option<String> {
    match sources.get(source) {
        None => Some(format!(
            "source {source:?} is not configured here, so its deliveries go without a signature \
             ({})",
            secret_hint(source)
        )),
        Some(s) if s.provider.signs() && s.secrets.is_empty() => Some(format!(
            "source {source:?} has no secret here, so its deliveries go unsigned and a receiver \
             that verifies {} signatures refuses them ({})",
            s.provider.name(),
            secret_hint(source)
        )),
        Some(_) => None,
    }
}

impl Sources {
    /// The preconfigured sources, then `path`'s (if given) on top. `env` reads a variable.
    pub fn load(
        path: Option<&Path>,
        env: impl Fn(&str) -> Option<String>,
    ) -> Result<Self, SourcesError> {
        let mut sources = Self::default();
        for (name, var) in DEFAULTS {
            let secrets = env(var).filter(|v| !v.is_empty()).map(Secret::new);
            let provider = providers::build(name, providers::Options::default())
                .expect("the preconfigured sources name built-in providers");
            sources.insert(name, provider, secrets.into_iter().collect(), false);
        }
        let Some(path) = path else {
            return Ok(sources);
        };
        let shown = path.display().to_string();
        let invalid = |message: String| SourcesError::Invalid {
            path: shown.clone(),
            message,
        };
        let text = std::fs::read_to_string(path).map_err(|source| SourcesError::Read {
            path: shown.clone(),
            source,
        })?;
        let file: FileSpec = toml::from_str(&text).map_err(|e| invalid(e.to_string()))?;
        sources.settings.stripe_actions = crate::derive::stripe::Rules::with(file.stripe.actions);
        sources.declares_triggers = !file.triggers.is_empty();
        for (name, spec) in file.sources {
            crate::source_name::SourceName::parse(&name).map_err(|e| invalid(e.to_string()))?;
            let secrets = resolve(&name, spec.secret, &env).map_err(&invalid)?;
            let public_keys = resolve(&name, spec.public_key, &env).map_err(&invalid)?;
            let verify_token = match spec.verify_token {
                Some(t) => resolve(&name, Some(SecretSpec::One(t)), &env)
                    .map_err(&invalid)?
                    .pop(),
                None => None,
            };
            let options = providers::Options {
                source: &name,
                hmac: spec.hmac,
                verify_token,
            };
            let provider = providers::build(&spec.provider, options)
                .map_err(|e| invalid(format!("source {name}: {e}")))?;
            let (secrets, signing_key) = keys(&provider, secrets, public_keys)
                .map_err(|e| invalid(format!("source {name}: {e}")))?;
            if !provider.signs() && !secrets.is_empty() {
                return Err(invalid(format!(
                    "source {name}: provider \"{}\" takes no secret",
                    provider.name()
                )));
            }
            if let Some(what) = provider.requires_secret()
                && secrets.is_empty()
            {
                return Err(invalid(format!(
                    "source {name}: provider \"{}\" needs a secret: {what}",
                    provider.name()
                )));
            }
            if let Some(crate::rate::RateSetting::Limit(l)) = &spec.rate_limit {
                l.validate()
                    .map_err(|e| invalid(format!("source {name}: {e}")))?;
            }
            sources.insert(&name, provider, secrets, true);
            if let Some(s) = sources.by_name.get_mut(&name) {
                s.rate_limit = spec.rate_limit;
                s.signing_key = signing_key;
            }
        }
        Ok(sources)
    }

    fn insert(
        &mut self,
        name: &str,
        provider: Arc<dyn Provider>,
        secrets: Vec<Secret>,
        from_file: bool,
    ) {
        let source = Source {
            name: name.to_owned(),
            provider,
            signing_key: secrets.first().cloned(),
            secrets,
            from_file,
            rate_limit: None,
        };
        self.by_name.insert(name.to_owned(), source);
    }

    /// Applies `--require-signatures`: a source from `hookd.toml` with no secret is an error; a
    /// preconfigured one with no secret is dropped (its deliveries are then refused). Returns the
    /// names dropped.
    pub fn require_signatures(&mut self) -> Result<Vec<String>, String> {
        if let Some(s) = self.iter().find(|s| s.is_unsigned() && s.from_file) {
            return Err(format!(
                "signatures are required, but source {:?} (provider {}) has no secret; set one, \
                 use provider = \"none\" to accept it unsigned on purpose, or pass \
                 --require-signatures=false",
                s.name,
                s.provider.name()
            ));
        }
        let dropped: Vec<String> = self
            .iter()
            .filter(|s| s.is_unsigned())
            .map(|s| s.name.clone())
            .collect();
        for name in &dropped {
            self.by_name.remove(name);
        }
        Ok(dropped)
    }

    /// How metrics name deliveries to `name`: the source's own name if it is configured, else
    /// `telemetry::OTHER` (a client cannot make up labels).
    pub fn metric_label(&self, name: &str) -> &str {
        self.get(name)
            .map_or(crate::telemetry::OTHER, |s| s.name.as_str())
    }

    pub fn get(&self, name: &str) -> Option<&Source> {
        self.by_name.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = &Source> {
        self.by_name.values()
    }

    /// The toolsets `asked` names, with `auto` resolved: `events`, and the toolsets of each
    /// provider that has a configured source (a secret, or a section in `hookd.toml`), so that a
    /// newcomer's assistant is shown the event tools and each provider's tools appear with it.
    pub fn toolsets(&self, asked: &[Toolset]) -> Vec<Toolset> {
        let wanted: Vec<Toolset> = self
            .iter()
            .filter(|s| s.from_file || !s.secrets.is_empty())
            .flat_map(|s| s.provider.toolsets().iter().copied())
            .collect();
        let mut sets = Vec::new();
        for set in asked {
            let add: Vec<Toolset> = match set {
                Toolset::Auto => {
                    let order = [Toolset::Github, Toolset::Stripe, Toolset::Deployments];
                    let mut auto = vec![Toolset::Events];
                    auto.extend(order.into_iter().filter(|t| wanted.contains(t)));
                    auto
                }
                other => vec![*other],
            };
            for t in add {
                if !sets.contains(&t) {
                    sets.push(t);
                }
            }
        }
        sets
    }
}

/// What verifies a source's deliveries, and what signs them: its secrets for a shared-secret
/// provider; for one that signs with a private key, the `public_key`s and those of the private
/// keys given as `secret`, which sign.
fn keys(
    provider: &Arc<dyn Provider>,
    secrets: Vec<Secret>,
    public_keys: Vec<Secret>,
) -> Result<(Vec<Secret>, Option<Secret>), String> {
    let name = provider.name();
    if provider.parse_public_key("").is_none() {
        if !public_keys.is_empty() {
            return Err(format!(
                "provider \"{name}\" verifies with a shared `secret`, not a `public_key`"
            ));
        }
        let first = secrets.first().cloned();
        return Ok((secrets, first));
    }
    let mut verifying = Vec::new();
    for key in public_keys {
        if let Some(Err(why)) = provider.parse_public_key(key.expose()) {
            return Err(format!("its public_key is not a {name} public key: {why}"));
        }
        verifying.push(key);
    }
    for private in &secrets {
        match provider.public_key(private) {
            Some(Ok(public)) => verifying.push(Secret::new(public)),
            _ => {
                return Err(format!(
                    "its secret must be a {name} private key (base64 PKCS#8, which only hookd \
                     send and replays sign with); the key {name} shows you goes in public_key"
                ));
            }
        }
    }
    Ok((verifying, secrets.into_iter().next()))
}

fn resolve(
    name: &str,
    spec: Option<SecretSpec>,
    env: &impl Fn(&str) -> Option<String>,
) -> Result<Vec<Secret>, String> {
    let values = match spec {
        None => Vec::new(),
        Some(SecretSpec::One(v)) => vec![v],
        Some(SecretSpec::Many(vs)) => vs,
    };
    values
        .into_iter()
        .map(|v| match v.strip_prefix("env:") {
            Some(var) => env(var)
                .filter(|s| !s.is_empty())
                .map(Secret::new)
                .ok_or_else(|| format!("source {name}: environment variable {var} is not set")),
            None if v.is_empty() => Err(format!("source {name}: empty secret")),
            None => Ok(Secret::new(v)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(var: &str) -> Option<String> {
        match var {
            "GITHUB_WEBHOOK_SECRET" => Some("gh-secret".into()),
            "ACME_NEW" => Some("acme-new".into()),
            _ => None,
        }
    }

    fn load(toml: &str) -> Result<Sources, SourcesError> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("hookd.toml");
        std::fs::write(&path, toml).unwrap();
        Sources::load(Some(&path), env)
    }

    #[test]
    fn defaults_read_the_providers_env_vars() {
        let s = Sources::load(None, env).unwrap();
        let gh = s.get("github").unwrap();
        assert_eq!((gh.provider.name(), gh.secrets.len()), ("github", 1));
        assert!(s.get("stripe").unwrap().is_unsigned());
        assert!(s.get("other").is_none());
    }

    #[test]
    fn the_file_adds_and_overrides_sources_with_rotation_and_env_secrets() {
        let s = load(
            r#"
            [sources.stripe]
            provider = "stripe"
            secret = ["whsec_new", "whsec_old"]

            [sources.acme]
            provider = "hmac"
            secret = "env:ACME_NEW"
            [sources.acme.hmac]
            header = "X-Acme-Signature"
            prefix = "sha512="
            algorithm = "sha512"

            [sources.internal]
            provider = "none"
            "#,
        )
        .unwrap();
        assert_eq!(s.get("stripe").unwrap().secrets.len(), 2);
        let acme = s.get("acme").unwrap();
        assert_eq!(acme.secrets, vec![Secret::new("acme-new")]);
        let d = crate::signature::ToSign {
            body: b"{}",
            now: 0,
            delivery_id: "d",
            url: "",
        };
        let signed = acme.provider.sign(&acme.secrets[0], &d);
        assert_eq!(signed[0].0, "X-Acme-Signature", "the table's header");
        assert!(!s.get("internal").unwrap().is_unsigned());
        assert!(s.get("github").is_some(), "defaults stay");
    }

    #[test]
    fn required_signatures_refuse_unsigned_file_sources_and_drop_unsigned_defaults() {
        let mut s = load("[sources.shop]\nprovider = \"shopify\"").unwrap();
        assert!(s.require_signatures().unwrap_err().contains("\"shop\""));
        let mut s = Sources::load(None, env).unwrap();
        assert_eq!(
            s.require_signatures().unwrap(),
            ["slack", "stripe", "vercel"]
        );
        assert!(s.get("github").is_some() && s.get("stripe").is_none());
    }

    #[test]
    fn mistakes_are_clear_errors_without_secrets() {
        let cases = [
            ("[sources.x]\nprovider = \"gitbub\"", "gitbub"),
            (
                "[sources.x]\nprovider = \"stripe\"\nsecret = \"env:MISSING\"",
                "MISSING is not set",
            ),
            (
                "[sources.x]\nprovider = \"hmac\"",
                "needs an [sources.x.hmac] table",
            ),
            ("[sources.X]\nprovider = \"none\"", "invalid source name"),
            (
                "[sources.x]\nprovider = \"none\"\nsecret = \"s3cr3t\"",
                "takes no secret",
            ),
        ];
        for (toml, expected) in cases {
            let err = load(toml).unwrap_err().to_string();
            assert!(err.contains(expected), "{err}");
            assert!(!err.contains("s3cr3t"), "{err}");
        }
    }
}
