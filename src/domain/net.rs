//! Address rules for the SSRF guard: which IPs an outgoing webhook may connect to.
//! Only globally routable unicast addresses pass, unless an admin allow-listed a CIDR.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// True for addresses a webhook must never reach: see [`forbidden_rule`].
pub fn is_forbidden(ip: IpAddr) -> bool {
    forbidden_rule(ip).is_some()
}

/// The rule that forbids a webhook to reach `ip`, named for messages ("loopback", "private",
/// "link-local or metadata", …), or `None` for a globally routable unicast address. IPv6 forms
/// that carry an IPv4 address (mapped, compatible, translated, NAT64, 6to4, Teredo) are judged
/// by that address, or refused whole where it cannot be read safely.
pub fn forbidden_rule(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => forbidden_v4(v4),
        IpAddr::V6(v6) => forbidden_v6(v6),
    }
}

fn forbidden_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let rule = if ip.is_unspecified() || a == 0 {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local or metadata"
    } else if ip.is_multicast() || ip.is_broadcast() {
        "multicast or broadcast"
    } else if a == 100 && (64..128).contains(&b) {
        "shared address space (CGNAT)"
    } else if ip.is_documentation()
        || (a == 192 && b == 0 && c == 0)
        || (a == 198 && (18..20).contains(&b))
    {
        "reserved for documentation, protocols or benchmarks"
    } else if a >= 240 {
        "reserved"
    } else {
        return None;
    };
    Some(rule)
}

fn forbidden_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if let Some(v4) = ip.to_ipv4_mapped() {
        return forbidden_v4(v4); // ::ffff:a.b.c.d
    }
    if s[..6] == [0; 6] && !ip.is_loopback() && !ip.is_unspecified() {
        return forbidden_v4(embedded_v4(s[6], s[7])).or(Some("IPv4-compatible")); // ::a.b.c.d
    }
    if s[..4] == [0, 0, 0, 0] && s[4] == 0xffff && s[5] == 0 {
        return forbidden_v4(embedded_v4(s[6], s[7])).or(Some("IPv4-translated")); // ::ffff:0:a.b.c.d
    }
    let rule = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_multicast() {
        "multicast"
    } else if (s[0] & 0xfe00) == 0xfc00 {
        "unique local (private)"
    } else if (s[0] & 0xffc0) == 0xfe80 {
        "link-local"
    } else if (s[0] & 0xffc0) == 0xfec0 {
        "site-local"
    } else if s[0] == 0x2001 && s[1] == 0x0db8 {
        "reserved for documentation"
    } else if s[0] == 0x0064 && s[1] == 0xff9b {
        "NAT64 (embeds IPv4)"
    } else if s[0] == 0x2002 {
        "6to4 (embeds IPv4)"
    } else if s[0] == 0x2001 && s[1] == 0 {
        "Teredo (embeds IPv4)"
    } else {
        return None;
    };
    Some(rule)
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

/// An allow-listed network such as `10.0.0.0/8` or `::1/128`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cidr {
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub fn parse(text: &str) -> Result<Cidr, String> {
        let (addr, prefix) = match text.trim().split_once('/') {
            Some((addr, prefix)) => (addr, Some(prefix)),
            None => (text.trim(), None),
        };
        let network: IpAddr = addr
            .parse()
            .map_err(|_| format!("\"{text}\" is not an IP network"))?;
        let max = if network.is_ipv4() { 32 } else { 128 };
        let prefix = match prefix {
            Some(p) => p
                .parse::<u8>()
                .ok()
                .filter(|p| *p <= max)
                .ok_or_else(|| format!("\"{text}\": bad prefix length"))?,
            None => max,
        };
        Ok(Cidr { network, prefix })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.network, ip) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                same_prefix(&net.octets(), &ip.octets(), self.prefix)
            }
            _ => false,
        }
    }
}

fn same_prefix(a: &[u8], b: &[u8], prefix: u8) -> bool {
    let full = usize::from(prefix / 8);
    let rest = prefix % 8;
    if a[..full] != b[..full] {
        return false;
    }
    rest == 0 || {
        let mask = 0xffu8 << (8 - rest);
        a[full] & mask == b[full] & mask
    }
}

