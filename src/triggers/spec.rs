//! `[[triggers]]` in `hookd.toml`: read and checked once at start. Triggers are declared only
//! there, never over MCP or HTTP: no client can make hookd run a program or call a URL.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;

use crate::filter::FieldMatch;
use crate::secret::Secret;
use crate::time::parse_duration;

/// The most triggers one file declares.
pub const MAX_TRIGGERS: usize = 64;
/// The most events one batched run carries.
pub const MAX_BATCH: usize = 1000;
/// The most runs of one trigger at once.
pub const MAX_CONCURRENCY: usize = 64;
/// The longest a run may last.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(24 * 3600);
/// The longest a debounce window or a wait between attempts may be.
pub const MAX_WAIT: Duration = Duration::from_secs(24 * 3600);

/// What a trigger does with the events it matched.
#[derive(Debug, Clone)]
pub enum Action {
    /// A program and its arguments (no shell).
    Run(Vec<String>),
    /// POST to a URL, signed as Standard Webhooks with the secret when there is one.
    Post {
        url: reqwest::Url,
        secret: Option<Secret>,
    },
}

/// One checked trigger.
#[derive(Debug, Clone)]
pub struct Trigger {
    pub name: String,
    pub source: Option<String>,
    /// Globs on the event type (`*` for any run of characters); empty: any type.
    pub types: Vec<String>,
    pub fields: Vec<FieldMatch>,
    pub action: Action,
    /// Events matched within this window go to one run, as a JSON array.
    pub debounce: Option<Duration>,
    pub batch_max: usize,
    pub concurrency: usize,
    pub timeout: Duration,
    /// Waits between attempts; after the last, the run is dead.
    pub retries: Vec<Duration>,
    /// Extra environment for a run (values may be secrets: never shown).
    pub env: Vec<(String, Secret)>,
    pub allow_unverified: bool,
    /// A trigger new to the store starts at the first event (else at the newest).
    pub from_beginning: bool,
    pub max_per_hour: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    name: String,
    source: Option<String>,
    #[serde(default)]
    types: Vec<String>,
    #[serde(default, rename = "where")]
    conditions: serde_json::Map<String, serde_json::Value>,
    run: Option<Vec<String>>,
    url: Option<String>,
    secret: Option<String>,
    debounce: Option<String>,
    batch_max: Option<usize>,
    concurrency: Option<usize>,
    timeout: Option<String>,
    retries: Option<Vec<String>>,
    #[serde(default)]
    env: BTreeMap<String, String>,
    #[serde(default)]
    allow_unverified: bool,
    start: Option<String>,
    max_per_hour: Option<u32>,
}

#[derive(Debug, Deserialize)]
struct File {
    #[serde(default)]
    triggers: Vec<Spec>,
}

/// The triggers of `path` (none without a file). `env` reads a variable (`env:NAME` values).
pub fn load(
    path: Option<&Path>,
    env: impl Fn(&str) -> Option<String>,
) -> Result<Vec<Trigger>, String> {
    let Some(path) = path else {
        return Ok(Vec::new());
    };
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, env).map_err(|e| format!("{}: {e}", path.display()))
}

/// The triggers of a `hookd.toml` text.
pub fn parse(text: &str, env: impl Fn(&str) -> Option<String>) -> Result<Vec<Trigger>, String> {
    let file: File = toml::from_str(text).map_err(|e| e.to_string())?;
    if file.triggers.len() > MAX_TRIGGERS {
        return Err(format!("at most {MAX_TRIGGERS} [[triggers]]"));
    }
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::with_capacity(file.triggers.len());
    for spec in file.triggers {
        let name = spec.name.clone();
        if !seen.insert(name.clone()) {
            return Err(format!("two triggers are named {name:?}"));
        }
        out.push(check(spec, &env).map_err(|e| format!("trigger {name:?}: {e}"))?);
    }
    Ok(out)
}

