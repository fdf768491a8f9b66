//! Herald's single table: its key design and the two backends of the `Table` port.

pub mod keys;
