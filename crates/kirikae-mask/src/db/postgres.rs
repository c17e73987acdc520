//! PostgreSQL: introspection from the catalogs (the current schema only), and the swap of a
//! rebuilt table.
//!
//! PostgreSQL's DDL is transactional, so the whole swap is one transaction: either everything
//! below happened or nothing did. What it carries over (each has a test in tests/swap.rs):
//! - columns, defaults, CHECK constraints, indexes, comments, identity: `CREATE TABLE new
//!   (LIKE t INCLUDING ALL)`; after the renames the new table's indexes (and so its primary key
//!   and unique constraints) take the original names;
//! - storage parameters (`fillfactor`, `autovacuum_*`, the TOAST table's `toast.*`), which
//!   `LIKE` leaves out: `WITH (...)` from the original's `reloptions` (autovacuum is off during
//!   the load and set back before the swap);
//! - foreign keys of t and of other tables pointing at t (PostgreSQL follows the table's oid,
//!   not its name, so they are recreated from `pg_get_constraintdef` taken before the renames);
//! - triggers (`pg_get_triggerdef`), owner, table privileges (`relacl`) and column privileges
//!   (`attacl`);
//! - row-level security: the table's ENABLE / FORCE flags and its policies (`pg_policy`);
//! - sequences: a `serial` column's sequence stays the same object and is re-owned by the new
//!   column; an identity column's new sequence continues from the original's value.
//!
//! - views on the table (which follow its oid, not its name): each is replaced in place
//!   (`CREATE OR REPLACE VIEW` with its definition read before the renames, so it binds to the
//!   new table by name), keeping the view itself, its owner, grants and the views on it.
//!   Materialized views are refused.

use super::tls::{self, TlsMode};
use super::{Conn, DbError, DbResult, DbUrl, Live};
use crate::schema::{Column, ColumnKind, ForeignKey};
use crate::transform::Dialect;

const D: Dialect = Dialect::Postgres;
const SEP: char = '\u{1f}';

fn lit(s: &str) -> String {
    D.string_literal(s)
}

fn id(s: &str) -> String {
    D.ident(s)
}

/// `'table'::regclass` for a table of the current schema.
pub(super) fn regclass(table: &str) -> String {
    format!("{}::regclass", lit(&id(table)))
}

fn split(v: &Option<String>) -> Vec<String> {
    v.as_deref()
        .map(|s| s.split(SEP).map(str::to_string).collect())
        .unwrap_or_default()
}

