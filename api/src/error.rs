//! `ApiError`: the one error type of the HTTP layer, rendered as RFC 9457 problem+json with a
//! stable `code`, in Chinese or English. Every failure, a handler's or an extractor's or the
//! router's, leaves the service through here.

use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::{HttpResponse, ResponseError};
use shebao_domain::ValueError;
use shebao_infra::db::StoreError;
use shebao_openapi::problem::PROBLEM_JSON;
use shebao_openapi::{FieldError, Problem};

use crate::context::{self, Lang};

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
    #[error("validation failed")]
    Validation(Vec<FieldIssue>),
    #[error("malformed JSON: {0}")]
    MalformedJson(String),
    #[error("invalid query string: {0}")]
    InvalidQuery(String),
    #[error("unsupported media type")]
    UnsupportedMediaType,
    #[error("payload too large (limit {limit} bytes)")]
    PayloadTooLarge { limit: usize },
    #[error("missing or invalid access token")]
    Unauthorized,
    #[error("access token expired")]
    TokenExpired,
    #[error("invalid credentials")]
    InvalidCredentials,
    #[error("account locked")]
    AccountLocked { retry_after_secs: u64 },
    #[error("forbidden")]
    Forbidden,
    #[error("{0} not found")]
    NotFound(&'static str),
    #[error("no route for this path")]
    RouteNotFound,
    #[error("method not allowed")]
    MethodNotAllowed { allow: Vec<String> },
    #[error("conflict: {code}")]
    Conflict {
        code: &'static str,
        zh: &'static str,
        en: &'static str,
    },
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Any other problem with a fixed status and code (429s, 403 `step_up_required`, …).
    #[error("{code}")]
    Coded {
        status: u16,
        code: &'static str,
        zh: &'static str,
        en: &'static str,
        retry_after_secs: Option<u64>,
    },
    #[error("internal error: {0}")]
    Internal(String),
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Unavailable(m) | StoreError::Busy(m) => ApiError::Unavailable(m),
            StoreError::NotFound => ApiError::NotFound("resource"),
            StoreError::Conflict(_) => ApiError::Conflict {
                code: "conflict",
                zh: "该记录与已有记录冲突。",
                en: "The record conflicts with an existing one.",
            },
            other => ApiError::Internal(format!("{other:#}")),
        }
    }
}

impl ApiError {
    pub fn internal(e: impl std::fmt::Display) -> ApiError {
        ApiError::Internal(e.to_string())
    }

