//! Text a client chose (an event's type, subject, summary, a refusal's detail), made safe for a
//! terminal or a line-oriented log: control characters (C0, DEL, C1: newlines that would forge a
//! line, escape sequences a terminal would obey) are written as escapes instead.

use std::borrow::Cow;
use std::fmt::Write;

/// `text` with every control character written as an escape (`\n`, `\r`, `\t`, else `\u{…}`).
pub fn printable(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len() + 8);
    for c in text.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::printable;

    #[test]
    fn control_characters_are_escaped_and_other_text_is_kept() {
        assert_eq!(printable("push"), "push");
        assert_eq!(printable("é ü 漢 🙂"), "é ü 漢 🙂");
        assert_eq!(printable("a\nb\rc\td"), "a\\nb\\rc\\td");
        assert_eq!(printable("\u{1b}[31mred"), "\\u{1b}[31mred");
        assert_eq!(printable("c1\u{9b}x\u{7f}"), "c1\\u{9b}x\\u{7f}");
    }
}
