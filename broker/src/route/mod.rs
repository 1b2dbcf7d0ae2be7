//! The NATS route protocol between servers (nats-server 2.15's, without pooling or
//! compression, which nats-server accepts from a peer that does not advertise them):
//! handshake, `RS+`/`RS-` interest, `RMSG`/`HMSG`, the one-hop rule, gossip of peers, and
//! `connect_urls` pushed to clients.
//!
//! Layout: `options` (the `cluster {}` block), `certauth` (authorization by certificate), `parse` (wire parser), `info` (INFO/CONNECT
//! bodies), `registry` (peers, local interest, client URLs), `conn` (one route connection),
//! `dial` (soliciting and reconnecting), `listen` (the accept loop), `perms` (cluster
//! import/export permissions).

pub mod certauth;
pub mod conn;
pub mod dial;
pub mod info;
pub mod listen;
pub mod options;
pub mod parse;
pub mod perms;
pub mod registry;

pub use registry::Routes;