pub(crate) async fn introspect(conn: &mut Conn) -> DbResult<Live> {
    let tables = conn
        .rows(
            "SELECT c.relname, GREATEST(c.reltuples, 0)::bigint FROM pg_class c \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND NOT c.relispartition \
             ORDER BY c.relname",
        )
        .await?;
    let columns = conn
        .rows(
            "SELECT c.relname, a.attname, format_type(a.atttypid, a.atttypmod), t.typname, \
             t.typtype, NOT a.attnotnull, a.attgenerated <> '', \
             CASE WHEN a.atttypmod > 4 AND t.typname IN ('varchar', 'bpchar') THEN a.atttypmod - 4 END, \
             CASE WHEN t.typname = 'numeric' AND a.atttypmod > 4 THEN (a.atttypmod - 4) & 65535 END, \
             (SELECT string_agg(e.enumlabel, E'\\x1f' ORDER BY e.enumsortorder) FROM pg_enum e \
               WHERE e.enumtypid = t.oid) \
             FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace JOIN pg_type t ON t.oid = a.atttypid \
             WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p') AND a.attnum > 0 \
             AND NOT a.attisdropped ORDER BY c.relname, a.attnum",
        )
        .await?;
    let indexes = conn
        .rows(
            "SELECT c.relname, ix.indisprimary, \
             (SELECT string_agg(a.attname, E'\\x1f' ORDER BY k.n) \
                FROM unnest(ix.indkey) WITH ORDINALITY k(attnum, n) \
                JOIN pg_attribute a ON a.attrelid = ix.indrelid AND a.attnum = k.attnum) \
             FROM pg_index ix JOIN pg_class c ON c.oid = ix.indrelid \
             JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND ix.indisunique AND ix.indexprs IS NULL \
             AND ix.indpred IS NULL ORDER BY c.relname, ix.indexrelid",
        )
        .await?;
    let fks = conn
        .rows(
            "SELECT c.relname, con.conname, r.relname, \
             (SELECT string_agg(a.attname, E'\\x1f' ORDER BY k.n) \
                FROM unnest(con.conkey) WITH ORDINALITY k(attnum, n) \
                JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum), \
             (SELECT string_agg(a.attname, E'\\x1f' ORDER BY k.n) \
                FROM unnest(con.confkey) WITH ORDINALITY k(attnum, n) \
                JOIN pg_attribute a ON a.attrelid = con.confrelid AND a.attnum = k.attnum) \
             FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid \
             JOIN pg_class r ON r.oid = con.confrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
             WHERE n.nspname = current_schema() AND con.contype = 'f' ORDER BY c.relname, con.conname",
        )
        .await?;
    let text = |v: &Option<String>| v.clone().unwrap_or_default();
    Ok(Live::assemble(&tables, |name, table, extras| {
        for c in columns.iter().filter(|c| c[0].as_deref() == Some(name)) {
            let cname = text(&c[1]);
            let sql_type = text(&c[2]);
            let kind = if c[4].as_deref() == Some("e") {
                ColumnKind::Enum {
                    values: split(&c[9]),
                }
            } else {
                kind_of(&text(&c[3]), c[8].as_deref())
            };
            if c[6].as_deref() == Some("t") {
                extras.generated.push(cname.clone());
            }
            let max_chars = if kind.is_text() {
                c[7].as_deref().and_then(|m| m.parse().ok())
            } else {
                None
            };
            table.columns.push(Column {
                name: cname,
                sql_type,
                kind,
                nullable: c[5].as_deref() == Some("t"),
                max_chars,
            });
        }
        for i in indexes.iter().filter(|i| i[0].as_deref() == Some(name)) {
            let cols = split(&i[2]);
            if i[1].as_deref() == Some("t") {
                table.primary_key = cols;
            } else if !table.unique.contains(&cols) {
                table.unique.push(cols);
            }
        }
        for f in fks.iter().filter(|f| f[0].as_deref() == Some(name)) {
            table.foreign_keys.push(ForeignKey {
                name: text(&f[1]),
                table: name.to_string(),
                columns: split(&f[3]),
                referenced_table: text(&f[2]),
                referenced_columns: split(&f[4]),
            });
        }
    }))
}

fn kind_of(typname: &str, scale: Option<&str>) -> ColumnKind {
    match typname {
        "text" | "varchar" | "bpchar" | "name" | "citext" => ColumnKind::Text,
        "int2" | "int4" | "int8" => ColumnKind::Integer,
        "numeric" => ColumnKind::Decimal {
            scale: scale.and_then(|s| s.parse().ok()).unwrap_or(0),
        },
        "float4" | "float8" => ColumnKind::Float,
        "date" => ColumnKind::Date,
        "timestamp" | "timestamptz" => ColumnKind::DateTime,
        "time" | "timetz" => ColumnKind::Time,
        "json" | "jsonb" => ColumnKind::Json,
        "bytea" => ColumnKind::Binary,
        "bool" => ColumnKind::Boolean,
        _ => ColumnKind::Other,
    }
}

/// Creates the empty rebuilt table with the original's storage parameters (`LIKE` copies
/// none of them), but autovacuum off while its rows go in: the inserts would start a vacuum of
/// the table being loaded, which competes with the load for the server ([`settle_new`] gives
/// the original's setting back).
pub async fn create_new(conn: &mut Conn, table: &str, new: &str) -> DbResult<()> {
    let mut with: Vec<String> = storage_parameters(conn, table)
        .await?
        .iter()
        .filter(|(name, _)| name != AUTOVACUUM)
        .map(|(name, value)| parameter(name, value))
        .collect();
    with.push(parameter(AUTOVACUUM, "false"));
    conn.exec(&format!(
        "CREATE TABLE {} (LIKE {} INCLUDING ALL) WITH ({})",
        id(new),
        id(table),
        with.join(", ")
    ))
    .await
}

/// The storage parameter [`create_new`] turns off for the load.
const AUTOVACUUM: &str = "autovacuum_enabled";

