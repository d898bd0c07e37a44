//! `ApiError`: the one error type of the HTTP layer, rendered as RFC 9457 problem+json with a
//! stable `code`, in Chinese or English. Every failure, a handler's or an extractor's or the
//! router's, leaves the service through here. Codes, statuses and texts live once, in the
//! catalogue (`error/catalogue.rs`); an `ApiError` names its `ErrorCode` and supplies the values
//! the text mentions.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shebao_domain::ValueError;
use shebao_infra::db::StoreError;
use shebao_openapi::problem::PROBLEM_JSON;
use shebao_openapi::{FieldError, Problem};

use crate::context::{self, Lang};

mod catalogue;
pub use catalogue::{english_phrase, problems, ErrorCode, ProblemSet, Problems};

/// Seconds a client should wait before retrying when the database is unavailable.
pub const RETRY_AFTER_SECS: u64 = 5;

/// Why one field was rejected, before it is put into words.
#[derive(Debug, Clone)]
pub enum Issue {
    Value(ValueError),
    Required,
    /// The JSON value has the wrong type (a number where text belongs, …).
    Type(String),
    /// A reference to something the registry does not have (an unknown region, …).
    Unknown,
}

#[derive(Debug, Clone)]
pub struct FieldIssue {
    pub field: String,
    pub issue: Issue,
}

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    /// A problem of the catalogue that needs nothing but its code.
    #[error("{}", .0.code())]
    Code(ErrorCode),
    /// A problem of the catalogue after which the client should wait `secs` (429s, 503s).
    #[error("{} (retry after {secs} s)", .code.code())]
    RetryAfter { code: ErrorCode, secs: u64 },
    #[error("validation failed")]
    Validation(Vec<FieldIssue>),
    /// The parser's message is shown in English answers only.
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    /// The body's media type is not one the operation reads; `accepted` names those it does
    /// (Chinese, English).
    #[error("unsupported media type")]
    UnsupportedMediaType {
        accepted: (&'static str, &'static str),
    },
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("account locked")]
    AccountLocked { retry_after_secs: u64 },
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    #[error("internal error: {0}")]
    Internal(String),
    /// A problem of the catalogue whose detail names values (ids, statuses), the same in
    /// every language.
    #[error("{}", .code.code())]
    With {
        code: ErrorCode,
        args: Vec<(&'static str, String)>,
    },
}

/// What a JSON body's 415 says is accepted.
pub const JSON_BODY: (&str, &str) = ("application/json", "application/json");

impl From<ErrorCode> for ApiError {
    fn from(code: ErrorCode) -> Self {
        ApiError::Code(code)
    }
}

impl ErrorCode {
    /// This problem, with `Retry-After: secs` (at least one second).
    pub fn retry_after(self, secs: i64) -> ApiError {
        ApiError::RetryAfter {
            code: self,
            secs: u64::try_from(secs.max(1)).unwrap_or(1),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) | StoreError::Busy(m) => ApiError::Unavailable(m),
            StoreError::NotFound => ApiError::NotFound("resource"),
            StoreError::Conflict(_) => ApiError::Code(ErrorCode::Conflict),
            other => ApiError::Internal(format!("{other:#}")),
        }
    }
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    /// The catalogue's entry for this error.
    pub fn error_code(&self) -> ErrorCode {
        match self {
            ApiError::Code(code)
            | ApiError::RetryAfter { code, .. }
            | ApiError::With { code, .. } => *code,
            ApiError::Validation(_) => ErrorCode::ValidationFailed,
            ApiError::MalformedJson(_) => ErrorCode::MalformedJson,
            ApiError::InvalidQuery(_) => ErrorCode::InvalidQuery,
            ApiError::UnsupportedMediaType { .. } => ErrorCode::UnsupportedMediaType,
            ApiError::PayloadTooLarge { .. } => ErrorCode::PayloadTooLarge,
            ApiError::AccountLocked { .. } => ErrorCode::AccountLocked,
            ApiError::NotFound(_) | ApiError::RouteNotFound => ErrorCode::NotFound,
            ApiError::MethodNotAllowed { .. } => ErrorCode::MethodNotAllowed,
            ApiError::Unavailable(_) => ErrorCode::ServiceUnavailable,
            ApiError::Internal(_) => ErrorCode::InternalError,
        }
    }

    pub fn code(&self) -> &'static str {
        self.error_code().code()
    }

    /// The values the detail's `{placeholders}` stand for, in `lang`.
    fn args(&self, lang: Lang) -> Vec<(&'static str, String)> {
        match self {
            ApiError::MalformedJson(reason) | ApiError::InvalidQuery(reason) => {
                vec![("reason", reason.clone())]
            }
            ApiError::UnsupportedMediaType { accepted: (zh, en) } => {
                vec![("accepted", lang.pick(zh, en).to_owned())]
            }
            ApiError::PayloadTooLarge { limit } => vec![("limit", limit.to_string())],
            ApiError::AccountLocked { retry_after_secs } => {
                vec![("minutes", retry_after_secs.div_ceil(60).to_string())]
            }
            ApiError::NotFound(_) => vec![(
                "subject",
                lang.pick("请求的资源", "The requested resource").to_owned(),
            )],
            ApiError::RouteNotFound => {
                vec![("subject", lang.pick("该接口", "The endpoint").to_owned())]
            }
            ApiError::MethodNotAllowed { allow } => vec![("allow", allow.join(", "))],
            ApiError::With { args, .. } => args.clone(),
            _ => Vec::new(),
        }
    }

    fn detail(&self, lang: Lang) -> String {
        let (zh, en) = self.error_code().detail();
        let mut text = lang.pick(zh, en).to_owned();
        for (name, value) in self.args(lang) {
            text = text.replace(&format!("{{{name}}}"), &value);
        }
        text
    }

    /// The problem body, in the current request's language.
    pub fn problem(&self) -> Problem {
        let ctx = context::current();
        let lang = ctx.as_ref().map(|c| c.lang).unwrap_or(Lang::Zh);
        let errors = match self {
            ApiError::Validation(issues) => issues.iter().map(|i| field_error(i, lang)).collect(),
            _ => Vec::new(),
        };
        let (zh, en) = self.error_code().title();
        Problem {
            type_uri: format!("urn:shebao:problem:{}", self.code()),
            title: lang.pick(zh, en).to_owned(),
            status: self.error_code().status(),
            detail: self.detail(lang),
            code: self.code().to_owned(),
            instance: ctx.as_ref().map(|c| c.path.clone()),
            request_id: ctx.map(|c| c.request_id),
            errors,
        }
    }
}

