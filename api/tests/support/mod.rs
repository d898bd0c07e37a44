//! What the crash tests (`pay_crash`, `payout_crash`) share: a database of their own on either
//! backend, a free port and SIGKILL.
#![allow(clippy::unwrap_used)]

use std::process::{Child, Command};

use diesel::connection::SimpleConnection;
use diesel::Connection;

/// The test's database: a PostgreSQL database of its own (dropped at the end) or a SQLite file.
pub struct TestDb {
    pub url: String,
    admin: Option<(String, String)>,
}

impl TestDb {
    /// `prefix` names the PostgreSQL database (`{prefix}_{uuid}`).
    pub fn new(dir: &std::path::Path, prefix: &str) -> TestDb {
        let admin = std::env::var("SHEBAO_TEST_POSTGRES_URL")
            .ok()
            .filter(|v| !v.trim().is_empty());
        match admin {
            Some(admin) => {
                let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
                let mut c = diesel::PgConnection::establish(&admin).unwrap();
                c.batch_execute(&format!("CREATE DATABASE {name}")).unwrap();
                let (server, _) = admin.rsplit_once('/').unwrap();
                TestDb {
                    url: format!("{server}/{name}"),
                    admin: Some((admin.clone(), name)),
                }
            }
            None => TestDb {
                url: format!("sqlite://{}", dir.join("s.db").display()),
                admin: None,
            },
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Some((admin, name)) = &self.admin {
            if let Ok(mut c) = diesel::PgConnection::establish(admin) {
                let _ = c.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
            }
        }
    }
}

/// A port nothing listens on (bound, read, released).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Kills the server at once (no graceful shutdown) and reaps it.
pub fn kill9(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", &child.id().to_string()])
        .status();
    let _ = child.wait();
}