/// Once the rebuilt table's rows and indexes are in, before the swap: autovacuum as the original
/// has it, then `VACUUM (ANALYZE)`. The table swapped in has its statistics and visibility map,
/// and no vacuum of all its rows, started by their inserts, runs just after the swap (at 10M rows
/// one ran through the whole of the first `verify`). Run again on resume, it does the same.
pub async fn settle_new(conn: &mut Conn, table: &str, new: &str) -> DbResult<()> {
    let original = storage_parameters(conn, table).await?;
    let autovacuum = match original.iter().find(|(name, _)| name == AUTOVACUUM) {
        Some((name, value)) => format!("SET ({})", parameter(name, value)),
        None => format!("RESET ({})", id(AUTOVACUUM)),
    };
    conn.exec(&format!("ALTER TABLE {} {autovacuum}", id(new)))
        .await?;
    conn.exec(&format!("VACUUM (ANALYZE) {}", id(new))).await
}

/// The storage parameters (`reloptions`) of a table and of its TOAST table (named `toast.x`),
/// as (name, value).
async fn storage_parameters(conn: &mut Conn, table: &str) -> DbResult<Vec<(String, String)>> {
    let rows = conn
        .rows(&format!(
            "SELECT array_to_string(c.reloptions, E'\\x1f'), array_to_string(t.reloptions, E'\\x1f') \
             FROM pg_class c LEFT JOIN pg_class t ON t.oid = c.reltoastrelid WHERE c.oid = {}",
            regclass(table)
        ))
        .await?;
    let row = rows.into_iter().next().unwrap_or_default();
    let of = |i: usize, prefix: &str| {
        split(&row.get(i).cloned().flatten())
            .into_iter()
            .filter_map(|o| {
                let (name, value) = o.split_once('=')?;
                Some((format!("{prefix}{name}"), value.to_string()))
            })
            .collect::<Vec<_>>()
    };
    let mut all = of(0, "");
    all.extend(of(1, "toast."));
    Ok(all)
}

/// `name = 'value'` for `WITH (...)` and `SET (...)`; `toast.name` for the TOAST table's.
fn parameter(name: &str, value: &str) -> String {
    let name = match name.split_once('.') {
        Some((space, name)) => format!("{}.{}", id(space), id(name)),
        None => id(name),
    };
    format!("{name} = {}", lit(value))
}

/// The secondary indexes of a table: (index name, shape, `pg_get_indexdef`, the definition of
/// the UNIQUE constraint it backs, if any). Primary keys and indexes of other constraints
/// (exclusion) are left out: they stay in place.
async fn secondary_indexes(
    conn: &mut Conn,
    table: &str,
) -> DbResult<Vec<(String, String, String, Option<String>)>> {
    let rows = conn
        .rows(&format!(
            "SELECT i.relname, pg_get_indexdef(i.oid), c.contype::text, pg_get_constraintdef(c.oid) \
             FROM pg_index x JOIN pg_class i ON i.oid = x.indexrelid \
             LEFT JOIN pg_constraint c ON c.conindid = x.indexrelid AND c.conrelid = x.indrelid \
             WHERE x.indrelid = {} AND NOT x.indisprimary ORDER BY i.oid",
            regclass(table)
        ))
        .await?;
    Ok(rows
        .into_iter()
        .filter_map(|r| {
            let mut r = r.into_iter();
            let (name, def, contype, condef) = (r.next()??, r.next()??, r.next()?, r.next()?);
            match contype.as_deref() {
                None => Some((name, index_shape(&def), def, None)),
                Some("u") => Some((name, index_shape(&def), def, condef)),
                Some(_) => None,
            }
        })
        .collect())
}

/// Drops the secondary indexes and UNIQUE constraints of the empty rebuilt table, to be built
/// after its rows are in ([`missing_indexes`]): one sorted build per index instead of a random
/// B-tree insert per row and index (masked emails arrive in no order). Returns how many.
pub async fn defer_indexes(conn: &mut Conn, new: &str) -> DbResult<usize> {
    let indexes = secondary_indexes(conn, new).await?;
    let drops: Vec<String> = indexes
        .iter()
        .map(|(name, _, _, unique)| match unique {
            Some(_) => format!("ALTER TABLE {} DROP CONSTRAINT {}", id(new), id(name)),
            None => format!("DROP INDEX {}", id(name)),
        })
        .collect();
    if !drops.is_empty() {
        conn.exec(&drops.join("; ")).await?;
    }
    Ok(drops.len())
}

