//! The three secrets the service needs: the PII encryption key, the blind-index
//! key and the Ed25519 token-signing seed. They live in environment variables or
//! in files outside the database, and are never logged.

use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use base64::alphabet;
use base64::engine::general_purpose::{
    GeneralPurpose, GeneralPurposeConfig, STANDARD, URL_SAFE_NO_PAD,
};
use base64::engine::DecodePaddingMode;
use base64::Engine;
use rand::rngs::OsRng;
use rand::RngCore;
use secrecy::zeroize::Zeroizing;
use secrecy::SecretSlice;

/// Length in bytes of every secret key.
pub const KEY_LEN: usize = 32;

/// Env var holding the AES-256-GCM key for PII at rest.
pub const PII_KEY_ENV: &str = "SHEBAO_PII_KEY";
/// Env var holding the HMAC-SHA256 blind-index key.
pub const BLIND_INDEX_KEY_ENV: &str = "SHEBAO_BLIND_INDEX_KEY";
/// Env var holding the Ed25519 signing seed.
pub const SIGNING_KEY_ENV: &str = "SHEBAO_SIGNING_KEY";
/// Env var holding older Ed25519 public keys still accepted (comma-separated base64url).
pub const PREVIOUS_SIGNING_PUBLIC_KEYS_ENV: &str = "SHEBAO_PREVIOUS_SIGNING_PUBLIC_KEYS";

/// File (inside the key directory) holding the PII key.
pub const PII_KEY_FILE: &str = "pii.key";
/// File (inside the key directory) holding the blind-index key.
pub const BLIND_INDEX_KEY_FILE: &str = "blind-index.key";
/// File (inside the key directory) holding the signing seed.
pub const SIGNING_KEY_FILE: &str = "signing-ed25519.key";

/// Standard alphabet, padding optional on input.
const STANDARD_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::STANDARD,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// URL-safe alphabet, padding optional on input.
const URL_SAFE_LENIENT: GeneralPurpose = GeneralPurpose::new(
    &alphabet::URL_SAFE,
    GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent),
);

/// The service's secrets. Never stored in the database, never logged.
pub struct KeyMaterial {
    /// 32 bytes, AES-256-GCM key for PII at rest.
    pub pii_key: SecretSlice<u8>,
    /// 32 bytes, HMAC-SHA256 key for the lookup (blind) index.
    pub blind_index_key: SecretSlice<u8>,
    /// 32-byte Ed25519 seed for signing tokens.
    pub signing_key_seed: SecretSlice<u8>,
    /// Older Ed25519 public keys still accepted during rotation (may be empty).
    pub previous_signing_public_keys: Vec<[u8; 32]>,
}

impl fmt::Debug for KeyMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyMaterial { .. redacted .. }")
    }
}

