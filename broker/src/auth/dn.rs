//! LDAP distinguished names as nats-server's `internal/ldap` reads and compares them (RFC 4514
//! parsing, attribute types compared case-insensitively, values exactly).

/// One relative distinguished name: its (type, value) pairs.
#[derive(Debug, Clone)]
pub struct Rdn(pub Vec<(String, String)>);

/// A distinguished name: its RDNs in order.
#[derive(Debug, Clone)]
pub struct Dn(pub Vec<Rdn>);

impl PartialEq for Rdn {
    /// Same attributes in any order (`RelativeDN.Equal`).
    fn eq(&self, other: &Self) -> bool {
        self.0.len() == other.0.len() && self.has_all(other) && other.has_all(self)
    }
}

impl Rdn {
    fn has_all(&self, other: &Rdn) -> bool {
        other.0.iter().all(|(t, v)| {
            self.0
                .iter()
                .any(|(mt, mv)| mt.eq_ignore_ascii_case(t) && mv == v)
        })
    }
}

impl PartialEq for Dn {
    /// Same RDNs in the same order (`DN.Equal`).
    fn eq(&self, other: &Self) -> bool {
        self.0 == other.0
    }
}

impl Dn {
    /// Same RDNs in any order (`DN.RDNsMatch`).
    pub fn rdns_match(&self, other: &Dn) -> bool {
        if self.0.len() != other.0.len() {
            return false;
        }
        let mut used = vec![false; other.0.len()];
        self.0.iter().all(|r| {
            let found = other
                .0
                .iter()
                .enumerate()
                .find(|(j, o)| !used[*j] && *o == r)
                .map(|(j, _)| j);
            match found {
                Some(j) => {
                    used[j] = true;
                    true
                }
                None => false,
            }
        })
    }

    /// `ldap.ParseDN`, with its errors.
    pub fn parse(s: &str) -> Result<Dn, &'static str> {
        let b = s.as_bytes();
        let mut dn = Vec::new();
        let mut rdn = Vec::new();
        let mut buf: Vec<u8> = Vec::new();
        let mut attr_type = String::new();
        let mut escaping = false;
        let mut trailing_spaces = 0usize;
        let take = |buf: &mut Vec<u8>, trailing: &mut usize| -> String {
            let keep = buf.len().saturating_sub(*trailing);
            let out = String::from_utf8_lossy(&buf[..keep]).into_owned();
            buf.clear();
            *trailing = 0;
            out
        };
        let mut i = 0;
        while i < b.len() {
            let c = b[i];
            if escaping {
                trailing_spaces = 0;
                escaping = false;
                if b" \"#+,;<=>\\".contains(&c) {
                    buf.push(c);
                    i += 1;
                    continue;
                }
                if i + 1 >= b.len() {
                    return Err("got corrupted escaped character");
                }
                let hex = std::str::from_utf8(&b[i..i + 2]).map_err(|_| "bad escape")?;
                let byte = u8::from_str_radix(hex, 16)
                    .map_err(|_| "failed to decode escaped character")?;
                buf.push(byte);
                i += 2;
                continue;
            }
            match c {
                b'\\' => {
                    trailing_spaces = 0;
                    escaping = true;
                }
                b'=' => {
                    attr_type = take(&mut buf, &mut trailing_spaces);
                    if b.get(i + 1) == Some(&b'#') {
                        return Err("unsupported BER encoding");
                    }
                }
                b',' | b'+' => {
                    if attr_type.is_empty() {
                        return Err("incomplete type, value pair");
                    }
                    let value = take(&mut buf, &mut trailing_spaces);
                    rdn.push((std::mem::take(&mut attr_type), value));
                    if c == b',' {
                        dn.push(Rdn(std::mem::take(&mut rdn)));
                    }
                }
                b' ' if buf.is_empty() => {}
                _ => {
                    if c == b' ' {
                        trailing_spaces += 1;
                    } else {
                        trailing_spaces = 0;
                    }
                    buf.push(c);
                }
            }
            i += 1;
        }
        if !buf.is_empty() {
            if attr_type.is_empty() {
                return Err("DN ended with incomplete type, value pair");
            }
            let value = take(&mut buf, &mut trailing_spaces);
            rdn.push((attr_type, value));
            dn.push(Rdn(rdn));
        }
        Ok(Dn(dn))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dn(s: &str) -> Dn {
        Dn::parse(s).expect("valid DN")
    }

    #[test]
    fn parses_escapes_spaces_and_multi_valued_rdns() {
        let d = dn("CN=a\\,b ,  OU=x+O=y,DC=\\41");
        assert_eq!(d.0.len(), 3);
        assert_eq!(d.0[0].0, vec![("CN".to_string(), "a,b".to_string())]);
        assert_eq!(d.0[1].0.len(), 2);
        assert_eq!(d.0[2].0[0].1, "A");
        assert!(Dn::parse("=x,").is_err());
        assert!(Dn::parse("CN=#04").is_err());
        assert!(Dn::parse("x").is_err());
    }

    #[test]
    fn equality_and_reordering() {
        assert_eq!(dn("cn=a,O=b"), dn("CN=a,o=b"));
        assert_ne!(dn("CN=a,O=b"), dn("CN=A,O=b"));
        assert_eq!(dn("OU=x+O=y"), dn("O=y+OU=x"));
        assert_ne!(dn("CN=a,O=b"), dn("O=b,CN=a"));
        assert!(dn("CN=a,O=b").rdns_match(&dn("O=b,CN=a")));
        assert!(!dn("CN=a,O=b").rdns_match(&dn("O=b,CN=a,C=x")));
    }
}
