//! TLS to the real private servers: the pair that refuses plain connections (`scripts/db start
//! --require-tls`, see [`common::tls_servers`]) and the ordinary pair behind a proxy that hides
//! their TLS. Each mode connects or fails as the URL says, and each failure names what to change.

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};

use common::{tls_servers, TestDb};
use kirikae_mask::db::{Conn, DbError, DbUrl, LoadData, TlsMode, TlsProblem};
use kirikae_mask::transform::Dialect;

const BOTH: [Dialect; 2] = [Dialect::MySql, Dialect::Postgres];

/// The engine's TLS parameters: (mode parameter, CA parameter).
fn params(d: Dialect) -> (&'static str, &'static str) {
    match d {
        Dialect::MySql => ("ssl-mode", "ssl-ca"),
        Dialect::Postgres => ("sslmode", "sslrootcert"),
    }
}

/// `mode` in the engine's words, with the CA file when given.
fn query(d: Dialect, mode: TlsMode, ca: Option<&Path>) -> String {
    let (m, c) = params(d);
    let mut q = format!("{m}={}", mode.name(d));
    if let Some(ca) = ca {
        q.push_str(&format!("&{c}={}", ca.display()));
    }
    q
}

/// Whether the connection is encrypted, as the server sees it.
async fn encrypted(conn: &mut Conn) -> bool {
    match conn.dialect() {
        Dialect::MySql => {
            let rows = conn
                .rows("SHOW SESSION STATUS LIKE 'Ssl_version'")
                .await
                .unwrap();
            rows[0][1].as_deref().is_some_and(|v| v.starts_with("TLS"))
        }
        Dialect::Postgres => {
            conn.value("SELECT ssl::text FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
                .await
                .unwrap()
                .as_deref()
                == Some("true")
        }
    }
}

async fn connect(url: &str) -> Result<Conn, DbError> {
    Conn::connect(&DbUrl::parse(url).unwrap()).await
}

fn tls_problem(r: Result<Conn, DbError>) -> (TlsProblem, String) {
    match r {
        Err(e @ DbError::Tls { .. }) => {
            let shown = e.to_string();
            match e {
                DbError::Tls { problem, .. } => (*problem, shown),
                _ => unreachable!(),
            }
        }
        Err(e) => panic!("expected a TLS problem, got: {e}"),
        Ok(_) => panic!("expected a TLS problem, it connected"),
    }
}

/// A second certificate authority, unrelated to the servers' (openssl in `dir`).
fn throwaway_ca(dir: &Path) -> PathBuf {
    let (key, pem) = (dir.join("other-ca.key"), dir.join("other-ca.pem"));
    let out = std::process::Command::new("openssl")
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args(["-subj", "/O=kirikae/CN=some other CA"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&pem)
        .output()
        .expect("openssl runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    pem
}

#[tokio::test]
async fn a_server_that_requires_tls_refuses_plain_and_the_error_names_the_parameter() {
    let pair = tls_servers();
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsplain");
        let (param, _) = params(d);
        let (problem, shown) =
            tls_problem(connect(&db.url_with(&query(d, TlsMode::Disable, None))).await);
        assert!(
            matches!(problem, TlsProblem::PlainRefused { .. }),
            "{shown}"
        );
        let (full, require) = match d {
            Dialect::MySql => ("ssl-mode=VERIFY_IDENTITY", "ssl-mode=REQUIRED"),
            Dialect::Postgres => ("sslmode=verify-full", "sslmode=require"),
        };
        assert!(
            shown.contains(full) && shown.contains(require) && shown.contains(param),
            "{shown}"
        );
        // What the server said stays in the message.
        let said = match d {
            Dialect::MySql => "1045",
            Dialect::Postgres => "no encryption",
        };
        assert!(shown.contains(said), "{shown}");

        // REQUIRED encrypts (without verifying); so does the default, PREFERRED.
        for q in [query(d, TlsMode::Require, None), String::new()] {
            let mut conn = connect(&db.url_with(&q)).await.unwrap();
            assert!(encrypted(&mut conn).await, "{q}");
        }
    }
}

#[tokio::test]
async fn full_verification_fails_on_a_name_the_certificate_does_not_carry() {
    let pair = tls_servers();
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsname");
        let s = pair.server(d);
        // The URL names a host the certificate does not carry; the connection goes to the
        // server's real address.
        let scheme = if d == Dialect::MySql {
            "mysql"
        } else {
            "postgres"
        };
        let url = |mode| {
            DbUrl::parse(&format!(
                "{scheme}://{}@db.kirikae.invalid:{}/{}?{}",
                s.user,
                s.port,
                db.name,
                query(d, mode, Some(&pair.ca))
            ))
            .unwrap()
            .via(&s.host, s.port)
        };
        let (problem, shown) = tls_problem(Conn::connect(&url(TlsMode::VerifyFull)).await);
        assert!(
            matches!(&problem, TlsProblem::WrongName { name, .. } if name == "db.kirikae.invalid"),
            "{shown}"
        );
        assert!(
            shown.contains("not valid for the name db.kirikae.invalid")
                && shown.contains("cluster-kirikae.ap-northeast-1.rds.amazonaws.com")
                && shown.contains(&format!("{}={}", params(d).0, TlsMode::VerifyCa.name(d))),
            "{shown}"
        );
        // VERIFY_CA checks the CA only: the same connection is accepted, encrypted.
        let mut conn = Conn::connect(&url(TlsMode::VerifyCa)).await.unwrap();
        assert!(encrypted(&mut conn).await);
    }
}

#[tokio::test]
async fn a_certificate_from_an_unknown_ca_is_refused_naming_the_ca_parameter() {
    let pair = tls_servers();
    let dir = tempfile::tempdir().unwrap();
    let other = throwaway_ca(dir.path());
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsca");
        for mode in [TlsMode::VerifyFull, TlsMode::VerifyCa, TlsMode::Require] {
            let (problem, shown) =
                tls_problem(connect(&db.url_with(&query(d, mode, Some(&other)))).await);
            assert!(
                matches!(problem, TlsProblem::UnknownCa { .. }),
                "{mode:?}: {shown}"
            );
            assert!(
                shown.contains(&other.display().to_string())
                    && shown.contains(&format!("{}=<file>", params(d).1))
                    && shown.contains(
                        "https://truststore.pki.rds.amazonaws.com/global/global-bundle.pem"
                    ),
                "{shown}"
            );
        }
        // The right CA: verified, encrypted.
        let mut conn = connect(&db.url_with(&query(d, TlsMode::VerifyFull, Some(&pair.ca))))
            .await
            .unwrap();
        assert!(encrypted(&mut conn).await);
    }
}

