//! A statement as diesel's `debug_query` prints it (`SELECT … $1 … -- binds: ["a", 51]`), taken
//! apart for the benchmarks, which hand the server's very statements to pgbench.

/// The SQL and its bind values as printed (texts still in their double quotes).
fn parts(text: &str) -> (&str, Vec<&str>) {
    let (sql, binds) = text.split_once(" -- binds: ").unwrap_or((text, "[]"));
    let binds = binds
        .trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(", ")
        .filter(|b| !b.is_empty())
        .collect();
    (sql, binds)
}

/// The statement and its values, texts unquoted: for `pgbench` variables.
pub fn split(text: &str) -> (String, Vec<String>) {
    let (sql, binds) = parts(text);
    let values = binds
        .into_iter()
        .map(|b| b.trim_matches('"').to_owned())
        .collect();
    (sql.to_owned(), values)
}

/// One statement with its values written in (texts quoted, numbers as they are): for pgbench
/// scripts. The values are the server's own (codes, bounds, numbers); a quote in a text is
/// doubled all the same.
pub fn inline(text: &str) -> String {
    let (sql, binds) = parts(text);
    let mut out = sql.to_owned();
    // From the last placeholder down, so that `$1` never eats the start of `$12`.
    for (i, b) in binds.iter().enumerate().rev() {
        let value = match b.strip_prefix('"').and_then(|b| b.strip_suffix('"')) {
            Some(t) => format!("'{}'", t.replace('\'', "''")),
            None => (*b).to_owned(),
        };
        out = out.replace(&format!("${}", i + 1), &value);
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn values_are_split_out_or_written_in() {
        let text = r#"SELECT a FROM t WHERE b = $1 AND c = $2 LIMIT $12 -- binds: ["x'y", 7, 3, 4, 5, 6, 7, 8, 9, 10, 11, 51]"#;
        let (sql, values) = split(text);
        assert_eq!(sql, "SELECT a FROM t WHERE b = $1 AND c = $2 LIMIT $12");
        assert_eq!(values[0], "x'y");
        assert_eq!(values.len(), 12);
        assert_eq!(
            inline(text),
            "SELECT a FROM t WHERE b = 'x''y' AND c = 7 LIMIT 51"
        );
        assert_eq!(split("SELECT 1").1, Vec::<String>::new());
    }
}
