//! Herald's single table: its key design and the two backends of the `Table` port.

mod codec;
#[cfg(feature = "aws")]
pub mod dynamo;
pub mod embedded;
pub mod keys;

#[cfg(feature = "aws")]
pub use dynamo::DynamoTable;
pub use embedded::EmbeddedTable;
