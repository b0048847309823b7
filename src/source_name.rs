//! A source's name: the `{source}` of `/webhook/{source}` and of `[sources.NAME]`, checked once
//! where it enters hookd.

/// 1 to 64 of `[a-z0-9_.-]`: safe in URLs, resource URIs, logs and file names as it is.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceName(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid source name {0:?}: use 1 to 64 characters of lower-case letters, digits, '_', '.', '-'"
)]
pub struct InvalidSourceName(String);

impl SourceName {
    pub fn parse(s: &str) -> Result<Self, InvalidSourceName> {
        let valid = (1..=64).contains(&s.len())
            && s.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b));
        if valid {
            Ok(Self(s.to_owned()))
        } else {
            // Shown in errors: at most 80 characters of whatever was sent.
            Err(InvalidSourceName(s.chars().take(80).collect()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for SourceName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::SourceName;

    #[test]
    fn source_names() {
        for ok in ["github", "a", "my-app.prod_2", &"x".repeat(64)] {
            assert_eq!(SourceName::parse(ok).unwrap().as_str(), ok);
        }
        for bad in ["", "GitHub", "a/b", "a b", "ü", "..%2f", &"x".repeat(65)] {
            assert!(SourceName::parse(bad).is_err(), "{bad}");
        }
        let long = SourceName::parse(&"X".repeat(500)).unwrap_err().to_string();
        assert!(long.len() < 200, "{long}");
    }
}
