//! Staff bulk imports: contributions, medical-account transactions, benefit payments.
//!
//! The body is JSON Lines (`application/x-ndjson` or `application/jsonl`: one object per line) or
//! CSV (`text/csv`: a header row naming the columns, then one record per line). It is never held
//! in memory: the payload is read chunk by chunk, split into lines, and rows are written in
//! batches of 1,000, each in its own transaction (see `shebao_infra::records::imports`); on
//! PostgreSQL by three writers at once: rows go to a writer by person (contributions) or external
//! id (the others), so each key's rows are applied in file order. Earlier batches stay written
//! if a later one fails; since every row is idempotent on its key, sending the same file again is
//! always safe.
//!
//! Limits: at most [`MAX_BODY_BYTES`] (2 GiB) per request — these endpoints are not subject to the
//! JSON body limit — and [`MAX_LINE_BYTES`] (64 KiB) per line (a longer line is rejected as
//! `line_too_long`). Blank lines are skipped (but counted in line numbers). A UTF-8 byte-order mark
//! at the start and `\r\n` line ends are accepted. A CSV record must fit on one line: quoted fields
//! may hold commas and doubled quotes but no line break. Line 1 that is not UTF-8, or a CSV header
//! missing required columns or naming unknown ones, fails the whole request (422) before anything
//! is written; a later line that is not UTF-8 is only rejected itself.

use std::sync::{Arc, Mutex, PoisonError};

use actix_web::http::header;
use actix_web::web::{Bytes, BytesMut};
use actix_web::{post, web, HttpMessage, HttpRequest, HttpResponse};
use chrono::NaiveDateTime;
use futures_util::StreamExt;
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_infra::db::{Backend, Db, StoreError};
use shebao_infra::records::imports::{
    column, BatchOutcome, BenefitPayments, Column, Contributions, ImportContext, Importer,
    MedicalTransactions, RawRow, RejectReason, Rejection, BATCH_ROWS,
};
use shebao_openapi::imports::{
    BenefitPaymentImportRow, ContributionImportRow, ImportRejection, ImportResult,
    MedicalTransactionImportRow,
};

use crate::audit::Audit;
use crate::auth::extract::{Staff, ANY_STAFF};
use crate::context::{self, Lang};
use crate::error::{value_message, ApiError, ErrorCode, FieldIssue, Issue, Problems};
use crate::state::AppState;

/// The largest body an import accepts: 2 GiB (about 10 million contribution lines).
pub const MAX_BODY_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The longest line: 64 KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// At most this many rejections are listed; `rejected_total` counts them all.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// The body's format, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    Csv,
}

/// The media types an import reads, for its 415 (Chinese, English).
const IMPORT_BODY: (&str, &str) = (
    "application/x-ndjson、application/jsonl 或 text/csv",
    "application/x-ndjson, application/jsonl or text/csv",
);

fn unsupported_media_type() -> ApiError {
    ApiError::UnsupportedMediaType {
        accepted: IMPORT_BODY,
    }
}

fn format_of(req: &HttpRequest) -> Result<Format, ApiError> {
    let mime = req
        .mime_type()
        .ok()
        .flatten()
        .ok_or_else(unsupported_media_type)?;
    if let Some(charset) = mime.get_param("charset") {
        if !charset.as_str().eq_ignore_ascii_case("utf-8") {
            return Err(unsupported_media_type());
        }
    }
    match (mime.type_().as_str(), mime.subtype().as_str()) {
        ("application", "x-ndjson" | "jsonl") => Ok(Format::JsonLines),
        ("text", "csv") => Ok(Format::Csv),
        _ => Err(unsupported_media_type()),
    }
}

fn not_utf8() -> ApiError {
    ApiError::Code(ErrorCode::NotUtf8)
}

// ---------------------------------------------------------------------------------------------
// Lines
// ---------------------------------------------------------------------------------------------

