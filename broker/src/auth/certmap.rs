//! `verify_and_map`: finding the configured user a client certificate names, in nats-server's
//! order (`checkClientTLSCertSubject`): SAN e-mail addresses, DNS names and URIs; then the
//! subject as an LDAP distinguished name (exact, then with RDNs reordered); then the subject
//! as Go renders it (`pkix.Name.ToRDNSequence().String()`, RFC 2253 style, e.g.
//! `CN=alice,OU=eng,O=Acme,C=US`), first with its `DC=` components appended.

use x509_parser::asn1_rs::Tag;
use x509_parser::prelude::{GeneralName, X509Certificate, X509Name};
use x509_parser::x509::AttributeTypeAndValue;

use super::dn::{Dn, Rdn};
use crate::options::User;

const OID_CN: &str = "2.5.4.3";
const OID_SERIALNUMBER: &str = "2.5.4.5";
const OID_C: &str = "2.5.4.6";
const OID_L: &str = "2.5.4.7";
const OID_ST: &str = "2.5.4.8";
const OID_STREET: &str = "2.5.4.9";
const OID_O: &str = "2.5.4.10";
const OID_OU: &str = "2.5.4.11";
const OID_POSTALCODE: &str = "2.5.4.17";
const OID_DC: &str = "0.9.2342.19200300.100.1.25";

/// The attribute types `pkix.Name` keeps as fields, in `ToRDNSequence` order, with their
/// short names. Other attributes (e-mail, UID, DC) are dropped from that rendering.
const NAME_FIELDS: [(&str, &str); 9] = [
    (OID_C, "C"),
    (OID_ST, "ST"),
    (OID_L, "L"),
    (OID_STREET, "STREET"),
    (OID_POSTALCODE, "POSTALCODE"),
    (OID_O, "O"),
    (OID_OU, "OU"),
    (OID_CN, "CN"),
    (OID_SERIALNUMBER, "SERIALNUMBER"),
];

/// The user the DER certificate maps to, if any.
pub fn map_user<'u>(cert_der: &[u8], users: &'u [User]) -> Option<&'u User> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        tracing::debug!("User required in cert, certificate does not parse");
        return None;
    };
    let lookup = |name: &str| users.iter().find(|u| u.username == name);
    let (emails, dns, uris) = alt_names(&cert);
    let subject = cert.subject();
    if emails.is_empty()
        && dns.is_empty()
        && uris.is_empty()
        && subject.iter_attributes().count() == 0
    {
        tracing::debug!("User required in cert, none found");
        return None;
    }
    for (kind, names) in [("email", &emails), ("SAN", &dns), ("URI", &uris)] {
        if let Some(u) = names.iter().find_map(|n| lookup(n)) {
            tracing::debug!("Using {kind} found in cert for auth [{:?}]", u.username);
            return Some(u);
        }
    }
    let rdn = go_rdn_string(subject);
    if let Some(cert_dn) = raw_subject_dn(subject) {
        if let Some(u) = dn_match(&cert_dn, users) {
            tracing::debug!("Using DistinguishedNameMatch for auth [{:?}]", u.username);
            return Some(u);
        }
        tracing::debug!("DistinguishedNameMatch could not be used for auth [{rdn:?}]");
    }
    let dcs: Vec<String> = subject
        .iter_attributes()
        .filter(|a| a.attr_type().to_id_string() == OID_DC)
        .filter_map(|a| go_string(a).map(|v| format!("DC={v}")))
        .collect();
    if !dcs.is_empty() {
        let with_dcs = format!("{rdn},{}", dcs.join(","));
        if let Some(u) = lookup(&with_dcs) {
            tracing::debug!("Using RDNSequence for auth [{:?}]", u.username);
            return Some(u);
        }
        tracing::debug!("RDNSequence could not be used for auth [{with_dcs:?}]");
    }
    if let Some(u) = lookup(&rdn) {
        tracing::debug!("Using certificate subject for auth [{:?}]", u.username);
        return Some(u);
    }
    tracing::debug!("User in cert [{rdn:?}], not found");
    None
}

