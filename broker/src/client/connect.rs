//! The CONNECT options a client sends, with nats-server's defaults for absent fields.

use serde::Deserialize;

/// Highest client protocol version (`ClientProtoInfo`): echo and asynchronous INFO.
pub const MAX_CLIENT_PROTOCOL: i64 = 1;

/// Fields of `CONNECT {...}`. Absent fields keep their previous value, as nats-server
/// unmarshals into the existing options: before any CONNECT a client is verbose and pedantic.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct ConnectOptions {
    pub verbose: bool,
    pub pedantic: bool,
    pub tls_required: bool,
    pub auth_token: String,
    pub user: String,
    pub pass: String,
    pub nkey: String,
    pub sig: String,
    pub jwt: String,
    pub name: String,
    pub lang: String,
    pub version: String,
    pub protocol: i64,
    pub echo: bool,
    pub headers: bool,
    pub no_responders: bool,
    pub account: String,
    pub new_account: bool,
}

impl Default for ConnectOptions {
    fn default() -> Self {
        ConnectOptions {
            verbose: true,
            pedantic: true,
            tls_required: false,
            auth_token: String::new(),
            user: String::new(),
            pass: String::new(),
            nkey: String::new(),
            sig: String::new(),
            jwt: String::new(),
            name: String::new(),
            lang: String::new(),
            version: String::new(),
            protocol: 0,
            echo: true,
            headers: false,
            no_responders: false,
            account: String::new(),
            new_account: false,
        }
    }
}

impl ConnectOptions {
    /// Applies a CONNECT's JSON over the current options (fields it omits are kept).
    pub fn merge_json(&self, json: &[u8]) -> Result<ConnectOptions, serde_json::Error> {
        let mut value = serde_json::to_value(SerializableView(self))?;
        let update: serde_json::Value = serde_json::from_slice(json)?;
        let serde_json::Value::Object(update) = update else {
            return Err(serde::de::Error::custom(
                "CONNECT arguments must be a JSON object",
            ));
        };
        if let serde_json::Value::Object(base) = &mut value {
            for (k, v) in update {
                // Go's json.Unmarshal leaves a field unchanged when the value is null.
                if !v.is_null() {
                    base.insert(k, v);
                }
            }
        }
        serde_json::from_value(value)
    }
}

/// Serializes the known fields so an update can be merged over them.
struct SerializableView<'a>(&'a ConnectOptions);

impl serde::Serialize for SerializableView<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeMap;
        let o = self.0;
        let mut m = s.serialize_map(Some(18))?;
        m.serialize_entry("verbose", &o.verbose)?;
        m.serialize_entry("pedantic", &o.pedantic)?;
        m.serialize_entry("tls_required", &o.tls_required)?;
        m.serialize_entry("auth_token", &o.auth_token)?;
        m.serialize_entry("user", &o.user)?;
        m.serialize_entry("pass", &o.pass)?;
        m.serialize_entry("nkey", &o.nkey)?;
        m.serialize_entry("sig", &o.sig)?;
        m.serialize_entry("jwt", &o.jwt)?;
        m.serialize_entry("name", &o.name)?;
        m.serialize_entry("lang", &o.lang)?;
        m.serialize_entry("version", &o.version)?;
        m.serialize_entry("protocol", &o.protocol)?;
        m.serialize_entry("echo", &o.echo)?;
        m.serialize_entry("headers", &o.headers)?;
        m.serialize_entry("no_responders", &o.no_responders)?;
        m.serialize_entry("account", &o.account)?;
        m.serialize_entry("new_account", &o.new_account)?;
        m.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_connect_keeps_verbose_and_pedantic() {
        let o = ConnectOptions::default().merge_json(b"{}").expect("valid");
        assert!(o.verbose && o.pedantic && o.echo && !o.headers);
    }

    #[test]
    fn fields_are_applied() {
        let o = ConnectOptions::default()
            .merge_json(br#"{"verbose":false,"echo":false,"headers":true,"name":"n","protocol":1}"#)
            .expect("valid");
        assert!(!o.verbose && o.pedantic && !o.echo && o.headers);
        assert_eq!((o.name.as_str(), o.protocol), ("n", 1));
    }

    #[test]
    fn null_fields_keep_their_value() {
        let o = ConnectOptions::default()
            .merge_json(br#"{"verbose":null,"auth_token":null,"echo":null}"#)
            .expect("valid");
        assert!(o.verbose && o.echo && o.auth_token.is_empty());
    }

    #[test]
    fn bad_json_and_wrong_types_are_errors() {
        assert!(ConnectOptions::default().merge_json(b"{").is_err());
        assert!(
            ConnectOptions::default()
                .merge_json(br#"{"verbose":"yes"}"#)
                .is_err()
        );
        assert!(ConnectOptions::default().merge_json(b"[]").is_err());
    }
}