#[derive(Debug, PartialEq, Eq)]
enum LineContent {
    /// Without the line end.
    Bytes(Bytes),
    TooLong,
}

#[derive(Debug, PartialEq, Eq)]
struct Line {
    /// 1-based.
    number: u64,
    content: LineContent,
}

/// Splits a byte stream into lines without holding more than one line (plus one chunk): a line
/// longer than the maximum is dropped as it arrives and reported as too long.
struct LineSplitter {
    buf: BytesMut,
    /// How much of `buf` is known to hold no line end.
    scanned: usize,
    max: usize,
    /// Inside a line that is already too long.
    skipping: bool,
    number: u64,
}

impl LineSplitter {
    fn new(max: usize) -> LineSplitter {
        LineSplitter {
            buf: BytesMut::new(),
            scanned: 0,
            max,
            skipping: false,
            number: 0,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        self.buf.extend_from_slice(chunk);
    }

    /// The next complete line, if the data pushed so far holds one.
    fn next_line(&mut self) -> Option<Line> {
        match self.buf[self.scanned..].iter().position(|&b| b == b'\n') {
            Some(pos) => {
                let end = self.scanned + pos;
                let mut line = self.buf.split_to(end + 1);
                self.scanned = 0;
                self.number += 1;
                if self.skipping || end > self.max {
                    self.skipping = false;
                    return Some(Line {
                        number: self.number,
                        content: LineContent::TooLong,
                    });
                }
                line.truncate(end);
                Some(Line {
                    number: self.number,
                    content: LineContent::Bytes(line.freeze()),
                })
            }
            None => {
                self.scanned = self.buf.len();
                if self.buf.len() > self.max {
                    self.skipping = true;
                    self.buf.clear();
                    self.scanned = 0;
                }
                None
            }
        }
    }

    /// The last line, without a line end, once the stream is over.
    fn finish(&mut self) -> Option<Line> {
        if self.skipping {
            self.skipping = false;
            self.number += 1;
            return Some(Line {
                number: self.number,
                content: LineContent::TooLong,
            });
        }
        if self.buf.is_empty() {
            return None;
        }
        self.number += 1;
        let line = self.buf.split().freeze();
        Some(Line {
            number: self.number,
            content: if line.len() > self.max {
                LineContent::TooLong
            } else {
                LineContent::Bytes(line)
            },
        })
    }
}

// ---------------------------------------------------------------------------------------------
// Formats
// ---------------------------------------------------------------------------------------------

/// Splits one CSV record (RFC 4180, on one line): fields separated by commas, optionally quoted
/// with `"`, a quote inside a quoted field doubled. Spaces around a quoted field are ignored.
fn csv_fields(line: &str) -> Result<Vec<String>, &'static str> {
    let mut fields = Vec::new();
    let mut chars = line.chars().peekable();
    loop {
        while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
        let mut field = String::new();
        if chars.next_if_eq(&'"').is_some() {
            loop {
                match chars.next() {
                    None => return Err("a quoted field is not closed"),
                    Some('"') if chars.next_if_eq(&'"').is_some() => field.push('"'),
                    Some('"') => break,
                    Some(c) => field.push(c),
                }
            }
            while chars.next_if(|c| *c == ' ' || *c == '\t').is_some() {}
            fields.push(field);
            match chars.next() {
                None => return Ok(fields),
                Some(',') => {}
                Some(_) => return Err("text after a closing quote"),
            }
        } else {
            loop {
                match chars.next() {
                    None => {
                        fields.push(field);
                        return Ok(fields);
                    }
                    Some(',') => break,
                    Some('"') => return Err("a quote inside an unquoted field"),
                    Some(c) => field.push(c),
                }
            }
            fields.push(field);
        }
    }
}

