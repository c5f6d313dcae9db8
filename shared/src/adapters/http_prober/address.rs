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
/// (`::/96`, less `::` and `::1`) and IPv4-translated (`::ffff:0:0:0/96`) in the last 32 bits,
/// 6to4 (`2002::/16`) in bits 16–47, ISATAP (interface identifier `0:5efe` or `200:5efe`,
/// any prefix) in the last 32 bits, and Teredo (`2001::/32`) whose client address is the
/// last 32 bits inverted.
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
        // IPv4-translated (SIIT, `::ffff:0:0:0/96`).
        [0, 0, 0, 0, 0xffff, 0, hi, lo] => Some((v4(hi, lo), false)),
        [0, 0, 0, 0, 0, 0, 0, 0 | 1] => None,
        [0, 0, 0, 0, 0, 0, hi, lo] => Some((v4(hi, lo), false)),
        [0x2002, hi, lo, ..] => Some((v4(hi, lo), false)),
        [0x2001, 0, _, _, _, _, hi, lo] => Some((v4(!hi, !lo), false)),
        [_, _, _, _, 0 | 0x200, 0x5efe, hi, lo] => Some((v4(hi, lo), false)),
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
    if (s[0] & 0xffc0) == 0xfec0 {
        return Some(Refusal::UnlessPrivateAllowed(
            "a site-local address (fec0::/10)",
        ));
    }
    if matches!(s, [0x100, 0, 0, 0, ..]) {
        return Some(Refusal::Always(
            "a discard-only address (100::/64), which is never probed",
        ));
    }
    if matches!(s, [0x2001, 0xdb8, ..]) {
        return Some(Refusal::Always(
            "a documentation address (2001:db8::/32), which is never probed",
        ));
    }
    None
}

/// The stricter of two judgements: never over only-if-private over allowed.
fn stricter(a: Option<Refusal>, b: Option<Refusal>) -> Option<Refusal> {
    match (a, b) {
        (Some(Refusal::Always(d)), _) | (_, Some(Refusal::Always(d))) => Some(Refusal::Always(d)),
        (Some(r), _) | (None, Some(r)) => Some(r),
        (None, None) => None,
    }
}