/// Why key material could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A key file or the key directory could not be read or written.
    #[error("key file {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    /// A key was present but unusable; `name` is the environment variable that names the key.
    #[error("key {name} is invalid: {reason}")]
    Invalid { name: &'static str, reason: String },
    /// A key was neither in the environment nor in the key directory, and generation was off.
    #[error("key {name} is missing: set it, put it in the key directory, or allow generation")]
    Missing { name: &'static str },
}

struct KeySpec {
    env: &'static str,
    file: &'static str,
}

const PII_SPEC: KeySpec = KeySpec {
    env: PII_KEY_ENV,
    file: PII_KEY_FILE,
};
const BLIND_INDEX_SPEC: KeySpec = KeySpec {
    env: BLIND_INDEX_KEY_ENV,
    file: BLIND_INDEX_KEY_FILE,
};
const SIGNING_SPEC: KeySpec = KeySpec {
    env: SIGNING_KEY_ENV,
    file: SIGNING_KEY_FILE,
};

impl KeyMaterial {
    /// Fresh random keys from the operating system's CSPRNG; no previous public keys.
    pub fn generate() -> KeyMaterial {
        KeyMaterial {
            pii_key: random_key(),
            blind_index_key: random_key(),
            signing_key_seed: random_key(),
            previous_signing_public_keys: Vec::new(),
        }
    }

    /// Loads the keys.
    ///
    /// For each key: the environment variable if set (base64, standard alphabet, padding
    /// optional, exactly 32 bytes); else `dir/<file>` (same encoding, surrounding whitespace
    /// ignored); else, if `generate_missing`, a fresh key written to `dir/<file>` (directory
    /// 0700, file 0600 on unix, written atomically and never overwriting a file another process
    /// created meanwhile); else [`KeyError::Missing`].
    ///
    /// `SHEBAO_PREVIOUS_SIGNING_PUBLIC_KEYS` is a comma-separated list of base64url (no
    /// padding) 32-byte Ed25519 public keys; empty or absent means none.
    pub fn load(
        env: &dyn Fn(&str) -> Option<String>,
        dir: &Path,
        generate_missing: bool,
    ) -> Result<KeyMaterial, KeyError> {
        let pii_key = load_one(env, dir, generate_missing, &PII_SPEC)?;
        let blind_index_key = load_one(env, dir, generate_missing, &BLIND_INDEX_SPEC)?;
        let signing_key_seed = load_one(env, dir, generate_missing, &SIGNING_SPEC)?;
        let previous_signing_public_keys =
            parse_previous_public_keys(env(PREVIOUS_SIGNING_PUBLIC_KEYS_ENV).as_deref())?;
        Ok(KeyMaterial {
            pii_key,
            blind_index_key,
            signing_key_seed,
            previous_signing_public_keys,
        })
    }
}

fn random_key() -> SecretSlice<u8> {
    let mut key = vec![0u8; KEY_LEN];
    OsRng.fill_bytes(&mut key);
    SecretSlice::from(key)
}

/// Decodes base64 text of exactly [`KEY_LEN`] bytes; the error is a reason without secret data.
fn decode_key(text: &str) -> Result<SecretSlice<u8>, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("value is empty".to_owned());
    }
    let mut bytes = Zeroizing::new(
        STANDARD_LENIENT
            .decode(text)
            .map_err(|_| "not valid base64 (standard alphabet)".to_owned())?,
    );
    if bytes.len() != KEY_LEN {
        return Err(format!(
            "must decode to {KEY_LEN} bytes, got {}",
            bytes.len()
        ));
    }
    Ok(SecretSlice::from(std::mem::take(&mut *bytes)))
}

fn load_one(
    env: &dyn Fn(&str) -> Option<String>,
    dir: &Path,
    generate_missing: bool,
    spec: &KeySpec,
) -> Result<SecretSlice<u8>, KeyError> {
    if let Some(value) = env(spec.env) {
        let value = Zeroizing::new(value);
        return decode_key(&value).map_err(|reason| KeyError::Invalid {
            name: spec.env,
            reason,
        });
    }

    let path = dir.join(spec.file);
    if let Some(key) = read_key_file(&path, spec)? {
        return Ok(key);
    }

    if !generate_missing {
        return Err(KeyError::Missing { name: spec.env });
    }
    generate_key_file(dir, &path, spec)
}

/// `Ok(None)` if the file does not exist.
fn read_key_file(path: &Path, spec: &KeySpec) -> Result<Option<SecretSlice<u8>>, KeyError> {
    let text = match fs::read_to_string(path) {
        Ok(text) => Zeroizing::new(text),
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(KeyError::Io {
                path: path.to_owned(),
                source,
            })
        }
    };
    warn_if_too_open(path, spec);
    decode_key(&text)
        .map(Some)
        .map_err(|reason| KeyError::Invalid {
            name: spec.env,
            reason: format!("in file {}: {reason}", path.display()),
        })
}

#[cfg(unix)]
fn warn_if_too_open(path: &Path, spec: &KeySpec) {
    use std::os::unix::fs::PermissionsExt;
    if let Ok(meta) = fs::metadata(path) {
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                file = spec.file,
                "key file is accessible to group or others; it should be mode 0600"
            );
        }
    }
}

#[cfg(not(unix))]
fn warn_if_too_open(_path: &Path, _spec: &KeySpec) {}

fn io_err(path: &Path) -> impl FnOnce(io::Error) -> KeyError + '_ {
    move |source| KeyError::Io {
        path: path.to_owned(),
        source,
    }
}

fn create_key_dir(dir: &Path) -> Result<(), KeyError> {
    let mut builder = fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::DirBuilderExt;
        builder.mode(0o700);
    }
    builder.create(dir).map_err(io_err(dir))
}

fn create_private_file(path: &Path) -> io::Result<fs::File> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options.open(path)
}

/// Flushes the directory entry so a freshly generated key survives a crash.
#[cfg(unix)]
fn sync_dir(dir: &Path) {
    if let Ok(d) = fs::File::open(dir) {
        let _ = d.sync_all();
    }
}

#[cfg(not(unix))]
fn sync_dir(_dir: &Path) {}