    pub fn code(&self) -> &'static str {
        match self {
            ApiError::Validation(_) => "validation_failed",
            ApiError::MalformedJson(_) => "malformed_json",
            ApiError::InvalidQuery(_) => "invalid_query",
            ApiError::UnsupportedMediaType => "unsupported_media_type",
            ApiError::PayloadTooLarge { .. } => "payload_too_large",
            ApiError::Unauthorized => "unauthorized",
            ApiError::TokenExpired => "token_expired",
            ApiError::InvalidCredentials => "invalid_credentials",
            ApiError::AccountLocked { .. } => "account_locked",
            ApiError::Forbidden => "forbidden",
            ApiError::NotFound(_) | ApiError::RouteNotFound => "not_found",
            ApiError::MethodNotAllowed { .. } => "method_not_allowed",
            ApiError::Conflict { code, .. } => code,
            ApiError::Unavailable(_) => "service_unavailable",
            ApiError::Internal(_) => "internal_error",
            ApiError::Coded { code, .. } => code,
        }
    }

    /// A problem with a fixed status and code.
    pub fn coded(status: u16, code: &'static str, zh: &'static str, en: &'static str) -> ApiError {
        ApiError::Coded {
            status,
            code,
            zh,
            en,
            retry_after_secs: None,
        }
    }

    /// A 429 with `Retry-After`.
    pub fn too_many(
        code: &'static str,
        retry_after_secs: i64,
        zh: &'static str,
        en: &'static str,
    ) -> ApiError {
        ApiError::Coded {
            status: 429,
            code,
            zh,
            en,
            retry_after_secs: Some(u64::try_from(retry_after_secs.max(1)).unwrap_or(1)),
        }
    }

    fn title(&self, lang: Lang) -> &'static str {
        let (zh, en) = match self {
            ApiError::Validation(_) => ("请求参数校验失败", "Validation failed"),
            ApiError::MalformedJson(_) => ("请求体不是有效的 JSON", "Malformed JSON"),
            ApiError::InvalidQuery(_) => ("查询参数无效", "Invalid query string"),
            ApiError::UnsupportedMediaType => ("不支持的媒体类型", "Unsupported media type"),
            ApiError::PayloadTooLarge { .. } => ("请求体过大", "Payload too large"),
            ApiError::Unauthorized => ("未认证", "Unauthorized"),
            ApiError::TokenExpired => ("访问令牌已过期", "Token expired"),
            ApiError::InvalidCredentials => ("用户名或密码错误", "Invalid credentials"),
            ApiError::AccountLocked { .. } => ("账户已临时锁定", "Account locked"),
            ApiError::Forbidden => ("无权访问", "Forbidden"),
            ApiError::NotFound(_) | ApiError::RouteNotFound => ("未找到", "Not found"),
            ApiError::MethodNotAllowed { .. } => ("不支持该请求方法", "Method not allowed"),
            ApiError::Conflict { .. } => ("冲突", "Conflict"),
            ApiError::Unavailable(_) => ("服务暂时不可用", "Service unavailable"),
            ApiError::Internal(_) => ("服务器内部错误", "Internal error"),
            ApiError::Coded { status, .. } => match status {
                401 => ("认证失败", "Authentication failed"),
                403 => ("无权执行", "Forbidden"),
                404 => ("未找到", "Not found"),
                409 => ("冲突", "Conflict"),
                422 => ("无法处理", "Unprocessable request"),
                429 => ("请求过于频繁", "Too many requests"),
                503 => ("服务暂时不可用", "Service unavailable"),
                _ => ("请求失败", "Request failed"),
            },
        };
        lang.pick(zh, en)
    }

    fn detail(&self, lang: Lang) -> String {
        match (self, lang) {
            (ApiError::Validation(_), Lang::Zh) => "一个或多个字段无效，详见 errors。".into(),
            (ApiError::Validation(_), Lang::En) => {
                "One or more fields are invalid; see errors.".into()
            }
            (ApiError::MalformedJson(m), Lang::Zh) => format!("无法解析请求体：{m}"),
            (ApiError::MalformedJson(m), Lang::En) => format!("The body is not valid JSON: {m}"),
            (ApiError::InvalidQuery(m), Lang::Zh) => format!("无法解析查询参数：{m}"),
            (ApiError::InvalidQuery(m), Lang::En) => format!("The query string is invalid: {m}"),
            (ApiError::UnsupportedMediaType, l) => l
                .pick(
                    "请求体必须是 application/json。",
                    "The body must be application/json.",
                )
                .into(),
            (ApiError::PayloadTooLarge { limit }, Lang::Zh) => {
                format!("请求体不得超过 {limit} 字节。")
            }
            (ApiError::PayloadTooLarge { limit }, Lang::En) => {
                format!("The body must not exceed {limit} bytes.")
            }
            (ApiError::Unauthorized, l) => l
                .pick("需要有效的访问令牌。", "A valid access token is required.")
                .into(),
            (ApiError::TokenExpired, l) => l
                .pick(
                    "访问令牌已过期，请重新登录。",
                    "The access token has expired; sign in again.",
                )
                .into(),
            (ApiError::InvalidCredentials, l) => l
                .pick("用户名或密码错误。", "The username or password is wrong.")
                .into(),
            (ApiError::AccountLocked { retry_after_secs }, Lang::Zh) => {
                format!(
                    "登录失败次数过多，账户已锁定，请 {} 分钟后再试。",
                    retry_after_secs.div_ceil(60)
                )
            }
            (ApiError::AccountLocked { retry_after_secs }, Lang::En) => {
                format!(
                    "Too many failed sign-ins; the account is locked for {} more minutes.",
                    retry_after_secs.div_ceil(60)
                )
            }
            (ApiError::Forbidden, l) => l
                .pick(
                    "当前身份无权执行此操作。",
                    "Your role does not allow this operation.",
                )
                .into(),
            (ApiError::NotFound(_), l) => l
                .pick(
                    "请求的资源不存在。",
                    "The requested resource does not exist.",
                )
                .into(),
            (ApiError::RouteNotFound, l) => l
                .pick("没有这个接口。", "There is no such endpoint.")
                .into(),
            (ApiError::MethodNotAllowed { allow }, Lang::Zh) => {
                format!("该接口支持的方法：{}。", allow.join(", "))
            }
            (ApiError::MethodNotAllowed { allow }, Lang::En) => {
                format!("This endpoint supports: {}.", allow.join(", "))
            }
            (ApiError::Conflict { zh, en, .. }, l) => l.pick(zh, en).into(),
            (ApiError::Unavailable(_), l) => l
                .pick(
                    "数据库暂时无法访问，请稍后重试。",
                    "The database cannot be reached right now; retry shortly.",
                )
                .into(),
            (ApiError::Coded { zh, en, .. }, l) => l.pick(zh, en).into(),
            (ApiError::Internal(_), l) => l
                .pick(
                    "服务器内部错误，请携带 request_id 联系我们。",
                    "Something went wrong on our side; quote the request_id when reporting it.",
                )
                .into(),
        }
    }

    /// The problem body, in the current request's language.
    pub fn problem(&self) -> Problem {
        let ctx = context::current();
        let lang = ctx.as_ref().map(|c| c.lang).unwrap_or(Lang::Zh);
        let errors = match self {
            ApiError::Validation(issues) => issues.iter().map(|i| field_error(i, lang)).collect(),
            _ => Vec::new(),
        };
        Problem {
            type_uri: format!("urn:shebao:problem:{}", self.code()),
            title: self.title(lang).to_owned(),
            status: self.status_code().as_u16(),
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
            ValueError::Rule(r) => (*r).to_owned(),
        },
    }
}

