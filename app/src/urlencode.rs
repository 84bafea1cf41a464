//! Percent-encoding for one query value (the `next` path), on both sides of
//! the wire, without pulling a URL crate into the wasm bundle.

pub fn query_value(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_query_separators() {
        assert_eq!(query_value("/team?x=1&y=2"), "/team%3Fx%3D1%26y%3D2");
        assert_eq!(query_value("/settings"), "/settings");
    }
}