fn generate_key_file(dir: &Path, path: &Path, spec: &KeySpec) -> Result<SecretSlice<u8>, KeyError> {
    create_key_dir(dir)?;

    let mut raw = Zeroizing::new(vec![0u8; KEY_LEN]);
    OsRng.fill_bytes(&mut raw);
    let mut text = Zeroizing::new(STANDARD.encode(&*raw));
    text.push('\n');

    let tmp = dir.join(format!(
        ".{}.tmp-{}-{:016x}",
        spec.file,
        std::process::id(),
        OsRng.next_u64()
    ));
    let written = create_private_file(&tmp).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_all()
    });
    if let Err(source) = written {
        let _ = fs::remove_file(&tmp);
        return Err(KeyError::Io { path: tmp, source });
    }

    // Publish with a hard link: atomic, and fails instead of overwriting if another process
    // generated the same key meanwhile (two instances must never end up with different keys).
    match fs::hard_link(&tmp, path) {
        Ok(()) => {
            let _ = fs::remove_file(&tmp);
        }
        Err(e) if e.kind() == io::ErrorKind::AlreadyExists => {
            let _ = fs::remove_file(&tmp);
            return match read_key_file(path, spec)? {
                Some(key) => Ok(key),
                None => Err(KeyError::Io {
                    path: path.to_owned(),
                    source: io::Error::new(io::ErrorKind::NotFound, "key file vanished"),
                }),
            };
        }
        // File systems without hard links: fall back to an atomic rename.
        Err(_) => {
            if let Err(source) = fs::rename(&tmp, path) {
                let _ = fs::remove_file(&tmp);
                return Err(KeyError::Io {
                    path: path.to_owned(),
                    source,
                });
            }
        }
    }
    sync_dir(dir);

    tracing::info!(file = spec.file, "generated key");
    Ok(SecretSlice::from(std::mem::take(&mut *raw)))
}

fn parse_previous_public_keys(value: Option<&str>) -> Result<Vec<[u8; 32]>, KeyError> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    let invalid = |reason: String| KeyError::Invalid {
        name: PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
        reason,
    };
    let mut keys: Vec<[u8; 32]> = Vec::new();
    for (i, part) in value.split(',').map(str::trim).enumerate() {
        if part.is_empty() {
            continue;
        }
        let bytes = URL_SAFE_LENIENT
            .decode(part)
            .map_err(|_| invalid(format!("entry {} is not valid base64url", i + 1)))?;
        let key: [u8; 32] = bytes.as_slice().try_into().map_err(|_| {
            invalid(format!(
                "entry {} must decode to 32 bytes, got {}",
                i + 1,
                bytes.len()
            ))
        })?;
        match ed25519_dalek::VerifyingKey::from_bytes(&key) {
            Ok(vk) if !vk.is_weak() => {}
            _ => {
                return Err(invalid(format!(
                    "entry {} is not a valid Ed25519 public key",
                    i + 1
                )))
            }
        }
        if !keys.contains(&key) {
            keys.push(key);
        }
    }
    Ok(keys)
}