#[tokio::test]
async fn a_missing_or_wrong_ca_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.pem");
    std::fs::write(&junk, "not a certificate\n").unwrap();
    let missing = dir.path().join("missing.pem");
    let pair = tls_servers();
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsfile");
        let e = connect(&db.url_with(&query(d, TlsMode::VerifyFull, Some(&missing))))
            .await
            .err()
            .expect("a missing CA file fails");
        assert!(e.is_bad_input(), "{e}");
        let shown = format!("{:#}", anyhow_like(&e));
        assert!(
            shown.contains(&missing.display().to_string())
                && shown.contains(&format!("{}=", params(d).1))
                && shown.contains("No such file"),
            "{shown}"
        );
        let e = connect(&db.url_with(&query(d, TlsMode::VerifyFull, Some(&junk))))
            .await
            .err()
            .expect("a CA file without certificates fails");
        assert!(
            e.is_bad_input() && e.to_string().contains("no PEM certificate"),
            "{e}"
        );
    }
}

/// The error and its causes, as the CLI prints them.
fn anyhow_like(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut next = e.source();
    while let Some(s) = next {
        out.push_str(&format!(": {s}"));
        next = s.source();
    }
    out
}

#[tokio::test]
async fn via_connects_to_the_tunnel_and_verifies_the_endpoint_name() {
    let pair = tls_servers();
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsvia");
        let s = pair.server(d);
        let scheme = if d == Dialect::MySql {
            "mysql"
        } else {
            "postgres"
        };
        let endpoint = "shop-prod.cluster-kirikae.ap-northeast-1.rds.amazonaws.com";
        let url = DbUrl::parse(&format!(
            "{scheme}://{}@{endpoint}:{}/{}?{}",
            s.user,
            if d == Dialect::MySql { 3306 } else { 5432 },
            db.name,
            query(d, TlsMode::VerifyFull, Some(&pair.ca))
        ))
        .unwrap();
        let tunnel = url.via("127.0.0.1", s.port);
        assert!(
            tunnel
                .to_string()
                .ends_with(&format!(" via 127.0.0.1:{}", s.port)),
            "{tunnel}"
        );
        assert_eq!(tunnel.slug(), url.slug());
        let mut conn = Conn::connect(&tunnel).await.unwrap();
        assert!(encrypted(&mut conn).await);
        assert_eq!(
            conn.value(match d {
                Dialect::MySql => "SELECT DATABASE()",
                Dialect::Postgres => "SELECT current_database()",
            })
            .await
            .unwrap()
            .as_deref(),
            Some(db.name.as_str())
        );
    }
}