pub fn value_message(e: &ValueError, lang: Lang) -> String {
    match lang {
        Lang::En => e.to_string(),
        Lang::Zh => match e {
            ValueError::Empty => "不能为空".into(),
            ValueError::TooLong { max } => format!("最多 {max} 个字符"),
            ValueError::TooShort { min } => format!("至少 {min} 个字符"),
            ValueError::Format { .. } => "格式不正确".into(),
            ValueError::CheckCharacter => "校验位不正确".into(),
            ValueError::Date => "不是有效的日期".into(),
            ValueError::OneOf { allowed } => format!("必须是以下之一：{allowed}"),
            ValueError::Range { min, max } => format!("必须在 {min} 到 {max} 之间"),
            ValueError::ControlCharacter => "不能包含控制字符".into(),
            // The rule's own words are English (the domain's); say in Chinese that one was broken.
            ValueError::Rule(_) => "不符合规则".into(),
        },
    }
}

fn field_error(i: &FieldIssue, lang: Lang) -> FieldError {
    let (code, message) = match &i.issue {
        Issue::Value(v) => (v.code(), value_message(v, lang)),
        Issue::Required => ("required", lang.pick("必填", "is required").to_owned()),
        // The parser's message is English: only the English answer carries it.
        Issue::Type(m) => (
            "type",
            match lang {
                Lang::Zh => "类型不正确".to_owned(),
                Lang::En => format!("has the wrong type: {m}"),
            },
        ),
        Issue::Unknown => ("unknown", lang.pick("不存在", "does not exist").to_owned()),
    };
    FieldError {
        field: i.field.clone(),
        code: code.to_owned(),
        message,
    }
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.error_code().status())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }

    fn error_response(&self) -> HttpResponse {
        match self {
            // The cause is logged once, here, with the request id from the span; the client sees
            // only the generic text.
            ApiError::Internal(cause) => {
                tracing::error!(error.code = self.code(), error.cause = %cause, "request failed")
            }
            // An outage is logged once, with its cause, by the database layer; not per request.
            ApiError::Unavailable(cause) => {
                tracing::debug!(error.code = self.code(), error.cause = %cause, "database unavailable")
            }
            _ => tracing::debug!(error.code = self.code(), "request rejected"),
        }
        let mut res = HttpResponse::build(self.status_code());
        res.insert_header((header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON)));
        match self.error_code() {
            ErrorCode::TokenExpired => {
                res.insert_header((
                    header::WWW_AUTHENTICATE,
                    r#"Bearer error="invalid_token", error_description="expired""#,
                ));
            }
            // A wrong password is not a token problem: no challenge.
            ErrorCode::InvalidCredentials => {}
            code if code.status() == 401 => {
                res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
            }
            _ => {}
        }
        let retry_after = match self {
            ApiError::Unavailable(_) => Some(RETRY_AFTER_SECS),
            ApiError::AccountLocked { retry_after_secs } => Some(*retry_after_secs),
            ApiError::RetryAfter { secs, .. } => Some(*secs),
            _ => None,
        };
        if let Some(secs) = retry_after {
            res.insert_header((header::RETRY_AFTER, secs.to_string()));
        }
        if let ApiError::MethodNotAllowed { allow } = self {
            res.insert_header((header::ALLOW, allow.join(", ")));
        }
        res.body(serde_json::to_vec(&self.problem()).unwrap_or_default())
    }
}

