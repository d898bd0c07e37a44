//! The `shebao` command line: serve (the default), worker, migrate, seed, admin, openapi.

use std::io::{BufRead, Write};
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use shebao_domain::ports::Clock;
use shebao_domain::staff::{Password, StaffRole, Username};
use shebao_infra::clock::SystemClock;
use shebao_infra::config::Settings;
use shebao_infra::db::{run_migrations, DbConnection};
use shebao_infra::registry::staff;
use shebao_infra::seed;
use shebao_security::{KeyMaterial, PasswordHasher, PiiVault};

use crate::startup::Application;
use crate::{openapi_doc, telemetry};

#[cfg(feature = "synthetic")]
mod notices_bench;
#[cfg(feature = "synthetic")]
pub mod pay_bench;
#[cfg(feature = "synthetic")]
mod reminders_bench;
#[cfg(feature = "synthetic")]
mod synthetic;

/// Without the `synthetic` feature (the container image), the benchmark commands say so.
#[cfg(not(feature = "synthetic"))]
fn no_synthetic() -> anyhow::Error {
    anyhow::anyhow!(
        "this build has no synthetic data: build shebao with the `synthetic` feature (on by default)"
    )
}

#[derive(Debug, Parser)]
#[command(
    name = "shebao",
    version,
    about = "Shebao: social security in your pocket (API server and tools)"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the API server (the default). Applies migrations first.
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Run background jobs only (no HTTP server) until SIGTERM. Applies migrations first.
    Worker,
    /// Load demo data, or generate a synthetic population for benchmarks.
    Seed(SeedArgs),
    /// Administration tasks.
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Benchmark helpers (not for production databases).
    #[command(hide = true)]
    Bench {
        #[command(subcommand)]
        command: BenchCommand,
    },
    /// Reconcile a day's payments against the gateway's trade bill (Beijing date): pending
    /// payments the bill lists become paid and are posted; differences are printed as JSON.
    Reconcile {
        /// The bill's day, YYYY-MM-DD (default: yesterday in Beijing).
        #[arg(long)]
        date: Option<chrono::NaiveDate>,
    },
    /// Write the OpenAPI document.
    Openapi {
        /// Where to write it; `-` for standard output.
        #[arg(long, default_value = "openapi/openapi.json")]
        output: String,
    },
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).multiple(false).args(["demo", "persons"])))]
pub struct SeedArgs {
    /// The demo: two regions with parameters since 2014, employers, and persons with monthly history.
    #[arg(long)]
    pub demo: bool,
    /// Generate this many fictional persons.
    #[arg(long)]
    pub persons: Option<u64>,
    /// Random seed for --persons: the same seed gives the same population.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// With --persons: also this many months (ending last month) of paid pension, medical and
    /// unemployment contributions per person (flexible persons: pension only).
    #[arg(long, default_value_t = 0, requires = "persons")]
    pub history_months: u32,
    /// How the history is loaded: `auto` (COPY on PostgreSQL, multi-row INSERT on SQLite) or
    /// `insert` (multi-row INSERT everywhere, for comparison).
    #[arg(long, default_value = "auto", hide = true, value_parser = ["auto", "insert"])]
    pub history_loader: String,
}

