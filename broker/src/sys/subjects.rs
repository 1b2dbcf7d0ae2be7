//! The `$SYS` subjects nats-server 2.15 uses (`events.go`), and the table of internal
//! subscriptions the system account keeps: which subject, and what answers it.

/// The debug service the reference keeps local to each server.
pub const DEBUG_SUBSCRIBERS: &str = "$SYS.DEBUG.SUBSCRIBERS";

/// `$SYS.ACCOUNT.<acc>.CONNECT`.
pub fn connect_event(account: &str) -> String {
    format!("$SYS.ACCOUNT.{account}.CONNECT")
}

/// `$SYS.ACCOUNT.<acc>.DISCONNECT`.
pub fn disconnect_event(account: &str) -> String {
    format!("$SYS.ACCOUNT.{account}.DISCONNECT")
}

/// `$SYS.ACCOUNT.<acc>.SERVER.CONNS` (`accConnsEventSubjNew`).
pub fn account_conns(account: &str) -> String {
    format!("$SYS.ACCOUNT.{account}.SERVER.CONNS")
}

/// `$SYS.SERVER.ACCOUNT.<acc>.CONNS` (`accConnsEventSubjOld`, still sent for old servers).
pub fn account_conns_old(account: &str) -> String {
    format!("$SYS.SERVER.ACCOUNT.{account}.CONNS")
}

/// `$SYS.SERVER.<id>.STATSZ`.
pub fn statsz(server_id: &str) -> String {
    format!("$SYS.SERVER.{server_id}.STATSZ")
}

/// `$SYS.SERVER.<id>.SHUTDOWN`.
pub fn shutdown(server_id: &str) -> String {
    format!("$SYS.SERVER.{server_id}.SHUTDOWN")
}

/// `$SYS.SERVER.<id>.CLIENT.AUTH.ERR`.
pub fn auth_error(server_id: &str) -> String {
    format!("$SYS.SERVER.{server_id}.CLIENT.AUTH.ERR")
}

/// `$SYS.SERVER.<id>.LAMEDUCK`.
pub fn lame_duck(server_id: &str) -> String {
    format!("$SYS.SERVER.{server_id}.LAMEDUCK")
}

/// A monitoring endpoint answered under `$SYS.REQ.SERVER.PING.<name>` and
/// `$SYS.REQ.SERVER.<id>.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Endpoint {
    Idz,
    Statsz,
    Varz,
    Subsz,
    Connz,
    Routez,
    Gatewayz,
    Leafz,
    Accountz,
    Jsz,
    Healthz,
    Profilez,
    Expvarz,
    Ipqueuesz,
    Raftz,
}

impl Endpoint {
    /// Every endpoint, in the order their subscriptions are made.
    pub const ALL: [Endpoint; 15] = [
        Endpoint::Idz,
        Endpoint::Statsz,
        Endpoint::Varz,
        Endpoint::Subsz,
        Endpoint::Connz,
        Endpoint::Routez,
        Endpoint::Gatewayz,
        Endpoint::Leafz,
        Endpoint::Accountz,
        Endpoint::Jsz,
        Endpoint::Healthz,
        Endpoint::Profilez,
        Endpoint::Expvarz,
        Endpoint::Ipqueuesz,
        Endpoint::Raftz,
    ];

    /// The subject token.
    pub fn name(self) -> &'static str {
        match self {
            Endpoint::Idz => "IDZ",
            Endpoint::Statsz => "STATSZ",
            Endpoint::Varz => "VARZ",
            Endpoint::Subsz => "SUBSZ",
            Endpoint::Connz => "CONNZ",
            Endpoint::Routez => "ROUTEZ",
            Endpoint::Gatewayz => "GATEWAYZ",
            Endpoint::Leafz => "LEAFZ",
            Endpoint::Accountz => "ACCOUNTZ",
            Endpoint::Jsz => "JSZ",
            Endpoint::Healthz => "HEALTHZ",
            Endpoint::Profilez => "PROFILEZ",
            Endpoint::Expvarz => "EXPVARZ",
            Endpoint::Ipqueuesz => "IPQUEUESZ",
            Endpoint::Raftz => "RAFTZ",
        }
    }
}

