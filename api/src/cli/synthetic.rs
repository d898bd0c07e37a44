//! The CLI's synthetic-data commands: `seed --persons` (with `--history-months`) and the
//! benchmarks' `bench tokens` and `bench import-file`. Compiled with the `synthetic` feature.

use std::io::Write;
use std::time::Instant;

use anyhow::Context;
use shebao_domain::ports::Clock;
use shebao_infra::clock::SystemClock;
use shebao_infra::db::DbConnection;
use shebao_infra::synthetic as seed;
use shebao_security::{PasswordHasher, PiiVault};

use super::{load, migrated, out, SeedArgs};

/// `seed --persons N`: a synthetic population, then its history if asked for.
pub fn seed_persons(
    conn: &mut DbConnection,
    vault: &PiiVault,
    n: u64,
    args: &SeedArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let started = Instant::now();
    let s = seed::synthetic(conn, vault, n, args.seed, now, |done| {
        if done % 10_000 == 0 {
            let _ = writeln!(std::io::stderr(), "  {done} persons");
        }
    })?;
    let secs = started.elapsed().as_secs_f64();
    out(&format!(
        "{} persons seeded (seed {}) in {:.1} s ({:.0} persons/s)",
        s.persons,
        args.seed,
        secs,
        s.persons as f64 / secs.max(1e-9)
    ));
    if args.history_months > 0 {
        seed_history(conn, args, now)?;
    }
    Ok(())
}

fn seed_history(
    conn: &mut DbConnection,
    args: &SeedArgs,
    now: chrono::DateTime<chrono::Utc>,
) -> anyhow::Result<()> {
    let loader = match args.history_loader.as_str() {
        "insert" => seed::HistoryLoader::Insert,
        _ => seed::HistoryLoader::Auto,
    };
    let started = Instant::now();
    let mut reported = 0u64;
    let h = seed::synthetic_history(conn, args.seed, args.history_months, loader, now, |done| {
        if done >= reported + 1_000_000 {
            reported = done;
            let secs = started.elapsed().as_secs_f64();
            let _ = writeln!(
                std::io::stderr(),
                "  {done} contribution rows ({:.0} rows/s)",
                done as f64 / secs.max(1e-9)
            );
        }
    })?;
    let secs = started.elapsed().as_secs_f64();
    out(&format!(
        "{} contribution rows ({} to {}, {} persons, {} employers) loaded by {} in {:.1} s ({:.0} rows/s)",
        h.rows,
        h.first,
        h.last,
        h.persons,
        h.employers,
        h.loader,
        secs,
        h.rows as f64 / secs.max(1e-9)
    ));
    Ok(())
}

/// Writes access tokens of fresh sessions of synthetic persons, for load tests.
/// `shebao bench statements`: the records endpoints' statements for one person, with the
/// parameters the server would bind now (the person's local date and region's due day).
pub fn bench_statements(person: uuid::Uuid, limit: usize) -> anyhow::Result<()> {
    use shebao_infra::records::contributions;
    let settings = shebao_infra::config::Settings::from_env(&super::env)?;
    let mut conn = migrated(&settings)?;
    let today = shebao_infra::registry::persons::local_today(&mut conn, person, SystemClock.now())?
        .with_context(|| format!("no person {person}"))?;
    let due_day = contributions::due_day_of(&mut conn, person)?;
    for (name, (sql, params)) in [
        (
            "list",
            contributions::list_statement_postgres(person, limit),
        ),
        (
            "summary",
            contributions::summary_statement_postgres(person, due_day, today),
        ),
    ] {
        out(&format!("{name}\t{sql}"));
        out(&format!("{name}-params\t{}", params.join("\t")));
    }
    Ok(())
}

/// `shebao bench near-statements`: the statement a "near me" search runs for a person's token
/// (what coverage needs to know about them; the search itself reads the server's copy).
pub fn near_statements(person: uuid::Uuid) -> anyhow::Result<()> {
    use shebao_infra::institutions::store;
    out(&store::insured_statement_postgres(person));
    Ok(())
}

pub fn bench_tokens(count: u64, path: &str) -> anyhow::Result<()> {
    use crate::auth::extract::ACCESS_TOKEN_USE;
    use crate::auth::person::{PersonClaims, APP_AUDIENCE};
    use shebao_security::TokenSigner;

    let (settings, keys) = load()?;
    let vault = PiiVault::new(&keys);
    let signer = TokenSigner::new(&keys).context("loading the signing key")?;
    let mut conn = migrated(&settings)?;
    // Nobody signs in with these accounts: one hash of a random password serves them all.
    let password = shebao_security::opaque::random_token();
    let hash = PasswordHasher::new(1).hash_blocking(&password)?;
    let now = SystemClock.now();
    let sessions = seed::bench_sessions(&mut conn, &vault, count, &hash, now)?;
    let iat = now.timestamp();
    let mut text = String::new();
    for s in &sessions {
        let claims = PersonClaims {
            iss: settings.token_issuer.clone(),
            aud: APP_AUDIENCE.to_owned(),
            sub: s.account_id.to_string(),
            sid: s.session_id.to_string(),
            exp: iat + settings.access_token_ttl_secs,
            iat,
            jti: uuid::Uuid::now_v7().to_string(),
            token_use: ACCESS_TOKEN_USE.to_owned(),
            step_up_until: None,
        };
        text.push_str(&signer.sign(&claims).context("signing a token")?);
        text.push('\n');
    }
    if path == "-" {
        let _ = std::io::stdout().lock().write_all(text.as_bytes());
    } else {
        private_file(path)?
            .write_all(text.as_bytes())
            .with_context(|| format!("writing {path}"))?;
        let _ = writeln!(
            std::io::stderr(),
            "{} access tokens (valid {} s, persons {} to {}) written to {path}",
            sessions.len(),
            settings.access_token_ttl_secs,
            sessions.first().map_or("-", |s| s.card_number.as_str()),
            sessions.last().map_or("-", |s| s.card_number.as_str()),
        );
    }
    Ok(())
}

/// Writes the bulk-loader benchmark's import file.
pub fn bench_import_file(persons: u64, months: u32, path: &str) -> anyhow::Result<()> {
    let (settings, keys) = load()?;
    let vault = PiiVault::new(&keys);
    let mut conn = migrated(&settings)?;
    let now = SystemClock.now();
    let sink: Box<dyn Write> = if path == "-" {
        Box::new(std::io::stdout().lock())
    } else {
        Box::new(private_file(path)?)
    };
    let mut w = std::io::BufWriter::new(sink);
    let lines = seed::bench_import_lines(&mut conn, &vault, persons, months, now, &mut w)?;
    let _ = writeln!(
        std::io::stderr(),
        "{lines} contribution lines ({persons} persons × {months} months × 2 insurances) written to {path}"
    );
    Ok(())
}

/// Opens `path` for writing with mode 0600 (it may hold tokens or ID numbers).
fn private_file(path: &str) -> anyhow::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    options
        .open(path)
        .with_context(|| format!("opening {path}"))
}