#[derive(Debug, Subcommand)]
pub enum BenchCommand {
    /// For the first COUNT synthetic persons (by card number): create an app account bound to
    /// the person, open a session, and write one access token per line to OUT. The tokens live
    /// SHEBAO_ACCESS_TOKEN_TTL_SECS and are signed with the server's key. For load tests only.
    Tokens {
        #[arg(long)]
        count: u64,
        /// The file to write (mode 0600); `-` for standard output.
        #[arg(long)]
        out: String,
    },
    /// The payment flows' throughput against an in-process gateway stand-in: ORDERS orders of
    /// flexible-employment persons' payables (synthetic persons), then a notification for each,
    /// DUPLICATES percent of both repeated. Writes payments into the database.
    Payments {
        #[arg(long, default_value_t = 10_000)]
        orders: usize,
        #[arg(long, default_value_t = 10)]
        duplicates: usize,
        #[arg(long, default_value_t = 32)]
        concurrency: usize,
    },
    /// Writes a contributions import file (JSON Lines) for the bulk-loader benchmark: work-injury
    /// and maternity months (new keys beside the seeded history) of the first PERSONS employed
    /// synthetic persons, MONTHS months each: 2 × PERSONS × MONTHS lines.
    ImportFile {
        #[arg(long)]
        persons: u64,
        #[arg(long)]
        months: u32,
        /// The file to write (mode 0600: it holds ID numbers); `-` for standard output.
        #[arg(long)]
        out: String,
    },
    /// The `due` campaign's audience for the reminders benchmark: PERSONS synthetic persons, all
    /// in flexible employment, each with an app account bound to them and MONTH unpaid.
    ReminderAudience {
        #[arg(long)]
        persons: u64,
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// YYYY-MM (default: this month in Beijing).
        #[arg(long)]
        month: Option<String>,
    },
    /// Fires CAMPAIGN's slot containing AS_OF (default now) as the staff route does, runs the
    /// campaign job in this process to its end, and prints the reminders enqueued and the time.
    FireCampaign {
        #[arg(long)]
        campaign: String,
        #[arg(long)]
        as_of: Option<chrono::DateTime<chrono::Utc>>,
    },
    /// Prints the statements `GET /v1/me/contributions` (first page) and
    /// `GET /v1/me/contributions/summary` run for PERSON, as PostgreSQL receives them, each on a
    /// line `list|summary <TAB> SQL` followed by a line `list|summary-params <TAB> values` (tab
    /// separated): what the records bench hands `pgbench -M prepared` as the database's ceiling.
    Statements {
        #[arg(long)]
        person: uuid::Uuid,
        /// The list's page size (the endpoint's default is 50).
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Prints the statement `GET /v1/institutions` runs with PERSON's token, as PostgreSQL
    /// receives it with its values written in: what coverage needs to know about the person
    /// (the search itself reads the server's in-memory copy of the institutions and runs no
    /// SQL). What the institutions bench hands pgbench.
    NearStatements {
        #[arg(long)]
        person: uuid::Uuid,
    },
    /// Prints the SQL that counts NOTICE's audience on AS_OF (default today in Beijing), with
    /// its parameters written in (PostgreSQL): for `EXPLAIN` and pgbench in bench/notices.sh.
    NoticeSql {
        #[arg(long)]
        notice: uuid::Uuid,
        #[arg(long)]
        as_of: Option<chrono::NaiveDate>,
    },
    /// Runs the SMS stand-in on LISTEN until SIGTERM (for `shebao worker` processes to send to).
    SmsStandin {
        #[arg(long, default_value = "127.0.0.1:8081")]
        listen: String,
        #[arg(long)]
        account_sid: String,
        #[arg(long)]
        auth_token: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create a staff account; the password is read from standard input (one line).
    CreateStaff {
        #[arg(long)]
        username: String,
        /// `admin` or `caseworker`.
        #[arg(long)]
        role: String,
        /// The region (6-digit code) a caseworker serves: they see and decide only its
        /// applications. Without it, all regions.
        #[arg(long)]
        region: Option<String>,
    },
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok()
}

fn out(line: &str) {
    let mut stdout = std::io::stdout().lock();
    let _ = writeln!(stdout, "{line}");
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load() -> anyhow::Result<(Settings, KeyMaterial)> {
    let settings = Settings::from_env(&env)?;
    telemetry::init(&settings.log, settings.log_format);
    let keys = KeyMaterial::load(&env, &settings.key_dir, settings.generate_keys)
        .context("loading keys (set SHEBAO_PII_KEY, SHEBAO_BLIND_INDEX_KEY and SHEBAO_SIGNING_KEY, or SHEBAO_GENERATE_KEYS=true)")?;
    Ok((settings, keys))
}

fn migrated(settings: &Settings) -> anyhow::Result<DbConnection> {
    let mut conn = DbConnection::open(&settings.database_url)?;
    run_migrations(&mut conn)?;
    Ok(conn)
}

#[cfg(feature = "synthetic")]
fn bench(command: BenchCommand) -> anyhow::Result<()> {
    match command {
        BenchCommand::Tokens { count, out } => synthetic::bench_tokens(count, &out),
        BenchCommand::Statements { person, limit } => synthetic::bench_statements(person, limit),
        BenchCommand::Payments {
            orders,
            duplicates,
            concurrency,
        } => pay_bench::bench_payments(orders, duplicates.min(50), concurrency.max(1)),
        BenchCommand::ImportFile {
            persons,
            months,
            out,
        } => synthetic::bench_import_file(persons, months, &out),
        BenchCommand::ReminderAudience {
            persons,
            seed,
            month,
        } => reminders_bench::reminder_audience(persons, seed, month.as_deref()),
        BenchCommand::FireCampaign { campaign, as_of } => {
            reminders_bench::fire_campaign(&campaign, as_of)
        }
        BenchCommand::SmsStandin {
            listen,
            account_sid,
            auth_token,
        } => reminders_bench::sms_standin(&listen, &account_sid, &auth_token),
        BenchCommand::NearStatements { person } => synthetic::near_statements(person),
        BenchCommand::NoticeSql { notice, as_of } => notices_bench::notice_sql(notice, as_of),
    }
}

#[cfg(not(feature = "synthetic"))]
fn bench(_: BenchCommand) -> anyhow::Result<()> {
    Err(no_synthetic())
}

pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command.unwrap_or(Command::Serve) {
        Command::Serve => {
            let (settings, keys) = load()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let app = Application::build(settings, keys, Arc::new(SystemClock)).await?;
                app.run_until_stopped().await?;
                tracing::info!("stopped");
                Ok(())
            })
        }
        Command::Worker => {
            let (settings, keys) = load()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(crate::worker::run_worker(
                settings,
                keys,
                Arc::new(SystemClock),
            ))
        }
        Command::Migrate => {
            let (settings, _) = load()?;
            let mut conn = DbConnection::open(&settings.database_url)?;
            let set = run_migrations(&mut conn)?;
            out(&format!("{} migration(s) applied", set.applied.len()));
            for m in set.applied {
                out(&format!("  {m}"));
            }
            Ok(())
        }
        Command::Seed(args) => {
            let (settings, keys) = load()?;
            let vault = PiiVault::new(&keys);
            let mut conn = migrated(&settings)?;
            let now = SystemClock.now();
            if args.demo {
                if !seed::is_empty(&mut conn)? {
                    out("the database already holds data; the demo is loaded only into an empty database");
                    return Ok(());
                }
                let s = seed::demo(&mut conn, &vault, now)?;
                out(&format!(
                    "demo loaded: {} regions, {} employers, {} persons, {} monthly contribution rows, {} medical transactions, {} benefit payments, {} notices, {} institutions with {} appointment slots",
                    s.regions, s.employers, s.persons, s.contributions, s.medical_transactions, s.benefit_payments, s.notices, s.institutions, s.slots
                ));
                out(&format!(
                    "demo person (fictional): name {}, national ID {}, card number {}",
                    s.demo_person.name, s.demo_person.national_id, s.demo_person.card_number
                ));
            } else if let Some(n) = args.persons {
                #[cfg(feature = "synthetic")]
                synthetic::seed_persons(&mut conn, &vault, n, &args, now)?;
                #[cfg(not(feature = "synthetic"))]
                return Err(no_synthetic().context(format!("seed --persons {n}")));
            }
            Ok(())
        }
        Command::Bench { command } => bench(command),
        Command::Admin {
            command:
                AdminCommand::CreateStaff {
                    username,
                    role,
                    region,
                },
        } => {
            let region = region
                .map(|r| {
                    shebao_domain::region::RegionCode::parse(&r)
                        .map_err(|e| anyhow::anyhow!("--region {e}"))
                })
                .transpose()?;
            let (settings, _) = load()?;
            let username =
                Username::parse(&username).map_err(|e| anyhow::anyhow!("--username {e}"))?;
            let role = StaffRole::parse(&role).map_err(|e| anyhow::anyhow!("--role {e}"))?;
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the password from standard input")?;
            let password = line.trim_end_matches(['\r', '\n']);
            let password =
                Password::parse(password).map_err(|e| anyhow::anyhow!("password {e}"))?;
            let hash = PasswordHasher::new(1).hash_blocking(password.expose())?;
            let mut conn = migrated(&settings)?;
            if let Some(r) = &region {
                if !shebao_infra::registry::regions::exists(&mut conn, r)? {
                    bail!("--region {}: no such region", r.as_str());
                }
            }
            let now = SystemClock.now().naive_utc();
            match staff::insert(&mut conn, &username, &hash, role, now)? {
                Ok(id) => {
                    if let Some(r) = &region {
                        staff::set_region(&mut conn, id, Some(r.as_str()), now)?;
                    }
                    out(&format!(
                        "staff account {} ({}{}) created with id {id}",
                        username.as_str(),
                        role.as_str(),
                        region
                            .as_ref()
                            .map(|r| format!(", region {}", r.as_str()))
                            .unwrap_or_default()
                    ));
                    Ok(())
                }
                Err(_) => bail!("a staff account named {} exists already", username.as_str()),
            }
        }
        Command::Reconcile { date } => {
            let (settings, _) = load()?;
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()?;
            runtime.block_on(async move {
                let db = shebao_infra::db::Db::connect(
                    &settings.database_url,
                    &settings.pool_options(),
                )?;
                db.run(run_migrations).await?;
                let clock: Arc<dyn shebao_domain::ports::Clock> = Arc::new(SystemClock);
                let date = date.unwrap_or_else(|| {
                    (clock.now() + chrono::TimeDelta::hours(8)).date_naive()
                        - chrono::TimeDelta::days(1)
                });
                let payments = crate::startup::payments_for_command(&settings, db, clock)?;
                let result = payments
                    .reconcile(date)
                    .await
                    .map_err(|e| anyhow::anyhow!("reconciling {date}: {e}"))?;
                out(&serde_json::to_string_pretty(&result)?);
                Ok(())
            })
        }
        Command::Openapi { output } => {
            let doc = openapi_doc::render();
            if output == "-" {
                let _ = std::io::stdout().lock().write_all(doc.as_bytes());
            } else {
                std::fs::write(&output, doc).with_context(|| format!("writing {output}"))?;
                out(&format!("wrote {output}"));
            }
            Ok(())
        }
    }
}
