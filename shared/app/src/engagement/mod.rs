//! What networks report about the account's posts: comments and mentions become inbox items,
//! likes, shares and impressions engagement events for the aggregator. Each report is
//! deduplicated by the network's own id, in the same transaction as what it records.

pub mod remote;

pub use remote::remote_post_op;
