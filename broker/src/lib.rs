//! rnats broker: a NATS-compatible message broker (library half of `rnats-server`).
