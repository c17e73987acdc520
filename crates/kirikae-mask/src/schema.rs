//! The live schema as the engine sees it: tables, columns with a type class, keys, unique
//! indexes and foreign keys. Filled by the MySQL and PostgreSQL introspection; transforms check
//! their parameters against [`Column`] before any row is touched.

/// The class of a column's type, which decides which transforms fit it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ColumnKind {
    /// char, varchar, text, enum-as-text...
    Text,
    Integer,
    Decimal {
        scale: u32,
    },
    Float,
    Date,
    /// datetime, timestamp (with or without time zone)
    DateTime,
    Time,
    Json,
    Binary,
    Boolean,
    /// MySQL ENUM / SET and PostgreSQL enum types: text with a fixed set of values.
    Enum {
        values: Vec<String>,
    },
    Other,
}

impl ColumnKind {
    pub fn is_text(&self) -> bool {
        matches!(self, ColumnKind::Text)
    }
    pub fn is_numeric(&self) -> bool {
        matches!(
            self,
            ColumnKind::Integer | ColumnKind::Decimal { .. } | ColumnKind::Float
        )
    }
    pub fn is_temporal(&self) -> bool {
        matches!(self, ColumnKind::Date | ColumnKind::DateTime)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Column {
    pub name: String,
    /// The type as the server reports it, e.g. `varchar(255)`, `int(11)`, `timestamp without time zone`.
    pub sql_type: String,
    pub kind: ColumnKind,
    pub nullable: bool,
    /// For text columns, the maximum length in characters when the type has one.
    pub max_chars: Option<u32>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ForeignKey {
    pub name: String,
    pub table: String,
    pub columns: Vec<String>,
    pub referenced_table: String,
    pub referenced_columns: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Table {
    pub name: String,
    pub columns: Vec<Column>,
    pub primary_key: Vec<String>,
    /// Unique indexes (column lists), the primary key excluded.
    pub unique: Vec<Vec<String>>,
    /// Foreign keys of this table.
    pub foreign_keys: Vec<ForeignKey>,
    /// Server's estimate of the row count (for planning and progress only).
    pub rows_estimate: u64,
}

impl Table {
    /// A table as introspection starts it: no columns or keys yet.
    pub fn new(name: String, rows_estimate: u64) -> Table {
        Table {
            name,
            columns: Vec::new(),
            primary_key: Vec::new(),
            unique: Vec::new(),
            foreign_keys: Vec::new(),
            rows_estimate,
        }
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Schema {
    pub tables: Vec<Table>,
}

impl Schema {
    pub fn table(&self, name: &str) -> Option<&Table> {
        self.tables.iter().find(|t| t.name == name)
    }
    /// Foreign keys (of any table) that point at `table`.
    pub fn referencing(&self, table: &str) -> Vec<&ForeignKey> {
        self.tables
            .iter()
            .flat_map(|t| &t.foreign_keys)
            .filter(|fk| fk.referenced_table == table)
            .collect()
    }
}