fn field_error(i: &FieldIssue, lang: Lang) -> FieldError {
    let (code, message) = match &i.issue {
        Issue::Value(v) => (v.code(), value_message(v, lang)),
        Issue::Required => ("required", lang.pick("必填", "is required").to_owned()),
        Issue::Type(m) => (
            "type",
            match lang {
                Lang::Zh => format!("类型不正确：{m}"),
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
        match self {
            ApiError::Validation(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::MalformedJson(_) | ApiError::InvalidQuery(_) => StatusCode::BAD_REQUEST,
            ApiError::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::Unauthorized | ApiError::TokenExpired | ApiError::InvalidCredentials => {
                StatusCode::UNAUTHORIZED
            }
            ApiError::AccountLocked { .. } => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Forbidden => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) | ApiError::RouteNotFound => StatusCode::NOT_FOUND,
            ApiError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            ApiError::Conflict { .. } => StatusCode::CONFLICT,
            ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Coded { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
            }
        }
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
        match self {
            ApiError::Unauthorized | ApiError::TokenExpired => {
                let value = if matches!(self, ApiError::TokenExpired) {
                    r#"Bearer error="invalid_token", error_description="expired""#
                } else {
                    "Bearer"
                };
                res.insert_header((header::WWW_AUTHENTICATE, value));
            }
            ApiError::Unavailable(_) => {
                res.insert_header((header::RETRY_AFTER, RETRY_AFTER_SECS.to_string()));
            }
            ApiError::AccountLocked { retry_after_secs } => {
                res.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
            }
            ApiError::Coded {
                status,
                retry_after_secs,
                ..
            } => {
                if let Some(secs) = retry_after_secs {
                    res.insert_header((header::RETRY_AFTER, secs.to_string()));
                }
                if *status == 401 {
                    res.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
                }
            }
            ApiError::MethodNotAllowed { allow } => {
                res.insert_header((header::ALLOW, allow.join(", ")));
            }
            _ => {}
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
        401 => ApiError::Unauthorized,
        403 => ApiError::Forbidden,
        404 => ApiError::RouteNotFound,
        405 => ApiError::MethodNotAllowed { allow: Vec::new() },
        413 => ApiError::PayloadTooLarge { limit: 0 },
        415 => ApiError::UnsupportedMediaType,
        503 => ApiError::Unavailable("unavailable".into()),
        _ => ApiError::Internal(format!(
            "unexpected {status} response without a problem body"
        )),
    }
}