/// The names a route certificate offers for authorization, in the order nats-server's
/// `checkClientTLSCertSubject` tries them for routes: SAN e-mails, DNS names (flagged `true`)
/// and URIs, then the subject with its domain components, then the subject. Empty when the
/// certificate does not parse.
pub(crate) fn route_names(cert_der: &[u8]) -> Vec<(String, bool)> {
    let Ok((_, cert)) = x509_parser::parse_x509_certificate(cert_der) else {
        return Vec::new();
    };
    let (emails, dns, uris) = alt_names(&cert);
    let mut out: Vec<(String, bool)> = emails.iter().map(|e| (e.to_string(), false)).collect();
    out.extend(dns.iter().map(|d| (d.to_string(), true)));
    out.extend(uris.iter().map(|u| (u.to_string(), false)));
    let subject = cert.subject();
    let rdn = go_rdn_string(subject);
    let dcs: Vec<String> = subject
        .iter_attributes()
        .filter(|a| a.attr_type().to_id_string() == OID_DC)
        .filter_map(|a| go_string(a).map(|v| format!("DC={v}")))
        .collect();
    if !dcs.is_empty() {
        out.push((format!("{rdn},{}", dcs.join(",")), false));
    }
    out.push((rdn, false));
    out
}

/// SAN e-mail addresses, DNS names and URIs, each in certificate order.
fn alt_names<'a>(cert: &'a X509Certificate<'a>) -> (Vec<&'a str>, Vec<&'a str>, Vec<&'a str>) {
    let (mut emails, mut dns, mut uris) = (Vec::new(), Vec::new(), Vec::new());
    if let Ok(Some(san)) = cert.subject_alternative_name() {
        for name in &san.value.general_names {
            match name {
                GeneralName::RFC822Name(e) => emails.push(*e),
                GeneralName::DNSName(d) => dns.push(*d),
                GeneralName::URI(u) => uris.push(*u),
                _ => {}
            }
        }
    }
    (emails, dns, uris)
}

/// Go's string value of an attribute (`asn1.Unmarshal` into `any`): the ASN.1 string types;
/// `None` for anything else.
fn go_string(a: &AttributeTypeAndValue<'_>) -> Option<String> {
    let v = a.attr_value();
    match v.tag() {
        Tag::NumericString | Tag::PrintableString | Tag::Utf8String | Tag::Ia5String => {
            a.as_str().ok().map(str::to_string)
        }
        // Go reads T61String bytes as Latin-1.
        Tag::T61String => Some(v.data.iter().map(|&b| char::from(b)).collect()),
        Tag::BmpString => {
            let units: Vec<u16> = v
                .data
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            String::from_utf16(&units).ok()
        }
        _ => None,
    }
}

/// The subject as `/connz` `tls_peer_certs` shows it (Go's `pkix.Name.String()`; attributes
/// outside `pkix.Name`'s fields, which Go appends as `OID=#hex`, are left out).
pub(crate) fn go_subject_string(subject: &X509Name<'_>) -> String {
    go_rdn_string(subject)
}

/// `cert.Subject.ToRDNSequence().String()`: the known attributes regrouped by type in Go's
/// field order (several values of one type form one multi-valued RDN), rendered last first.
fn go_rdn_string(subject: &X509Name<'_>) -> String {
    let mut groups: Vec<(&str, Vec<String>)> = Vec::new();
    for (oid, short) in NAME_FIELDS {
        let mut values: Vec<String> = subject
            .iter_attributes()
            .filter(|a| a.attr_type().to_id_string() == oid)
            .filter_map(go_string)
            .collect();
        // CN and SERIALNUMBER are single fields in pkix.Name: the last value wins.
        if (oid == OID_CN || oid == OID_SERIALNUMBER) && values.len() > 1 {
            values = values.split_off(values.len() - 1);
        }
        if !values.is_empty() {
            groups.push((short, values));
        }
    }
    let rdns: Vec<String> = groups
        .iter()
        .rev()
        .map(|(short, values)| {
            let parts: Vec<String> = values
                .iter()
                .map(|v| format!("{short}={}", escape_rdn_value(v)))
                .collect();
            parts.join("+")
        })
        .collect();
    rdns.join(",")
}

