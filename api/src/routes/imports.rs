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

mod lanes;
mod lines;
mod rows;

use actix_web::{post, web, HttpMessage, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use shebao_domain::staff::StaffRole;
use shebao_infra::audit::{self, ActorKind, AuditEntry};
use shebao_infra::institutions::import::Institutions;
use shebao_infra::records::imports::{
    BenefitPayments, Column, Contributions, Importer, MedicalTransactions, RejectReason,
};
use shebao_openapi::imports::{
    BenefitPaymentImportRow, ContributionImportRow, ImportRejection, ImportResult,
    MedicalTransactionImportRow,
};
use shebao_openapi::institutions::InstitutionImportRow;

use crate::audit::Audit;
use crate::auth::extract::{content_length, Staff, ANY_STAFF};
use crate::context::{self, Lang};
use crate::error::{value_message, ApiError, ErrorCode, FieldIssue, Issue, Problems};
use crate::state::AppState;
use lanes::{Lanes, Tally};
use lines::{ArraySplitter, Line, LineContent, LineSplitter};
use rows::{csv_header, csv_row, json_row, CsvRecords};

/// The largest body an import accepts: 2 GiB (about 10 million contribution lines).
pub const MAX_BODY_BYTES: u64 = 2 * 1024 * 1024 * 1024;
/// The longest line: 64 KiB.
pub const MAX_LINE_BYTES: usize = 64 * 1024;
/// At most this many rejections are listed; `rejected_total` counts them all.
pub const MAX_LISTED_REJECTIONS: usize = 1_000;

/// The pattern of a CSV body: the header row first, naming the columns (optional ones may be
/// left out); what follows is read line by line, each bad line reported in the answer. The
/// documented order is the columns'; the server also reads them in any other.
fn csv_pattern(columns: &[Column]) -> String {
    let mut header = String::from("^");
    for (i, c) in columns.iter().enumerate() {
        let sep = if i == 0 { "" } else { "," };
        if c.required {
            header.push_str(&format!("{sep}{}", c.name));
        } else {
            header.push_str(&format!("({sep}{})?", c.name));
        }
    }
    header.push_str("(\\r?\\n|$)");
    header
}

/// The schema of a CSV body (`text/csv`) for an importer's columns.
fn csv_schema(columns: &[Column]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    let names: Vec<&str> = columns.iter().map(|c| c.name).collect();
    ObjectBuilder::new()
        .schema_type(Type::String)
        .description(Some(format!(
            "CSV: the header row first ({}), then one record per line.",
            names.join(",")
        )))
        .pattern(Some(csv_pattern(columns)))
        .into()
}

macro_rules! csv_body {
    ($name:ident, $importer:ty) => {
        /// A CSV import body: the header row, then one record per line.
        pub struct $name;
        impl utoipa::PartialSchema for $name {
            fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
                csv_schema(<$importer>::COLUMNS)
            }
        }
        impl utoipa::ToSchema for $name {}
    };
}
csv_body!(ContributionsCsv, Contributions);
csv_body!(MedicalTransactionsCsv, MedicalTransactions);
csv_body!(BenefitPaymentsCsv, BenefitPayments);
csv_body!(InstitutionsCsv, Institutions);

/// The body's format, from `Content-Type`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    JsonLines,
    /// One JSON array of rows (`application/json`), for generators that know no JSON Lines.
    JsonArray,
    Csv,
}

/// The media types an import reads, for its 415 (Chinese, English).
const IMPORT_BODY: (&str, &str) = (
    "application/x-ndjson、application/jsonl、application/json 或 text/csv",
    "application/x-ndjson, application/jsonl, application/json or text/csv",
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
        ("application", "json") => Ok(Format::JsonArray),
        ("text", "csv") => Ok(Format::Csv),
        _ => Err(unsupported_media_type()),
    }
}

fn not_utf8() -> ApiError {
    ApiError::Code(ErrorCode::NotUtf8)
}

// ---------------------------------------------------------------------------------------------
// One import
// ---------------------------------------------------------------------------------------------

/// The running state of one import request: lines in, rows to the lanes, the tally kept.
struct Import<I: Importer> {
    format: Format,
    csv: CsvRecords,
    /// The CSV header's columns, once read.
    header: Option<Vec<Option<&'static str>>>,
    lanes: Lanes<I>,
    tally: Tally,
}

