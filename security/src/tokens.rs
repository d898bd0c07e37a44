//! Signed JWTs: EdDSA (Ed25519) only, algorithm pinned, key id in the header,
//! older public keys accepted during rotation.

use std::fmt;
use std::sync::Arc;

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use ed25519_dalek::pkcs8::EncodePrivateKey;
use ed25519_dalek::{SigningKey, VerifyingKey};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::zeroize::Zeroizing;
use secrecy::ExposeSecret;
use serde_json::{json, Map, Value};
use sha2::{Digest, Sha256};

use crate::keys::{KeyError, KeyMaterial, PREVIOUS_SIGNING_PUBLIC_KEYS_ENV, SIGNING_KEY_ENV};

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
pub const LEEWAY_SECS: i64 = 5;

/// Longer tokens are rejected before any parsing.
const MAX_TOKEN_LEN: usize = 8 * 1024;

/// Why a token was refused (or could not be made).
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    #[error("token is invalid")]
    Invalid,
    #[error("token has expired")]
    Expired,
    #[error("token could not be signed")]
    Sign,
}

/// What a token must be to pass [`TokenSigner::verify`].
#[derive(Debug, Clone, Copy)]
pub struct VerifyOptions<'a> {
    /// Required `iss`.
    pub issuer: &'a str,
    /// Required `aud` (a string equal to it, or an array containing it).
    pub audience: &'a str,
    /// Required `token_use` claim, e.g. `"access"`, so one kind can never pass for another.
    pub token_use: &'a str,
}

/// Signs and verifies tokens. Cheap to clone.
#[derive(Clone)]
pub struct TokenSigner {
    inner: Arc<Inner>,
}

struct Inner {
    encoding: EncodingKey,
    current: PublicKey,
    previous: Vec<PublicKey>,
}

impl Inner {
    /// Current key first, then previous keys.
    fn public_keys(&self) -> impl Iterator<Item = &PublicKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

struct PublicKey {
    kid: String,
    bytes: [u8; 32],
    decoding: DecodingKey,
}

impl PublicKey {
    fn new(bytes: [u8; 32]) -> PublicKey {
        PublicKey {
            kid: kid_for(&bytes),
            bytes,
            decoding: DecodingKey::from_ed_der(&bytes),
        }
    }
}

impl fmt::Debug for TokenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TokenSigner")
            .field("kid", &self.kid())
            .finish_non_exhaustive()
    }
}

/// base64url-no-pad of the first 12 bytes of SHA-256(public key).
fn kid_for(public_key: &[u8; 32]) -> String {
    let digest = Sha256::digest(public_key);
    URL_SAFE_NO_PAD.encode(&digest[..12])
}

impl TokenSigner {
    /// Builds the signer from the signing seed; previous public keys are accepted for verification.
    pub fn new(keys: &KeyMaterial) -> Result<TokenSigner, KeyError> {
        let seed: Zeroizing<[u8; 32]> = Zeroizing::new(
            keys.signing_key_seed
                .expose_secret()
                .try_into()
                .map_err(|_| KeyError::Invalid {
                    name: SIGNING_KEY_ENV,
                    reason: "must be 32 bytes".to_owned(),
                })?,
        );
        let signing_key = SigningKey::from_bytes(&seed);
        let pkcs8 = signing_key.to_pkcs8_der().map_err(|e| KeyError::Invalid {
            name: SIGNING_KEY_ENV,
            reason: format!("cannot encode as PKCS#8: {e}"),
        })?;
        let encoding = EncodingKey::from_ed_der(pkcs8.as_bytes());

        let current = PublicKey::new(signing_key.verifying_key().to_bytes());
        let mut previous_keys: Vec<PublicKey> = Vec::new();
        for previous in &keys.previous_signing_public_keys {
            match VerifyingKey::from_bytes(previous) {
                Ok(vk) if !vk.is_weak() => {}
                _ => {
                    return Err(KeyError::Invalid {
                        name: PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
                        reason: "not a valid Ed25519 public key".to_owned(),
                    })
                }
            }
            if current.bytes != *previous && previous_keys_lack(&previous_keys, previous) {
                previous_keys.push(PublicKey::new(*previous));
            }
        }

        Ok(TokenSigner {
            inner: Arc::new(Inner {
                encoding,
                current,
                previous: previous_keys,
            }),
        })
    }

