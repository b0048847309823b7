//! What one event may add to the derived tables, whatever its body says: at most [`MAX_ROWS`]
//! rows (GitHub itself sends at most 20 commits in a push), each text field at most
//! [`MAX_FIELD`] bytes. Without it a small body repeating a long `ref` over thousands of commits
//! wrote a thousand times its size.

use serde_json::Value;

use super::Derived;

/// Rows one event derives at most.
pub const MAX_ROWS: usize = 20;
/// Bytes one derived text field holds at most (cut at a character boundary, marked `…`).
pub const MAX_FIELD: usize = 1024;

/// `rows`, cut to [`MAX_ROWS`], every text field cut to [`MAX_FIELD`].
pub fn bounded(mut rows: Vec<Derived>) -> Vec<Derived> {
    rows.truncate(MAX_ROWS);
    for row in &mut rows {
        match row {
            Derived::Action(a) => {
                clip(&mut a.action_type);
                a.fields.values_mut().for_each(clip_value);
            }
            Derived::Push(p) => {
                for f in [&mut p.repo, &mut p.branch, &mut p.sha, &mut p.message] {
                    clip(f);
                }
                clip(&mut p.author);
            }
            Derived::Deployment(d) => {
                for f in [
                    &mut d.platform,
                    &mut d.project,
                    &mut d.deployment_id,
                    &mut d.state,
                ] {
                    clip(f);
                }
                for f in [&mut d.url, &mut d.sha, &mut d.environment] {
                    f.as_mut().map(clip);
                }
            }
            Derived::GitHub(g) => {
                clip(&mut g.repo);
                clip(&mut g.event_type);
                for f in [
                    &mut g.action,
                    &mut g.actor,
                    &mut g.title,
                    &mut g.state,
                    &mut g.branch,
                ] {
                    f.as_mut().map(clip);
                }
            }
        }
    }
    rows
}

/// `text` as a derived field holds it (cut to [`MAX_FIELD`]), for a value copied into every row.
pub fn clipped(text: &str) -> String {
    if text.len() <= MAX_FIELD {
        return text.to_owned();
    }
    let mut end = MAX_FIELD - '…'.len_utf8();
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &text[..end])
}

/// `text` cut to [`MAX_FIELD`], kept as it is (no copy) when it fits.
pub fn bound(mut text: String) -> String {
    clip(&mut text);
    text
}

fn clip(text: &mut String) {
    if text.len() > MAX_FIELD {
        *text = clipped(text);
    }
}

fn clip_value(value: &mut Value) {
    if let Value::String(s) = value {
        clip(s);
    } else if value.to_string().len() > MAX_FIELD {
        *value = Value::Null;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_is_cut_at_a_character_boundary_and_marked() {
        let mut long = "é".repeat(MAX_FIELD);
        clip(&mut long);
        assert!(
            long.len() <= MAX_FIELD && long.ends_with('…'),
            "{}",
            long.len()
        );
        let mut short = "main".to_owned();
        clip(&mut short);
        assert_eq!(short, "main");
    }
}
