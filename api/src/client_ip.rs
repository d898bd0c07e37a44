//! Which address a request came from, behind proxies.
//!
//! `X-Forwarded-For` and `Forwarded` (RFC 7239) are written by whoever sends the request, so they
//! are believed only as far as trusted proxies (`SHEBAO_TRUSTED_PROXIES`) vouch for them: the
//! peer must be trusted, and the chain is read from the right (the hop nearest to us) past every
//! trusted proxy; the first address that is not a trusted proxy is the client. Anything to its
//! left was written by the client itself and is ignored.

use std::net::{IpAddr, SocketAddr};

use ipnet::IpNet;

fn is_trusted(ip: IpAddr, trusted: &[IpNet]) -> bool {
    let ip = match ip {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map(IpAddr::V4).unwrap_or(ip),
        v4 => v4,
    };
    trusted.iter().any(|net| net.contains(&ip))
}

/// One hop as a header writes it: `192.0.2.1`, `192.0.2.1:4711`, `2001:db8::1`,
/// `[2001:db8::1]:4711`, optionally in double quotes. `None` for `unknown`, obfuscated
/// identifiers and anything else that is not an address.
fn parse_hop(raw: &str) -> Option<IpAddr> {
    let s = raw.trim().trim_matches('"');
    if let Ok(ip) = s.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(sock) = s.parse::<SocketAddr>() {
        return Some(sock.ip());
    }
    s.strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .and_then(|v6| v6.parse().ok())
}

/// The hops of `Forwarded` values (the `for=` parameter of each element), left to right.
fn forwarded_hops<'a>(values: &[&'a str]) -> Vec<&'a str> {
    values
        .iter()
        .flat_map(|v| v.split(','))
        .map(|element| {
            element
                .split(';')
                .filter_map(|pair| pair.split_once('='))
                .find(|(k, _)| k.trim().eq_ignore_ascii_case("for"))
                .map(|(_, v)| v)
                .unwrap_or("")
        })
        .collect()
}

/// The client's address. `forwarded` and `x_forwarded_for` are the values of every header of
/// that name, in order; `Forwarded` wins when both are present.
pub fn client_ip(
    peer: IpAddr,
    forwarded: &[&str],
    x_forwarded_for: &[&str],
    trusted: &[IpNet],
) -> IpAddr {
    if !is_trusted(peer, trusted) {
        return peer;
    }
    let hops: Vec<&str> = if forwarded.is_empty() {
        x_forwarded_for.iter().flat_map(|v| v.split(',')).collect()
    } else {
        forwarded_hops(forwarded)
    };
    let mut client = peer;
    for hop in hops.iter().rev() {
        match parse_hop(hop) {
            Some(ip) if is_trusted(ip, trusted) => client = ip,
            Some(ip) => return ip,
            // A hop a trusted proxy could not name: the nearest address we know is the answer.
            None => return client,
        }
    }
    client
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    fn nets(list: &[&str]) -> Vec<IpNet> {
        list.iter().map(|s| s.parse().unwrap()).collect()
    }

    #[test]
    fn headers_are_ignored_from_an_untrusted_peer() {
        let trusted = nets(&["10.0.0.0/8"]);
        assert_eq!(
            client_ip(ip("203.0.113.9"), &[], &["198.51.100.1"], &trusted),
            ip("203.0.113.9")
        );
        assert_eq!(
            client_ip(ip("203.0.113.9"), &["for=198.51.100.1"], &[], &trusted),
            ip("203.0.113.9")
        );
        // No proxies trusted (the default): never.
        assert_eq!(
            client_ip(ip("10.0.0.1"), &[], &["198.51.100.1"], &[]),
            ip("10.0.0.1")
        );
    }

    #[test]
    fn the_rightmost_untrusted_hop_is_the_client() {
        let trusted = nets(&["10.0.0.0/8", "192.168.0.0/16"]);
        // client-forged, real client, inner proxy; peer is the outer proxy.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &[],
                &["6.6.6.6, 198.51.100.7", "192.168.1.1"],
                &trusted
            ),
            ip("198.51.100.7")
        );
        // The same through `Forwarded`, with ports, quotes and IPv6.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &[r#"for=6.6.6.6, for="[2001:db8:cafe::17]:4711";proto=https"#],
                &["1.2.3.4"],
                &trusted
            ),
            ip("2001:db8:cafe::17")
        );
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &[],
                &["198.51.100.7:5555, 10.1.1.1"],
                &trusted
            ),
            ip("198.51.100.7")
        );
    }

    #[test]
    fn odd_chains() {
        let trusted = nets(&["10.0.0.0/8"]);
        // Only trusted hops: the left-most of them.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &[], &["10.9.9.9, 10.0.0.5"], &trusted),
            ip("10.9.9.9")
        );
        // No header at all: the peer.
        assert_eq!(
            client_ip(ip("10.0.0.2"), &[], &[], &trusted),
            ip("10.0.0.2")
        );
        // Garbage or `unknown` stops the walk at the nearest known address.
        assert_eq!(
            client_ip(
                ip("10.0.0.2"),
                &[],
                &["198.51.100.7, garbage, 10.0.0.3"],
                &trusted
            ),
            ip("10.0.0.3")
        );
        assert_eq!(
            client_ip(ip("10.0.0.2"), &["for=unknown"], &[], &trusted),
            ip("10.0.0.2")
        );
        // An IPv4 peer seen through an IPv6 socket is still trusted.
        assert_eq!(
            client_ip(ip("::ffff:10.0.0.2"), &[], &["198.51.100.7"], &trusted),
            ip("198.51.100.7")
        );
    }
}
