//! Every problem the API answers with, each once: its stable `code`, its HTTP status, and its
//! title and detail in Chinese and English. Handlers name a problem by its `ErrorCode`
//! variant, never by the code's text; the OpenAPI document lists the codes as an enum and
//! documents the 401/403/429 responses of secured operations from this table
//! ([`Problems`]).
//!
//! Adding a problem is one row of the table below (the row declares the variant). A detail may
//! name values (`{limit}`) that the `ApiError` carrying the code supplies.

use std::collections::BTreeMap;
use std::marker::PhantomData;

use shebao_openapi::document::{problem_response, retry_response};
use utoipa::openapi::{RefOr, Response};

/// Titles shared by several rows.
mod title {
    pub const AUTH_FAILED: (&str, &str) = ("认证失败", "Authentication failed");
    pub const CONFLICT: (&str, &str) = ("冲突", "Conflict");
    pub const FORBIDDEN: (&str, &str) = ("无权执行", "Forbidden");
    pub const NOT_FOUND: (&str, &str) = ("未找到", "Not found");
    pub const REQUEST_FAILED: (&str, &str) = ("请求失败", "Request failed");
    pub const TOO_MANY: (&str, &str) = ("请求过于频繁", "Too many requests");
    pub const UNAVAILABLE: (&str, &str) = ("服务暂时不可用", "Service unavailable");
    pub const UNPROCESSABLE: (&str, &str) = ("无法处理", "Unprocessable request");
}

macro_rules! catalogue {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident = $status:literal, $code:literal, $title:expr,
            ($zh:literal, $en:literal);
    )*) => {
        /// A problem the API can answer with. See the table in `error/catalogue.rs`.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum ErrorCode {
            $( $(#[doc = $doc])* $variant, )*
        }

        impl ErrorCode {
            /// Every code, in the table's order.
            pub const ALL: &'static [ErrorCode] = &[$(ErrorCode::$variant),*];

            /// The stable, machine-readable code.
            pub fn code(self) -> &'static str {
                match self { $(ErrorCode::$variant => $code,)* }
            }

            pub fn status(self) -> u16 {
                match self { $(ErrorCode::$variant => $status,)* }
            }

            /// The title (Chinese, English).
            pub fn title(self) -> (&'static str, &'static str) {
                match self { $(ErrorCode::$variant => $title,)* }
            }

            /// The detail (Chinese, English); `{name}` stands for a value the error supplies.
            pub fn detail(self) -> (&'static str, &'static str) {
                match self { $(ErrorCode::$variant => ($zh, $en),)* }
            }
        }

        /// One marker type per code, so an operation can document a problem of its own:
        /// `responses(..., Problems<(Person, problems::StepUpRequired)>)`.
        pub mod problems {
            $(
                #[doc = concat!("Documents `", $code, "`.")]
                pub struct $variant;
                impl super::ProblemSet for $variant {
                    fn codes() -> Vec<super::ErrorCode> {
                        vec![super::ErrorCode::$variant]
                    }
                }
            )*
        }
    };
}

