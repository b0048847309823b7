//! A search hit's snippet with the field each part comes from: the index holds a payload's
//! values one per line (`closed\n143\nAdd **Apple** **Pay**`), which says nothing of what they
//! are; each line is found in the stored payload's text and named by the key before it
//! (`state: closed · number: 143 · title: Add **Apple** **Pay**`). A part that cannot be placed (in
//! an array, or written with escapes) keeps its words without a name.

/// The key whose value holds `at` in the JSON text `raw` (`at` inside a string value, or the
/// first character of a number), if the value is an object member.
fn key_before(raw: &str, at: usize) -> Option<&str> {
    let bytes = raw.as_bytes();
    // The nearest unescaped quote before `at` opens the string `at` is in when a colon precedes
    // it (a member's value); otherwise `at` is in a number (or elsewhere, and no key is found).
    let opening = (0..at)
        .rev()
        .find(|&j| bytes[j] == b'"' && !escaped(bytes, j))
        .filter(|&q| colon_before(bytes, q).is_some());
    let start = opening.unwrap_or_else(|| {
        let number = |b: &u8| matches!(b, b'0'..=b'9' | b'-' | b'.' | b'e' | b'E' | b'+');
        at - bytes[..at].iter().rev().take_while(|b| number(b)).count()
    });
    let colon = colon_before(bytes, start)?;
    // The key: the quoted string that ends just before the colon.
    let mut end = colon;
    while end > 0 && bytes[end - 1].is_ascii_whitespace() {
        end -= 1;
    }
    if end == 0 || bytes[end - 1] != b'"' {
        return None;
    }
    let close = end - 1;
    let open = (0..close)
        .rev()
        .find(|&j| bytes[j] == b'"' && !escaped(bytes, j))?;
    raw.get(open + 1..close)
}

/// The position of the `:` just before `i`, whitespace between.
fn colon_before(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i;
    while j > 0 && bytes[j - 1].is_ascii_whitespace() {
        j -= 1;
    }
    (j > 0 && bytes[j - 1] == b':').then(|| j - 1)
}

/// Whether the byte at `i` is escaped by an odd run of backslashes.
fn escaped(bytes: &[u8], i: usize) -> bool {
    let run = bytes[..i].iter().rev().take_while(|&&b| b == b'\\').count();
    run % 2 == 1
}

/// `snippet` (the index's lines, matches in `**`) with each line named by its field in `raw`.
pub fn labelled(snippet: &str, raw: &str) -> String {
    snippet
        .split('\n')
        .map(|line| {
            let plain = line.replace("**", "");
            let plain = plain.trim_matches(|c: char| c == '…' || c.is_whitespace());
            let key = (!plain.is_empty())
                .then(|| raw.find(plain))
                .flatten()
                .and_then(|at| key_before(raw, at));
            match key {
                Some(k) if !k.is_empty() && k.len() <= 64 => format!("{k}: {line}"),
                _ => line.to_owned(),
            }
        })
        .collect::<Vec<_>>()
        .join(" · ")
}

#[cfg(test)]
mod tests {
    use super::labelled;

    #[test]
    fn each_line_is_named_by_its_field() {
        let raw = r#"{"action": "closed", "number": 143, "pull_request": {"title": "Add Apple Pay to checkout", "labels": ["pay"]}}"#;
        assert_eq!(
            labelled("closed\n143\nAdd **Apple** **Pay** to…", raw),
            "action: closed · number: 143 · title: Add **Apple** **Pay** to…"
        );
        assert_eq!(labelled("**pay**", raw), "**pay**", "in an array: no name");
        assert_eq!(labelled("…checkout", raw), "title: …checkout");
        assert_eq!(labelled("nowhere", raw), "nowhere");
    }
}