/// Why `ip` may not be probed under these settings, or `None` when it may.
pub fn refusal(ip: IpAddr, allow_private: bool) -> Option<Refusal> {
    let found = match ip.to_canonical() {
        IpAddr::V4(a) => v4(a),
        IpAddr::V6(a) => match embedded_v4(a) {
            // Judged like the IPv4 address it carries, and never more open than its own
            // prefix (an ISATAP identifier under fe80::/10 is link-local; a local-use
            // NAT64 prefix is private).
            Some((inner, local_use)) => stricter(
                stricter(v4(inner), v6(a)),
                local_use.then_some(Refusal::UnlessPrivateAllowed("a local-use NAT64 address")),
            ),
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
            IpAddr::V6(Ipv6Addr::new(0, 0, 0, 0, 0xffff, 0, hi, lo)),
            IpAddr::V6(Ipv6Addr::new(0x2002, hi, lo, 0, 0, 0, 0, 1)),
            IpAddr::V6(Ipv6Addr::new(
                0x2001, 0, 0x4136, 0xe378, 0x8000, 0x63bf, !hi, !lo,
            )),
            IpAddr::V6(Ipv6Addr::new(0x2001, 0x470, 1, 2, 0, 0x5efe, hi, lo)),
            IpAddr::V6(Ipv6Addr::new(0x2600, 0x1f18, 0, 0, 0x200, 0x5efe, hi, lo)),
        ]
    }

    #[test]
    fn site_local_discard_and_documentation_ranges_are_refused() {
        needs_the_private_setting("fec0::1");
        needs_the_private_setting("feff::1");
        for a in [
            "100::1",
            "100::ffff:ffff:ffff:ffff",
            "2001:db8::1",
            "2001:db8:ffff::1",
        ] {
            always_refused(a);
        }
        for a in ["100:0:0:1::1", "2001:db9::1", "2001:4860:4860::8888"] {
            assert_eq!(refusal(ip(a), false), None, "{a}");
        }
        // An embedded public IPv4 address does not open a link-local prefix.
        always_refused("fe80::200:5efe:808:808");
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

/// Property tests (`cargo test -p connector-health-shared --lib properties`).
#[cfg(test)]
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// What a refusal amounts to, without its wording.
    #[derive(Debug, Clone, Copy, PartialEq, Eq)]
    enum Kind {
        Allowed,
        UnlessPrivateAllowed,
        Always,
    }

    fn kind(r: Option<Refusal>) -> Kind {
        match r {
            None => Kind::Allowed,
            Some(Refusal::UnlessPrivateAllowed(_)) => Kind::UnlessPrivateAllowed,
            Some(Refusal::Always(_)) => Kind::Always,
        }
    }

    /// The IPv4 rules written as a table of ranges (the first that holds wins), to check
    /// the octet arithmetic of `v4` against.
    const V4_RANGES: &[([u8; 4], u8, Kind)] = &[
        ([169, 254, 0, 0], 16, Kind::Always),
        ([224, 0, 0, 0], 4, Kind::Always),
        ([240, 0, 0, 0], 4, Kind::Always),
        ([127, 0, 0, 0], 8, Kind::UnlessPrivateAllowed),
        ([0, 0, 0, 0], 8, Kind::UnlessPrivateAllowed),
        ([10, 0, 0, 0], 8, Kind::UnlessPrivateAllowed),
        ([172, 16, 0, 0], 12, Kind::UnlessPrivateAllowed),
        ([192, 168, 0, 0], 16, Kind::UnlessPrivateAllowed),
        ([100, 64, 0, 0], 10, Kind::UnlessPrivateAllowed),
        ([198, 18, 0, 0], 15, Kind::UnlessPrivateAllowed),
        ([192, 0, 0, 0], 24, Kind::UnlessPrivateAllowed),
    ];

    fn in_v4_range(ip: Ipv4Addr, (net, len, _): &([u8; 4], u8, Kind)) -> bool {
        let mask = u32::MAX.checked_shl(32 - u32::from(*len)).unwrap_or(0);
        u32::from(ip) & mask == u32::from(Ipv4Addr::from(*net)) & mask
    }

    fn v4_model(ip: Ipv4Addr) -> Kind {
        V4_RANGES
            .iter()
            .find(|r| in_v4_range(ip, r))
            .map_or(Kind::Allowed, |r| r.2)
    }

    /// Any IPv4 address, with the ranges of the table and their neighbours (the block just
    /// below and just above each) drawn as often as the rest.
    fn any_v4() -> impl Strategy<Value = Ipv4Addr> {
        let near_a_range =
            (0..V4_RANGES.len(), -1i64..=1, any::<u32>()).prop_map(|(i, side, host)| {
                let (net, len, _) = V4_RANGES[i];
                let size = 1i64 << (32 - u32::from(len));
                let base = i64::from(u32::from(Ipv4Addr::from(net))) + side * size;
                let offset = i64::from(host) % size;
                Ipv4Addr::from((base + offset).rem_euclid(1 << 32) as u32)
            });
        prop_oneof![any::<u32>().prop_map(Ipv4Addr::from), near_a_range]
    }

    /// The IPv6 prefixes with a rule of their own (top bits, length), but those that carry
    /// an IPv4 address.
    const V6_PREFIXES: &[(u128, u32)] = &[
        (0xfe80 << 112, 10),
        (0xfc00 << 112, 7),
        (0xff00 << 112, 8),
        (0, 127),
        (EC2_METADATA_V6.to_bits() & !0xff, 120),
        (0xfec0 << 112, 10),
        (0x0100 << 112, 64),
        (0x2001_0db8 << 96, 32),
    ];

    /// The IPv6 prefixes that carry an IPv4 address.
    const V6_CARRIERS: &[(u128, u32)] = &[
        (0x0064_ff9b << 96, 96),
        (0x0064_ff9b_0001 << 80, 48),
        (0x2002 << 112, 16),
        (0xffff << 32, 96),
        (0, 96),
        (0x2001 << 112, 32),
    ];

    /// Any IPv6 address, with addresses in `prefixes` drawn as often as the rest.
    fn v6_near(prefixes: &'static [(u128, u32)]) -> impl Strategy<Value = Ipv6Addr> {
        let prefixed = (prop::sample::select(prefixes), any::<u128>())
            .prop_map(|((net, len), host)| Ipv6Addr::from(net | (host >> len)));
        prop_oneof![any::<u128>().prop_map(Ipv6Addr::from), prefixed]
    }

    fn any_v6() -> impl Strategy<Value = Ipv6Addr> {
        prop_oneof![v6_near(V6_PREFIXES), v6_near(V6_CARRIERS)]
    }

    fn carries_v4(ip: Ipv6Addr) -> bool {
        let bits = u128::from(ip);
        bits >> 96 == 0x0064_ff9b
            || bits >> 80 == 0x0064_ff9b_0001
            || bits >> 112 == 0x2002
            || bits >> 32 == 0xffff
            || (bits >> 32 == 0 && bits > 1)
            || bits >> 96 == 0x2001_0000
            || matches!((bits >> 32) as u32, 0x0000_5efe | 0x0200_5efe)
    }

    fn any_ip() -> impl Strategy<Value = IpAddr> {
        prop_oneof![any_v4().prop_map(IpAddr::V4), any_v6().prop_map(IpAddr::V6)]
    }

    /// The IPv6 address of `prefix` (the top bits) with `v4` at bit `at` from the top and
    /// `rest` (any bits) wherever neither is.
    fn embed(prefix: u128, prefix_len: u32, v4: Ipv4Addr, at: u32, rest: u128) -> IpAddr {
        let v4_bits = u128::from(u32::from(v4)) << (96 - at);
        let v4_mask = u128::from(u32::MAX) << (96 - at);
        let rest = rest.checked_shr(prefix_len).unwrap_or(0) & !v4_mask;
        IpAddr::V6(Ipv6Addr::from(prefix | v4_bits | rest))
    }

    proptest! {
        #[test]
        fn refusal_never_panics(ip in any::<IpAddr>(), allow_private in any::<bool>()) {
            let _ = refusal(ip, allow_private).map(Refusal::description);
        }

        /// The IPv4 rules are exactly the table's ranges.
        #[test]
        fn ipv4_addresses_are_judged_by_their_range(ip in any_v4()) {
            prop_assert_eq!(kind(refusal(IpAddr::V4(ip), false)), v4_model(ip), "{}", ip);
        }

        /// Allowing private networks lifts exactly the refusals that depend on it.
        #[test]
        fn allowing_private_networks_lifts_only_the_private_refusals(ip in any_ip()) {
            let strict = refusal(ip, false);
            let open = refusal(ip, true);
            match strict {
                Some(Refusal::Always(_)) => prop_assert_eq!(open, strict, "{}", ip),
                _ => prop_assert_eq!(open, None, "{}", ip),
            }
        }

        /// IPv4-mapped (`::ffff:a.b.c.d`), NAT64 (`64:ff9b::a.b.c.d`), 6to4 (`2002:aabb:ccdd::`
        /// with any subnet and interface bits), ISATAP (`...:200:5efe:a.b.c.d`), Teredo
        /// (`2001::` with the client address inverted) and IPv4-compatible (`::a.b.c.d`)
        /// addresses are judged exactly like the IPv4 address they carry.
        #[test]
        fn an_embedded_ipv4_address_is_judged_like_the_plain_one(
            v4 in any_v4(),
            rest in any::<u128>(),
            allow_private in any::<bool>(),
        ) {
            let plain = refusal(IpAddr::V4(v4), allow_private);
            let embedded = [
                ("IPv4-mapped", embed(0xffff << 32, 128, v4, 96, 0)),
                ("NAT64", embed(0x0064_ff9b << 96, 128, v4, 96, 0)),
                ("6to4", embed(0x2002 << 112, 16, v4, 16, rest)),
                ("ISATAP", embed((0x2600_1f18 << 96) | (0x0200_5efe << 32), 128, v4, 96, 0)),
                ("Teredo", embed(0x2001 << 112, 128, Ipv4Addr::from(!u32::from(v4)), 96, 0)),
            ];
            for (form, ip) in embedded {
                prop_assert_eq!(refusal(ip, allow_private), plain, "{} {} of {}", form, ip, v4);
            }
            // `::` and `::1` are IPv6's unspecified and loopback addresses: judged as
            // those, which is what 0.0.0.0 and 0.0.0.1 get too.
            let compatible = embed(0, 128, v4, 96, 0);
            let got = refusal(compatible, allow_private);
            if u32::from(v4) <= 1 {
                prop_assert_eq!(kind(got), kind(plain), "{} of {}", compatible, v4);
            } else {
                prop_assert_eq!(got, plain, "IPv4-compatible {} of {}", compatible, v4);
            }
        }

        /// The local-use NAT64 prefix (`64:ff9b:1::/48`, any bits up to the IPv4 address)
        /// is judged like the IPv4 address, and is itself private: never more open than that.
        #[test]
        fn a_local_use_nat64_address_is_never_more_open_than_a_private_one(
            v4 in any_v4(),
            rest in any::<u128>(),
            allow_private in any::<bool>(),
        ) {
            let ip = embed(0x0064_ff9b_0001 << 80, 48, v4, 96, rest);
            let plain = refusal(IpAddr::V4(v4), allow_private);
            let got = refusal(ip, allow_private);
            match plain {
                Some(_) => prop_assert_eq!(got, plain, "{} of {}", ip, v4),
                None if allow_private => prop_assert_eq!(got, None, "{} of {}", ip, v4),
                None => prop_assert_eq!(
                    kind(got), Kind::UnlessPrivateAllowed, "{} of {}", ip, v4
                ),
            }
        }

        /// IPv6 addresses that carry no IPv4 address: link-local, multicast and instance
        /// metadata always refused; loopback, unspecified and unique-local only when private
        /// networks are not allowed; the rest allowed.
        #[test]
        fn ipv6_addresses_are_judged_by_their_range(ip in v6_near(V6_PREFIXES)) {
            if carries_v4(ip) {
                // Only a uniformly drawn address can land here: judged by the test above.
                return Ok(());
            }
            let bits = u128::from(ip);
            let expected = if ip == EC2_METADATA_V6
                || bits >> 118 == 0xfe80 >> 6
                || bits >> 120 == 0xff
                || bits >> 64 == 0x0100 << 48
                || bits >> 96 == 0x2001_0db8
            {
                Kind::Always
            } else if bits <= 1 || bits >> 121 == 0xfc >> 1 || bits >> 118 == 0xfec0 >> 6 {
                Kind::UnlessPrivateAllowed
            } else {
                Kind::Allowed
            };
            prop_assert_eq!(kind(refusal(IpAddr::V6(ip), false)), expected, "{}", ip);
        }
    }
}