catalogue! {
    // Reading the request.
    ValidationFailed = 422, "validation_failed", ("请求参数校验失败", "Validation failed"),
        ("一个或多个字段无效，详见 errors。", "One or more fields are invalid; see errors.");
    /// `{reason}` is the parser's (English) message, shown only in English.
    MalformedJson = 400, "malformed_json", ("请求体不是有效的 JSON", "Malformed JSON"),
        ("无法解析请求体，请检查 JSON 格式。", "The body is not valid JSON: {reason}");
    /// `{reason}` is the parser's (English) message, shown only in English.
    InvalidQuery = 400, "invalid_query", ("查询参数无效", "Invalid query string"),
        ("无法解析查询参数，请检查参数的名称和取值。", "The query string is invalid: {reason}");
    /// `{accepted}` names the media types the operation reads.
    UnsupportedMediaType = 415, "unsupported_media_type", ("不支持的媒体类型", "Unsupported media type"),
        ("请求体必须是 {accepted}。", "The body must be {accepted}.");
    PayloadTooLarge = 413, "payload_too_large", ("请求体过大", "Payload too large"),
        ("请求体不得超过 {limit} 字节。", "The body must not exceed {limit} bytes.");
    BodyIncomplete = 400, "body_incomplete", title::REQUEST_FAILED,
        ("请求体未能完整读取。", "The body could not be read to its end.");
    NotUtf8 = 422, "not_utf8", title::UNPROCESSABLE,
        ("请求体必须是 UTF-8 文本。", "The body must be UTF-8 text.");

    // Who is asking.
    Unauthorized = 401, "unauthorized", ("未认证", "Unauthorized"),
        ("需要有效的访问令牌。", "A valid access token is required.");
    TokenExpired = 401, "token_expired", ("访问令牌已过期", "Token expired"),
        ("访问令牌已过期，请重新登录。", "The access token has expired; sign in again.");
    InvalidCredentials = 401, "invalid_credentials", ("用户名或密码错误", "Invalid credentials"),
        ("用户名或密码错误。", "The username or password is wrong.");
    InvalidCode = 401, "invalid_code", title::AUTH_FAILED,
        ("验证码错误或已失效。", "The code is wrong or no longer valid.");
    InvalidRefreshToken = 401, "invalid_refresh_token", title::AUTH_FAILED,
        ("刷新令牌无效，请重新登录。", "The refresh token is not valid; sign in again.");
    RefreshTokenReused = 401, "refresh_token_reused", title::AUTH_FAILED,
        ("刷新令牌已被使用，会话已结束，请重新登录。",
         "This refresh token was used before; the session has been ended. Sign in again.");
    Forbidden = 403, "forbidden", ("无权访问", "Forbidden"),
        ("当前身份无权执行此操作。", "Your role does not allow this operation.");
    StepUpRequired = 403, "step_up_required", title::FORBIDDEN,
        ("此操作需要再次验证身份（POST /v1/me/step-up）。",
         "This action needs a fresh step-up (POST /v1/me/step-up).");
    BindingRequired = 403, "binding_required", title::FORBIDDEN,
        ("请先绑定身份证和社保卡（POST /v1/me/binding）。",
         "Bind your ID card and social-security card first (POST /v1/me/binding).");
    /// `{minutes}`: until the lock ends, rounded up.
    AccountLocked = 429, "account_locked", ("账户已临时锁定", "Account locked"),
        ("登录失败次数过多，账户已锁定，请 {minutes} 分钟后再试。",
         "Too many failed sign-ins; the account is locked for {minutes} more minutes.");
    TooManyAttempts = 429, "too_many_attempts", title::TOO_MANY,
        ("尝试过于频繁，请稍后再试。", "Too many attempts; wait a moment before trying again.");
    SmsCooldown = 429, "sms_cooldown", title::TOO_MANY,
        ("请稍后再获取验证码。", "Wait before asking for another code.");
    SmsDailyCap = 429, "sms_daily_cap", title::TOO_MANY,
        ("今日获取验证码次数已达上限。", "The daily limit of codes has been reached.");

    // What was asked for.
    /// `{subject}`: what was not found, in words ("the requested resource", "the endpoint").
    NotFound = 404, "not_found", title::NOT_FOUND,
        ("{subject}不存在。", "{subject} does not exist.");
    /// `{allow}`: the methods the path supports.
    MethodNotAllowed = 405, "method_not_allowed", ("不支持该请求方法", "Method not allowed"),
        ("该接口支持的方法：{allow}。", "This endpoint supports: {allow}.");
    NotBound = 404, "not_bound", title::NOT_FOUND,
        ("尚未绑定社保卡。", "No card is bound to this account.");
    Conflict = 409, "conflict", title::CONFLICT,
        ("该记录与已有记录冲突。", "The record conflicts with an existing one.");
    PersonExists = 409, "person_exists", title::CONFLICT,
        ("该身份证号码已登记。", "A person with this ID number is registered already.");
    CardNumberTaken = 409, "card_number_taken", title::CONFLICT,
        ("该社保卡号已被使用。", "This social-security card number belongs to another person.");
    EmployerExists = 409, "employer_exists", title::CONFLICT,
        ("该统一社会信用代码已登记。", "An employer with this credit code is registered already.");
    JobNotDead = 409, "job_not_dead", title::CONFLICT,
        ("只有已失败（dead）的任务可以重试。", "Only a dead job can be retried.");
    InterestAlreadyCredited = 409, "interest_already_credited", title::CONFLICT,
        ("该地区该年度的利息已记入。", "That year's interest was credited for this region already.");
    PhoneTaken = 409, "phone_taken", title::CONFLICT,
        ("该手机号已注册。", "This phone number has an account already.");
    TotpAlreadyEnabled = 409, "totp_already_enabled", title::CONFLICT,
        ("已开启动态口令。", "TOTP is already enabled.");
    TotpNotStarted = 409, "totp_not_started", title::CONFLICT,
        ("请先开始绑定动态口令。", "Start TOTP enrolment first (POST /v1/me/totp).");
    AlreadyBound = 409, "already_bound", title::CONFLICT,
        ("该账户已绑定社保卡。", "This account is bound to a card already.");
    PersonAlreadyBound = 409, "person_already_bound", title::CONFLICT,
        ("该参保人已绑定到其他账户。", "This person is bound to another account.");
    BindingMismatch = 422, "binding_mismatch", title::UNPROCESSABLE,
        ("身份信息与登记信息不一致。", "The details do not match the registry.");
    /// `{payable}`: the payable's id; `{payment}`: the open payment that holds it.
    AlreadyInPayment = 409, "already_in_payment", title::CONFLICT,
        ("{payable} 已在支付单 {payment} 中，请完成或取消该支付单。",
         "{payable} is in payment {payment} already; finish or cancel that payment.");
    AlreadyPaid = 409, "already_paid", title::CONFLICT,
        ("该支付单已付款，无法取消。", "This payment was paid; it cannot be cancelled.");
    /// `{status}`: the payment's status.
    PaymentNotOpen = 409, "payment_not_open", title::CONFLICT,
        ("该支付单状态为 {status}，无法取消。", "This payment is {status}; it cannot be cancelled.");
    PayeeExists = 409, "payee_exists", title::CONFLICT,
        ("该人员已在代缴名单中。", "This person is a payee already.");
    IdempotencyKeyRequired = 400, "idempotency_key_required", title::REQUEST_FAILED,
        ("请求头 Idempotency-Key 必填（8–64 个字符）。",
         "The Idempotency-Key header is required (8–64 characters).");
    IdempotencyKeyReused = 422, "idempotency_key_reused", title::UNPROCESSABLE,
        ("该 Idempotency-Key 已用于另一个请求。",
         "This Idempotency-Key was used with a different request.");
    PayeeMismatch = 422, "payee_mismatch", title::UNPROCESSABLE,
        ("代缴人员信息与登记信息不一致。", "The payee's details do not match the registry.");
    /// `{payable}`: the id that is not payable now.
    PayableUnknown = 422, "payable_unknown", title::UNPROCESSABLE,
        ("{payable} 当前无需缴纳，请刷新待缴列表（GET /v1/me/payables）。",
         "{payable} is not payable now; refresh the list (GET /v1/me/payables).");
    NotificationRejected = 401, "notification_rejected", title::AUTH_FAILED,
        ("通知签名无效、证书序列号未知或时间戳过期。",
         "The notification's signature, serial or timestamp did not verify.");
    /// `{kind}`: the kind; `{id}`: the open application.
    ApplicationOpen = 409, "application_open", title::CONFLICT,
        ("已有进行中的 {kind} 申请（{id}），请等待办结或撤回后再申请。",
         "An open {kind} application exists already ({id}); wait for its decision or withdraw it first.");
    /// `{from}`, `{to}`: the statuses.
    InvalidTransition = 409, "invalid_transition", title::CONFLICT,
        ("申请当前状态为 {from}，不能变为 {to}。", "The application is {from}; it cannot become {to}.");
    ApplicationChanged = 409, "application_changed", title::CONFLICT,
        ("该申请刚被他人处理，请刷新后再操作。",
         "Someone else moved this application a moment ago; reload it and decide again.");
    /// `{reason}`: why, in the request's language (the date or the months missing).
    NotEligible = 422, "not_eligible", ("不符合条件", "Not eligible"),
        ("{reason}", "{reason}");
    NoYearParameters = 422, "no_year_parameters", title::UNPROCESSABLE,
        ("所在地区尚无缴费参数，无法测算。",
         "The region has no contribution parameters; no estimate can be made.");

    // Feedback and complaints (issue 18).
    FeedbackClosed = 409, "feedback_closed", title::CONFLICT,
        ("该留言已关闭，不能再回复或关闭。",
         "This thread is closed: it takes no more messages and cannot be closed again.");
    FeedbackNotAnswered = 409, "feedback_not_answered", title::CONFLICT,
        ("尚无可评价的答复（或追问尚待答复），请在答复后评价。",
         "There is no answer to rate yet (or a follow-up waits for one); rate it once the agency has answered.");
    FeedbackAlreadyRated = 409, "feedback_already_rated", title::CONFLICT,
        ("该留言已评价，每条留言只能评价一次。", "This thread is rated already; a thread is rated once.");
    /// `{what}`: the kind of record named, in the request's language.
    RelatedNotFound = 422, "related_not_found", title::UNPROCESSABLE,
        ("关联的{what}不存在或不属于您。", "The related {what} does not exist or is not yours.");
    // Notices (issue 18).
    NoticeExpired = 409, "notice_expired", title::CONFLICT,
        ("该通知已过期，不能再发送。", "The notice has expired; it can no longer be sent.");
    // Institutions and appointments (issue 18).
    InstitutionNotFound = 404, "institution_not_found", title::NOT_FOUND,
        ("没有该编码的定点医药机构。", "No designated institution has this code.");
    SlotNotFound = 404, "slot_not_found", title::NOT_FOUND,
        ("该号源不存在。", "No such appointment slot.");
    AppointmentNotFound = 404, "appointment_not_found", title::NOT_FOUND,
        ("该预约不存在。", "No such appointment of yours.");
    SlotFull = 409, "slot_full", title::CONFLICT,
        ("该号源已约满，请选择其他时段。", "Every place of this slot is taken; choose another slot.");
    /// `{id}`: the appointment the person holds in the slot.
    AppointmentExists = 409, "appointment_exists", title::CONFLICT,
        ("您已预约该号源（{id}）。", "You hold an appointment in this slot already ({id}).");
    SlotStarted = 409, "slot_started", title::CONFLICT,
        ("该号源已开始就诊，不能再预约或取消。",
         "This slot has started: it can no longer be booked or cancelled.");
    // Contribution certificates (issue 14 part 3).
    CertificateNotFound = 404, "certificate_not_found", title::NOT_FOUND,
        ("该证明不存在。", "No such certificate.");
    CertificateLimit = 429, "certificate_limit", title::TOO_MANY,
        ("24 小时内出具的参保证明已达上限（10 份），请稍后再试。",
         "You have been issued the most certificates allowed in 24 hours (10); try again later.");

    // Family and proxy access (issue 14 part 1, 亲情代办).
    ScopeDenied = 403, "scope_denied", title::FORBIDDEN,
        ("代办授权不包含此操作。", "The proxy grant this token acts under does not cover this operation.");
    ProxySelf = 422, "proxy_self", title::UNPROCESSABLE,
        ("不能授权给自己的账户。", "A grant cannot name your own account's phone.");
    GrantNotFound = 404, "grant_not_found", title::NOT_FOUND,
        ("没有该代办授权。", "No such proxy grant of yours.");
    InvitationNotFound = 404, "invitation_not_found", title::NOT_FOUND,
        ("没有该代办邀请，或邀请已失效。", "No such open proxy invitation to your phone.");
    GrantNotActive = 404, "grant_not_active", title::NOT_FOUND,
        ("该代办授权未生效、已撤销或已过期。",
         "This proxy grant is not active: not accepted yet, revoked or expired.");
    ProxyRequestNotFound = 404, "proxy_request_not_found", title::NOT_FOUND,
        ("没有该代办申请。", "No such proxy request of yours.");
    ProxyCodeInvalid = 422, "proxy_code_invalid", title::UNPROCESSABLE,
        ("验证码错误、已失效或尝试次数过多，请重新申请。",
         "The code is wrong, expired or tried too often; make a new request.");

    // Benefit payouts (issue 14 §2: payout accounts and monthly payouts).
    NoPendingPayoutChange = 404, "no_pending_payout_change", title::NOT_FOUND,
        ("没有等待生效的待遇领取账户变更。", "No change of payout account is waiting to take effect.");
    PayoutPeriodNotDue = 422, "payout_period_not_due", title::UNPROCESSABLE,
        ("该月份尚未到发放时间。", "This month is not due for payment yet.");

    // The service itself.
    SmsUnavailable = 503, "sms_unavailable", title::UNAVAILABLE,
        ("短信服务暂时不可用，请稍后重试。", "The SMS service is unavailable right now; try again shortly.");
    GatewayUnavailable = 503, "gateway_unavailable", title::UNAVAILABLE,
        ("支付渠道暂时不可用，请稍后重试。", "The payment gateway is unavailable right now; try again shortly.");
    ServiceUnavailable = 503, "service_unavailable", title::UNAVAILABLE,
        ("数据库暂时无法访问，请稍后重试。", "The database cannot be reached right now; retry shortly.");
    InternalError = 500, "internal_error", ("服务器内部错误", "Internal error"),
        ("服务器内部错误，请携带 request_id 联系我们。",
         "Something went wrong on our side; quote the request_id when reporting it.");
}

