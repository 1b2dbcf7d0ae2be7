//! The control plane's own network interface: a Linux bridge (`ip link add …
//! type bridge`; the `dummy` kind needs a kernel module that not every machine
//! has) carrying a private 10.254.N.1/24 address. The control plane listens and
//! advertises there, never on loopback and never on the host's external
//! interface; later, pods in network namespaces attach to the same bridge.

use std::net::Ipv4Addr;
use std::path::Path;
use std::process::Command;

use crate::error::{Error, Result};

/// Interface names are this prefix plus the slot number (IFNAMSIZ allows 15 bytes).
pub const LINK_PREFIX: &str = "rnats-e2e";

/// The /24 of slot `n` is 10.254.n.0/24; the control plane takes .1.
pub fn slot_address(slot: u8) -> Ipv4Addr {
    Ipv4Addr::new(10, 254, slot, 1)
}

/// The interface name of slot `n`.
pub fn slot_link(slot: u8) -> String {
    format!("{LINK_PREFIX}{slot}")
}

/// Whether interface `name` exists.
pub fn link_exists(name: &str) -> bool {
    Path::new("/sys/class/net").join(name).exists()
}

/// Whether a route of the host, other than one through the slot's own
/// interface (a leftover the slot's owner replaces), covers 10.254.`slot`.0/24,
/// which would make the slot's address ambiguous.
pub fn subnet_in_use(slot: u8) -> Result<bool> {
    let routes = ip(&["-o", "-4", "route", "show", "table", "all"])?;
    let prefix = format!("10.254.{slot}.");
    let own = format!("dev {} ", slot_link(slot));
    Ok(routes
        .lines()
        .any(|line| line.contains(&prefix) && !line.contains(&own)))
}

/// Creates bridge `name` with `address`/24 and brings it up. The caller owns
/// the name (its slot) and deletes the link when done, also after a failure here.
pub fn create_bridge(name: &str, address: Ipv4Addr) -> Result<()> {
    if link_exists(name) {
        // A leftover of a killed run in the slot we now own.
        delete_link(name)?;
    }
    ip(&["link", "add", name, "type", "bridge"])?;
    ip(&["addr", "add", &format!("{address}/24"), "dev", name])?;
    ip(&["link", "set", name, "up"])?;
    Ok(())
}

/// Deletes interface `name` (its addresses and routes go with it); a missing
/// interface is not an error.
pub fn delete_link(name: &str) -> Result<()> {
    if !link_exists(name) {
        return Ok(());
    }
    ip(&["link", "del", name]).map(drop)
}

/// Runs `ip ARGS`, returning stdout.
fn ip(args: &[&str]) -> Result<String> {
    let command = format!("ip {}", args.join(" "));
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| Error::Command {
            command: command.clone(),
            detail: format!("{e} (is iproute2 installed?)"),
        })?;
    if !out.status.success() {
        return Err(Error::Command {
            command,
            detail: format!(
                "{}: {} (creating interfaces needs root or CAP_NET_ADMIN)",
                out.status,
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slot_names_fit_ifnamsiz_and_addresses_are_private() {
        assert_eq!(slot_link(15), "rnats-e2e15");
        assert!(slot_link(u8::MAX).len() <= 15);
        let addr = slot_address(3);
        assert!(addr.is_private() && !addr.is_loopback());
        assert_eq!(addr, Ipv4Addr::new(10, 254, 3, 1));
    }
}
