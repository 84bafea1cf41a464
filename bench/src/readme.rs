//! README figures written by the code that measures them: a bench records
//! a section's Markdown as it measures, and `--write-readme` (which `make
//! bench` passes) replaces each `<!-- bench:NAME:begin -->` …
//! `<!-- bench:NAME:end -->` block of README.md with this run's. A block
//! this run did not measure is left as it was; a recorded section without
//! its block in the README is an error, so a renamed one is noticed.

use std::sync::Mutex;

static SECTIONS: Mutex<Vec<(&'static str, String)>> = Mutex::new(Vec::new());

/// Keeps `markdown` as this run's section `name` (a later record of the
/// same name replaces it).
pub fn record(name: &'static str, markdown: String) {
    let mut sections = SECTIONS.lock().unwrap_or_else(|p| p.into_inner());
    sections.retain(|(n, _)| *n != name);
    sections.push((name, markdown));
}

/// Writes every recorded section into the file at `path`.
pub fn write(path: &str) -> Result<(), String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{path}: {e}"))?;
    let sections = SECTIONS.lock().unwrap_or_else(|p| p.into_inner());
    let mut out = text.clone();
    for (name, markdown) in sections.iter() {
        out = replace(&out, name, markdown).ok_or_else(|| {
            format!("{path} has no <!-- bench:{name}:begin --> … <!-- bench:{name}:end --> block")
        })?;
    }
    if out != text {
        std::fs::write(path, out).map_err(|e| format!("{path}: {e}"))?;
    }
    let names: Vec<&str> = sections.iter().map(|(n, _)| *n).collect();
    println!(
        "\nwrote {} section(s) of {path}: {}",
        names.len(),
        names.join(", ")
    );
    Ok(())
}

/// `text` with the block `name` holding `markdown`; `None` without one.
fn replace(text: &str, name: &str, markdown: &str) -> Option<String> {
    let begin = format!("<!-- bench:{name}:begin -->");
    let end = format!("<!-- bench:{name}:end -->");
    let start = text.find(&begin)? + begin.len();
    let stop = start + text[start..].find(&end)?;
    Some(format!(
        "{}\n{}\n{}",
        &text[..start],
        markdown.trim_end(),
        &text[stop..]
    ))
}

/// "12,345" for 12345.4.
pub fn thousands(n: f64) -> String {
    let digits = format!("{:.0}", n.max(0.0));
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_block_is_replaced_and_the_rest_kept() {
        let text = "a\n<!-- bench:x:begin -->\nold\n<!-- bench:x:end -->\nb\n";
        let got = replace(text, "x", "new\n").unwrap();
        assert_eq!(
            got,
            "a\n<!-- bench:x:begin -->\nnew\n<!-- bench:x:end -->\nb\n"
        );
        assert_eq!(replace(&got, "x", "new").unwrap(), got, "stable");
        assert!(replace(text, "y", "new").is_none());
    }

    #[test]
    fn thousands_are_grouped() {
        assert_eq!(thousands(42_714.4), "42,714");
        assert_eq!(thousands(999.0), "999");
        assert_eq!(thousands(1_000_000.0), "1,000,000");
    }
}