/// A set of problems an operation can answer with: an extractor's (`Staff`, `Person`,
/// `BoundPerson`), one code's marker (`problems::StepUpRequired`), or a tuple of such.
pub trait ProblemSet {
    fn codes() -> Vec<ErrorCode>;
}

macro_rules! tuple_sets {
    ($($t:ident),+) => {
        impl<$($t: ProblemSet),+> ProblemSet for ($($t,)+) {
            fn codes() -> Vec<ErrorCode> {
                let mut codes = Vec::new();
                $(codes.extend($t::codes());)+
                codes
            }
        }
    };
}
tuple_sets!(A);
tuple_sets!(A, B);
tuple_sets!(A, B, C);
tuple_sets!(A, B, C, D);

/// The OpenAPI responses of a [`ProblemSet`], one per status, each describing its codes from
/// the catalogue: `responses((status = 200, …), Problems<Staff>)`.
pub struct Problems<S>(PhantomData<S>);

impl<S: ProblemSet> utoipa::IntoResponses for Problems<S> {
    fn responses() -> BTreeMap<String, RefOr<Response>> {
        responses_for(&S::codes())
    }
}

/// One problem+json response per status of `codes`; 429 and 503 carry `Retry-After`.
pub fn responses_for(codes: &[ErrorCode]) -> BTreeMap<String, RefOr<Response>> {
    let mut by_status: BTreeMap<u16, Vec<ErrorCode>> = BTreeMap::new();
    for &code in codes {
        let list = by_status.entry(code.status()).or_default();
        if !list.contains(&code) {
            list.push(code);
        }
    }
    by_status
        .into_iter()
        .map(|(status, codes)| {
            let description = codes
                .iter()
                .map(|c| format!("`{}`: {}", c.code(), describe(*c)))
                .collect::<Vec<_>>()
                .join("\n\n");
            let response = if matches!(status, 429 | 503) {
                retry_response(&description)
            } else {
                problem_response(&description)
            };
            (status.to_string(), RefOr::T(response))
        })
        .collect()
}