/// The CSV header: which column each field is (`None`: a column with an empty name, ignored).
/// Every required column must be there, and no unknown or repeated one.
fn csv_header(
    columns: &'static [Column],
    line: &str,
) -> Result<Vec<Option<&'static str>>, ApiError> {
    let names = csv_fields(line).map_err(|e| {
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

fn csv_row(header: &[Option<&'static str>], line: &str) -> Result<RawRow, RejectReason> {
    let fields = csv_fields(line).map_err(|e| RejectReason::MalformedLine(e.to_owned()))?;
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
fn clip(s: &str) -> String {
    const MAX_CHARS: usize = 120;
    match s.char_indices().nth(MAX_CHARS) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_owned(),
    }
}

fn json_row(columns: &'static [Column], line: &str) -> Result<RawRow, RejectReason> {
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
            _ => {
                return Err(RejectReason::Invalid {
                    field: c.name,
                    error: shebao_domain::ValueError::Format {
                        expected: "a string or a number",
                    },
                })
            }
        }
    }
    Ok(row)
}

// ---------------------------------------------------------------------------------------------
// One import
// ---------------------------------------------------------------------------------------------

/// A batch being written.
type InFlight = tokio::task::JoinHandle<Result<BatchOutcome, StoreError>>;

/// On PostgreSQL batches are written by this many connections at once (on the records bench, new
/// rows/s with 1: 36,000, 2: 49,500, 3: 54,000–59,500, 4: 61,000; each is a pooled connection the
/// import holds for its whole length, so past 3 the phone traffic would pay for little).
/// Rows go to a lane by their key's owner (the person for contributions, the external id
/// otherwise), so every key's rows stay in one lane, in file order, and two lanes never write
/// the same key. SQLite has one writer at a time anyway, and a transaction that read before
/// another one committed could not then write: one lane there.
const POSTGRES_LANES: usize = 3;

fn lanes_for(backend: Backend) -> usize {
    match backend {
        Backend::Postgres => POSTGRES_LANES,
        Backend::Sqlite => 1,
    }
}

/// One writer: the batch being filled, and the one being written meanwhile.
struct Lane<Row> {
    /// Its own caches (employers, regional parameters), so the lanes never wait for each other.
    ctx: Arc<Mutex<ImportContext>>,
    batch: Vec<(u64, Row)>,
    /// At most one batch in flight per lane: a lane's batches are written one after the other.
    in_flight: Option<InFlight>,
}

/// The running state of one import request.
struct Import<I: Importer> {
    db: Db,
    format: Format,
    /// The CSV header's columns, once read.
    header: Option<Vec<Option<&'static str>>>,
    now: NaiveDateTime,
    lanes: Vec<Lane<I::Row>>,
    accepted: u64,
    unchanged: u64,
    rejected_total: u64,
    /// The rejections with the lowest line numbers seen so far (trimmed to
    /// [`MAX_LISTED_REJECTIONS`] now and then, and at the end).
    rejected: Vec<Rejection>,
    batches: u64,
}

impl<I: Importer> Import<I> {
    fn new(state: &AppState, format: Format) -> Import<I> {
        Import {
            db: state.db.clone(),
            format,
            header: None,
            now: state.now().naive_utc(),
            lanes: (0..lanes_for(state.db.backend()))
                .map(|_| Lane {
                    ctx: Arc::new(Mutex::new(ImportContext::new(state.vault.clone()))),
                    batch: Vec::with_capacity(BATCH_ROWS),
                    in_flight: None,
                })
                .collect(),
            accepted: 0,
            unchanged: 0,
            rejected_total: 0,
            rejected: Vec::new(),
            batches: 0,
        }
    }

    fn reject(&mut self, line: u64, reason: RejectReason) {
        self.record_rejections(vec![Rejection { line, reason }]);
    }

    fn record_rejections(&mut self, rejections: Vec<Rejection>) {
        self.rejected_total += rejections.len() as u64;
        self.rejected.extend(rejections);
        if self.rejected.len() >= 2 * MAX_LISTED_REJECTIONS {
            self.trim_rejections();
        }
    }

    fn trim_rejections(&mut self) {
        self.rejected.sort_by_key(|r| r.line);
        self.rejected.truncate(MAX_LISTED_REJECTIONS);
    }

    /// The lane of a row: by its key's owner.
    fn lane_of(&self, row: &I::Row) -> usize {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        I::lane_key(row).hash(&mut h);
        (h.finish() % self.lanes.len() as u64) as usize
    }

    async fn line(&mut self, line: Line) -> Result<(), ApiError> {
        let number = line.number;
        let bytes = match line.content {
            LineContent::Bytes(b) => b,
            LineContent::TooLong if self.format == Format::Csv && self.header.is_none() => {
                return Err(ApiError::Validation(vec![FieldIssue {
                    field: "header".into(),
                    issue: Issue::Value(shebao_domain::ValueError::TooLong {
                        max: MAX_LINE_BYTES,
                    }),
                }]))
            }
            LineContent::TooLong => {
                self.reject(
                    number,
                    RejectReason::LineTooLong {
                        max_bytes: MAX_LINE_BYTES,
                    },
                );
                return Ok(());
            }
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) => t,
            Err(_) if number == 1 => return Err(not_utf8()),
            Err(_) => {
                self.reject(number, RejectReason::NotUtf8);
                return Ok(());
            }
        };
        let text = if number == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        let text = text.strip_suffix('\r').unwrap_or(text);
        if self.format == Format::Csv && self.header.is_none() {
            if text.trim().is_empty() {
                return Err(missing_header());
            }
            self.header = Some(csv_header(I::COLUMNS, text)?);
            return Ok(());
        }
        if text.trim().is_empty() {
            return Ok(());
        }
        let raw = match (&self.format, &self.header) {
            (Format::Csv, Some(header)) => csv_row(header, text),
            _ => json_row(I::COLUMNS, text),
        };
        match raw.and_then(|r| I::parse(&r)) {
            Ok(row) => {
                let lane = self.lane_of(&row);
                self.lanes[lane].batch.push((number, row));
                if self.lanes[lane].batch.len() >= BATCH_ROWS {
                    self.flush(lane).await?;
                }
            }
            Err(reason) => self.reject(number, reason),
        }
        Ok(())
    }

    /// Hands a lane's batch to the database and returns at once, so that reading and parsing
    /// go on while it is written (the request's CPU work and the database's overlap). The lane's
    /// batch before is waited for first; a failed batch stops the import (the other lane's batch
    /// in flight may still be written).
    async fn flush(&mut self, lane: usize) -> Result<(), ApiError> {
        self.settle(lane).await?;
        let rows = Arc::new(std::mem::take(&mut self.lanes[lane].batch));
        if rows.is_empty() {
            return Ok(());
        }
        self.batches += 1;
        let task = tokio::spawn(Self::apply(
            self.db.clone(),
            self.lanes[lane].ctx.clone(),
            self.now,
            rows,
        ));
        self.lanes[lane].in_flight = Some(task);
        Ok(())
    }

    /// Waits for the lane's batch in flight, if any, and counts its outcome.
    async fn settle(&mut self, lane: usize) -> Result<(), ApiError> {
        if let Some(task) = self.lanes[lane].in_flight.take() {
            let outcome = task
                .await
                .map_err(|e| StoreError::Unavailable(format!("import batch task failed: {e}")))??;
            self.accepted += outcome.accepted;
            self.unchanged += outcome.unchanged;
            self.record_rejections(outcome.rejected);
        }
        Ok(())
    }

    /// Waits for every lane's batch in flight; the first error wins.
    async fn settle_all(&mut self) -> Result<(), ApiError> {
        let mut result = Ok(());
        for lane in 0..self.lanes.len() {
            let settled = self.settle(lane).await;
            if result.is_ok() {
                result = settled;
            }
        }
        result
    }

    /// One batch in one transaction. A unique-key violation means another import inserted one of
    /// the batch's keys meanwhile: the batch is tried once more, and then finds that row stored.
    async fn apply(
        db: Db,
        ctx: Arc<Mutex<ImportContext>>,
        now: NaiveDateTime,
        rows: Arc<Vec<(u64, I::Row)>>,
    ) -> Result<BatchOutcome, StoreError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            let (rows, ctx) = (rows.clone(), ctx.clone());
            let result = db
                .transaction(move |c| {
                    let mut ctx = ctx.lock().unwrap_or_else(PoisonError::into_inner);
                    I::apply(c, &mut ctx, &rows, now)
                })
                .await;
            match result {
                Err(StoreError::Conflict(_)) if attempt < 2 => continue,
                other => return other,
            }
        }
    }

    /// Ends the body: the last line, the last batch, and the CSV header check for an empty body.
    async fn finish(&mut self, splitter: &mut LineSplitter) -> Result<(), ApiError> {
        if let Some(line) = splitter.finish() {
            self.line(line).await?;
        }
        if self.format == Format::Csv && self.header.is_none() {
            return Err(missing_header());
        }
        for lane in 0..self.lanes.len() {
            self.flush(lane).await?;
        }
        self.settle_all().await
    }

    fn summary(&self) -> String {
        format!(
            "accepted={}, unchanged={}, rejected={}",
            self.accepted, self.unchanged, self.rejected_total
        )
    }

    fn result(mut self, lang: Lang) -> ImportResult {
        self.trim_rejections();
        ImportResult {
            accepted: self.accepted,
            unchanged: self.unchanged,
            rejected: self
                .rejected
                .iter()
                .map(|r| ImportRejection {
                    line: r.line,
                    code: r.reason.code().to_owned(),
                    field: r.reason.field().map(str::to_owned),
                    message: message(&r.reason, lang),
                })
                .collect(),
            rejected_total: self.rejected_total,
        }
    }
}

