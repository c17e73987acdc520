//! Prints the SQL form of one rule for one column, for scripts that splice it into a query
//! (bench/mask/sql-forms).
//!
//! ```text
//! cargo run -q -p kirikae-mask --example sql_expr -- mysql|postgres COLUMN 'RULE' [KEY]
//! cargo run -q -p kirikae-mask --example sql_expr -- postgres name_kana \
//!     '{ transform = "person_name", script = "katakana", from = "name" }'
//! ```
//!
//! RULE is a rules-file entry (`"keep"` or `{ transform = ..., ... }`); other columns the rule
//! reads are the row's columns of the same name. KEY is the secret (default "bench key").

use kirikae_mask::prf::Prf;
use kirikae_mask::transform::{Dialect, SqlContext};

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.len() < 3 {
        eprintln!("usage: sql_expr mysql|postgres COLUMN RULE [KEY]");
        std::process::exit(2);
    }
    let dialect = match args[0].as_str() {
        "mysql" => Dialect::MySql,
        "postgres" => Dialect::Postgres,
        other => {
            eprintln!("dialect must be mysql or postgres, found {other:?}");
            std::process::exit(2);
        }
    };
    let table: toml::Table = match toml::from_str(&format!("r = {}", args[2])) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("RULE is not a TOML value: {e}");
            std::process::exit(2);
        }
    };
    let t = kirikae_mask::transforms::build(&table["r"]).unwrap_or_else(|e| {
        eprintln!("{e}");
        std::process::exit(2);
    });
    let prf = Prf::from_secret(args.get(3).map_or("bench key", String::as_str).as_bytes());
    let column = dialect.ident(&args[1]);
    let original = |c: &str| dialect.ident(c);
    let ctx = SqlContext {
        dialect,
        prf: &prf,
        column: &column,
        original: &original,
        masked: &|_| None,
    };
    match t.sql(&ctx) {
        Some(expr) => println!("{expr}"),
        None => {
            eprintln!("{} has no SQL form", t.name());
            std::process::exit(1);
        }
    }
}
