//! rnats broker: a NATS-compatible message broker (the library behind `rnats-server`).
//!
//! Layout: `proto` (wire parser, no IO) → `client` (one connection: reader, writer, outbound
//! queue, delivery) → `account`/`sublist` (who gets a message) with `auth`/`permissions` on the
//! way; `server` owns listeners and the client registry, `monitor` serves HTTP, `config`/`cli`
//! build `options`, `launch` starts it all.

pub mod account;
pub mod auth;
pub mod cli;
pub mod client;
pub mod config;
pub mod imports;
pub mod launch;
pub mod log_rotate;
pub mod logging;
pub mod mapping;
pub mod monitor;
pub mod options;
pub mod permissions;
pub mod procstat;
pub mod proto;
pub mod route;
pub mod server;
pub mod signal_cmd;
pub mod subject;
pub mod subject_transform;
pub mod sublist;
pub mod subscription;
pub mod sys;
pub mod tls;