fn missing_header() -> ApiError {
    ApiError::Validation(vec![FieldIssue {
        field: "header".into(),
        issue: Issue::Required,
    }])
}

/// A rejection in words.
fn message(reason: &RejectReason, lang: Lang) -> String {
    match (reason, lang) {
        (RejectReason::MalformedLine(d), Lang::Zh) => format!("无法解析该行：{d}"),
        (RejectReason::MalformedLine(d), Lang::En) => format!("The line cannot be read: {d}"),
        (RejectReason::LineTooLong { max_bytes }, Lang::Zh) => {
            format!("该行超过 {max_bytes} 字节。")
        }
        (RejectReason::LineTooLong { max_bytes }, Lang::En) => {
            format!("The line is longer than {max_bytes} bytes.")
        }
        (RejectReason::NotUtf8, l) => l
            .pick("该行不是 UTF-8 文本。", "The line is not UTF-8 text.")
            .to_owned(),
        (RejectReason::UnknownField(f), Lang::Zh) => format!("未知字段 {f}。"),
        (RejectReason::UnknownField(f), Lang::En) => format!("Unknown field {f}."),
        (RejectReason::Missing(f), Lang::Zh) => format!("{f}：必填"),
        (RejectReason::Missing(f), Lang::En) => format!("{f} is required"),
        (RejectReason::Invalid { field, error }, Lang::Zh) => {
            format!("{field}：{}", value_message(error, lang))
        }
        (RejectReason::Invalid { field, error }, Lang::En) => {
            format!("{field} {}", value_message(error, lang))
        }
        (RejectReason::UnknownPerson, l) => l
            .pick("没有登记该身份证号码的参保人。", "No registered person has this ID number.")
            .to_owned(),
        (RejectReason::UnknownEmployer, l) => l
            .pick("没有登记该统一社会信用代码的单位。", "No registered employer has this credit code.")
            .to_owned(),
        (RejectReason::NoYearParameters { region, year }, Lang::Zh) => {
            format!("地区 {region} 没有 {year} 年的缴费参数。")
        }
        (RejectReason::NoYearParameters { region, year }, Lang::En) => {
            format!("Region {region} has no contribution parameters for {year}.")
        }
        (RejectReason::EmployerRequired(i), Lang::Zh) => {
            format!("灵活就业只能缴纳养老保险；{} 需要单位。", i.as_str())
        }
        (RejectReason::EmployerRequired(i), Lang::En) => format!(
            "Without an employer (flexible employment) only pension can be paid; {} needs an employer.",
            i.as_str()
        ),
        (RejectReason::TotalMismatch, l) => l
            .pick(
                "total_fen 必须等于 account_paid_fen + fund_paid_fen + self_paid_fen。",
                "total_fen must equal account_paid_fen + fund_paid_fen + self_paid_fen.",
            )
            .to_owned(),
        (RejectReason::AdjustmentIncomplete, l) => l
            .pick(
                "adjustment_reason 与 adjustment_delta_fen 必须同时提供或同时省略。",
                "adjustment_reason and adjustment_delta_fen come together or not at all.",
            )
            .to_owned(),
        (RejectReason::ExternalIdConflict, l) => l
            .pick(
                "该 external_id 已属于另一参保人。",
                "This external_id belongs to another person's record.",
            )
            .to_owned(),
    }
}

