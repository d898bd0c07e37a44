//! One line of the body as a raw row: a CSV record (RFC 4180, parsed by the `csv` project's
//! streaming core) or a JSON object. A CSV record must fit on one line.

use shebao_infra::records::imports::{column, Column, RawRow, RejectReason};

use crate::error::{ApiError, FieldIssue, Issue};

/// Splits CSV records, one line at a time, with one `csv_core` reader and its buffers reused
/// from line to line (no allocation per line but the fields themselves).
pub(super) struct CsvRecords {
    reader: csv_core::Reader,
    output: Vec<u8>,
    ends: Vec<usize>,
}

impl Default for CsvRecords {
    fn default() -> Self {
        CsvRecords {
            reader: csv_core::Reader::new(),
            output: vec![0; 1024],
            ends: vec![0; 32],
        }
    }
}

impl CsvRecords {
    /// The fields of one record: separated by commas, optionally quoted with `"`, a quote inside
    /// a quoted field doubled. A line with an unbalanced quote is not a record (csv's reader
    /// would take the rest of the line, or the next lines, into the field).
    pub fn fields(&mut self, line: &str) -> Result<Vec<String>, &'static str> {
        if line.bytes().filter(|&b| b == b'"').count() % 2 == 1 {
            return Err("a quote is not closed");
        }
        self.reader.reset();
        let mut input = line.as_bytes();
        let (mut written, mut fields) = (0, 0);
        loop {
            let (result, read, out, ends) = self.reader.read_record(
                input,
                &mut self.output[written..],
                &mut self.ends[fields..],
            );
            input = &input[read..];
            written += out;
            fields += ends;
            match result {
                // The end of the line: an empty input tells the reader so.
                csv_core::ReadRecordResult::InputEmpty => {}
                csv_core::ReadRecordResult::OutputFull => {
                    let len = self.output.len();
                    self.output.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::OutputEndsFull => {
                    let len = self.ends.len();
                    self.ends.resize(len * 2, 0);
                }
                csv_core::ReadRecordResult::Record | csv_core::ReadRecordResult::End => break,
            }
        }
        let mut start = 0;
        self.ends[..fields]
            .iter()
            .map(|&end| {
                let field = std::str::from_utf8(&self.output[start..end])
                    .map(str::to_owned)
                    .map_err(|_| "a field is not UTF-8");
                start = end;
                field
            })
            .collect()
    }
}

/// The CSV header: which column each field is (`None`: a column with an empty name, ignored).
/// Every required column must be there, and no unknown or repeated one.
pub(super) fn csv_header(
    csv: &mut CsvRecords,
    columns: &'static [Column],
    line: &str,
) -> Result<Vec<Option<&'static str>>, ApiError> {
    let names = csv.fields(line).map_err(|e| {
        ApiError::Validation(vec![FieldIssue {
            field: "header".into(),
            issue: Issue::Type(e.to_owned()),
        }])
    })?;
    let mut issues = Vec::new();
    let mut mapping = Vec::with_capacity(names.len());
    for name in &names {
        let name = name.trim();
        if name.is_empty() {
            mapping.push(None);
            continue;
        }
        match column(columns, name) {
            Some(c) if mapping.contains(&Some(c.name)) => issues.push(FieldIssue {
                field: c.name.to_owned(),
                issue: Issue::Value(shebao_domain::ValueError::Rule("appears more than once")),
            }),
            Some(c) => mapping.push(Some(c.name)),
            None => issues.push(FieldIssue {
                field: name.to_owned(),
                issue: Issue::Unknown,
            }),
        }
    }
    for c in columns.iter().filter(|c| c.required) {
        if !mapping.contains(&Some(c.name)) {
            issues.push(FieldIssue {
                field: c.name.to_owned(),
                issue: Issue::Required,
            });
        }
    }
    if issues.is_empty() {
        Ok(mapping)
    } else {
        Err(ApiError::Validation(issues))
    }
}