/// An endpoint scoped to one account, under `$SYS.REQ.ACCOUNT.<acc>.<name>`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AccountEndpoint {
    Subsz,
    Connz,
    Leafz,
    Jsz,
    Info,
    Statz,
    Conns,
}

impl AccountEndpoint {
    /// Every account endpoint, in the order their subscriptions are made.
    pub const ALL: [AccountEndpoint; 7] = [
        AccountEndpoint::Subsz,
        AccountEndpoint::Connz,
        AccountEndpoint::Leafz,
        AccountEndpoint::Jsz,
        AccountEndpoint::Info,
        AccountEndpoint::Statz,
        AccountEndpoint::Conns,
    ];

    pub fn name(self) -> &'static str {
        match self {
            AccountEndpoint::Subsz => "SUBSZ",
            AccountEndpoint::Connz => "CONNZ",
            AccountEndpoint::Leafz => "LEAFZ",
            AccountEndpoint::Jsz => "JSZ",
            AccountEndpoint::Info => "INFO",
            AccountEndpoint::Statz => "STATZ",
            AccountEndpoint::Conns => "CONNS",
        }
    }
}

/// What an internal subscription does with the messages it gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Handler {
    /// `$SYS.REQ.SERVER.PING`: the `STATSZ` message (what `nats server list` reads).
    Ping,
    /// A server endpoint, for every server or for this one.
    Server(Endpoint),
    /// `$SYS.REQ.ACCOUNT.<acc>.<endpoint>`: the account is the subject's fourth token.
    Account(AccountEndpoint),
    /// `$SYS.REQ.ACCOUNT.PING.STATZ`: statistics of every account with connections.
    AccountPingStatz,
    /// `$SYS.REQ.USER.<acc>.INFO` (and `$SYS.REQ.USER.INFO` in the system account): the
    /// requesting user's account and permissions.
    UserInfo,
    /// Imported into an ordinary account: `$SYS.REQ.SERVER.PING.CONNZ` and
    /// `$SYS.REQ.ACCOUNT.PING.CONNZ`, answered with that account's connections only.
    ImportedConnz,
    /// Imported into an ordinary account: `$SYS.REQ.ACCOUNT.PING.STATZ` for that account.
    ImportedStatz,
    /// `$SYS.REQ.SERVER.<id>.KICK`: close a client by `cid`.
    Kick,
    /// `$SYS.REQ.SERVER.<id>.LDM`: send a client into lame duck mode (an INFO with `ldm`).
    Ldm,
    /// `$SYS.REQ.SERVER.<id>.RELOAD`: reload the configuration.
    Reload,
    /// Subscriptions kept for what other servers send (remote `STATSZ`, shutdowns, account
    /// connection counts, claim updates...): received and dropped until clustering uses them.
    Observe,
}

