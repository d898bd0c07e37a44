//! The SMS provider: a client of the Twilio Messages API (or anything speaking it, such as the
//! stand-in in `shebao-standins`).
//!
//! `POST {base_url}/2010-04-01/Accounts/{account_sid}/Messages.json` with the form fields `To`,
//! `From` and `Body`, HTTP Basic auth (account SID, auth token), and the message's own id as
//! `Idempotency-Key` (and `I-Twilio-Idempotency-Token`). Timeouts, connection errors, 408, 429 and 5xx
//! are retried with exponential backoff (200 ms, 400 ms, …) up to `max_attempts`, all within
//! `total_timeout` (5 s by default, so a slow provider never holds a caller longer); any other 4xx
//! is [`SmsError::Rejected`] at once. When no attempt may have reached the provider the answer is
//! [`SmsError::Unavailable`]; when one may have (it timed out waiting for the answer, or the
//! answer said accepted but could not be read) it is [`SmsError::Unknown`]: the person may get
//! the message.
//!
//! The body (it holds one-time codes) and the full phone number are never logged.

use crate::outbound::{chain, describe};
use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use tokio::time::Instant;

use reqwest::header::{HeaderValue, ACCEPT};
use reqwest::{StatusCode, Url};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use shebao_domain::ports::{SentSms, SmsError, SmsMessage, SmsSender};

/// The first pause between two attempts; it doubles after each further failure.
const FIRST_BACKOFF: Duration = Duration::from_millis(200);
/// No pause between attempts is longer than this.
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// How to reach the provider.
#[derive(Debug, Clone)]
pub struct TwilioConfig {
    /// `https://api.twilio.com`, or the stand-in's `http://127.0.0.1:8081`.
    pub base_url: String,
    pub account_sid: String,
    pub auth_token: SecretString,
    /// The sender number (or alphanumeric sender id) the messages come from.
    pub from: String,
    /// The limit for connecting, and for each whole attempt (request and answer).
    pub timeout: Duration,
    /// The limit for the whole send: every attempt and the pauses between them.
    pub total_timeout: Duration,
    /// Attempts per message, the first included (0 counts as 1).
    pub max_attempts: u32,
}

impl TwilioConfig {
    pub const DEFAULT_BASE_URL: &'static str = "https://api.twilio.com";
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(2);
    pub const DEFAULT_TOTAL_TIMEOUT: Duration = Duration::from_secs(5);
    pub const DEFAULT_MAX_ATTEMPTS: u32 = 3;

    /// A configuration with the default timeouts (2 s an attempt, 5 s in all) and number of
    /// attempts (3).
    pub fn new(
        base_url: impl Into<String>,
        account_sid: impl Into<String>,
        auth_token: SecretString,
        from: impl Into<String>,
    ) -> Self {
        TwilioConfig {
            base_url: base_url.into(),
            account_sid: account_sid.into(),
            auth_token,
            from: from.into(),
            timeout: Self::DEFAULT_TIMEOUT,
            total_timeout: Self::DEFAULT_TOTAL_TIMEOUT,
            max_attempts: Self::DEFAULT_MAX_ATTEMPTS,
        }
    }
}

/// The Twilio Messages API client. Cheap to share: it holds one connection pool.
#[derive(Debug)]
pub struct TwilioSms {
    client: reqwest::Client,
    messages_url: Url,
    account_sid: String,
    auth_token: SecretString,
    from: String,
    total_timeout: Duration,
    max_attempts: u32,
}