/// Base64url (no padding) of a public key, the format `SHEBAO_PREVIOUS_SIGNING_PUBLIC_KEYS` expects.
pub fn encode_public_key(key: &[u8; 32]) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use secrecy::ExposeSecret;
    use std::collections::HashMap;

    fn env_of(pairs: &[(&str, String)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        move |name| map.get(name).cloned()
    }

    fn no_env(_: &str) -> Option<String> {
        None
    }

    #[test]
    fn generate_gives_distinct_32_byte_keys() {
        let k = KeyMaterial::generate();
        assert_eq!(k.pii_key.expose_secret().len(), 32);
        assert_eq!(k.blind_index_key.expose_secret().len(), 32);
        assert_eq!(k.signing_key_seed.expose_secret().len(), 32);
        assert_ne!(k.pii_key.expose_secret(), k.blind_index_key.expose_secret());
        assert!(k.previous_signing_public_keys.is_empty());
    }

    #[test]
    fn debug_is_redacted() {
        let k = KeyMaterial::generate();
        assert_eq!(format!("{k:?}"), "KeyMaterial { .. redacted .. }");
    }

    #[test]
    fn load_from_env() {
        let dir = tempfile::tempdir().unwrap();
        let a = [1u8; 32];
        let b = [2u8; 32];
        let c = [3u8; 32];
        let env = env_of(&[
            (PII_KEY_ENV, STANDARD.encode(a)),
            // padding is optional
            (
                BLIND_INDEX_KEY_ENV,
                STANDARD.encode(b).trim_end_matches('=').to_owned(),
            ),
            (SIGNING_KEY_ENV, format!(" {}\n", STANDARD.encode(c))),
        ]);
        let k = KeyMaterial::load(&env, dir.path(), false).unwrap();
        assert_eq!(k.pii_key.expose_secret(), &a);
        assert_eq!(k.blind_index_key.expose_secret(), &b);
        assert_eq!(k.signing_key_seed.expose_secret(), &c);
        assert!(k.previous_signing_public_keys.is_empty());
        // nothing was written
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn load_from_files_and_env_overrides_file() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(PII_KEY_FILE),
            STANDARD.encode([4u8; 32]) + "\n",
        )
        .unwrap();
        fs::write(
            dir.path().join(BLIND_INDEX_KEY_FILE),
            STANDARD.encode([5u8; 32]),
        )
        .unwrap();
        fs::write(
            dir.path().join(SIGNING_KEY_FILE),
            STANDARD.encode([6u8; 32]),
        )
        .unwrap();
        let k = KeyMaterial::load(&no_env, dir.path(), false).unwrap();
        assert_eq!(k.pii_key.expose_secret(), &[4u8; 32]);
        assert_eq!(k.blind_index_key.expose_secret(), &[5u8; 32]);
        assert_eq!(k.signing_key_seed.expose_secret(), &[6u8; 32]);

        let env = env_of(&[(PII_KEY_ENV, STANDARD.encode([7u8; 32]))]);
        let k = KeyMaterial::load(&env, dir.path(), false).unwrap();
        assert_eq!(k.pii_key.expose_secret(), &[7u8; 32]);
        assert_eq!(k.blind_index_key.expose_secret(), &[5u8; 32]);
    }

    #[test]
    fn generation_creates_private_files_and_reload_gives_same_keys() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("nested").join("keys");
        let k1 = KeyMaterial::load(&no_env, &dir, true).unwrap();
        for file in [PII_KEY_FILE, BLIND_INDEX_KEY_FILE, SIGNING_KEY_FILE] {
            let path = dir.join(file);
            assert!(path.is_file(), "{file} not created");
            #[cfg(unix)]
            {
                use std::os::unix::fs::PermissionsExt;
                let mode = fs::metadata(&path).unwrap().permissions().mode() & 0o777;
                assert_eq!(mode, 0o600, "{file} mode {mode:o}");
            }
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&dir).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700, "dir mode {mode:o}");
        }
        // no temporary files left behind
        assert_eq!(fs::read_dir(&dir).unwrap().count(), 3);

        let k2 = KeyMaterial::load(&no_env, &dir, false).unwrap();
        assert_eq!(k1.pii_key.expose_secret(), k2.pii_key.expose_secret());
        assert_eq!(
            k1.blind_index_key.expose_secret(),
            k2.blind_index_key.expose_secret()
        );
        assert_eq!(
            k1.signing_key_seed.expose_secret(),
            k2.signing_key_seed.expose_secret()
        );
        assert_ne!(
            k1.pii_key.expose_secret(),
            k1.signing_key_seed.expose_secret()
        );

        // generating again with the files present changes nothing
        let k3 = KeyMaterial::load(&no_env, &dir, true).unwrap();
        assert_eq!(k1.pii_key.expose_secret(), k3.pii_key.expose_secret());
    }

    #[test]
    fn generation_only_fills_in_missing_keys() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PII_KEY_FILE), STANDARD.encode([9u8; 32])).unwrap();
        let k = KeyMaterial::load(&no_env, dir.path(), true).unwrap();
        assert_eq!(k.pii_key.expose_secret(), &[9u8; 32]);
        assert!(dir.path().join(SIGNING_KEY_FILE).is_file());
    }

    fn expect_invalid(result: Result<KeyMaterial, KeyError>, expected: &str) -> String {
        match result {
            Err(KeyError::Invalid { name, reason }) => {
                assert_eq!(name, expected);
                reason
            }
            other => panic!("expected Invalid({expected}), got {other:?}"),
        }
    }

    #[test]
    fn bad_base64_or_length_is_invalid_naming_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let good = STANDARD.encode([1u8; 32]);

        let env = env_of(&[(PII_KEY_ENV, "not base64 !!".to_owned())]);
        expect_invalid(KeyMaterial::load(&env, dir.path(), true), PII_KEY_ENV);

        let env = env_of(&[
            (PII_KEY_ENV, good.clone()),
            (BLIND_INDEX_KEY_ENV, STANDARD.encode([1u8; 16])),
        ]);
        let reason = expect_invalid(
            KeyMaterial::load(&env, dir.path(), true),
            BLIND_INDEX_KEY_ENV,
        );
        assert!(reason.contains("32 bytes"), "{reason}");

        let env = env_of(&[
            (PII_KEY_ENV, good.clone()),
            (BLIND_INDEX_KEY_ENV, good.clone()),
            (SIGNING_KEY_ENV, String::new()),
        ]);
        expect_invalid(KeyMaterial::load(&env, dir.path(), true), SIGNING_KEY_ENV);

        // url-safe alphabet is not the standard alphabet
        let env = env_of(&[(PII_KEY_ENV, URL_SAFE_NO_PAD.encode([0xfbu8; 32]))]);
        expect_invalid(KeyMaterial::load(&env, dir.path(), false), PII_KEY_ENV);

        // nothing was generated while failing
        assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn bad_key_file_is_invalid() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(PII_KEY_FILE), "garbage").unwrap();
        let reason = expect_invalid(KeyMaterial::load(&no_env, dir.path(), true), PII_KEY_ENV);
        assert!(reason.contains(PII_KEY_FILE), "{reason}");
        // an invalid file is never overwritten by generation
        assert_eq!(
            fs::read_to_string(dir.path().join(PII_KEY_FILE)).unwrap(),
            "garbage"
        );
    }

    #[test]
    fn missing_without_generation() {
        let dir = tempfile::tempdir().unwrap();
        match KeyMaterial::load(&no_env, dir.path(), false) {
            Err(KeyError::Missing { name }) => assert_eq!(name, PII_KEY_ENV),
            other => panic!("expected Missing, got {other:?}"),
        }
        let env = env_of(&[
            (PII_KEY_ENV, STANDARD.encode([1u8; 32])),
            (BLIND_INDEX_KEY_ENV, STANDARD.encode([2u8; 32])),
        ]);
        match KeyMaterial::load(&env, dir.path(), false) {
            Err(KeyError::Missing { name }) => assert_eq!(name, SIGNING_KEY_ENV),
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    #[test]
    fn unreadable_key_path_is_io_error() {
        let dir = tempfile::tempdir().unwrap();
        // a directory where the file should be
        fs::create_dir(dir.path().join(PII_KEY_FILE)).unwrap();
        match KeyMaterial::load(&no_env, dir.path(), true) {
            Err(KeyError::Io { path, .. }) => assert!(path.ends_with(PII_KEY_FILE)),
            other => panic!("expected Io, got {other:?}"),
        }
    }

    fn public_key_of(seed: u8) -> [u8; 32] {
        ed25519_dalek::SigningKey::from_bytes(&[seed; 32])
            .verifying_key()
            .to_bytes()
    }

    #[test]
    fn previous_public_keys() {
        let dir = tempfile::tempdir().unwrap();
        let base = [
            (PII_KEY_ENV, STANDARD.encode([1u8; 32])),
            (BLIND_INDEX_KEY_ENV, STANDARD.encode([2u8; 32])),
            (SIGNING_KEY_ENV, STANDARD.encode([3u8; 32])),
        ];
        let p1 = public_key_of(10);
        let p2 = public_key_of(11);

        let mut pairs = base.to_vec();
        pairs.push((
            PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
            format!("{}, {},", encode_public_key(&p1), encode_public_key(&p2)),
        ));
        let k = KeyMaterial::load(&env_of(&pairs), dir.path(), false).unwrap();
        assert_eq!(k.previous_signing_public_keys, vec![p1, p2]);

        let mut pairs = base.to_vec();
        pairs.push((PREVIOUS_SIGNING_PUBLIC_KEYS_ENV, " ".to_owned()));
        let k = KeyMaterial::load(&env_of(&pairs), dir.path(), false).unwrap();
        assert!(k.previous_signing_public_keys.is_empty());

        let mut pairs = base.to_vec();
        pairs.push((
            PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
            URL_SAFE_NO_PAD.encode([1u8; 31]),
        ));
        expect_invalid(
            KeyMaterial::load(&env_of(&pairs), dir.path(), false),
            PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
        );

        let mut pairs = base.to_vec();
        pairs.push((PREVIOUS_SIGNING_PUBLIC_KEYS_ENV, "@@@".to_owned()));
        expect_invalid(
            KeyMaterial::load(&env_of(&pairs), dir.path(), false),
            PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
        );

        // the identity point is a weak key
        let mut identity = [0u8; 32];
        identity[0] = 1;
        let mut pairs = base.to_vec();
        pairs.push((
            PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
            encode_public_key(&identity),
        ));
        expect_invalid(
            KeyMaterial::load(&env_of(&pairs), dir.path(), false),
            PREVIOUS_SIGNING_PUBLIC_KEYS_ENV,
        );
    }
}