/// The indexes of `table` that the rebuilt `new` lacks (paired by shape, as the swap pairs
/// them), and the statements that create them on `new` (a UNIQUE constraint as a constraint;
/// the swap gives each the original's name).
pub async fn missing_indexes(
    conn: &mut Conn,
    table: &str,
    new: &str,
) -> DbResult<(Vec<String>, Vec<String>)> {
    let mut have: Vec<String> = secondary_indexes(conn, new)
        .await?
        .into_iter()
        .map(|(_, shape, _, _)| shape)
        .collect();
    let (mut names, mut statements) = (Vec::new(), Vec::new());
    for (name, shape, def, unique) in secondary_indexes(conn, table).await? {
        if let Some(i) = have.iter().position(|h| *h == shape) {
            have.remove(i);
            continue;
        }
        statements.push(match unique {
            Some(condef) => format!("ALTER TABLE {} ADD {condef}", id(new)),
            None => {
                let unique = if def.starts_with("CREATE UNIQUE") {
                    "UNIQUE "
                } else {
                    ""
                };
                let rest = def.split_once(" USING ").map(|(_, r)| r).ok_or_else(|| {
                    DbError::Other(format!(
                        "index {name} of {table}: unexpected definition {def}"
                    ))
                })?;
                format!("CREATE {unique}INDEX ON {} USING {rest}", id(new))
            }
        });
        names.push(name);
    }
    Ok((names, statements))
}

/// Index definitions without the index and table names, to pair the new table's indexes with
/// the original's.
fn index_shape(def: &str) -> String {
    // "CREATE [UNIQUE] INDEX name ON [ONLY] schema.table USING btree (cols) ..."
    let unique = def.starts_with("CREATE UNIQUE");
    let rest = def.split_once(" USING ").map(|(_, r)| r).unwrap_or(def);
    format!("{unique}:{rest}")
}

/// The atomic swap, in one transaction: `table` becomes the rebuilt `new`, with everything the
/// module's documentation lists carried over; the original is dropped. `also` runs in the same
/// transaction (the run marks the table done there).
pub async fn swap(conn: &mut Conn, table: &str, new: &str, also: &str) -> DbResult<()> {
    // Views on the table, as their definitions read now (naming `table`, which after the
    // renames is the new one).
    let views = conn
        .rows(&format!(
            "SELECT DISTINCT v.oid::regclass::text, v.relkind::text, pg_get_viewdef(v.oid), \
             array_to_string(v.reloptions, ', ') FROM pg_depend d JOIN pg_rewrite w ON w.oid = d.objid \
             JOIN pg_class v ON v.oid = w.ev_class WHERE d.refobjid = {} AND v.oid <> d.refobjid \
             ORDER BY 1",
            regclass(table)
        ))
        .await?;
    let materialized: Vec<String> = views
        .iter()
        .filter(|v| v[1].as_deref() == Some("m"))
        .filter_map(|v| v[0].clone())
        .collect();
    if !materialized.is_empty() {
        return Err(DbError::Other(format!(
            "table {table} has materialized views ({}): kirikae cannot swap it; drop them \
             before the masking run and create them again after it",
            materialized.join(", ")
        )));
    }
    conn.exec("BEGIN").await?;
    let r = match swap_in_transaction(conn, table, new, &views).await {
        Ok(()) => match conn.exec(also).await {
            Ok(()) => super::fault("postgres_before_commit"),
            Err(e) => Err(e),
        },
        Err(e) => Err(e),
    };
    match r {
        Ok(()) => conn.exec("COMMIT").await,
        Err(e) => {
            let _ = conn.exec("ROLLBACK").await;
            Err(e)
        }
    }
}