/// Collects field errors so a client learns every bad field at once.
#[derive(Debug, Default)]
pub struct Fields {
    issues: Vec<FieldIssue>,
}

impl Fields {
    pub fn new() -> Fields {
        Fields::default()
    }

    /// Keeps the value, or records why `field` is invalid.
    pub fn check<T>(&mut self, field: &str, r: Result<T, ValueError>) -> Option<T> {
        match r {
            Ok(v) => Some(v),
            Err(e) => {
                self.issues.push(FieldIssue {
                    field: field.to_owned(),
                    issue: Issue::Value(e),
                });
                None
            }
        }
    }

    /// Parses a field that must be present: absent (or JSON null) is `required`.
    pub fn required<T>(
        &mut self,
        field: &str,
        value: Option<&str>,
        parse: impl FnOnce(&str) -> Result<T, ValueError>,
    ) -> Option<T> {
        match value {
            Some(v) => self.check(field, parse(v)),
            None => {
                self.add(field, Issue::Required);
                None
            }
        }
    }

    pub fn add(&mut self, field: &str, issue: Issue) {
        self.issues.push(FieldIssue {
            field: field.to_owned(),
            issue,
        });
    }

    pub fn is_empty(&self) -> bool {
        self.issues.is_empty()
    }

    pub fn into_error(self) -> ApiError {
        ApiError::Validation(self.issues)
    }
}

/// The one-field validation error.
pub fn field_error_of(field: &str, issue: Issue) -> ApiError {
    ApiError::Validation(vec![FieldIssue {
        field: field.to_owned(),
        issue,
    }])
}

/// A problem body for a status that came from outside the handlers (the router, actix itself).
pub fn problem_for_status(status: StatusCode) -> ApiError {
    match status.as_u16() {
        400 => ApiError::MalformedJson("the request could not be read".into()),
        401 => ApiError::Code(ErrorCode::Unauthorized),
        403 => ApiError::Code(ErrorCode::Forbidden),
        404 => ApiError::RouteNotFound,
        405 => ApiError::MethodNotAllowed { allow: Vec::new() },
        413 => ApiError::PayloadTooLarge { limit: 0 },
        415 => ApiError::UnsupportedMediaType {
            accepted: JSON_BODY,
        },
        503 => ApiError::Unavailable("unavailable".into()),
        _ => ApiError::Internal(format!(
            "unexpected {status} response without a problem body"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chinese_field_messages_carry_no_english_rule_text() {
        let rule = ValueError::Rule("must start with a province code");
        assert_eq!(value_message(&rule, Lang::Zh), "不符合规则");
        assert_eq!(
            value_message(&rule, Lang::En),
            "must start with a province code"
        );
    }

    #[test]
    fn details_put_the_errors_values_in_words() {
        let e = ApiError::PayloadTooLarge { limit: 1024 };
        assert_eq!(e.detail(Lang::Zh), "请求体不得超过 1024 字节。");
        assert_eq!(e.detail(Lang::En), "The body must not exceed 1024 bytes.");
        let e = ApiError::AccountLocked {
            retry_after_secs: 61,
        };
        assert_eq!(
            e.detail(Lang::Zh),
            "登录失败次数过多，账户已锁定，请 2 分钟后再试。"
        );
        let e = ApiError::NotFound("person");
        assert_eq!(e.detail(Lang::Zh), "请求的资源不存在。");
        assert_eq!(e.detail(Lang::En), "The requested resource does not exist.");
        let e = ApiError::MalformedJson("expected value at line 1".into());
        assert_eq!(e.detail(Lang::Zh), "无法解析请求体，请检查 JSON 格式。");
        assert_eq!(
            e.detail(Lang::En),
            "The body is not valid JSON: expected value at line 1"
        );
        assert_eq!(
            ErrorCode::SmsCooldown.retry_after(0).to_string(),
            "sms_cooldown (retry after 1 s)"
        );
    }
}
