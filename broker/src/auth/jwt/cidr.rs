//! Source networks of a user JWT (`src`): CIDR parsing and the check of the client's address
//! (nats-server's `validateSrc`).

use std::net::IpAddr;

/// A parsed `addr/bits` network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    bits: u8,
}

impl Cidr {
    /// Go's `net.ParseCIDR`: an IPv4 or IPv6 address, `/`, and a prefix length in range.
    pub fn parse(s: &str) -> Option<Cidr> {
        let (addr, bits) = s.split_once('/')?;
        let addr: IpAddr = addr.parse().ok()?;
        if bits.is_empty() || bits.len() > 3 || !bits.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let bits: u8 = bits.parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        (bits <= max).then_some(Cidr { addr, bits })
    }

    /// Whether `ip` is inside (an IPv4-mapped IPv6 address counts as IPv4, as in Go).
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = match ip {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
            v4 => v4,
        };
        let net = match self.addr {
            IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(self.addr),
            v4 => v4,
        };
        match (net, ip) {
            (IpAddr::V4(n), IpAddr::V4(a)) => {
                let bits = u32::from(self.bits.min(32));
                let mask = if bits == 0 {
                    0
                } else {
                    u32::MAX << (32 - bits)
                };
                u32::from(n) & mask == u32::from(a) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(a)) => {
                let bits = u32::from(self.bits);
                let mask = if bits == 0 {
                    0
                } else {
                    u128::MAX << (128 - bits)
                };
                u128::from(n) & mask == u128::from(a) & mask
            }
            _ => false,
        }
    }
}

/// `validateSrc`: no list allows everyone; otherwise the client's host must parse and fall in
/// one of the networks (an unparsable entry refuses).
pub fn validate_src(src: &[String], host: &str) -> bool {
    if src.is_empty() {
        return true;
    }
    let Ok(ip) = host.parse::<IpAddr>() else {
        return false;
    };
    for entry in src {
        match Cidr::parse(entry) {
            None => return false,
            Some(c) if c.contains(ip) => return true,
            Some(_) => {}
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn list(items: &[&str]) -> Vec<String> {
        items.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn parse_as_go() {
        assert!(Cidr::parse("127.0.0.0/8").is_some());
        assert!(Cidr::parse("::1/128").is_some());
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(Cidr::parse("10.0.0.0").is_none());
        assert!(Cidr::parse("10.0.0.0/").is_none());
        assert!(Cidr::parse("10.0.0/8").is_none());
    }

    #[test]
    fn src_lists() {
        assert!(validate_src(&[], "1.2.3.4"));
        assert!(validate_src(&list(&["127.0.0.0/8"]), "127.0.0.1"));
        assert!(!validate_src(&list(&["10.0.0.0/8"]), "127.0.0.1"));
        assert!(validate_src(
            &list(&["10.0.0.0/8", "127.0.0.1/32"]),
            "127.0.0.1"
        ));
        assert!(validate_src(&list(&["127.0.0.0/8"]), "::ffff:127.0.0.1"));
        assert!(!validate_src(&list(&["bogus", "127.0.0.0/8"]), "127.0.0.1"));
        assert!(!validate_src(&list(&["127.0.0.0/8"]), ""));
        assert!(validate_src(&list(&["0.0.0.0/0"]), "8.8.8.8"));
    }
}