async fn swap_in_transaction(
    conn: &mut Conn,
    table: &str,
    new: &str,
    views: &[Vec<Option<String>>],
) -> DbResult<()> {
    let t = regclass(table);
    let old = super::work_table("o", table);
    let own_fks = conn
        .rows(&format!(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE conrelid = {t} AND contype = 'f' ORDER BY conname"
        ))
        .await?;
    let incoming = conn
        .rows(&format!(
            "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint \
             WHERE confrelid = {t} AND conrelid <> confrelid AND contype = 'f' ORDER BY 1, 2"
        ))
        .await?;
    let triggers = conn
        .rows(&format!(
            "SELECT tgname, pg_get_triggerdef(oid) FROM pg_trigger \
             WHERE tgrelid = {t} AND NOT tgisinternal ORDER BY tgname"
        ))
        .await?;
    let owner = conn
        .value(&format!(
            "SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = {t}"
        ))
        .await?;
    let grants = conn
        .rows(&format!(
            "SELECT CASE WHEN a.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(a.grantee)) END, \
             a.privilege_type, a.is_grantable FROM pg_class c, aclexplode(c.relacl) a \
             WHERE c.oid = {t} AND a.grantee <> c.relowner"
        ))
        .await?;
    let column_grants = conn
        .rows(&format!(
            "SELECT CASE WHEN x.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(x.grantee)) END, \
             x.privilege_type, x.is_grantable, quote_ident(a.attname) \
             FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid, aclexplode(a.attacl) x \
             WHERE c.oid = {t} AND a.attnum > 0 AND NOT a.attisdropped AND a.attacl IS NOT NULL \
             AND x.grantee <> c.relowner ORDER BY a.attnum"
        ))
        .await?;
    let row_security = conn
        .rows(&format!(
            "SELECT relrowsecurity::text, relforcerowsecurity::text FROM pg_class WHERE oid = {t}"
        ))
        .await?;
    let policies = conn
        .rows(&format!(
            "SELECT quote_ident(p.polname), CASE WHEN p.polpermissive THEN 'PERMISSIVE' ELSE 'RESTRICTIVE' END, \
             CASE p.polcmd WHEN 'r' THEN 'SELECT' WHEN 'a' THEN 'INSERT' WHEN 'w' THEN 'UPDATE' \
             WHEN 'd' THEN 'DELETE' ELSE 'ALL' END, \
             COALESCE((SELECT string_agg(CASE WHEN r = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(r)) END, ', ') \
             FROM unnest(p.polroles) r), 'PUBLIC'), \
             pg_get_expr(p.polqual, p.polrelid), pg_get_expr(p.polwithcheck, p.polrelid) \
             FROM pg_policy p WHERE p.polrelid = {t} ORDER BY p.polname"
        ))
        .await?;
    let index_defs = |rel: &str| {
        format!(
            "SELECT i.relname, pg_get_indexdef(i.oid) FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid WHERE x.indrelid = {} ORDER BY i.oid",
            regclass(rel)
        )
    };
    let old_indexes = conn.rows(&index_defs(table)).await?;
    let new_indexes = conn.rows(&index_defs(new)).await?;
    // serial: the sequence is owned by the original column ('a'); identity ('i'): its own.
    let sequences = conn
        .rows(&format!(
            "SELECT s.oid::regclass::text, a.attname, d.deptype, s.relname FROM pg_depend d \
             JOIN pg_class s ON s.oid = d.objid AND s.relkind = 'S' \
             JOIN pg_attribute a ON a.attrelid = d.refobjid AND a.attnum = d.refobjsubid \
             WHERE d.refobjid = {t} AND d.deptype IN ('a', 'i')"
        ))
        .await?;

    conn.exec(&format!(
        "ALTER TABLE {} RENAME TO {}; ALTER TABLE {} RENAME TO {}",
        id(table),
        id(&old),
        id(new),
        id(table)
    ))
    .await?;
    // Index names are unique per schema: move the original's out of the way first.
    let mut used = vec![false; new_indexes.len()];
    for (n, o) in old_indexes.iter().enumerate() {
        let (Some(oname), Some(odef)) = (&o[0], &o[1]) else {
            continue;
        };
        let shape = index_shape(odef);
        let pair = new_indexes.iter().enumerate().find(|(i, ni)| {
            !used[*i] && ni[1].as_deref().map(index_shape).as_deref() == Some(&shape)
        });
        let Some((i, ni)) = pair else {
            return Err(DbError::Other(format!(
                "index {oname} of {table} has no counterpart in the rebuilt table"
            )));
        };
        used[i] = true;
        let Some(nname) = &ni[0] else { continue };
        let parked = format!("_kirikae_i{n}_{}", &super::md5_hex(&old)[..8]);
        conn.exec(&format!(
            "ALTER INDEX {} RENAME TO {}; ALTER INDEX {} RENAME TO {}",
            id(oname),
            id(&parked),
            id(nname),
            id(oname)
        ))
        .await?;
    }
    for fk in &own_fks {
        if let (Some(name), Some(def)) = (&fk[0], &fk[1]) {
            conn.exec(&format!(
                "ALTER TABLE {} ADD CONSTRAINT {} {def}",
                id(table),
                id(name)
            ))
            .await?;
        }
    }
    for fk in &incoming {
        if let (Some(child), Some(name), Some(def)) = (&fk[0], &fk[1], &fk[2]) {
            // conrelid::regclass::text is already quoted as needed.
            conn.exec(&format!(
                "ALTER TABLE {child} DROP CONSTRAINT {n}, ADD CONSTRAINT {n} {def}",
                n = id(name)
            ))
            .await?;
        }
    }
    for tg in &triggers {
        if let (Some(name), Some(def)) = (&tg[0], &tg[1]) {
            conn.exec(&format!("DROP TRIGGER {} ON {}; {def}", id(name), id(&old)))
                .await?;
        }
    }
    if let Some(owner) = owner {
        conn.exec(&format!(
            "ALTER TABLE {} OWNER TO {}",
            id(table),
            id(&owner)
        ))
        .await?;
    }
    for g in &grants {
        if let (Some(grantee), Some(privilege)) = (&g[0], &g[1]) {
            let with = if g[2].as_deref() == Some("t") {
                " WITH GRANT OPTION"
            } else {
                ""
            };
            conn.exec(&format!(
                "GRANT {privilege} ON {} TO {grantee}{with}",
                id(table)
            ))
            .await?;
        }
    }
    for g in &column_grants {
        if let (Some(grantee), Some(privilege), Some(column)) = (&g[0], &g[1], &g[3]) {
            let with = if g[2].as_deref() == Some("YES") || g[2].as_deref() == Some("t") {
                " WITH GRANT OPTION"
            } else {
                ""
            };
            conn.exec(&format!(
                "GRANT {privilege} ({column}) ON {} TO {grantee}{with}",
                id(table)
            ))
            .await?;
        }
    }
    if let Some(r) = row_security.first() {
        if r[0].as_deref() == Some("true") {
            conn.exec(&format!(
                "ALTER TABLE {} ENABLE ROW LEVEL SECURITY",
                id(table)
            ))
            .await?;
        }
        if r[1].as_deref() == Some("true") {
            conn.exec(&format!(
                "ALTER TABLE {} FORCE ROW LEVEL SECURITY",
                id(table)
            ))
            .await?;
        }
    }
    for p in &policies {
        let (Some(name), Some(kind), Some(cmd), Some(roles)) = (&p[0], &p[1], &p[2], &p[3]) else {
            continue;
        };
        let using = p[4]
            .as_ref()
            .map(|q| format!(" USING ({q})"))
            .unwrap_or_default();
        let check = p[5]
            .as_ref()
            .map(|q| format!(" WITH CHECK ({q})"))
            .unwrap_or_default();
        conn.exec(&format!(
            "CREATE POLICY {name} ON {} AS {kind} FOR {cmd} TO {roles}{using}{check}",
            id(table)
        ))
        .await?;
    }
    let mut identity_names = Vec::new();
    for s in &sequences {
        let (Some(seq), Some(col)) = (&s[0], &s[1]) else {
            continue;
        };
        if s[2].as_deref() == Some("a") {
            conn.exec(&format!(
                "ALTER SEQUENCE {seq} OWNED BY {}.{}",
                id(table),
                id(col)
            ))
            .await?;
        } else {
            let new_seq = conn
                .value(&format!(
                    "SELECT pg_get_serial_sequence({}, {})",
                    lit(&id(table)),
                    lit(col)
                ))
                .await?;
            if let Some(new_seq) = new_seq {
                conn.exec(&format!(
                    "SELECT setval({}::regclass, last_value, is_called) FROM {seq}",
                    lit(&new_seq)
                ))
                .await?;
                if let Some(name) = &s[3] {
                    identity_names.push((new_seq, name.clone()));
                }
            }
        }
    }
    // Each view is re-pointed at the new table in place: the same view (its oid, owner,
    // grants and the views built on it stay), its query bound again by name.
    for v in views {
        if let (Some(name), Some(def)) = (&v[0], &v[2]) {
            let with = v[3]
                .as_deref()
                .filter(|o| !o.is_empty())
                .map(|o| format!(" WITH ({o})"))
                .unwrap_or_default();
            let def = def.trim_end().trim_end_matches(';');
            conn.exec(&format!("CREATE OR REPLACE VIEW {name}{with} AS {def}"))
                .await?;
        }
    }
    conn.exec(&format!("DROP TABLE {}", id(&old))).await?;
    // The identity sequence of the new table takes the original's name (gone with `old`).
    for (new_seq, name) in identity_names {
        conn.exec(&format!("ALTER SEQUENCE {new_seq} RENAME TO {}", id(&name)))
            .await?;
    }
    Ok(())
}

