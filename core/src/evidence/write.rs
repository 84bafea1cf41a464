//! How a file's rows are written: CSV (RFC 4180) or JSON. Hand-written:
//! a cell's quoting is a few lines, and the formula guard below is ours
//! whichever writer quotes.

use serde_json::Value;

/// One cell's value.
pub enum Cell<'a> {
    Text(&'a str),
    Int(i64),
    Null,
}

/// Appends `cells` as one CSV record (CRLF, RFC 4180 §2).
pub fn csv_row(out: &mut String, cells: &[Cell<'_>]) {
    for (i, cell) in cells.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match cell {
            Cell::Text(t) => csv_text(out, t),
            Cell::Int(n) => out.push_str(&n.to_string()),
            Cell::Null => {}
        }
    }
    out.push_str("\r\n");
}

/// A text cell, quoted when it holds a separator, quote or line break.
/// A cell a spreadsheet would run as a formula (OWASP's "CSV injection":
/// it starts with `=`, `+`, `-`, `@`, a tab or a carriage return) gets a
/// leading `'`, so an auditor opening the file runs nothing a tenant
/// typed into a project name or a reason.
fn csv_text(out: &mut String, t: &str) {
    let formula = t.starts_with(['=', '+', '-', '@', '\t', '\r']);
    let quoted = formula || t.contains([',', '"', '\n', '\r']);
    if quoted {
        out.push('"');
    }
    if formula {
        out.push('\'');
    }
    for c in t.chars() {
        if c == '"' {
            out.push('"');
        }
        out.push(c);
    }
    if quoted {
        out.push('"');
    }
}

/// Tenant text (an account name) for a `#` heading line: one cell, with
/// no separator or quote a spreadsheet would split the line on, so the
/// line stays a single cell that starts with `#` and never a formula.
pub fn heading_text(s: &str) -> String {
    s.replace(|c: char| c.is_control() || c == ',' || c == '"', " ")
}

/// Appends `cells` as one JSON object named by `columns`, in their order.
pub fn json_row(out: &mut String, columns: &[&str], cells: &[Cell<'_>]) {
    out.push('{');
    for (i, (name, cell)) in columns.iter().zip(cells).enumerate() {
        if i > 0 {
            out.push(',');
        }
        json_string(out, name);
        out.push(':');
        match cell {
            Cell::Text(t) => json_string(out, t),
            Cell::Int(n) => out.push_str(&n.to_string()),
            Cell::Null => out.push_str("null"),
        }
    }
    out.push('}');
}

/// A JSON string literal (serde_json's escaping).
pub fn json_string(out: &mut String, s: &str) {
    out.push_str(&Value::String(s.to_owned()).to_string());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(cells: &[Cell<'_>]) -> String {
        let mut s = String::new();
        csv_row(&mut s, cells);
        s
    }

    #[test]
    fn csv_quotes_what_needs_it_and_nothing_else() {
        assert_eq!(
            row(&[Cell::Text("plain"), Cell::Int(-3), Cell::Null]),
            "plain,-3,\r\n"
        );
        assert_eq!(
            row(&[
                Cell::Text("a,b"),
                Cell::Text("say \"hi\""),
                Cell::Text("two\nlines")
            ]),
            "\"a,b\",\"say \"\"hi\"\"\",\"two\nlines\"\r\n"
        );
    }

    #[test]
    fn a_cell_that_reads_as_a_formula_is_defused() {
        for f in ["=HYPERLINK(\"x\")", "+1", "-2+3", "@SUM(A1)", "\tx"] {
            let r = row(&[Cell::Text(f)]);
            assert!(r.starts_with("\"'"), "{f:?} -> {r:?}");
        }
        // A number is written as a number, not defused.
        assert_eq!(row(&[Cell::Int(-5)]), "-5\r\n");
    }

    #[test]
    fn a_heading_line_stays_one_cell() {
        let name = heading_text("x,=HYPERLINK(\"http://evil\",\"open\")\nmore");
        assert!(!name.contains([',', '"', '\n']), "{name}");
        let line = format!("# account: acc_1 ({name})");
        let cells: Vec<&str> = line.split(',').collect();
        assert_eq!(cells.len(), 1);
    }

    #[test]
    fn json_rows_name_their_columns() {
        let mut s = String::new();
        json_row(
            &mut s,
            &["b", "a", "c"],
            &[Cell::Text("x\"y"), Cell::Int(2), Cell::Null],
        );
        assert_eq!(s, r#"{"b":"x\"y","a":2,"c":null}"#);
    }
}
