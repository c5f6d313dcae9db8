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
    if o[0] >= 240 {
        return Some(Refusal::Always(
            "a reserved address (240.0.0.0/4), which is never probed",
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
    if o[0] == 198 && (o[1] & 0xfe) == 18 {
        return Some(Refusal::UnlessPrivateAllowed(
            "a benchmarking address (198.18.0.0/15)",
        ));
    }
    if o[0] == 192 && o[1] == 0 && o[2] == 0 {
        return Some(Refusal::UnlessPrivateAllowed(
            "an IETF protocol address (192.0.0.0/24)",
        ));
    }
    None
}

/// The IPv4 address an IPv6 address carries, if it is one of the forms that do: NAT64
/// (`64:ff9b::/96`, and the local-use `64:ff9b:1::/48`, flagged `true`) and IPv4-compatible
/// (`::/96`, less `::` and `::1`) in the last 32 bits, 6to4 (`2002::/16`) in bits 16–47.
/// (IPv4-mapped `::ffff:0:0/96` is made canonical before.)
fn embedded_v4(ip: Ipv6Addr) -> Option<(Ipv4Addr, bool)> {
    let s = ip.segments();
    let v4 = |hi: u16, lo: u16| {
        let [a, b] = hi.to_be_bytes();
        let [c, d] = lo.to_be_bytes();
        Ipv4Addr::new(a, b, c, d)
    };
    match s {
        [0x64, 0xff9b, 0, 0, 0, 0, hi, lo] => Some((v4(hi, lo), false)),
        [0x64, 0xff9b, 1, _, _, _, hi, lo] => Some((v4(hi, lo), true)),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, hi, lo] => Some((v4(hi, lo), false)),
        [0x2002, hi, lo, ..] => Some((v4(hi, lo), false)),
        _ => None,
    }
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
    let found =
        match ip.to_canonical() {
            IpAddr::V4(a) => v4(a),
            IpAddr::V6(a) => match embedded_v4(a) {
                // Judged like the IPv4 address it carries; a local-use NAT64 prefix is itself
                // private, so never more open than that.
                Some((inner, local_use)) => v4(inner)
                    .or(local_use
                        .then_some(Refusal::UnlessPrivateAllowed("a local-use NAT64 address"))),
                None => v6(a),
            },
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

    fn always_refused(a: &str) {
        assert!(
            matches!(refusal(ip(a), true), Some(Refusal::Always(_))),
            "{a}"
        );
    }

    fn needs_the_private_setting(a: &str) {
        assert!(
            matches!(
                refusal(ip(a), false),
                Some(Refusal::UnlessPrivateAllowed(_))
            ),
            "{a}"
        );
        assert_eq!(refusal(ip(a), true), None, "{a}");
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
            always_refused(a);
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
            needs_the_private_setting(a);
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

    #[test]
    fn reserved_benchmarking_and_protocol_ranges_are_refused() {
        for a in ["240.0.0.1", "255.255.255.254"] {
            always_refused(a);
        }
        for a in ["198.18.0.1", "198.19.255.255", "192.0.0.8", "192.0.0.170"] {
            needs_the_private_setting(a);
        }
        for a in [
            "198.17.255.255",
            "198.20.0.1",
            "192.0.1.1",
            "239.255.255.255",
        ] {
            assert!(
                !matches!(
                    refusal(ip(a), false),
                    Some(Refusal::UnlessPrivateAllowed(_))
                ),
                "{a}"
            );
        }
    }

    /// The IPv6 forms that carry an IPv4 address, with that address in the last 32 bits
    /// (NAT64 `64:ff9b::/96` and `64:ff9b:1::/48`, IPv4-compatible `::/96`) or in bits
    /// 16–47 (6to4 `2002::/16`).
    fn embeddings(v4: Ipv4Addr) -> Vec<IpAddr> {
        let [a, b, c, d] = v4.octets();
        let hi = u16::from_be_bytes([a, b]);
        let lo = u16::from_be_bytes([c, d]);
        vec![
            IpAddr::V6(Ipv6Addr::new(0x64, 0xff9b, 0, 0, 0, 0, hi, lo)),
            IpAddr::V6(Ipv6Addr::new(0x64, 0xff9b, 1, 0, 0, 0, hi, lo)),
            IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0, 0, hi, lo)),
            IpAddr::V6(Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1)),
        ]
    }

    #[test]
    fn an_embedded_ipv4_address_is_judged_like_the_plain_one() {
        for plain in [
            "169.254.169.254",
            "10.0.0.1",
            "127.0.0.1",
            "192.168.1.1",
            "198.18.0.1",
            "240.0.0.1",
            "93.184.216.34",
            "8.8.8.8",
        ] {
            let v4: Ipv4Addr = plain.parse().unwrap();
            for allow_private in [false, true] {
                let expected =
                    refusal(IpAddr::V4(v4), allow_private).map(|r| std::mem::discriminant(&r));
                for embedded in embeddings(v4) {
                    let got = refusal(embedded, allow_private).map(|r| std::mem::discriminant(&r));
                    // The local-use NAT64 prefix is itself private: never more open than that.
                    let local_use = embedded.to_string().starts_with("64:ff9b:1:");
                    if local_use && expected.is_none() {
                        assert_eq!(
                            got.is_some(),
                            !allow_private,
                            "{embedded} ({plain}), private allowed: {allow_private}"
                        );
                    } else {
                        assert_eq!(
                            got, expected,
                            "{embedded} ({plain}), private allowed: {allow_private}"
                        );
                    }
                }
            }
        }
    }
}