/// A loopback proxy to `upstream` that hides the server's TLS: PostgreSQL's SSLRequest is
/// answered "N", MySQL's greeting loses its CLIENT_SSL flag. Returns the proxy's port.
fn no_tls_proxy(dialect: Dialect, upstream: (String, u16)) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { continue };
            let upstream = upstream.clone();
            std::thread::spawn(move || {
                let mut server = TcpStream::connect((upstream.0.as_str(), upstream.1)).unwrap();
                match dialect {
                    Dialect::Postgres => {
                        let mut first = [0u8; 8];
                        if client.read_exact(&mut first).is_err() {
                            return;
                        }
                        if first[4..8] == 80877103u32.to_be_bytes() {
                            client.write_all(b"N").unwrap();
                        } else {
                            server.write_all(&first).unwrap();
                        }
                    }
                    Dialect::MySql => {
                        let mut header = [0u8; 4];
                        server.read_exact(&mut header).unwrap();
                        let len = u32::from_le_bytes([header[0], header[1], header[2], 0]);
                        let mut greeting = vec![0u8; len as usize];
                        server.read_exact(&mut greeting).unwrap();
                        // protocol version, server version (NUL-ended), thread id (4), scramble
                        // (8), filler (1), then the lower capability flags: CLIENT_SSL is 0x0800.
                        let nul = greeting[1..].iter().position(|b| *b == 0).unwrap();
                        let caps = 1 + nul + 1 + 4 + 8 + 1;
                        greeting[caps + 1] &= !0x08;
                        client.write_all(&header).unwrap();
                        client.write_all(&greeting).unwrap();
                    }
                }
                let (mut c2, mut s2) = (client.try_clone().unwrap(), server.try_clone().unwrap());
                let up = std::thread::spawn(move || {
                    let _ = std::io::copy(&mut c2, &mut s2);
                    let _ = s2.shutdown(std::net::Shutdown::Write);
                });
                let _ = std::io::copy(&mut server, &mut client);
                let _ = client.shutdown(std::net::Shutdown::Write);
                let _ = up.join();
            });
        }
    });
    port
}

#[tokio::test]
async fn prefer_falls_back_to_plain_only_when_the_server_offers_no_tls() {
    let dir = tempfile::tempdir().unwrap();
    let other = throwaway_ca(dir.path());
    for d in BOTH {
        // The ordinary pair offers TLS and accepts plain connections.
        let db = TestDb::new(d, "tlsprefer");
        let port = no_tls_proxy(d, (db.server.host.clone(), db.server.port));
        let hidden = db
            .url
            .replace(&format!(":{}/", db.server.port), &format!(":{port}/"));
        let mut conn = connect(&format!("{hidden}?{}", query(d, TlsMode::Prefer, None)))
            .await
            .unwrap();
        assert!(!encrypted(&mut conn).await);
        // Modes that need TLS say that the server does not offer it.
        for mode in [TlsMode::Require, TlsMode::VerifyFull] {
            let ca = (mode == TlsMode::VerifyFull).then_some(tls_servers().ca.as_path());
            let (problem, shown) =
                tls_problem(connect(&format!("{hidden}?{}", query(d, mode, ca))).await);
            assert!(matches!(problem, TlsProblem::NotOffered { .. }), "{shown}");
            assert!(
                shown.contains("does not offer TLS")
                    && shown.contains(&format!("{}={}", params(d).0, mode.name(d))),
                "{shown}"
            );
        }
        // Where the server offers TLS, prefer uses it; a refused certificate is an error, not a
        // reason to fall back to plain.
        let mut conn = connect(&db.url_with(&query(d, TlsMode::Prefer, None)))
            .await
            .unwrap();
        assert!(encrypted(&mut conn).await);
        let (problem, shown) =
            tls_problem(connect(&db.url_with(&query(d, TlsMode::Prefer, Some(&other)))).await);
        assert!(matches!(problem, TlsProblem::UnknownCa { .. }), "{shown}");
    }
}

#[tokio::test]
async fn bulk_loads_work_over_verified_tls() {
    let pair = tls_servers();
    for d in BOTH {
        let db = TestDb::on(pair.server(d).clone(), d, "tlsload");
        db.exec("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));")
            .await;
        let mut conn = connect(&db.url_with(&query(d, TlsMode::VerifyFull, Some(&pair.ca))))
            .await
            .unwrap();
        assert!(encrypted(&mut conn).await);
        let mut data = Vec::new();
        for i in 0..5000 {
            kirikae_mask::db::encode_text_row(
                &mut data,
                &[Some(&i.to_string()), Some(&format!("v\t{i}"))],
            );
        }
        let loaded = conn
            .load(
                "t",
                &["id".into(), "v".into()],
                &LoadData::Text(data.into()),
            )
            .await
            .unwrap();
        assert_eq!(loaded, 5000);
        assert_eq!(
            conn.value("SELECT v FROM t WHERE id = 4999")
                .await
                .unwrap()
                .as_deref(),
            Some("v\t4999")
        );
    }
}