pub(super) fn csv_row(
    csv: &mut CsvRecords,
    header: &[Option<&'static str>],
    line: &str,
) -> Result<RawRow, RejectReason> {
    let fields = csv
        .fields(line)
        .map_err(|e| RejectReason::MalformedLine(e.to_owned()))?;
    if fields.len() != header.len() {
        return Err(RejectReason::MalformedLine(format!(
            "expected {} fields as in the header, found {}",
            header.len(),
            fields.len()
        )));
    }
    let mut row = RawRow::new();
    for (name, value) in header.iter().zip(&fields) {
        if let Some(name) = name {
            row.set(name, value);
        }
    }
    Ok(row)
}

/// Text from the body quoted in a rejection, cut to a readable length (a serde message can
/// quote a whole 64 KiB line, and up to 1,000 rejections are listed).
pub(super) fn clip(s: &str) -> String {
    const MAX_CHARS: usize = 120;
    match s.char_indices().nth(MAX_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

/// A JSON list of strings as `|`-separated text; an item that is not a string, or holds a `|`,
/// is refused.
fn list(field: &'static str, items: &[serde_json::Value]) -> Result<String, RejectReason> {
    let invalid = || RejectReason::Invalid {
        field,
        error: shebao_domain::ValueError::Format {
            expected: "a list of strings without |",
        },
    };
    let mut text = Vec::with_capacity(items.len());
    for item in items {
        match item {
            serde_json::Value::String(s) if !s.contains('|') => text.push(s.as_str()),
            _ => return Err(invalid()),
        }
    }
    Ok(text.join("|"))
}

pub(super) fn json_row(columns: &'static [Column], line: &str) -> Result<RawRow, RejectReason> {
    let object: serde_json::Map<String, serde_json::Value> = serde_json::from_str(line)
        .map_err(|e| RejectReason::MalformedLine(clip(&e.to_string())))?;
    let mut row = RawRow::new();
    for (key, value) in &object {
        let Some(c) = column(columns, key) else {
            return Err(RejectReason::UnknownField(clip(key)));
        };
        match value {
            serde_json::Value::Null => {}
            serde_json::Value::String(s) => row.set(c.name, s),
            serde_json::Value::Number(n) => row.set(c.name, &n.to_string()),
            serde_json::Value::Bool(b) => row.set(c.name, if *b { "true" } else { "false" }),
            // A list (an institution's departments) reads as CSV gives it: `a|b`.
            serde_json::Value::Array(items) => row.set(c.name, &list(c.name, items)?),
            serde_json::Value::Object(_) => {
                return Err(RejectReason::Invalid {
                    field: c.name,
                    error: shebao_domain::ValueError::Format {
                        expected: "a string, a number, true, false or a list of strings",
                    },
                })
            }
        }
    }
    Ok(row)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use shebao_infra::records::imports::{Contributions, Importer};

    #[test]
    fn csv_records() {
        let mut csv = CsvRecords::default();
        assert_eq!(csv.fields("a,b,,c").unwrap(), vec!["a", "b", "", "c"]);
        assert_eq!(
            csv.fields(r#""a,1","say ""hi""",x"#).unwrap(),
            vec!["a,1", r#"say "hi""#, "x"]
        );
        assert_eq!(csv.fields("a,").unwrap(), vec!["a", ""]);
        assert_eq!(csv.fields("").unwrap(), Vec::<String>::new());
        // A long record grows the buffers; the next one starts afresh.
        let long: Vec<String> = (0..300).map(|i| format!("field{i}")).collect();
        assert_eq!(csv.fields(&long.join(",")).unwrap(), long);
        assert_eq!(csv.fields("x").unwrap(), vec!["x"]);
        assert!(csv.fields(r#""open"#).is_err());
        assert!(csv.fields(r#"a"b"#).is_err());
        assert!(csv.fields(r#""a,1","b"#).is_err());
    }

    #[test]
    fn csv_header_needs_the_required_columns_only_once() {
        let mut csv = CsvRecords::default();
        let ok = csv_header(
            &mut csv,
            Contributions::COLUMNS,
            "national_id,period,insurance,declared_wage_fen,",
        )
        .unwrap();
        assert_eq!(ok.len(), 5);
        assert_eq!(ok[4], None);
        let ApiError::Validation(issues) = csv_header(
            &mut csv,
            Contributions::COLUMNS,
            "national_id,period,period,colour",
        )
        .unwrap_err() else {
            panic!("not a validation error")
        };
        let fields: Vec<&str> = issues.iter().map(|i| i.field.as_str()).collect();
        assert_eq!(
            fields,
            ["period", "colour", "insurance", "declared_wage_fen"]
        );
    }

    #[test]
    fn quoted_input_is_clipped() {
        let long = format!("\"{}\"", "x".repeat(60_000));
        let RejectReason::MalformedLine(detail) =
            json_row(Contributions::COLUMNS, &long).unwrap_err()
        else {
            panic!("not a malformed line")
        };
        assert!(detail.chars().count() <= 121, "{detail}");
        assert_eq!(clip("short"), "short");
    }

    #[test]
    fn json_values_become_text() {
        let row = json_row(
            Contributions::COLUMNS,
            r#"{"national_id":"x","declared_wage_fen":300000,"paid_at":null}"#,
        )
        .unwrap();
        assert_eq!(row.get("declared_wage_fen"), Some("300000"));
        assert_eq!(row.get("paid_at"), None);
        assert_eq!(
            json_row(Contributions::COLUMNS, r#"{"colour":"red"}"#).unwrap_err(),
            RejectReason::UnknownField("colour".into())
        );
        assert_eq!(
            json_row(Contributions::COLUMNS, "[1]").unwrap_err().code(),
            "malformed_line"
        );
        // Lists and flags read as their CSV text.
        let row = json_row(
            Contributions::COLUMNS,
            r#"{"national_id":["a","b"],"period":true,"insurance":[]}"#,
        )
        .unwrap();
        assert_eq!(row.get("national_id"), Some("a|b"));
        assert_eq!(row.get("period"), Some("true"));
        assert_eq!(row.get("insurance"), None);
        for bad in [
            r#"{"period":["a|b"]}"#,
            r#"{"period":[1]}"#,
            r#"{"period":{}}"#,
        ] {
            assert_eq!(
                json_row(Contributions::COLUMNS, bad).unwrap_err().code(),
                "invalid_field",
                "{bad}"
            );
        }
    }
}