async fn import<I: Importer>(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    mut payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    staff.require(ANY_STAFF)?;
    let format = format_of(&req)?;
    let too_large = ApiError::PayloadTooLarge {
        limit: usize::try_from(MAX_BODY_BYTES).unwrap_or(usize::MAX),
    };
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large);
    }
    let mut entry: AuditEntry = Audit::of(&req).entry(
        ActorKind::Staff,
        Some(staff.id.to_string()),
        I::ACTION,
        "success",
    );
    let mut import = Import::<I>::new(&state, format);
    let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
    let mut received: u64 = 0;
    let read = async {
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "import body not read to its end");
                ApiError::Code(ErrorCode::BodyIncomplete)
            })?;
            received += chunk.len() as u64;
            if received > MAX_BODY_BYTES {
                return Err(too_large);
            }
            splitter.push(&chunk);
            while let Some(line) = splitter.next_line() {
                import.line(line).await?;
            }
        }
        import.finish(&mut splitter).await
    }
    .await;

    if read.is_err() {
        // The batches in flight may still be written: count them before saying what happened.
        if let Err(e) = import.settle_all().await {
            tracing::warn!(error = %e.code(), "the last import batch failed too");
        }
    }
    let ts = state.now().naive_utc();
    let summary = import.summary();
    if let Err(e) = read {
        // Batches before the failure stay written: say so in the audit log when there were any.
        if import.batches > 0 {
            entry.outcome = "failure";
            entry.reason = Some(format!("{summary}, error={}", e.code()));
            let failed = entry.clone();
            if let Err(audit_error) = state.db.run(move |c| audit::record(c, &failed, ts)).await {
                tracing::warn!(error = %audit_error, "the failed import could not be audited");
            }
        }
        return Err(e);
    }
    entry.reason = Some(summary.clone());
    state.db.run(move |c| audit::record(c, &entry, ts)).await?;
    tracing::info!(action = I::ACTION, batches = import.batches, %summary, "import done");
    Ok(HttpResponse::Ok().json(import.result(context::lang())))
}