impl<I: Importer> Import<I> {
    fn new(state: &AppState, format: Format) -> Import<I> {
        Import {
            format,
            csv: CsvRecords::default(),
            header: None,
            lanes: Lanes::new(state.db.clone(), &state.vault, state.now().naive_utc()),
            tally: Tally::default(),
        }
    }

    /// Reads the body to its end: line by line, each row to its lane.
    async fn read(&mut self, payload: web::Payload) -> Result<(), ApiError> {
        if self.format == Format::JsonArray {
            return self.read_array(payload).await;
        }
        self.read_lines(payload).await
    }

    /// A JSON array: element by element, each a row numbered by its position.
    async fn read_array(&mut self, mut payload: web::Payload) -> Result<(), ApiError> {
        let mut splitter = ArraySplitter::new(MAX_LINE_BYTES);
        let mut received: u64 = 0;
        let mut elements = Vec::new();
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "import body not read to its end");
                ApiError::Code(ErrorCode::BodyIncomplete)
            })?;
            received += chunk.len() as u64;
            if received > MAX_BODY_BYTES {
                return Err(too_large());
            }
            splitter
                .push(&chunk, &mut elements)
                .map_err(|e| ApiError::MalformedJson(e.to_owned()))?;
            for element in elements.drain(..) {
                self.line(element).await?;
            }
        }
        splitter
            .finish()
            .map_err(|e| ApiError::MalformedJson(e.to_owned()))?;
        self.lanes.finish(&mut self.tally).await
    }

    async fn read_lines(&mut self, mut payload: web::Payload) -> Result<(), ApiError> {
        let mut splitter = LineSplitter::new(MAX_LINE_BYTES);
        let mut received: u64 = 0;
        while let Some(chunk) = payload.next().await {
            let chunk = chunk.map_err(|e| {
                tracing::debug!(error = %e, "import body not read to its end");
                ApiError::Code(ErrorCode::BodyIncomplete)
            })?;
            received += chunk.len() as u64;
            if received > MAX_BODY_BYTES {
                return Err(too_large());
            }
            splitter.push(&chunk);
            while let Some(line) = splitter.next_line() {
                self.line(line).await?;
            }
        }
        self.finish(&mut splitter).await
    }

    /// The line's text, or `None` when the line was rejected (too long, not UTF-8).
    fn text<'l>(&mut self, line: &'l Line) -> Result<Option<&'l str>, ApiError> {
        let number = line.number;
        let bytes = match &line.content {
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
                let max_bytes = MAX_LINE_BYTES;
                self.tally
                    .reject(number, RejectReason::LineTooLong { max_bytes });
                return Ok(None);
            }
        };
        let text = match std::str::from_utf8(bytes) {
            Ok(t) => t,
            Err(_) if number == 1 => return Err(not_utf8()),
            Err(_) => {
                self.tally.reject(number, RejectReason::NotUtf8);
                return Ok(None);
            }
        };
        let text = if number == 1 {
            text.strip_prefix('\u{feff}').unwrap_or(text)
        } else {
            text
        };
        Ok(Some(text.strip_suffix('\r').unwrap_or(text)))
    }

    async fn line(&mut self, line: Line) -> Result<(), ApiError> {
        let number = line.number;
        let Some(text) = self.text(&line)? else {
            return Ok(());
        };
        if self.format == Format::Csv && self.header.is_none() {
            if text.trim().is_empty() {
                return Err(missing_header());
            }
            self.header = Some(csv_header(&mut self.csv, I::COLUMNS, text)?);
            return Ok(());
        }
        if text.trim().is_empty() {
            return Ok(());
        }
        let raw = match (&self.format, &self.header) {
            (Format::Csv, Some(header)) => csv_row(&mut self.csv, header, text),
            _ => json_row(I::COLUMNS, text),
        };
        match raw.and_then(|r| I::parse(&r)) {
            Ok(row) => self.lanes.push(&mut self.tally, number, row).await?,
            Err(reason) => self.tally.reject(number, reason),
        }
        Ok(())
    }

    /// Ends the body: the last line, the last batch, and the CSV header check for an empty body.
    async fn finish(&mut self, splitter: &mut LineSplitter) -> Result<(), ApiError> {
        if let Some(line) = splitter.finish() {
            self.line(line).await?;
        }
        if self.format == Format::Csv && self.header.is_none() {
            return Err(missing_header());
        }
        self.lanes.finish(&mut self.tally).await
    }

    /// After a failure: the batches in flight may still be written; count them before saying
    /// what happened.
    async fn settle_after_failure(&mut self) {
        if let Err(e) = self.lanes.settle_all(&mut self.tally).await {
            tracing::warn!(error = %e.code(), "the last import batch failed too");
        }
    }

    fn result(mut self, lang: Lang) -> ImportResult {
        self.tally.trim_rejections();
        let tally = self.tally;
        ImportResult {
            accepted: tally.accepted,
            unchanged: tally.unchanged,
            rejected: tally
                .rejected
                .iter()
                .map(|r| ImportRejection {
                    line: r.line,
                    code: r.reason.code().to_owned(),
                    field: r.reason.field().map(str::to_owned),
                    message: message(&r.reason, lang),
                })
                .collect(),
            rejected_total: tally.rejected_total,
        }
    }
}

