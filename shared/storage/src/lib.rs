//! Herald's single table: its key design and the two backends of the `Table` port.

mod codec;
pub mod embedded;
pub mod keys;

pub use embedded::EmbeddedTable;