/// The guard's decision for one resolved address.
pub fn is_allowed(ip: IpAddr, allowlist: &[Cidr]) -> bool {
    !is_forbidden(ip) || allowlist.iter().any(|cidr| cidr.contains(ip))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn v6_special_blocks_are_matched_exactly() {
        for bad in [
            "::ffff:0:7f00:1",
            "2001:db8::1",
            "64:ff9b::a00:1",
            "2001:0:4136::1",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad}");
        }
        for good in [
            "2606:4700::ffff:0:808:808",
            "2606:ff9b::1",
            "2001:db9::1",
            "2606::1",
            "64:1::1",
        ] {
            assert!(!is_forbidden(ip(good)), "{good}");
        }
    }

    #[test]
    fn allowed_networks_match_prefixes_that_split_a_byte() {
        let net = Cidr::parse("10.0.0.0/12").unwrap();
        assert!(net.contains(ip("10.15.255.255")));
        assert!(!net.contains(ip("10.16.0.0")));
        let half = Cidr::parse("192.168.1.128/25").unwrap();
        assert!(half.contains(ip("192.168.1.200")));
        assert!(!half.contains(ip("192.168.1.100")));
        let odd = Cidr::parse("172.16.0.0/13").unwrap();
        assert!(odd.contains(ip("172.23.1.1")));
        assert!(!odd.contains(ip("172.24.1.1")));
    }

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn reserved_ranges_are_forbidden_to_their_edges_and_no_further() {
        for bad in [
            "0.1.2.3",
            "192.0.0.8",
            "198.18.0.1",
            "198.19.255.254",
            "100.127.255.1",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad}");
        }
        for good in [
            "1.0.0.1",
            "192.0.1.1",
            "192.1.0.1",
            "193.0.0.1",
            "198.17.0.1",
            "198.20.0.1",
            "199.18.0.1",
            "100.63.0.1",
            "100.128.0.1",
            "101.64.0.1",
        ] {
            assert!(!is_forbidden(ip(good)), "{good}");
        }
    }

    #[test]
    fn internal_addresses_are_forbidden() {
        for bad in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "fd00::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::7f00:1",
            "2002:7f00:1::",
            "::7f00:1",
            "::ffff:0:7f00:1",
            "::ffff:0:808:808",
            "fec0::1",
            "2001::1",
            "2001:0:4136:e378:8000:63bf:3fff:fdd2",
        ] {
            assert!(is_forbidden(ip(bad)), "{bad} must be refused");
        }
        for good in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(!is_forbidden(ip(good)), "{good} is public");
        }
    }

    #[test]
    fn refusals_name_their_rule() {
        assert_eq!(forbidden_rule(ip("127.0.0.1")), Some("loopback"));
        assert_eq!(forbidden_rule(ip("::7f00:1")), Some("loopback"));
        assert_eq!(forbidden_rule(ip("::ffff:0:7f00:1")), Some("loopback"));
        assert_eq!(forbidden_rule(ip("::808:808")), Some("IPv4-compatible"));
        assert_eq!(
            forbidden_rule(ip("169.254.169.254")),
            Some("link-local or metadata")
        );
        assert_eq!(forbidden_rule(ip("fec0::1")), Some("site-local"));
        assert_eq!(forbidden_rule(ip("2001::1")), Some("Teredo (embeds IPv4)"));
        assert_eq!(forbidden_rule(ip("8.8.8.8")), None);
    }

    #[test]
    fn an_allowlist_opens_chosen_networks_only() {
        let allow = vec![
            Cidr::parse("127.0.0.0/8").unwrap(),
            Cidr::parse("fd00::/8").unwrap(),
        ];
        assert!(is_allowed(ip("127.0.0.1"), &allow));
        assert!(is_allowed(ip("fd12::1"), &allow));
        assert!(!is_allowed(ip("10.0.0.1"), &allow));
        assert!(Cidr::parse("10.0.0.0/33").is_err());
        assert!(Cidr::parse("nonsense").is_err());
        assert!(
            Cidr::parse("192.168.1.7")
                .unwrap()
                .contains(ip("192.168.1.7"))
        );
        assert!(
            !Cidr::parse("192.168.1.7")
                .unwrap()
                .contains(ip("192.168.1.8"))
        );
        assert!(Cidr::parse("0.0.0.0/0").unwrap().contains(ip("10.9.8.7")));
    }
}