fn too_large() -> ApiError {
    ApiError::PayloadTooLarge {
        limit: usize::try_from(MAX_BODY_BYTES).unwrap_or(usize::MAX),
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
        // The parser's (English) words only in the English answer.
        (RejectReason::MalformedLine(_), Lang::Zh) => "无法解析该行。".to_owned(),
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
        (RejectReason::UnknownRegion, l) => l
            .pick("没有登记该地区。", "The registry holds no such region.")
            .to_owned(),
    }
}

async fn import<I: Importer>(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    import_as::<I>(req, state, staff, payload, ANY_STAFF).await
}

/// An import that only `roles` may run.
async fn import_as<I: Importer>(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    payload: web::Payload,
    roles: &[StaffRole],
) -> Result<HttpResponse, ApiError> {
    staff.require(roles)?;
    let format = format_of(&req)?;
    if content_length(&req).is_some_and(|n| n > MAX_BODY_BYTES) {
        return Err(too_large());
    }
    let mut entry: AuditEntry = Audit::of(&req).entry(
        ActorKind::Staff,
        Some(staff.id.to_string()),
        I::ACTION,
        "success",
    );
    let mut import = Import::<I>::new(&state, format);
    let read = import.read(payload).await;
    if read.is_err() {
        import.settle_after_failure().await;
    }
    let ts = state.now().naive_utc();
    let summary = import.tally.summary();
    if let Err(e) = read {
        // Batches before the failure stay written: say so in the audit log when there were any.
        if import.lanes.batches > 0 {
            entry.outcome = "failure";
            entry.reason = Some(format!("{summary}, error={}", e.code()));
            if let Err(audit_error) = state.db.run(move |c| audit::record(c, &entry, ts)).await {
                tracing::warn!(error = %audit_error, "the failed import could not be audited");
            }
        }
        return Err(e);
    }
    entry.reason = Some(summary.clone());
    state.db.run(move |c| audit::record(c, &entry, ts)).await?;
    let batches = import.lanes.batches;
    tracing::info!(action = I::ACTION, batches, %summary, "import done");
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
        description = "JSON Lines (one `ContributionImportRow` object per line), a JSON array of the same objects, or CSV with a header row naming the same columns.",
        content(
            (ContributionImportRow = "application/x-ndjson"),
            (ContributionImportRow = "application/jsonl"),
            ([ContributionImportRow] = "application/json"),
            (ContributionsCsv = "text/csv", example = json!("national_id,employer_credit_code,period,insurance,declared_wage_fen,paid_at\n11010519491231002X,91440300MA5F0000X1,2024-03,pension,1200000,2024-03-15T10:00:00+08:00\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl`, `application/json` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
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
        description = "JSON Lines (one `MedicalTransactionImportRow` object per line), a JSON array of the same objects, or CSV with a header row naming the same columns.",
        content(
            (MedicalTransactionImportRow = "application/x-ndjson"),
            (MedicalTransactionImportRow = "application/jsonl"),
            ([MedicalTransactionImportRow] = "application/json"),
            (MedicalTransactionsCsv = "text/csv", example = json!("external_id,national_id,occurred_at,institution_code,institution_name,kind,total_fen,account_paid_fen,fund_paid_fen,self_paid_fen\nH001-0001,11010519491231002X,2024-03-15T10:00:00+08:00,H440300001,深圳市人民医院,outpatient,35000,10000,20000,5000\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl`, `application/json` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
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
        description = "JSON Lines (one `BenefitPaymentImportRow` object per line), a JSON array of the same objects, or CSV with a header row naming the same columns.",
        content(
            (BenefitPaymentImportRow = "application/x-ndjson"),
            (BenefitPaymentImportRow = "application/jsonl"),
            ([BenefitPaymentImportRow] = "application/json"),
            (BenefitPaymentsCsv = "text/csv", example = json!("external_id,national_id,kind,period,amount_fen,paid_at,adjustment_reason,adjustment_delta_fen\nPEN-2024-03-000001,11010519491231002X,pension,2024-03,412300,2024-03-10T09:00:00+08:00,,\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl`, `application/json` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
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

// ---------------------------------------------------------------------------------------------
// Designated institutions (issue 18)

/// Loads designated hospitals, pharmacies and clinics in bulk (admins). Each line is checked:
/// the code, the kind (`hospital`, `pharmacy`, `clinic`), the level (1–3, none for a pharmacy),
/// a region the registry holds (`unknown_region`), the phone, the position inside China's range
/// (latitude 3–54, longitude 73–136), at least one medical category and the departments (each
/// once). Idempotent on `code`: the same values are `unchanged`, other values replace the stored
/// institution and its departments (`accepted`). In CSV the lists are `|`-separated. Streams
/// like the contributions import.
#[utoipa::path(post, operation_id = "import_institutions", path = "/v1/staff/institutions:import", tag = "institutions",
    request_body(
        description = "JSON Lines (one `InstitutionImportRow` object per line), a JSON array of the same objects, or CSV with a header row naming the same columns (lists `|`-separated).",
        content(
            (InstitutionImportRow = "application/x-ndjson"),
            (InstitutionImportRow = "application/jsonl"),
            ([InstitutionImportRow] = "application/json"),
            (InstitutionsCsv = "text/csv", example = json!("code,name,kind,level,region,address,phone,latitude,longitude,medical_categories,departments,accepts_filed_elsewhere\nH44030400001,北京大学深圳医院,hospital,3,440300,深圳市福田区莲花路1120号,0755-83923333,22.561,114.048,employee|resident,内科|外科|儿科,true\n"))
        )
    ),
    security(("staff_bearer" = [])),
    responses(
        (status = 200, description = "The import ran: counts and the rejected lines (`unknown_region`, `invalid_field` naming the field, …)", body = ImportResult),
        (status = 413, description = "The body is larger than 2 GiB (`payload_too_large`); batches before the limit stay written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 415, description = "The body is not `application/x-ndjson`, `application/jsonl`, `application/json` or `text/csv` (`unsupported_media_type`)", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        (status = 422, description = "The first line is not UTF-8 (`not_utf8`), or the CSV header lacks a required column or names an unknown one (`validation_failed`, the columns in `errors`); nothing was written", body = shebao_openapi::Problem, content_type = "application/problem+json"),
        Problems<Staff>))]
#[post("/v1/staff/institutions:import")]
pub async fn import_institutions(
    req: HttpRequest,
    state: web::Data<AppState>,
    staff: Staff,
    payload: web::Payload,
) -> Result<HttpResponse, ApiError> {
    let answer =
        import_as::<Institutions>(req, state.clone(), staff, payload, &[StaffRole::Admin]).await;
    // Written batches stay written even when a later one fails: the "near me" copy follows
    // either way, before the answer, so the importer's next search sees what it loaded.
    if let Err(e) = state.institutions.refresh(&state.db).await {
        tracing::warn!(error = %e, "the institutions could not be refreshed after an import");
    }
    answer
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn chinese_rejections_do_not_quote_the_english_parser() {
        let reason = RejectReason::MalformedLine("expected value at line 1 column 1".into());
        assert_eq!(message(&reason, Lang::Zh), "无法解析该行。");
        assert!(message(&reason, Lang::En).contains("expected value"));
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
        check::<InstitutionImportRow>(Institutions::COLUMNS);
    }
}