/// Opens a connection as the URL's TLS mode says ([`super::tls`]), and runs it on its own task.
/// Through a tunnel ([`DbUrl::via`]) it connects to the tunnel's address (`hostaddr`) while TLS
/// verifies the URL's host (`host`), as libpq does with both set.
pub(crate) async fn connect(
    url: &DbUrl,
) -> DbResult<(tokio_postgres::Client, tokio::task::JoinHandle<()>)> {
    let mut config = tokio_postgres::Config::new();
    config
        .host(&url.host)
        .user(&url.user)
        .dbname(&url.database)
        .ssl_mode(match url.tls.mode {
            TlsMode::Disable => tokio_postgres::config::SslMode::Disable,
            TlsMode::Prefer => tokio_postgres::config::SslMode::Prefer,
            TlsMode::Require | TlsMode::VerifyCa | TlsMode::VerifyFull => {
                tokio_postgres::config::SslMode::Require
            }
        });
    if let Some(password) = url.password() {
        config.password(password);
    }
    let (to_host, to_port) = url.connects_to();
    config.port(to_port);
    if url.via.is_some() {
        config.hostaddr(resolve(url, to_host, to_port).await?);
    }
    let tls = tokio_postgres_rustls::MakeRustlsConnect::new(tls::client_config(&url.tls, D)?);
    let (client, connection) = config
        .connect(tls)
        .await
        .map_err(|e| connect_failure(url, &e))?;
    let task = tokio::spawn(async move {
        let _ = connection.await;
    });
    Ok((client, task))
}