impl TwilioSms {
    /// Builds the HTTP client (connect and total timeouts, no redirects). Fails with
    /// [`SmsError::Unavailable`] when the configuration is unusable (a base URL that is not
    /// http(s), an empty account SID or sender) or the client cannot be built.
    pub fn new(cfg: TwilioConfig) -> Result<TwilioSms, SmsError> {
        let invalid =
            |why: &str| SmsError::Unavailable(format!("invalid SMS configuration: {why}"));
        if cfg.account_sid.trim().is_empty() {
            return Err(invalid("the account SID is empty"));
        }
        if cfg.from.trim().is_empty() {
            return Err(invalid("the sender (from) is empty"));
        }
        let messages_url = messages_url(&cfg.base_url, &cfg.account_sid).map_err(invalid)?;
        let client = reqwest::Client::builder()
            .connect_timeout(cfg.timeout)
            .timeout(cfg.timeout)
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("shebao/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                SmsError::Unavailable(format!("cannot build the HTTP client: {}", chain(&e)))
            })?;
        Ok(TwilioSms {
            client,
            messages_url,
            account_sid: cfg.account_sid,
            auth_token: cfg.auth_token,
            from: cfg.from,
            total_timeout: cfg.total_timeout,
            max_attempts: cfg.max_attempts.max(1),
        })
    }

    #[tracing::instrument(skip_all, fields(message_id = %message.id, to = %message.to.masked()))]
    async fn deliver(&self, message: &SmsMessage) -> Result<SentSms, SmsError> {
        if message.id.trim().is_empty() {
            return Err(SmsError::Rejected(
                "the message has no id to deduplicate on".to_owned(),
            ));
        }
        let key = HeaderValue::from_str(&message.id).map_err(|_| {
            SmsError::Rejected("the message id is not a valid HTTP header value".to_owned())
        })?;
        let deadline = Instant::now() + self.total_timeout;
        let mut last_failure = String::new();
        let mut maybe_sent = false;
        let mut attempts = 0;
        while attempts < self.max_attempts {
            attempts += 1;
            let attempt = attempts;
            let outcome = tokio::time::timeout_at(deadline, self.attempt(message, &key))
                .await
                .unwrap_or_else(|_| {
                    Attempt::Retryable(Failure {
                        text: format!(
                            "timed out: no answer within {:?} in all",
                            self.total_timeout
                        ),
                        maybe_sent: true,
                    })
                });
            match outcome {
                Attempt::Sent(sent) => {
                    tracing::info!(attempt, provider_id = %sent.provider_id, "SMS accepted by the provider");
                    return Ok(sent);
                }
                Attempt::Failed(error) => {
                    tracing::warn!(attempt, %error, "SMS not sent");
                    return Err(error);
                }
                Attempt::Retryable(failure) => {
                    maybe_sent |= failure.maybe_sent;
                    last_failure = failure.text;
                    let delay = backoff(attempt);
                    if attempt < self.max_attempts && Instant::now() + delay < deadline {
                        tracing::warn!(
                            attempt,
                            failure = %last_failure,
                            retry_in_ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX),
                            "SMS provider failed; retrying"
                        );
                        tokio::time::sleep(delay).await;
                    } else {
                        tracing::warn!(attempt, failure = %last_failure, "SMS provider failed; giving up");
                        break;
                    }
                }
            }
        }
        let reason = format!("{last_failure} (after {attempts} attempts)");
        Err(if maybe_sent {
            SmsError::Unknown(reason)
        } else {
            SmsError::Unavailable(reason)
        })
    }

    async fn attempt(&self, message: &SmsMessage, key: &HeaderValue) -> Attempt {
        let form = [
            ("To", message.to.as_e164()),
            ("From", self.from.as_str()),
            ("Body", message.body.as_str()),
        ];
        let sent = self
            .client
            .post(self.messages_url.clone())
            .basic_auth(&self.account_sid, Some(self.auth_token.expose_secret()))
            .header("Idempotency-Key", key.clone())
            .header("I-Twilio-Idempotency-Token", key.clone())
            .header(ACCEPT, "application/json")
            .form(&form)
            .send()
            .await;
        let response = match sent {
            Ok(response) => response,
            Err(error) => {
                return Attempt::Retryable(Failure {
                    text: describe(&error),
                    // Only a failure to connect proves the request never reached the provider.
                    maybe_sent: !error.is_connect(),
                });
            }
        };
        let status = response.status();
        // The total timeout covers reading the answer too. If it breaks off, the provider may
        // have accepted the message: retrying is safe because of the idempotency key.
        let answer = match response.bytes().await {
            Ok(answer) => answer,
            Err(error) => {
                return Attempt::Retryable(Failure {
                    text: format!(
                        "HTTP {status}, then reading the answer failed: {}",
                        describe(&error)
                    ),
                    maybe_sent: status.is_success(),
                })
            }
        };
        if status.is_success() {
            return match serde_json::from_slice::<Accepted>(&answer) {
                Ok(accepted) if !accepted.sid.is_empty() => Attempt::Sent(SentSms {
                    provider_id: accepted.sid,
                }),
                // Accepted but unreadable: do not resend; the person may have the message.
                _ => Attempt::Failed(SmsError::Unknown(format!(
                    "the provider answered HTTP {status} without a message sid"
                ))),
            };
        }
        let detail = provider_detail(&answer, message.to.as_e164(), &message.to.masked());
        // 408: the provider gave up reading the request (it took nothing), as a loaded server
        // does; like 429 and 5xx, worth another attempt.
        if status.is_server_error()
            || status == StatusCode::TOO_MANY_REQUESTS
            || status == StatusCode::REQUEST_TIMEOUT
        {
            Attempt::Retryable(Failure {
                text: format!("HTTP {status}{detail}"),
                maybe_sent: false,
            })
        } else if status.is_client_error() {
            Attempt::Failed(SmsError::Rejected(format!("HTTP {status}{detail}")))
        } else {
            Attempt::Failed(SmsError::Unavailable(format!(
                "unexpected HTTP {status} from the provider{detail}"
            )))
        }
    }
}