fn check(spec: Spec, env: &impl Fn(&str) -> Option<String>) -> Result<Trigger, String> {
    let name_ok = !spec.name.is_empty()
        && spec.name.len() <= 64
        && spec
            .name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_');
    if !name_ok {
        return Err("a name is 1 to 64 letters, digits, '-' or '_'".into());
    }
    let value = |v: &str| -> Result<Secret, String> {
        match v.strip_prefix("env:") {
            Some(var) => env(var)
                .map(Secret::new)
                .ok_or_else(|| format!("the variable {var} is not set")),
            None => Ok(Secret::new(v)),
        }
    };
    let action = match (spec.run, spec.url) {
        (Some(argv), None) => {
            if argv.is_empty() || argv[0].is_empty() {
                return Err("`run` names a program: run = [\"program\", \"arg\", …]".into());
            }
            if spec.secret.is_some() {
                return Err("`secret` signs a `url` trigger's requests; `run` takes none".into());
            }
            Action::Run(argv)
        }
        (None, Some(url)) => {
            let parsed = reqwest::Url::parse(&url)
                .ok()
                .filter(|u| matches!(u.scheme(), "https" | "http"))
                .ok_or_else(|| format!("url {url:?} is not an http(s) URL"))?;
            Action::Post {
                url: parsed,
                secret: spec.secret.as_deref().map(value).transpose()?,
            }
        }
        _ => return Err("give either `run` (a program) or `url` (to POST to)".into()),
    };
    let duration = |what: &str, v: &str, max: Duration| -> Result<Duration, String> {
        let d = parse_duration(v).map_err(|e| format!("{what}: {e}"))?;
        if d > max {
            return Err(format!(
                "{what}: {v:?} is longer than {}h",
                max.as_secs() / 3600
            ));
        }
        Ok(d)
    };
    let debounce = spec
        .debounce
        .as_deref()
        .map(|d| duration("debounce", d, MAX_WAIT))
        .transpose()?;
    let batch_max = spec
        .batch_max
        .unwrap_or(if debounce.is_some() { 100 } else { 1 });
    if debounce.is_none() && spec.batch_max.is_some() {
        return Err("`batch_max` needs `debounce` (without it, each event is its own run)".into());
    }
    if !(1..=MAX_BATCH).contains(&batch_max) {
        return Err(format!("batch_max is 1 to {MAX_BATCH}"));
    }
    let concurrency = spec.concurrency.unwrap_or(1);
    if !(1..=MAX_CONCURRENCY).contains(&concurrency) {
        return Err(format!("concurrency is 1 to {MAX_CONCURRENCY}"));
    }
    let timeout = match spec.timeout.as_deref() {
        Some(t) => duration("timeout", t, MAX_TIMEOUT)?,
        None => Duration::from_secs(600),
    };
    if timeout.is_zero() {
        return Err("timeout must be more than 0".into());
    }
    let retries = match spec.retries {
        Some(list) if list.len() > 20 => return Err("at most 20 retries".into()),
        Some(list) => list
            .iter()
            .map(|r| duration("retries", r, MAX_WAIT))
            .collect::<Result<_, _>>()?,
        None => [60, 300, 900].map(Duration::from_secs).to_vec(),
    };
    let mut types = spec.types;
    if types.len() > 32 || types.iter().any(|t| t.is_empty() || t.len() > 200) {
        return Err("`types` holds at most 32 patterns, each 1 to 200 characters".into());
    }
    types.dedup();
    let fields = FieldMatch::parse_where(&spec.conditions).map_err(|e| format!("where: {e}"))?;
    let mut env_vars = Vec::with_capacity(spec.env.len());
    for (k, v) in spec.env {
        let reserved = k.starts_with("HOOKD_") || k == "PATH" || k == "HOME";
        if k.is_empty() || k.contains('=') || k.contains('\0') || reserved {
            return Err(format!(
                "env: {k:?} cannot be set (PATH, HOME and HOOKD_* are hookd's to give)"
            ));
        }
        env_vars.push((k, value(&v)?));
    }
    let from_beginning = match spec.start.as_deref() {
        None | Some("new") => false,
        Some("beginning") => true,
        Some(other) => return Err(format!("start is \"new\" or \"beginning\", not {other:?}")),
    };
    if spec.max_per_hour == Some(0) {
        return Err("max_per_hour is at least 1 (remove it for no cap)".into());
    }
    Ok(Trigger {
        name: spec.name,
        source: spec.source,
        types,
        fields,
        action,
        debounce,
        batch_max,
        concurrency,
        timeout,
        retries,
        env: env_vars,
        allow_unverified: spec.allow_unverified,
        from_beginning,
        max_per_hour: spec.max_per_hour,
    })
}

impl Trigger {
    /// Whether `event` is one of this trigger's, beyond what the store filtered (source and
    /// `where`): its type against the globs, and verification.
    pub fn takes(&self, event: &crate::event::Event) -> bool {
        let typed = self.types.is_empty() || self.types.iter().any(|g| glob(g, &event.event_type));
        typed && (self.allow_unverified || event.verified != Some(false))
    }

    /// What it does, in words: `run claude -p …` or `POST https://…` (the URL without its query,
    /// which may hold a token).
    pub fn describe(&self) -> String {
        match &self.action {
            Action::Run(argv) => format!("run {}", crate::printable::printable(&argv.join(" "))),
            Action::Post { url, .. } => {
                let mut shown = url.clone();
                shown.set_query(None);
                format!("POST {shown}")
            }
        }
    }

    /// Why its program cannot be started from here, if it cannot: not found in `PATH`, or no
    /// such file (a warning at start: the run would fail until it is installed).
    pub fn missing_program(&self) -> Option<String> {
        let Action::Run(argv) = &self.action else {
            return None;
        };
        let program = std::path::Path::new(&argv[0]);
        if program.components().count() > 1 {
            return (!program.is_file())
                .then(|| format!("its program {:?} does not exist", argv[0]));
        }
        let found = std::env::var_os("PATH")
            .is_some_and(|path| std::env::split_paths(&path).any(|d| d.join(program).is_file()));
        (!found).then(|| format!("its program {:?} is not in PATH", argv[0]))
    }