/// The address of a tunnel's host (`hostaddr` takes an address, not a name).
async fn resolve(url: &DbUrl, host: &str, port: u16) -> DbResult<std::net::IpAddr> {
    if let Ok(ip) = host.parse() {
        return Ok(ip);
    }
    let name = host.to_string();
    let found = tokio::task::spawn_blocking(move || {
        std::net::ToSocketAddrs::to_socket_addrs(&(name.as_str(), port))
            .map(|mut addrs| addrs.next())
    })
    .await;
    match found {
        Ok(Ok(Some(addr))) => Ok(addr.ip()),
        Ok(Ok(None)) | Err(_) => Err(DbError::Connect {
            target: url.to_string(),
            message: format!("{host} has no address"),
        }),
        Ok(Err(e)) => Err(DbError::Connect {
            target: url.to_string(),
            message: format!("cannot resolve {host}: {e}"),
        }),
    }
}

/// A failed connection, classified: TLS problems and a server that refuses plain connections
/// say which URL parameter to change.
fn connect_failure(url: &DbUrl, e: &tokio_postgres::Error) -> DbError {
    let target = url.to_string();
    let message = url.redact(super::pg_message(e));
    // pg_hba.conf without a `host` line for this client, only `hostssl`: "no pg_hba.conf entry
    // for host ..., no encryption".
    if url.tls.mode == TlsMode::Disable && message.contains("no encryption") {
        return DbError::Tls {
            target,
            problem: Box::new(tls::TlsProblem::plain_refused(message, &url.tls, D)),
        };
    }
    if let Some(problem) = tls::TlsProblem::from_error(e, &url.tls, D) {
        return DbError::Tls {
            target,
            problem: Box::new(problem),
        };
    }
    if message.contains("server does not support TLS") {
        return DbError::Tls {
            target,
            problem: Box::new(tls::TlsProblem::not_offered(&url.tls, D)),
        };
    }
    DbError::Connect { target, message }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_shapes_ignore_names() {
        assert_eq!(
            index_shape("CREATE UNIQUE INDEX users_email_key ON public.users USING btree (email)"),
            index_shape("CREATE UNIQUE INDEX _kirikae_n_users_email_key ON public._kirikae_n_users USING btree (email)")
        );
        assert_ne!(
            index_shape("CREATE INDEX a ON public.t USING btree (email)"),
            index_shape("CREATE UNIQUE INDEX a ON public.t USING btree (email)")
        );
    }
}