/// The English detail with its placeholders put in words, for the document.
fn describe(code: ErrorCode) -> String {
    let (_, en) = code.detail();
    let mut out = String::new();
    let mut rest = en;
    while let Some(start) = rest.find('{') {
        let Some(len) = rest[start..].find('}') else {
            break;
        };
        out.push_str(&rest[..start]);
        out.push('…');
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The first English phrase (two Latin words in a row) in a Chinese text, if any: no Chinese
/// answer may carry one (a lone `JSON`, a media type or a path is not a phrase).
pub fn english_phrase(zh: &str) -> Option<String> {
    zh.split(|c: char| !c.is_ascii()).find_map(|run| {
        let words: Vec<&str> = run.split_whitespace().collect();
        words.windows(2).find_map(|w| {
            w.iter()
                .all(|w| w.len() > 1 && w.chars().all(|c| c.is_ascii_alphabetic()))
                .then(|| w.join(" "))
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_has_one_status_and_text_in_both_languages() {
        let mut seen: BTreeMap<&str, u16> = BTreeMap::new();
        for &c in ErrorCode::ALL {
            let code = c.code();
            assert!(
                code.chars()
                    .all(|ch| ch.is_ascii_lowercase() || ch.is_ascii_digit() || ch == '_'),
                "{code} is not snake_case"
            );
            assert!(
                seen.insert(code, c.status()).is_none(),
                "{code} is in the table twice"
            );
            let ((tz, te), (dz, de)) = (c.title(), c.detail());
            assert!(![tz, te, dz, de].iter().any(|t| t.is_empty()), "{code}");
            for zh in [tz, dz] {
                assert!(english_phrase(zh).is_none(), "{code}: English in {zh}");
            }
        }
    }

    #[test]
    fn the_english_check_sees_english() {
        assert!(english_phrase("无法解析请求体：expected value").is_some());
        assert!(english_phrase("请求体必须是 application/json。").is_none());
    }

    #[test]
    fn responses_group_codes_by_status_and_429_says_when_to_retry() {
        let r = responses_for(&[
            ErrorCode::Unauthorized,
            ErrorCode::TokenExpired,
            ErrorCode::TooManyAttempts,
        ]);
        assert_eq!(r.keys().collect::<Vec<_>>(), ["401", "429"]);
        let RefOr::T(unauthorized) = &r["401"] else {
            panic!("inline response expected")
        };
        assert!(unauthorized.description.contains("`unauthorized`"));
        assert!(unauthorized.description.contains("`token_expired`"));
        let RefOr::T(too_many) = &r["429"] else {
            panic!("inline response expected")
        };
        assert!(too_many.headers.contains_key("Retry-After"));
        assert_eq!(
            describe(ErrorCode::PayloadTooLarge),
            "The body must not exceed … bytes."
        );
    }
}