    /// What the store can filter on: the source and the `where` conditions.
    pub fn filter(&self) -> crate::event::EventFilter {
        crate::event::EventFilter {
            sources: self.source.iter().cloned().collect(),
            fields: self.fields.clone(),
            ..Default::default()
        }
    }
}

/// `*` matches any run of characters (none included); everything else matches itself.
pub fn glob(pattern: &str, text: &str) -> bool {
    let mut parts = pattern.split('*');
    let first = parts.next().unwrap_or("");
    let Some(mut rest) = text.strip_prefix(first) else {
        return false;
    };
    let parts: Vec<&str> = parts.collect();
    let Some((last, middle)) = parts.split_last() else {
        return rest.is_empty();
    };
    for part in middle {
        match rest.find(part) {
            Some(at) => rest = &rest[at + part.len()..],
            None => return false,
        }
    }
    rest.len() >= last.len() && rest.ends_with(last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_match_as_written() {
        assert!(glob("pull_request", "pull_request"));
        assert!(!glob("pull_request", "pull_request_review"));
        assert!(glob("pull_request*", "pull_request_review"));
        assert!(!glob("*.failed", "payment_intent.payment_failed"));
        assert!(glob("*failed", "payment_intent.payment_failed"));
        assert!(glob("charge.*", "charge.dispute.created"));
        assert!(glob("*", ""));
        assert!(glob("a*b*c", "aXbYc"));
        assert!(!glob("a*b*c", "aXcYb"));
        assert!(!glob("ab*ba", "aba"), "the two ends may not overlap");
    }

    #[test]
    fn a_program_that_is_not_installed_is_named() {
        let with = |program: &str| {
            let text = format!("[[triggers]]\nname = \"a\"\nrun = [\"{program}\"]\n");
            parse(&text, |_| None).unwrap().remove(0).missing_program()
        };
        assert_eq!(with("sh"), None);
        assert_eq!(with("/bin/sh"), None);
        assert!(with("no-such-program-7f3").unwrap().contains("not in PATH"));
        assert!(with("/no/such/program").unwrap().contains("does not exist"));
    }

    #[test]
    fn a_trigger_is_checked_with_reasons() {
        let env = |v: &str| (v == "TOKEN").then(|| "t0ken".to_owned());
        let ok = parse(
            "[[triggers]]\nname = \"review\"\nsource = \"github\"\ntypes = [\"pull_request\"]\n\
             where = { \"payload.action\" = \"opened\" }\nrun = [\"claude\", \"-p\", \"x\"]\n\
             env = { GH_TOKEN = \"env:TOKEN\" }\n",
            env,
        )
        .unwrap();
        assert_eq!(ok[0].batch_max, 1);
        assert_eq!(ok[0].retries.len(), 3);
        assert_eq!(ok[0].env[0].1.expose(), "t0ken");
        assert!(
            !format!("{:?}", ok[0]).contains("t0ken"),
            "secrets stay out of Debug"
        );
        for (toml, says) in [
            ("name = \"a b\"\nrun = [\"x\"]", "letters, digits"),
            ("name = \"a\"", "either `run`"),
            (
                "name = \"a\"\nrun = [\"x\"]\nurl = \"https://e.com\"",
                "either `run`",
            ),
            ("name = \"a\"\nurl = \"ftp://e.com\"", "not an http(s) URL"),
            (
                "name = \"a\"\nrun = [\"x\"]\nbatch_max = 5",
                "needs `debounce`",
            ),
            (
                "name = \"a\"\nrun = [\"x\"]\ntimeout = \"10\"",
                "needs a unit",
            ),
            (
                "name = \"a\"\nrun = [\"x\"]\nenv = { PATH = \"/\" }",
                "cannot be set",
            ),
            (
                "name = \"a\"\nrun = [\"x\"]\nenv = { K = \"env:NOPE\" }",
                "NOPE is not set",
            ),
            (
                "name = \"a\"\nrun = [\"x\"]\nstart = \"middle\"",
                "start is",
            ),
            ("name = \"a\"\nrun = [\"x\"]\nshell = true", "unknown field"),
        ] {
            let text = format!("[[triggers]]\n{toml}\n");
            let e = parse(&text, env).unwrap_err();
            assert!(e.contains(says), "{toml}: {e}");
        }
        let twice = "[[triggers]]\nname = \"a\"\nrun = [\"x\"]\n[[triggers]]\nname = \"a\"\nrun = [\"y\"]\n";
        assert!(parse(twice, env).unwrap_err().contains("two triggers"));
    }
}
