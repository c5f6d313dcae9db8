//! Which resolved addresses the prober may contact. The check is made on the address
//! actually connected to, after resolution, so a name cannot smuggle in a forbidden one.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// The EC2 instance-metadata service's IPv6 address.
pub const EC2_METADATA_V6: Ipv6Addr = Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254);

/// Why an address may not be probed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// Never probed, whatever the settings (link-local, instance metadata, multicast).
    Always(&'static str),
    /// Loopback and private ranges: probed only when private networks are allowed.
    UnlessPrivateAllowed(&'static str),
}

impl Refusal {
    pub fn description(self) -> &'static str {
        match self {
            Refusal::Always(d) | Refusal::UnlessPrivateAllowed(d) => d,
        }
    }
}

fn v4(ip: Ipv4Addr) -> Option<Refusal> {
    let o = ip.octets();
    if ip.is_link_local() {
        return Some(Refusal::Always(
            "a link-local or instance-metadata address, which is never probed",
        ));
    }
    if ip.is_multicast() || ip.is_broadcast() {
        return Some(Refusal::Always(
            "a multicast or broadcast address, which is never probed",
        ));
    }
    if ip.is_loopback() {
        return Some(Refusal::UnlessPrivateAllowed("a loopback address"));
    }
    if ip.is_unspecified() || o[0] == 0 {
        return Some(Refusal::UnlessPrivateAllowed("an unspecified address"));
    }
    if ip.is_private() || (o[0] == 100 && (o[1] & 0xc0) == 64) {
        return Some(Refusal::UnlessPrivateAllowed("a private address"));
    }
    None
}

fn v6(ip: Ipv6Addr) -> Option<Refusal> {
    let s = ip.segments();
    if ip == EC2_METADATA_V6 {
        return Some(Refusal::Always(
            "the instance-metadata address, which is never probed",
        ));
    }
    if (s[0] & 0xffc0) == 0xfe80 {
        return Some(Refusal::Always(
            "a link-local address, which is never probed",
        ));
    }
    if ip.is_multicast() {
        return Some(Refusal::Always(
            "a multicast address, which is never probed",
        ));
    }
    if ip.is_loopback() {
        return Some(Refusal::UnlessPrivateAllowed("a loopback address"));
    }
    if ip.is_unspecified() {
        return Some(Refusal::UnlessPrivateAllowed("an unspecified address"));
    }
    if (s[0] & 0xfe00) == 0xfc00 {
        return Some(Refusal::UnlessPrivateAllowed("a private address"));
    }
    None
}

/// Why `ip` may not be probed under these settings, or `None` when it may.
pub fn refusal(ip: IpAddr, allow_private: bool) -> Option<Refusal> {
    let found = match ip.to_canonical() {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => v6(a),
    };
    match found {
        Some(Refusal::UnlessPrivateAllowed(_)) if allow_private => None,
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn metadata_and_link_local_are_refused_even_when_private_is_allowed() {
        for a in [
            "169.254.169.254",
            "169.254.0.1",
            "fd00:ec2::254",
            "fe80::1",
            "::ffff:169.254.169.254",
            "224.0.0.1",
        ] {
            assert!(
                matches!(refusal(ip(a), true), Some(Refusal::Always(_))),
                "{a}"
            );
        }
    }

    #[test]
    fn loopback_and_private_ranges_need_the_setting() {
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fd12::1",
            "::ffff:10.0.0.1",
        ] {
            assert!(
                matches!(
                    refusal(ip(a), false),
                    Some(Refusal::UnlessPrivateAllowed(_))
                ),
                "{a}"
            );
            assert_eq!(refusal(ip(a), true), None, "{a}");
        }
    }

    #[test]
    fn public_addresses_are_allowed() {
        for a in [
            "93.184.216.34",
            "172.32.0.1",
            "100.128.0.1",
            "2606:4700::1111",
        ] {
            assert_eq!(refusal(ip(a), false), None, "{a}");
        }
    }
}
