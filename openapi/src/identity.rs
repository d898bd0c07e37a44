//! Bodies of the phone app's identity API (`/v1/auth/...`, `/v1/me...`).

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// What an SMS code is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum SmsPurpose {
    Register,
    Login,
    StepUp,
    ResetPassword,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+8613800138000", "purpose": "register"}))]
pub struct SmsCodeRequest {
    /// Mainland mobile number: `+8613800138000`, `13800138000` or `0086 138 0013 8000` (spaces and
    /// hyphens between the digits are ignored).
    #[schema(
        pattern = r"^[\s-]*(\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
    )]
    pub phone: String,
    #[schema(value_type = SmsPurpose)]
    pub purpose: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SmsCodeSent {
    /// Seconds the code stays valid.
    pub expires_in: i64,
    /// Seconds before another code can be asked for.
    pub resend_after: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+8613800138000", "code": "123456", "password": "a long passphrase"}))]
pub struct RegisterRequest {
    /// Mainland mobile number: `+8613800138000`, `13800138000` or `0086 138 0013 8000` (spaces and
    /// hyphens between the digits are ignored).
    #[schema(
        pattern = r"^[\s-]*(\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
    )]
    pub phone: String,
    /// The 6-digit code sent for `register`.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// 8–128 characters, not only whitespace.
    #[schema(min_length = 8, max_length = 128, pattern = r"\S")]
    pub password: String,
}

/// A new access token and refresh token.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TokenPair {
    /// Signed JWT (EdDSA), 15 minutes; `Authorization: Bearer <token>`.
    pub access_token: String,
    /// Opaque; exchange at `POST /v1/auth/refresh`. Each can be used once.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: String,
    /// Seconds until the access token expires.
    pub expires_in: i64,
}

/// Sign in with a password or with an SMS code (purpose `login`): give exactly one.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+8613800138000", "password": "a long passphrase"}))]
pub struct LoginRequest {
    pub phone: String,
    #[serde(default)]
    pub password: Option<String>,
    #[serde(default)]
    pub code: Option<String>,
}

/// Sign in with a password.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+8613800138000", "password": "a long passphrase"}))]
pub struct PasswordLogin {
    #[schema(
        pattern = r"^[\s-]*(\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
    )]
    pub phone: String,
    pub password: String,
}

/// Sign in with an SMS code sent for `login`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"phone": "+8613800138000", "code": "123456"}))]
pub struct CodeLogin {
    #[schema(
        pattern = r"^[\s-]*(\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
    )]
    pub phone: String,
    pub code: String,
}

/// The body of `POST /v1/auth/login` as documented: exactly one of `password` and `code` (a
/// body with both or neither is refused with 422).
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum LoginForm {
    Password(PasswordLogin),
    Code(CodeLogin),
}

/// The account has TOTP: finish at `POST /v1/auth/login/mfa` within five minutes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaChallenge {
    /// Always true.
    pub mfa_required: bool,
    pub mfa_token: String,
}

/// Tokens, or a second-factor challenge when the account has TOTP.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[serde(untagged)]
pub enum LoginResponse {
    Tokens(TokenPair),
    Mfa(MfaChallenge),
}

/// The second step of a sign-in with a TOTP code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpMfaLogin {
    pub mfa_token: String,
    pub totp_code: String,
}

/// The second step of a sign-in with one of the recovery codes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryMfaLogin {
    pub mfa_token: String,
    pub recovery_code: String,
}

/// The body of `POST /v1/auth/login/mfa` as documented: exactly one of `totp_code` and
/// `recovery_code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum MfaLoginForm {
    Totp(TotpMfaLogin),
    Recovery(RecoveryMfaLogin),
}

/// The second step of a sign-in: a TOTP code, or one of the recovery codes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MfaLoginRequest {
    pub mfa_token: String,
    #[serde(default)]
    pub totp_code: Option<String>,
    #[serde(default)]
    pub recovery_code: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RefreshRequest {
    pub refresh_token: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PasswordResetRequest {
    /// Mainland mobile number: `+8613800138000`, `13800138000` or `0086 138 0013 8000` (spaces and
    /// hyphens between the digits are ignored).
    #[schema(
        pattern = r"^[\s-]*(\+[\s-]*8[\s-]*6|0[\s-]*0[\s-]*8[\s-]*6)?[\s-]*1[\s-]*[3-9]([\s-]*[0-9]){9}[\s-]*$"
    )]
    pub phone: String,
    /// The 6-digit code sent for `reset_password`.
    #[schema(pattern = "^[0-9]{6}$")]
    pub code: String,
    /// 8–128 characters, not only whitespace.
    #[schema(min_length = 8, max_length = 128, pattern = r"\S")]
    pub new_password: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct MeView {
    pub id: Uuid,
    /// Masked, e.g. `+86 138****8000`.
    pub phone: String,
    pub totp_enabled: bool,
    /// Whether an ID card is bound to the account.
    pub bound: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionView {
    pub id: Uuid,
    /// The device as the app described it (its User-Agent).
    pub device: String,
    pub created_at: DateTime<Utc>,
    pub last_used_at: DateTime<Utc>,
    /// This is the session of the token making the request.
    pub current: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SessionList {
    pub items: Vec<SessionView>,
    pub next_cursor: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpEnrolment {
    /// Base32 secret, for typing into an authenticator app.
    pub secret: String,
    pub otpauth_uri: String,
    /// A QR code of `otpauth_uri`, base64 PNG.
    pub qr_png_base64: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpConfirmRequest {
    pub code: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RecoveryCodes {
    /// Ten single-use codes; shown once.
    pub recovery_codes: Vec<String>,
}

/// Step up with a TOTP code.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct TotpStepUp {
    pub totp_code: String,
}

/// Step up with an SMS code sent for `step_up`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SmsStepUp {
    pub sms_code: String,
}

/// The body of `POST /v1/me/step-up` as documented: exactly one of `totp_code` and `sms_code`.
#[derive(Debug, Clone, Serialize, ToSchema)]
#[serde(untagged)]
pub enum StepUpForm {
    Totp(TotpStepUp),
    Sms(SmsStepUp),
}

/// Prove it is you again: a TOTP code, or an SMS code sent for `step_up`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepUpRequest {
    #[serde(default)]
    pub totp_code: Option<String>,
    #[serde(default)]
    pub sms_code: Option<String>,
}

/// An access token marked as stepped up for five minutes.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StepUpToken {
    pub access_token: String,
    pub token_type: String,
    pub expires_in: i64,
    /// Seconds the step-up lasts.
    pub step_up_expires_in: i64,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
#[schema(example = json!({"national_id": "440300198603120277", "name": "张伟", "card_number": "A44030000001"}))]
pub struct BindingRequest {
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[1-9][0-9]{16}[0-9Xx]$")]
    pub national_id: Option<String>,
    #[serde(default)]
    #[schema(required = true, value_type = String)]
    pub name: Option<String>,
    #[serde(default)]
    #[schema(required = true, value_type = String, pattern = "^[0-9A-Za-z]{9,20}$")]
    pub card_number: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct BindingView {
    pub person_id: Uuid,
    pub name: String,
    /// Masked.
    pub national_id: String,
    pub region: String,
}
