//! Connection types (`allowed_connection_types` of configured users and user JWTs): the names
//! nats-server knows, and the one rnats' client listener has.

/// Connection types nats-server knows (`jwt.ConnectionType*`).
pub const KNOWN: [&str; 7] = [
    "STANDARD",
    "WEBSOCKET",
    "LEAFNODE",
    "LEAFNODE_WS",
    "MQTT",
    "MQTT_WS",
    "IN_PROCESS",
];

/// The connection type of rnats' client listener.
pub const CLIENT: &str = "STANDARD";

/// nats-server's `convertAllowedConnectionTypes`: the known types, upper-cased, and the
/// unknown ones (an error in a configuration).
pub fn convert(types: &[String]) -> (Vec<String>, Vec<String>) {
    let (mut known, mut unknown) = (Vec::new(), Vec::new());
    for t in types {
        let t = t.to_ascii_uppercase();
        if KNOWN.contains(&t.as_str()) {
            if !known.contains(&t) {
                known.push(t);
            }
        } else {
            unknown.push(t);
        }
    }
    (known, unknown)
}

/// nats-server's `connectionTypeAllowed` for a client of this listener: an empty list allows
/// every type.
pub fn client_allowed(allowed: &[String]) -> bool {
    allowed.is_empty() || allowed.iter().any(|t| t == CLIENT)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_and_checks_as_nats_server() {
        let given = ["standard", "Websocket", "PIGEON", "STANDARD"].map(String::from);
        let (known, unknown) = convert(&given);
        assert_eq!(known, ["STANDARD", "WEBSOCKET"]);
        assert_eq!(unknown, ["PIGEON"]);
        assert!(client_allowed(&known));
        assert!(client_allowed(&[]));
        assert!(!client_allowed(&["WEBSOCKET".to_string()]));
    }
}
