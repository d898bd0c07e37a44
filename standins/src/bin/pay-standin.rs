//! Runs the payment gateway stand-in on its own, for the demo and the SDK check.
//!
//! ```text
//! cargo run -p shebao-standins --bin pay-standin -- [--listen ADDR] [--key-dir DIR] [--notify-retry-ms MS]
//! ```
//!
//! Generates the demo's key pairs and APIv3 key, writes the merchant's private key and the
//! platform's public key into the key directory (default `data/keys`), prints the service's
//! `SHEBAO_PAY_*` settings as `NAME=value` lines (the APIv3 key included: demo keys only), then
//! serves until SIGINT or SIGTERM. `--listen` defaults to `SHEBAO_PAY_STANDIN_LISTEN`, else
//! `127.0.0.1:8082`; `--notify-retry-ms` replaces the real retry schedule by that fixed pause.

use std::io::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use shebao_standins::pay::{PayStandIn, PayStandInConfig, ServiceSettings};

struct Args {
    listen: String,
    key_dir: PathBuf,
    notify_retry_ms: Option<u64>,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        listen: std::env::var("SHEBAO_PAY_STANDIN_LISTEN")
            .ok()
            .filter(|v| !v.trim().is_empty())
            .unwrap_or_else(|| "127.0.0.1:8082".to_owned()),
        key_dir: PathBuf::from("data/keys"),
        notify_retry_ms: None,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || it.next().ok_or(format!("{flag} needs a value"));
        match flag.as_str() {
            "--listen" => args.listen = value()?,
            "--key-dir" => args.key_dir = PathBuf::from(value()?),
            "--notify-retry-ms" => {
                args.notify_retry_ms = Some(value()?.parse().map_err(|e| format!("{flag}: {e}"))?)
            }
            other => {
                return Err(format!(
                    "unknown argument {other}; usage: pay-standin [--listen ADDR] [--key-dir DIR] [--notify-retry-ms MS]"
                ))
            }
        }
    }
    Ok(args)
}

#[actix_web::main]
async fn main() -> Result<(), String> {
    let args = parse_args()?;
    let mut config = PayStandInConfig::demo().map_err(|e| e.to_string())?;
    if let Some(ms) = args.notify_retry_ms {
        config.notify_retry_delays = vec![Duration::from_millis(ms); 5];
    }
    let files = config
        .keys
        .write_merchant_files(&args.key_dir)
        .map_err(|e| {
            format!(
                "cannot write the key files into {}: {e}",
                args.key_dir.display()
            )
        })?;
    let settings = ServiceSettings::of(&config, &files);
    let running = PayStandIn::start(&args.listen, config)
        .map_err(|e| format!("cannot start the stand-in on {}: {e}", args.listen))?;
    let mut out = std::io::stdout().lock();
    let printed = out
        .write_all(settings.env_lines(&running.base_url).as_bytes())
        .and_then(|()| {
            writeln!(
                out,
                "# control API: POST {0}/control/orders/{{out_trade_no}}/pay, GET {0}/control/orders, GET {0}/control/notifications, GET {0}/control/keys",
                running.base_url
            )
        })
        .and_then(|()| out.flush());
    drop(out);
    printed.map_err(|e| e.to_string())?;
    wait_for_signal().await;
    running.stop().await;
    Ok(())
}

async fn wait_for_signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        if let Ok(mut term) = signal(SignalKind::terminate()) {
            tokio::select! {
                _ = tokio::signal::ctrl_c() => {}
                _ = term.recv() => {}
            }
            return;
        }
    }
    let _ = tokio::signal::ctrl_c().await;
}