/// Go's RFC 2253 escaping in `RDNSequence.String`.
fn escape_rdn_value(v: &str) -> String {
    let last = v.len().saturating_sub(1);
    let mut out = String::with_capacity(v.len());
    for (i, c) in v.char_indices() {
        let escape = match c {
            ',' | '+' | '"' | '\\' | '<' | '>' | ';' => true,
            ' ' => i == 0 || i == last,
            '#' => i == 0,
            _ => false,
        };
        if escape {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// The subject as an LDAP DN (`ldap.FromRawCertSubject`): RDNs and their attributes in
/// reverse order; `None` when an attribute is of a type it cannot name or not a string.
fn raw_subject_dn(subject: &X509Name<'_>) -> Option<Dn> {
    let mut rdns = Vec::new();
    for rdn in subject.iter_rdn().collect::<Vec<_>>().into_iter().rev() {
        let attrs: Vec<_> = rdn.iter().collect();
        if attrs.is_empty() {
            continue;
        }
        let mut out = Vec::with_capacity(attrs.len());
        for a in attrs.into_iter().rev() {
            let oid = a.attr_type().to_id_string();
            let short = if oid == OID_DC {
                "DC"
            } else {
                NAME_FIELDS.iter().find(|(o, _)| *o == oid)?.1
            };
            out.push((short.to_string(), go_string(a)?));
        }
        rdns.push(Rdn(out));
    }
    Some(Dn(rdns))
}

/// The first user whose name, read as a DN, equals the certificate's; then one whose RDNs
/// match in another order.
fn dn_match<'u>(cert_dn: &Dn, users: &'u [User]) -> Option<&'u User> {
    let parsed: Vec<(&User, Dn)> = users
        .iter()
        .filter_map(|u| Dn::parse(&u.username).ok().map(|dn| (u, dn)))
        .collect();
    parsed
        .iter()
        .find(|(_, dn)| dn == cert_dn)
        .or_else(|| parsed.iter().find(|(_, dn)| dn.rdns_match(cert_dn)))
        .map(|(u, _)| *u)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rcgen::{CertificateParams, DnType, KeyPair, SanType};

    fn user(name: &str) -> User {
        User {
            username: name.into(),
            password: String::new(),
            permissions: None,
            account: None,
            connection_types: Vec::new(),
        }
    }

    fn cert(dn: &[(DnType, &str)], sans: Vec<SanType>) -> Vec<u8> {
        let mut p = CertificateParams::new(Vec::<String>::new()).expect("params");
        p.distinguished_name = rcgen::DistinguishedName::new();
        for (t, v) in dn {
            p.distinguished_name.push(t.clone(), *v);
        }
        p.subject_alt_names = sans;
        let key = KeyPair::generate().expect("key");
        p.self_signed(&key).expect("cert").der().to_vec()
    }

    fn subject_dn() -> Vec<(DnType, &'static str)> {
        vec![
            (DnType::CountryName, "US"),
            (DnType::OrganizationName, "Acme"),
            (DnType::OrganizationalUnitName, "eng"),
            (DnType::CommonName, "alice"),
        ]
    }

    #[test]
    fn subject_renders_as_go() {
        let der = cert(&subject_dn(), vec![]);
        let (_, c) = x509_parser::parse_x509_certificate(&der).expect("parse");
        assert_eq!(go_rdn_string(c.subject()), "CN=alice,OU=eng,O=Acme,C=US");
        assert_eq!(escape_rdn_value(" a,b# "), "\\ a\\,b#\\ ");
        assert_eq!(escape_rdn_value("#x"), "\\#x");
    }

    #[test]
    fn maps_email_then_subject_then_reordered_dn() {
        let der = cert(
            &subject_dn(),
            vec![SanType::Rfc822Name(
                "alice@example.com".try_into().expect("ia5"),
            )],
        );
        let users = [user("bob"), user("alice@example.com")];
        assert_eq!(
            map_user(&der, &users).map(|u| u.username.as_str()),
            Some("alice@example.com")
        );
        let users = [user("CN=alice,OU=eng,O=Acme,C=US")];
        assert!(map_user(&der, &users).is_some());
        let users = [user("C=US,O=Acme,OU=eng,CN=alice")];
        assert!(map_user(&der, &users).is_some());
        let users = [user("CN=alice"), user("bob")];
        assert!(map_user(&der, &users).is_none());
    }

    #[test]
    fn domain_components_are_appended() {
        let der = cert(
            &[
                (DnType::CommonName, "svc"),
                (
                    DnType::CustomDnType(vec![0, 9, 2342, 19200300, 100, 1, 25]),
                    "example",
                ),
            ],
            vec![],
        );
        let (_, c) = x509_parser::parse_x509_certificate(&der).expect("parse");
        assert_eq!(go_rdn_string(c.subject()), "CN=svc");
        let users = [user("CN=svc,DC=example")];
        assert!(map_user(&der, &users).is_some());
        assert!(map_user(b"not a certificate", &users).is_none());
    }
}