    fn current(&self) -> &PublicKey {
        &self.inner.current
    }

    /// Current key id: base64url-no-pad of the first 12 bytes of SHA-256(public key).
    pub fn kid(&self) -> &str {
        &self.current().kid
    }

    /// The current Ed25519 public key.
    pub fn public_key(&self) -> [u8; 32] {
        self.current().bytes
    }

    /// The current public key as base64url without padding: the form to append to
    /// `SHEBAO_PREVIOUS_SIGNING_PUBLIC_KEYS` when rotating to a new signing key.
    pub fn public_key_b64url(&self) -> String {
        URL_SAFE_NO_PAD.encode(self.current().bytes)
    }

    /// Signs `claims` with header `{"alg":"EdDSA","typ":"JWT","kid":<kid>}`.
    ///
    /// The claims must serialise to a JSON object with a string `token_use`; otherwise
    /// [`TokenError::Sign`]. To be verifiable they also need `exp`, `iat` (integer unix
    /// seconds), `sub`, `iss` and `aud`.
    pub fn sign<C: serde::Serialize>(&self, claims: &C) -> Result<String, TokenError> {
        let claims = serde_json::to_value(claims).map_err(|_| TokenError::Sign)?;
        if !matches!(claims.get("token_use"), Some(Value::String(_))) {
            tracing::error!("refusing to sign a token without a string `token_use` claim");
            return Err(TokenError::Sign);
        }
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid().to_owned());
        jsonwebtoken::encode(&header, &claims, &self.inner.encoding).map_err(|e| {
            tracing::error!(error = %e, "token signing failed");
            TokenError::Sign
        })
    }

    /// Verifies a token and returns its claims.
    ///
    /// The header must say `alg: EdDSA` and name a known `kid` (current or previous key),
    /// carry no `crit`, and the signature must hold. The claims must contain `exp`, `iat`
    /// (integers), `sub`, `iss` (strings), `aud` (a string or an array of strings) and
    /// `token_use`; `iss`, `aud` and `token_use` must match `opts`. Times are checked
    /// against `now` (unix seconds) with [`LEEWAY_SECS`] of leeway: `iat` or `nbf` in the
    /// future is [`TokenError::Invalid`], `now > exp + leeway` is [`TokenError::Expired`]
    /// (reported only for tokens that are otherwise valid). Everything else is `Invalid`.
    pub fn verify<C: serde::de::DeserializeOwned>(
        &self,
        token: &str,
        opts: &VerifyOptions<'_>,
        now: i64,
    ) -> Result<C, TokenError> {
        if token.len() > MAX_TOKEN_LEN {
            return Err(TokenError::Invalid);
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| TokenError::Invalid)?;
        if header.alg != Algorithm::EdDSA || header.crit.is_some() {
            return Err(TokenError::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(TokenError::Invalid)?;
        let key = self
            .inner
            .public_keys()
            .find(|k| k.kid == kid)
            .ok_or(TokenError::Invalid)?;

        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.leeway = LEEWAY_SECS.unsigned_abs();
        // Times are checked below against the injected `now`, not the system clock.
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = true;
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        validation.set_issuer(&[opts.issuer]);
        validation.set_audience(&[opts.audience]);
        let data = jsonwebtoken::decode::<Value>(token, &key.decoding, &validation)
            .map_err(|_| TokenError::Invalid)?;

        // The signature holds; now check every claim we rely on ourselves, by type.
        let Value::Object(claims) = data.claims else {
            return Err(TokenError::Invalid);
        };
        let exp = int_claim(&claims, "exp")?.ok_or(TokenError::Invalid)?;
        let iat = int_claim(&claims, "iat")?.ok_or(TokenError::Invalid)?;
        let nbf = int_claim(&claims, "nbf")?;
        let sub = str_claim(&claims, "sub")?;
        if sub.is_empty() {
            return Err(TokenError::Invalid);
        }
        if str_claim(&claims, "iss")? != opts.issuer {
            return Err(TokenError::Invalid);
        }
        let audience_ok = match claims.get("aud") {
            Some(Value::String(aud)) => aud == opts.audience,
            Some(Value::Array(auds)) => {
                auds.iter().all(Value::is_string)
                    && auds.iter().any(|a| a.as_str() == Some(opts.audience))
            }
            _ => false,
        };
        if !audience_ok || str_claim(&claims, "token_use")? != opts.token_use {
            return Err(TokenError::Invalid);
        }

        let horizon = now.saturating_add(LEEWAY_SECS);
        if iat > horizon || nbf.is_some_and(|nbf| nbf > horizon) {
            return Err(TokenError::Invalid);
        }
        if now > exp.saturating_add(LEEWAY_SECS) {
            return Err(TokenError::Expired);
        }

        serde_json::from_value(Value::Object(claims)).map_err(|_| TokenError::Invalid)
    }

    /// JWKS document with the current key first, then the previous keys.
    pub fn jwks(&self) -> Value {
        let keys: Vec<Value> = self
            .inner
            .public_keys()
            .map(|k| {
                json!({
                    "kty": "OKP",
                    "crv": "Ed25519",
                    "x": URL_SAFE_NO_PAD.encode(k.bytes),
                    "kid": k.kid,
                    "alg": "EdDSA",
                    "use": "sig",
                })
            })
            .collect();
        json!({ "keys": keys })
    }
}

fn previous_keys_lack(keys: &[PublicKey], candidate: &[u8; 32]) -> bool {
    keys.iter().all(|k| &k.bytes != candidate)
}

/// `Ok(None)` if absent; `Invalid` if present but not an integer.
fn int_claim(claims: &Map<String, Value>, name: &str) -> Result<Option<i64>, TokenError> {
    match claims.get(name) {
        None => Ok(None),
        Some(v) => v.as_i64().map(Some).ok_or(TokenError::Invalid),
    }
}

/// `Invalid` unless present and a string.
fn str_claim<'a>(claims: &'a Map<String, Value>, name: &str) -> Result<&'a str, TokenError> {
    claims
        .get(name)
        .and_then(Value::as_str)
        .ok_or(TokenError::Invalid)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use ed25519_dalek::Signer;
    use secrecy::SecretSlice;
    use serde::Deserialize;

    const NOW: i64 = 1_767_225_600; // 2026-01-01T00:00:00Z
    const OPTS: VerifyOptions<'static> = VerifyOptions {
        issuer: "https://shebao.example",
        audience: "shebao-api",
        token_use: "access",
    };

    #[derive(Debug, Deserialize, PartialEq)]
    struct Claims {
        sub: String,
        exp: i64,
        iat: i64,
        token_use: String,
        #[serde(default)]
        roles: Vec<String>,
    }

    fn claims() -> Value {
        json!({
            "sub": "person-42",
            "iss": OPTS.issuer,
            "aud": OPTS.audience,
            "iat": NOW,
            "exp": NOW + 900,
            "token_use": "access",
            "roles": ["caseworker"],
        })
    }

    fn with(mut v: Value, key: &str, value: Value) -> Value {
        v[key] = value;
        v
    }

    fn without(mut v: Value, key: &str) -> Value {
        v.as_object_mut().unwrap().remove(key);
        v
    }

    fn signer() -> TokenSigner {
        TokenSigner::new(&KeyMaterial::generate()).unwrap()
    }

    fn signer_and_key() -> (TokenSigner, SigningKey) {
        let keys = KeyMaterial::generate();
        let seed: [u8; 32] = keys.signing_key_seed.expose_secret().try_into().unwrap();
        (
            TokenSigner::new(&keys).unwrap(),
            SigningKey::from_bytes(&seed),
        )
    }

    fn verify(s: &TokenSigner, token: &str, now: i64) -> Result<Value, TokenError> {
        s.verify::<Value>(token, &OPTS, now)
    }

    fn b64json(v: &Value) -> String {
        URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    }

    /// A token built by hand, signed with `key` (Ed25519) whatever the header says.
    fn raw_token(header: &Value, claims: &Value, key: &SigningKey) -> String {
        let message = format!("{}.{}", b64json(header), b64json(claims));
        let sig = key.sign(message.as_bytes());
        format!("{message}.{}", URL_SAFE_NO_PAD.encode(sig.to_bytes()))
    }

    #[test]
    fn round_trip() {
        let s = signer();
        let token = s.sign(&claims()).unwrap();
        let got: Claims = s.verify(&token, &OPTS, NOW).unwrap();
        assert_eq!(
            got,
            Claims {
                sub: "person-42".into(),
                exp: NOW + 900,
                iat: NOW,
                token_use: "access".into(),
                roles: vec!["caseworker".into()],
            }
        );
        let header = jsonwebtoken::decode_header(&token).unwrap();
        assert_eq!(header.alg, Algorithm::EdDSA);
        assert_eq!(header.typ.as_deref(), Some("JWT"));
        assert_eq!(header.kid.as_deref(), Some(s.kid()));
        // clones verify too
        assert!(verify(&s.clone(), &token, NOW).is_ok());
    }

    #[test]
    fn kid_is_truncated_sha256_of_public_key() {
        let s = signer();
        let digest = Sha256::digest(s.public_key());
        assert_eq!(s.kid(), URL_SAFE_NO_PAD.encode(&digest[..12]));
        assert_eq!(s.kid().len(), 16);
        assert!(format!("{s:?}").contains(s.kid()));
    }

    #[test]
    fn audience_array_containing_ours_is_accepted() {
        let s = signer();
        let token = s
            .sign(&with(claims(), "aud", json!(["other", OPTS.audience])))
            .unwrap();
        assert!(verify(&s, &token, NOW).is_ok());
        let token = s.sign(&with(claims(), "aud", json!(["other"]))).unwrap();
        assert!(matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)));
    }

    #[test]
    fn wrong_audience_issuer_or_use_is_invalid() {
        let (s, sk) = signer_and_key();
        let token = s.sign(&claims()).unwrap();
        for opts in [
            VerifyOptions {
                audience: "shebao-admin",
                ..OPTS
            },
            VerifyOptions {
                issuer: "https://evil.example",
                ..OPTS
            },
            VerifyOptions {
                token_use: "refresh",
                ..OPTS
            },
        ] {
            assert!(matches!(
                s.verify::<Value>(&token, &opts, NOW),
                Err(TokenError::Invalid)
            ));
        }
        for (claim, value) in [
            ("aud", json!("shebao-admin")),
            ("iss", json!("https://evil.example")),
            ("token_use", json!("refresh")),
            ("token_use", json!(["access"])),
            ("iss", json!([OPTS.issuer])),
        ] {
            // built by hand: `sign` itself refuses a non-string `token_use`
            let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": s.kid()});
            let token = raw_token(&header, &with(claims(), claim, value.clone()), &sk);
            assert!(
                matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)),
                "{claim}: {value}"
            );
        }
    }

    #[test]
    fn expiry_with_leeway() {
        let s = signer();
        let token = s.sign(&claims()).unwrap();
        let exp = NOW + 900;
        assert!(verify(&s, &token, exp).is_ok());
        assert!(verify(&s, &token, exp + 5).is_ok());
        assert!(matches!(
            verify(&s, &token, exp + 6),
            Err(TokenError::Expired)
        ));
        assert!(matches!(
            verify(&s, &token, exp + 86_400),
            Err(TokenError::Expired)
        ));
        // an expired token for the wrong audience is just invalid
        assert!(matches!(
            s.verify::<Value>(
                &token,
                &VerifyOptions {
                    audience: "x",
                    ..OPTS
                },
                exp + 6
            ),
            Err(TokenError::Invalid)
        ));
    }

    #[test]
    fn not_yet_valid_is_invalid() {
        let s = signer();
        let token = s.sign(&claims()).unwrap();
        assert!(verify(&s, &token, NOW - 5).is_ok());
        assert!(matches!(
            verify(&s, &token, NOW - 6),
            Err(TokenError::Invalid)
        ));
        let token = s.sign(&with(claims(), "nbf", json!(NOW + 60))).unwrap();
        assert!(matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)));
        assert!(verify(&s, &token, NOW + 60).is_ok());
    }

    #[test]
    fn alg_none_is_invalid() {
        let s = signer();
        for header in [
            json!({"alg": "none"}),
            json!({"alg": "none", "typ": "JWT", "kid": s.kid()}),
            json!({"alg": "None", "typ": "JWT", "kid": s.kid()}),
        ] {
            let token = format!("{}.{}.", b64json(&header), b64json(&claims()));
            assert!(
                matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)),
                "{header}"
            );
        }
    }

    #[test]
    fn hs256_with_public_key_as_secret_is_invalid() {
        let s = signer();
        let mut header = Header::new(Algorithm::HS256);
        header.kid = Some(s.kid().to_owned());
        for secret in [
            s.public_key().to_vec(),
            s.public_key_b64url().into_bytes(),
            serde_json::to_vec(&s.jwks()["keys"][0]).unwrap(),
        ] {
            let token =
                jsonwebtoken::encode(&header, &claims(), &EncodingKey::from_secret(&secret))
                    .unwrap();
            assert!(matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)));
        }
    }

    #[test]
    fn missing_or_mistyped_claims_are_invalid() {
        let s = signer();
        let mut bad = vec![
            with(claims(), "exp", json!((NOW + 900).to_string())),
            with(claims(), "exp", json!(null)),
            with(claims(), "exp", json!(-1)),
            with(claims(), "exp", json!((NOW + 900) as f64 + 0.5)),
            with(claims(), "iat", json!(NOW.to_string())),
            with(claims(), "nbf", json!("soon")),
            with(claims(), "sub", json!(42)),
            with(claims(), "sub", json!("")),
            with(claims(), "aud", json!(7)),
            with(claims(), "aud", json!([OPTS.audience, 7])),
            with(claims(), "iss", json!(null)),
        ];
        for claim in ["exp", "iat", "sub", "iss", "aud"] {
            bad.push(without(claims(), claim));
        }
        for c in bad {
            let token = s.sign(&c).unwrap();
            assert!(
                matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)),
                "{c}"
            );
        }
        // claims that do not fit the caller's type
        let token = s.sign(&with(claims(), "roles", json!("admin"))).unwrap();
        assert!(matches!(
            s.verify::<Claims>(&token, &OPTS, NOW),
            Err(TokenError::Invalid)
        ));
    }

    #[test]
    fn signing_requires_token_use() {
        let s = signer();
        assert!(matches!(
            s.sign(&without(claims(), "token_use")),
            Err(TokenError::Sign)
        ));
        assert!(matches!(
            s.sign(&with(claims(), "token_use", json!(1))),
            Err(TokenError::Sign)
        ));
        assert!(matches!(s.sign(&"just a string"), Err(TokenError::Sign)));
    }

    #[test]
    fn other_key_unknown_kid_or_tampering_is_invalid() {
        let s = signer();
        let other_keys = KeyMaterial::generate();
        let other = TokenSigner::new(&other_keys).unwrap();

        // signed by a different key (its own kid, unknown here)
        let token = other.sign(&claims()).unwrap();
        assert!(matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)));

        // signed by a different key while claiming our kid
        let other_sk = SigningKey::from_bytes(
            other_keys
                .signing_key_seed
                .expose_secret()
                .try_into()
                .unwrap(),
        );
        let header = json!({"alg": "EdDSA", "typ": "JWT", "kid": s.kid()});
        let token = raw_token(&header, &claims(), &other_sk);
        assert!(matches!(verify(&s, &token, NOW), Err(TokenError::Invalid)));
        // (the same construction with the right key passes, so the helper is sound)
        assert!(verify(
            &other,
            &raw_token(
                &json!({"alg": "EdDSA", "typ": "JWT", "kid": other.kid()}),
                &claims(),
                &other_sk
            ),
            NOW
        )
        .is_ok());

        // unknown or missing kid
        for header in [
            json!({"alg": "EdDSA", "typ": "JWT", "kid": "bm90LWEta2lkLWF0LWFs"}),
            json!({"alg": "EdDSA", "typ": "JWT"}),
        ] {
            let token = raw_token(&header, &claims(), &other_sk);
            assert!(matches!(
                verify(&other, &token, NOW),
                Err(TokenError::Invalid)
            ));
        }

        // crit header
        let token = raw_token(
            &json!({"alg": "EdDSA", "kid": other.kid(), "crit": ["exp"]}),
            &claims(),
            &other_sk,
        );
        assert!(matches!(
            verify(&other, &token, NOW),
            Err(TokenError::Invalid)
        ));

        // payload swapped after signing
        let token = s.sign(&claims()).unwrap();
        let parts: Vec<&str> = token.split('.').collect();
        let forged = format!(
            "{}.{}.{}",
            parts[0],
            b64json(&with(claims(), "sub", json!("person-43"))),
            parts[2]
        );
        assert!(matches!(verify(&s, &forged, NOW), Err(TokenError::Invalid)));

        // garbage
        for junk in ["", "a.b.c", "a.b", &"x".repeat(MAX_TOKEN_LEN + 1)] {
            assert!(matches!(verify(&s, junk, NOW), Err(TokenError::Invalid)));
        }
    }

    #[test]
    fn previous_key_still_verifies() {
        let old_keys = KeyMaterial::generate();
        let old = TokenSigner::new(&old_keys).unwrap();
        let old_token = old.sign(&claims()).unwrap();

        let mut new_keys = KeyMaterial::generate();
        new_keys.previous_signing_public_keys = vec![old.public_key()];
        let new = TokenSigner::new(&new_keys).unwrap();
        assert_ne!(new.kid(), old.kid());
        assert!(verify(&new, &old_token, NOW).is_ok());
        assert!(verify(&new, &new.sign(&claims()).unwrap(), NOW).is_ok());

        // without the previous key listed it fails
        let alone = TokenSigner::new(&KeyMaterial {
            previous_signing_public_keys: Vec::new(),
            ..new_keys
        })
        .unwrap();
        assert!(matches!(
            verify(&alone, &old_token, NOW),
            Err(TokenError::Invalid)
        ));
    }

    #[test]
    fn jwks_lists_current_then_previous_keys() {
        let old = signer();
        let mut keys = KeyMaterial::generate();
        keys.previous_signing_public_keys = vec![old.public_key(), old.public_key()];
        let s = TokenSigner::new(&keys).unwrap();
        let jwks = s.jwks();
        let list = jwks["keys"].as_array().unwrap();
        assert_eq!(list.len(), 2, "{jwks}");
        assert_eq!(list[0]["kid"], s.kid());
        assert_eq!(list[1]["kid"], old.kid());
        for (jwk, public) in list.iter().zip([s.public_key(), old.public_key()]) {
            assert_eq!(jwk["kty"], "OKP");
            assert_eq!(jwk["crv"], "Ed25519");
            assert_eq!(jwk["alg"], "EdDSA");
            assert_eq!(jwk["use"], "sig");
            let x = URL_SAFE_NO_PAD.decode(jwk["x"].as_str().unwrap()).unwrap();
            assert_eq!(x.len(), 32);
            assert_eq!(x, public);
        }
        // the JWK is usable by a third party through jsonwebtoken
        let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(list[0].clone()).unwrap();
        let key = DecodingKey::from_jwk(&jwk).unwrap();
        let mut validation = Validation::new(Algorithm::EdDSA);
        validation.set_audience(&[OPTS.audience]);
        let mut c = claims();
        let far = i64::try_from(jsonwebtoken::get_current_timestamp()).unwrap() + 600;
        c["exp"] = json!(far);
        assert!(jsonwebtoken::decode::<Value>(&s.sign(&c).unwrap(), &key, &validation).is_ok());
    }

    #[test]
    fn bad_key_material_is_rejected() {
        let mut keys = KeyMaterial::generate();
        keys.signing_key_seed = SecretSlice::from(vec![1u8; 31]);
        assert!(matches!(
            TokenSigner::new(&keys),
            Err(KeyError::Invalid {
                name: SIGNING_KEY_ENV,
                ..
            })
        ));
        let mut keys = KeyMaterial::generate();
        let mut identity = [0u8; 32];
        identity[0] = 1;
        keys.previous_signing_public_keys = vec![identity];
        assert!(matches!(
            TokenSigner::new(&keys),
            Err(KeyError::Invalid {
                name: PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
                ..
            })
        ));
    }

    #[test]
    fn signer_is_send_sync_clone() {
        fn assert_send_sync<T: Send + Sync + Clone>() {}
        assert_send_sync::<TokenSigner>();
    }
}