impl SmsSender for TwilioSms {
    fn send<'a>(
        &'a self,
        message: &'a SmsMessage,
    ) -> Pin<Box<dyn Future<Output = Result<SentSms, SmsError>> + Send + 'a>> {
        Box::pin(self.deliver(message))
    }
}

enum Attempt {
    Sent(SentSms),
    /// Worth another attempt (timeouts, connection errors, 408, 429, 5xx).
    Retryable(Failure),
    /// Final.
    Failed(SmsError),
}

/// A failed attempt in words, and whether the provider may have taken the message anyway.
struct Failure {
    text: String,
    maybe_sent: bool,
}

/// The part of an accepted message we keep.
#[derive(Deserialize)]
struct Accepted {
    sid: String,
}

/// Twilio's error answer.
#[derive(Deserialize)]
struct ProviderError {
    code: Option<u64>,
    message: Option<String>,
}

/// `{base_url}/2010-04-01/Accounts/{account_sid}/Messages.json`, the SID escaped as a path
/// segment.
fn messages_url(base_url: &str, account_sid: &str) -> Result<Url, &'static str> {
    let mut url = Url::parse(base_url.trim()).map_err(|_| "the base URL is not a URL")?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err("the base URL must be http or https");
    }
    url.set_query(None);
    url.set_fragment(None);
    url.path_segments_mut()
        .map_err(|_| "the base URL cannot have a path")?
        .pop_if_empty()
        .extend(["2010-04-01", "Accounts", account_sid, "Messages.json"]);
    Ok(url)
}

/// The pause after failed attempt number `attempt` (1-based): 200 ms, 400 ms, 800 ms, … ≤ 5 s.
fn backoff(attempt: u32) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    FIRST_BACKOFF.saturating_mul(factor).min(MAX_BACKOFF)
}