/// Loads monthly contributions in bulk. Each line is validated by the domain: the person (by ID
/// number) and the employer (by credit code, absent for flexible employment) must be registered,
/// and the person's region must have parameters for the period's year; the amounts are computed
/// from them. Idempotent on (person, employer, period, insurance): a line equal to what is stored
/// counts as `unchanged`, a different one updates it (`accepted`). Lines repeating a key within
/// the body are applied in order: the last wins. Status is `paid` with `paid_at`, else `due`.
/// Streams: up to 2 GiB, lines up to 64 KiB, written 1,000 lines per transaction.
#[utoipa::path(post, operation_id = "import_contributions", path = "/v1/staff/contributions:import", tag = "staff",
    request_body(
        description = "JSON Lines (one `ContributionImportRow` object per line) or CSV with a header row naming the same columns.",
        content(
            (ContributionImportRow = "application/x-ndjson"),
            (ContributionImportRow = "application/jsonl"),
            (String = "text/csv", example = json!("national_id,employer_credit_code,period,insurance,declared_wage_fen,paid_at\n11010519491231002X,91440300MA5F00001K,2024-03,pension,1200000,2024-03-15T10:00:00+08:00\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The first line is not UTF-8 (`not_utf8`), or the CSV header lacks a required column or names an unknown one (`validation_failed`, the columns in `errors`); nothing was written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/contributions:import")]
pub async fn import_contributions(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    import::<Contributions>(req, state, staff, payload).await
}

/// Loads medical-account transactions in bulk. The person must be registered; the amounts must
/// be non-negative and `total_fen = account_paid_fen + fund_paid_fen + self_paid_fen`. Idempotent
/// on `external_id`: the same content is `unchanged`, different content updates the stored row
/// (`accepted`), and an `external_id` stored for another person is rejected
/// (`external_id_conflict`). Streams like the contributions import.
#[utoipa::path(post, operation_id = "import_medical_transactions", path = "/v1/staff/medical-transactions:import", tag = "staff",
    request_body(
        description = "JSON Lines (one `MedicalTransactionImportRow` object per line) or CSV with a header row naming the same columns.",
        content(
            (MedicalTransactionImportRow = "application/x-ndjson"),
            (MedicalTransactionImportRow = "application/jsonl"),
            (String = "text/csv", example = json!("external_id,national_id,occurred_at,institution_code,institution_name,kind,total_fen,account_paid_fen,fund_paid_fen,self_paid_fen\nH001-0001,11010519491231002X,2024-03-15T10:00:00+08:00,H440300001,深圳市人民医院,outpatient,35000,10000,20000,5000\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The first line is not UTF-8 (`not_utf8`), or the CSV header lacks a required column or names an unknown one (`validation_failed`, the columns in `errors`); nothing was written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/medical-transactions:import")]
pub async fn import_medical_transactions(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    import::<MedicalTransactions>(req, state, staff, payload).await
}

/// Loads pension and unemployment-benefit payments in bulk. The person must be registered;
/// `adjustment_reason` and `adjustment_delta_fen` come together or not at all. Idempotent on
/// `external_id` like the medical-transactions import. Streams like the contributions import.
#[utoipa::path(post, operation_id = "import_benefit_payments", path = "/v1/staff/benefit-payments:import", tag = "staff",
    request_body(
        description = "JSON Lines (one `BenefitPaymentImportRow` object per line) or CSV with a header row naming the same columns.",
        content(
            (BenefitPaymentImportRow = "application/x-ndjson"),
            (BenefitPaymentImportRow = "application/jsonl"),
            (String = "text/csv", example = json!("external_id,national_id,kind,period,amount_fen,paid_at,adjustment_reason,adjustment_delta_fen\nPEN-2024-03-000001,11010519491231002X,pension,2024-03,412300,2024-03-10T09:00:00+08:00,,\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The first line is not UTF-8 (`not_utf8`), or the CSV header lacks a required column or names an unknown one (`validation_failed`, the columns in `errors`); nothing was written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/benefit-payments:import")]
pub async fn import_benefit_payments(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    import::<BenefitPayments>(req, state, staff, payload).await
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn lines(chunks: &[&[u8]], max: usize) -> Vec<Line> {
        let mut s = LineSplitter::new(max);
        let mut out = Vec::new();
        for c in chunks {
            s.push(c);
            while let Some(l) = s.next_line() {
                out.push(l);
            }
        }
        out.extend(s.finish());
        out
    }

    fn text(n: u64, s: &str) -> Line {
        Line {
            number: n,
            content: LineContent::Bytes(Bytes::from(s.to_owned())),
        }
    }

    fn too_long(n: u64) -> Line {
        Line {
            number: n,
            content: LineContent::TooLong,
        }
    }

    #[test]
    fn splits_lines_across_chunks() {
        assert_eq!(
            lines(&[b"ab", b"c\nd", b"e\n\nf"], 10),
            vec![text(1, "abc"), text(2, "de"), text(3, ""), text(4, "f")]
        );
        assert_eq!(lines(&[b"a\n"], 10), vec![text(1, "a")]);
        assert_eq!(lines(&[b""], 10), vec![]);
    }

    #[test]
    fn long_lines_are_dropped_as_they_arrive() {
        // Line 2 is 12 bytes, spread over three chunks; line 4 is too long and unterminated.
        assert_eq!(
            lines(&[b"ok\n0123", b"45678", b"901\nok\n", b"0123456789abc"], 10),
            vec![text(1, "ok"), too_long(2), text(3, "ok"), too_long(4)]
        );
        // Exactly the maximum is fine.
        assert_eq!(lines(&[b"0123456789\n"], 10), vec![text(1, "0123456789")]);
        assert_eq!(
            lines(&[b"0123456789a\nb"], 10),
            vec![too_long(1), text(2, "b")]
        );
    }

    #[test]
    fn csv_records() {
        assert_eq!(csv_fields("a,b,,c").unwrap(), vec!["a", "b", "", "c"]);
        assert_eq!(
            csv_fields(r#""a,1", "say ""hi""" ,x"#).unwrap(),
            vec!["a,1", r#"say "hi""#, "x"]
        );
        assert_eq!(csv_fields("").unwrap(), vec![""]);
        assert_eq!(csv_fields("a,").unwrap(), vec!["a", ""]);
        assert!(csv_fields(r#""open"#).is_err());
        assert!(csv_fields(r#""a"b"#).is_err());
        assert!(csv_fields(r#"a"b"#).is_err());
    }

    #[test]
    fn csv_header_needs_the_required_columns_only_once() {
        let ok = csv_header(
            Contributions::COLUMNS,
            "national_id,period,insurance,declared_wage_fen,",
        )
        .unwrap();
        assert_eq!(ok.len(), 5);
        assert_eq!(ok[4], None);
        let ApiError::Validation(issues) =
            csv_header(Contributions::COLUMNS, "national_id,period,period,colour").unwrap_err()
        else {
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
    }

    /// The documented row schemas and the columns the parser knows are the same.
    #[test]
    fn row_schemas_match_the_columns() {
        fn check<S: utoipa::PartialSchema>(columns: &[Column]) {
            let schema = serde_json::to_value(S::schema()).unwrap();
            let mut properties: Vec<String> = schema["properties"]
                .as_object()
                .unwrap()
                .keys()
                .cloned()
                .collect();
            let mut names: Vec<String> = columns.iter().map(|c| c.name.to_owned()).collect();
            properties.sort();
            names.sort();
            assert_eq!(properties, names);
            let mut required: Vec<String> = schema["required"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_owned())
                .collect();
            let mut expected: Vec<String> = columns
                .iter()
                .filter(|c| c.required)
                .map(|c| c.name.to_owned())
                .collect();
            required.sort();
            expected.sort();
            assert_eq!(required, expected);
        }
        check::<ContributionImportRow>(Contributions::COLUMNS);
        check::<MedicalTransactionImportRow>(MedicalTransactions::COLUMNS);
        check::<BenefitPaymentImportRow>(BenefitPayments::COLUMNS);
    }
}