/// The internal subscriptions of the system account, as nats-server 2.15 makes them
/// (`initEventTracking`): 56 subjects. `shash` is the 8-character hash of the server name.
pub fn system_subscriptions(server_id: &str, shash: &str) -> Vec<(String, Handler)> {
    let mut subs = vec![
        (format!("$SYS._INBOX.{shash}.*"), Handler::Observe),
        ("$SYS.SERVER.ACCOUNT.*.CONNS".to_string(), Handler::Observe),
        (format!("$SYS._INBOX_.{server_id}"), Handler::Observe),
        ("$SYS.REQ.ACCOUNT.NSUBS".to_string(), Handler::Observe),
        ("$SYS.SERVER.*.STATSZ".to_string(), Handler::Observe),
        ("$SYS.SERVER.*.SHUTDOWN".to_string(), Handler::Observe),
        ("$SYS.SERVER.*.LAMEDUCK".to_string(), Handler::Observe),
        ("$SYS.ACCOUNT.*.CLAIMS.UPDATE".to_string(), Handler::Observe),
        (
            "$SYS.REQ.ACCOUNT.*.CLAIMS.UPDATE".to_string(),
            Handler::Observe,
        ),
        ("$SYS.REQ.SERVER.PING".to_string(), Handler::Ping),
    ];
    for e in Endpoint::ALL {
        subs.push((
            format!("$SYS.REQ.SERVER.{server_id}.{}", e.name()),
            Handler::Server(e),
        ));
        subs.push((
            format!("$SYS.REQ.SERVER.PING.{}", e.name()),
            Handler::Server(e),
        ));
    }
    for e in AccountEndpoint::ALL {
        subs.push((
            format!("$SYS.REQ.ACCOUNT.*.{}", e.name()),
            Handler::Account(e),
        ));
    }
    subs.extend([
        ("$SYS.REQ.USER.*.INFO".to_string(), Handler::UserInfo),
        (
            "$SYS.REQ.ACCOUNT.PING.STATZ".to_string(),
            Handler::AccountPingStatz,
        ),
        (
            "$SYS.ACCOUNT.*.LEAFNODE.CONNECT".to_string(),
            Handler::Observe,
        ),
        (format!("$SYS.LATENCY.M2.{shash}"), Handler::Observe),
        (DEBUG_SUBSCRIBERS.to_string(), Handler::Observe),
        (
            format!("$SYS.REQ.SERVER.{server_id}.RELOAD"),
            Handler::Reload,
        ),
        (format!("$SYS.REQ.SERVER.{server_id}.KICK"), Handler::Kick),
        (format!("$SYS.REQ.SERVER.{server_id}.LDM"), Handler::Ldm),
        // The system account imports its own user-info service (`addSystemAccountExports`).
        ("$SYS.REQ.USER.INFO".to_string(), Handler::UserInfo),
    ]);
    subs
}

/// What every other account imports from the system account (`registerSystemImports`): four
/// subjects whose answers concern the importing account only.
pub fn imported_subscriptions() -> [(&'static str, Handler); 4] {
    [
        ("$SYS.REQ.ACCOUNT.PING.CONNZ", Handler::ImportedConnz),
        ("$SYS.REQ.SERVER.PING.CONNZ", Handler::ImportedConnz),
        ("$SYS.REQ.ACCOUNT.PING.STATZ", Handler::ImportedStatz),
        ("$SYS.REQ.USER.INFO", Handler::UserInfo),
    ]
}

/// nats-server's `getHash`: the first 8 bytes of the SHA-256 of `name`, each mapped onto
/// `[0-9A-Za-z]` (byte modulo 62), which other servers use to address this one.
pub fn short_hash(name: &str) -> String {
    use sha2::{Digest, Sha256};
    /// nats-server's `digits` alphabet for the hash.
    const DIGITS: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    let sum = Sha256::digest(name.as_bytes());
    sum.iter()
        .take(8)
        .map(|b| DIGITS[(*b % 62) as usize] as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn as_many_subscriptions_as_the_reference() {
        let subs = system_subscriptions("NID", "abcdefgh");
        assert_eq!(subs.len(), 56);
        let mut subjects: Vec<_> = subs.iter().map(|(s, _)| s.clone()).collect();
        subjects.sort();
        subjects.dedup();
        assert_eq!(subjects.len(), 56, "no subject twice");
    }

    #[test]
    fn hash_matches_the_reference() {
        // The reference's `$SYS._INBOX.<hash>.*` for the server named
        // NARD67YF4BCD66ODA37CHFLJ4DSB3OUDDKBJ6G3C2OSUM6SREIC4NRKK was `9AUyx4gq`.
        assert_eq!(
            short_hash("NARD67YF4BCD66ODA37CHFLJ4DSB3OUDDKBJ6G3C2OSUM6SREIC4NRKK"),
            "9AUyx4gq"
        );
    }
}