/// `": {message} (code {code})"` from a Twilio error answer, with the recipient's number masked
/// (Twilio quotes it in some messages); empty when the answer has neither.
fn provider_detail(answer: &[u8], e164: &str, masked: &str) -> String {
    let Ok(error) = serde_json::from_slice::<ProviderError>(answer) else {
        return String::new();
    };
    let message = error
        .message
        .map(|m| m.replace(e164, masked))
        .filter(|m| !m.trim().is_empty());
    match (message, error.code) {
        (Some(message), Some(code)) => format!(": {message} (code {code})"),
        (Some(message), None) => format!(": {message}"),
        (None, Some(code)) => format!(": code {code}"),
        (None, None) => String::new(),
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use std::time::Instant;

    use serde_json::{json, Value};
    use shebao_domain::identity::PhoneNumber;
    use shebao_standins::sms::{RunningStandIn, SmsStandIn};

    use super::*;

    const SID: &str = "AC0123456789abcdef0123456789abcdef";
    const TOKEN: &str = "test-auth-token";
    const PHONE: &str = "13800138000";
    const PHONE_QUERY: &str = "%2B8613800138000";

    fn config(base_url: &str, token: &str) -> TwilioConfig {
        TwilioConfig::new(
            base_url,
            SID,
            SecretString::from(token.to_owned()),
            "+15005550006",
        )
    }

    fn message(id: &str, body: &str) -> SmsMessage {
        SmsMessage {
            id: id.to_owned(),
            to: PhoneNumber::parse(PHONE).unwrap(),
            body: body.to_owned(),
        }
    }

    fn stand_in() -> RunningStandIn {
        SmsStandIn::start("127.0.0.1:0", SID, TOKEN).unwrap()
    }

    async fn listed(stand_in: &RunningStandIn, query: &str) -> Vec<Value> {
        let json: Value = reqwest::get(format!("{}/messages{query}", stand_in.base_url))
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        json["messages"].as_array().unwrap().clone()
    }

    async fn control(stand_in: &RunningStandIn, path: &str, body: Value) {
        let response = reqwest::Client::new()
            .post(format!("{}/_control/{path}", stand_in.base_url))
            .json(&body)
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_success(),
            "{path}: {}",
            response.status()
        );
    }

    #[tokio::test]
    async fn delivers_a_message_the_stand_in_then_lists() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        let sent = sms
            .send(&message("msg-1", "Your Shebao code is 123456"))
            .await
            .unwrap();
        assert!(sent.provider_id.starts_with("SM"), "{sent:?}");
        assert_eq!(sent.provider_id.len(), 34);

        let messages = listed(&stand_in, &format!("?to={PHONE_QUERY}")).await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["sid"], sent.provider_id.as_str());
        assert_eq!(messages[0]["to"], "+8613800138000");
        assert_eq!(messages[0]["from"], "+15005550006");
        assert_eq!(messages[0]["body"], "Your Shebao code is 123456");
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn a_wrong_auth_token_is_rejected() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, "wrong-token")).unwrap();
        let error = sms.send(&message("msg-1", "code")).await.unwrap_err();
        let SmsError::Rejected(reason) = error else {
            panic!("expected Rejected, got {error:?}");
        };
        assert!(reason.contains("401"), "{reason}");
        assert!(reason.contains("Authenticate"), "{reason}");
        assert!(reason.contains("20003"), "{reason}");
        assert!(listed(&stand_in, "").await.is_empty());
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn the_same_message_id_is_stored_once() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        let first = sms.send(&message("msg-1", "code 1")).await.unwrap();
        let again = sms.send(&message("msg-1", "code 1")).await.unwrap();
        assert_eq!(first, again);
        assert_eq!(listed(&stand_in, "").await.len(), 1);
        let other = sms.send(&message("msg-2", "code 2")).await.unwrap();
        assert_ne!(other, first);
        assert_eq!(listed(&stand_in, "").await.len(), 2);
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn retries_through_two_503s() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        control(&stand_in, "fail", json!({"count": 2, "status": 503})).await;
        let started = Instant::now();
        let sent = sms.send(&message("msg-1", "code")).await.unwrap();
        // Backed off 200 ms, then 400 ms.
        assert!(
            started.elapsed() >= Duration::from_millis(600),
            "{:?}",
            started.elapsed()
        );
        let messages = listed(&stand_in, "").await;
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0]["sid"], sent.provider_id.as_str());
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn a_429_is_retried() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        control(&stand_in, "fail", json!({"count": 1, "status": 429})).await;
        sms.send(&message("msg-1", "code")).await.unwrap();
        assert_eq!(listed(&stand_in, "").await.len(), 1);
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn a_408_is_retried() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        control(&stand_in, "fail", json!({"count": 2, "status": 408})).await;
        sms.send(&message("msg-1", "code")).await.unwrap();
        assert_eq!(listed(&stand_in, "").await.len(), 1);
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn gives_up_after_max_attempts() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        control(&stand_in, "fail", json!({"count": 5, "status": 503})).await;
        let error = sms.send(&message("msg-1", "code")).await.unwrap_err();
        let SmsError::Unavailable(reason) = error else {
            panic!("expected Unavailable, got {error:?}");
        };
        assert!(reason.contains("503"), "{reason}");
        assert!(reason.contains("after 3 attempts"), "{reason}");
        assert!(listed(&stand_in, "").await.is_empty());

        // Two faults are left; after a reset the provider works again.
        control(&stand_in, "reset", json!({})).await;
        sms.send(&message("msg-1", "code")).await.unwrap();
        assert_eq!(listed(&stand_in, "").await.len(), 1);
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn a_4xx_is_not_retried() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        control(&stand_in, "fail", json!({"count": 2, "status": 400})).await;
        // Each send uses up exactly one fault: no retry.
        for _ in 0..2 {
            let error = sms.send(&message("msg-1", "code")).await.unwrap_err();
            assert!(matches!(error, SmsError::Rejected(_)), "{error:?}");
        }
        sms.send(&message("msg-1", "code")).await.unwrap();
        assert_eq!(listed(&stand_in, "").await.len(), 1);
        stand_in.stop().await;
    }

    #[tokio::test]
    async fn a_server_that_never_answers_times_out_with_an_unknown_outcome() {
        // Accepts connections (the kernel's backlog) but never reads or answers: the request
        // may have reached the provider, so the outcome is unknown, not a failure.
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", silent.local_addr().unwrap());
        let mut cfg = config(&base_url, TOKEN);
        cfg.timeout = Duration::from_millis(300);
        cfg.max_attempts = 2;
        let sms = TwilioSms::new(cfg).unwrap();
        let started = Instant::now();
        let error = sms.send(&message("msg-1", "code")).await.unwrap_err();
        let elapsed = started.elapsed();
        let SmsError::Unknown(reason) = error else {
            panic!("expected Unknown, got {error:?}");
        };
        assert!(reason.contains("timed out"), "{reason}");
        // 300 ms + 200 ms backoff + 300 ms.
        assert!(elapsed >= Duration::from_millis(750), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1800), "{elapsed:?}");
        drop(silent);
    }

    #[tokio::test]
    async fn the_whole_send_is_bounded_not_each_attempt() {
        let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let base_url = format!("http://{}", silent.local_addr().unwrap());
        let mut cfg = config(&base_url, TOKEN);
        cfg.timeout = Duration::from_millis(400);
        cfg.total_timeout = Duration::from_millis(700);
        cfg.max_attempts = 5;
        let sms = TwilioSms::new(cfg).unwrap();
        let started = Instant::now();
        let error = sms.send(&message("msg-1", "code")).await.unwrap_err();
        let elapsed = started.elapsed();
        assert!(matches!(error, SmsError::Unknown(_)), "{error:?}");
        // 400 ms, 200 ms backoff, then the 100 ms left: not 5 × 400 ms.
        assert!(elapsed >= Duration::from_millis(650), "{elapsed:?}");
        assert!(elapsed < Duration::from_millis(1000), "{elapsed:?}");
        drop(silent);
    }

    #[tokio::test]
    async fn an_unreachable_port_is_unavailable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let sms = TwilioSms::new(config(&format!("http://127.0.0.1:{port}"), TOKEN)).unwrap();
        let started = Instant::now();
        let error = sms.send(&message("msg-1", "code")).await.unwrap_err();
        let SmsError::Unavailable(reason) = error else {
            panic!("expected Unavailable, got {error:?}");
        };
        assert!(reason.contains("could not connect"), "{reason}");
        assert!(reason.contains("after 3 attempts"), "{reason}");
        assert!(
            !reason.contains("127.0.0.1"),
            "the URL is left out: {reason}"
        );
        assert!(started.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn a_message_without_a_usable_id_is_not_sent() {
        let stand_in = stand_in();
        let sms = TwilioSms::new(config(&stand_in.base_url, TOKEN)).unwrap();
        for id in ["", "  ", "bad\nid"] {
            let error = sms.send(&message(id, "code")).await.unwrap_err();
            assert!(matches!(error, SmsError::Rejected(_)), "{id:?}: {error:?}");
        }
        assert!(listed(&stand_in, "").await.is_empty());
        stand_in.stop().await;
    }

    #[test]
    fn builds_the_messages_url() {
        for base in [
            "https://api.twilio.com",
            "https://api.twilio.com/",
            " https://api.twilio.com?x=1#f ",
        ] {
            assert_eq!(
                messages_url(base, SID).unwrap().as_str(),
                format!("https://api.twilio.com/2010-04-01/Accounts/{SID}/Messages.json"),
                "{base}"
            );
        }
        assert_eq!(
            messages_url("http://127.0.0.1:8081/twilio/", "AC/x")
                .unwrap()
                .as_str(),
            "http://127.0.0.1:8081/twilio/2010-04-01/Accounts/AC%2Fx/Messages.json"
        );
        assert!(messages_url("api.twilio.com", SID).is_err());
        assert!(messages_url("ftp://api.twilio.com", SID).is_err());
    }

    #[test]
    fn new_checks_the_configuration_and_builds_a_tls_client() {
        // A real https client: the rustls crypto provider is available (this would panic if not).
        let sms = TwilioSms::new(config(TwilioConfig::DEFAULT_BASE_URL, TOKEN)).unwrap();
        assert_eq!(sms.max_attempts, 3);
        assert!(!format!("{sms:?}").contains(TOKEN), "the token never shows");

        let mut cfg = config(TwilioConfig::DEFAULT_BASE_URL, TOKEN);
        cfg.max_attempts = 0;
        assert_eq!(TwilioSms::new(cfg).unwrap().max_attempts, 1);
        assert!(TwilioSms::new(config("not a url", TOKEN)).is_err());
        let mut cfg = config(TwilioConfig::DEFAULT_BASE_URL, TOKEN);
        cfg.account_sid = String::new();
        assert!(TwilioSms::new(cfg).is_err());
        let mut cfg = config(TwilioConfig::DEFAULT_BASE_URL, TOKEN);
        cfg.from = " ".to_owned();
        assert!(TwilioSms::new(cfg).is_err());

        let defaults = config(TwilioConfig::DEFAULT_BASE_URL, TOKEN);
        assert_eq!(defaults.timeout, Duration::from_secs(2));
        assert_eq!(defaults.total_timeout, Duration::from_secs(5));
        assert_eq!(defaults.max_attempts, 3);
    }

    #[test]
    fn backs_off_exponentially() {
        let delays: Vec<_> = (1..=7).map(backoff).collect();
        assert_eq!(
            delays,
            [200, 400, 800, 1600, 3200, 5000, 5000].map(Duration::from_millis)
        );
        assert_eq!(backoff(u32::MAX), MAX_BACKOFF);
    }

    #[test]
    fn provider_details_mask_the_number() {
        let answer = br#"{"code":21211,"message":"The 'To' number +8613800138000 is not a valid phone number.","status":400}"#;
        assert_eq!(
            provider_detail(answer, "+8613800138000", "+86 138****8000"),
            ": The 'To' number +86 138****8000 is not a valid phone number. (code 21211)"
        );
        assert_eq!(provider_detail(b"<html>", "+86", "+86"), "");
        assert_eq!(
            provider_detail(br#"{"code":20003}"#, "+86", "+86"),
            ": code 20003"
        );
    }
}
