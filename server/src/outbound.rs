//! Where Tandem's own HTTP requests may go: the crawler's and the model
//! endpoint's. An admin types the addresses those requests go to, so
//! without a guard they could reach this machine and its network (the
//! database, a metadata service at 169.254.169.254, an intranet). Only
//! public addresses are reached, unless the server's administrator allows
//! more with `TANDEM_OUTBOUND_ALLOW`.
//!
//! The check is made on the address actually connected to: a resolver
//! filters what DNS answers (so a name that resolves, or re-resolves, to a
//! private address is refused), literal addresses in URLs are checked
//! before the request, and every redirect is checked again
//! ([`Outbound::check`] in a redirect policy).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use url::{Host, Url};

/// What the admin sees when an address is refused.
pub const NOT_ALLOWED: &str =
    "address not allowed (private or local network); ask your server's administrator to allow it";

/// A request refused because of where it would go.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{NOT_ALLOWED}")]
pub struct Refused;

/// Whether `err` (or one of its causes) is a [`Refused`].
pub fn refused(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(err);
    while let Some(err) = cause {
        if err.downcast_ref::<Refused>().is_some() {
            return true;
        }
        cause = err.source();
    }
    false
}

/// One entry of the allow-list.
#[derive(Clone, Debug, PartialEq, Eq)]
enum Allow {
    /// A host name (`docs.intranet`) or every name under a domain
    /// (`*.intranet`), on one port or any.
    Name {
        name: String,
        subdomains: bool,
        port: Option<u16>,
    },
    /// An address or a network (`10.1.2.3`, `10.0.0.0/8`, `fd00::/8`), on
    /// one port or any.
    Net {
        addr: IpAddr,
        prefix: u8,
        port: Option<u16>,
    },
}

impl Allow {
    fn parse(entry: &str) -> Result<Self, String> {
        let bad =
            || format!("“{entry}” is not a host, host:port, IP address, IP:port or network (CIDR)");
        let entry = entry.trim();
        if let Some((addr, prefix)) = entry.split_once('/') {
            let addr: IpAddr = addr.parse().map_err(|_| bad())?;
            let prefix: u8 = prefix.parse().map_err(|_| bad())?;
            let max = if addr.is_ipv4() { 32 } else { 128 };
            if prefix > max {
                return Err(bad());
            }
            return Ok(Self::Net {
                addr: canonical(addr),
                prefix,
                port: None,
            });
        }
        if let Ok(addr) = entry.parse::<IpAddr>() {
            let addr = canonical(addr);
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(Self::Net {
                addr,
                prefix,
                port: None,
            });
        }
        if let Ok(socket) = entry.parse::<SocketAddr>() {
            let addr = canonical(socket.ip());
            let prefix = if addr.is_ipv4() { 32 } else { 128 };
            return Ok(Self::Net {
                addr,
                prefix,
                port: Some(socket.port()),
            });
        }
        let (name, port) = match entry.rsplit_once(':') {
            Some((name, port)) => (name, Some(port.parse::<u16>().map_err(|_| bad())?)),
            None => (entry, None),
        };
        let (name, subdomains) = match name.strip_prefix("*.") {
            Some(rest) => (rest, true),
            None => (name, false),
        };
        let name = normal_name(name);
        let valid = !name.is_empty()
            && name
                .split('.')
                .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
        if !valid {
            return Err(bad());
        }
        Ok(Self::Name {
            name,
            subdomains,
            port,
        })
    }

    fn names(&self, host: &str) -> bool {
        match self {
            Self::Name {
                name, subdomains, ..
            } => host == name || (*subdomains && host.ends_with(&format!(".{name}"))),
            Self::Net { .. } => false,
        }
    }

    fn contains(&self, ip: IpAddr) -> bool {
        match self {
            Self::Net { addr, prefix, .. } => in_network(ip, *addr, *prefix),
            Self::Name { .. } => false,
        }
    }

    fn port(&self) -> Option<u16> {
        match self {
            Self::Name { port, .. } | Self::Net { port, .. } => *port,
        }
    }
}

/// Tandem's own public address, reachable for some paths only (the demo
/// site, crawled from where visitors see it).
#[derive(Clone, Debug)]
struct OwnSite {
    scheme: String,
    host: String,
    port: u16,
    paths: Vec<String>,
}

#[derive(Debug, Default)]
struct Rules {
    allow: Vec<Allow>,
    own: Option<OwnSite>,
}

/// The outbound-address policy of this instance: public addresses, plus
/// what the server's administrator allowed.
#[derive(Clone, Debug, Default)]
pub struct Outbound {
    rules: Arc<Rules>,
}

impl Outbound {
    /// Public addresses only.
    pub fn public_only() -> Self {
        Self::default()
    }

    /// Public addresses and the entries of `TANDEM_OUTBOUND_ALLOW`: host
    /// names (`docs.intranet`, `*.intranet`), `host:port`, IP addresses,
    /// `IP:port` and networks (`10.0.0.0/8`). A name is allowed whatever
    /// it resolves to; an entry with a port allows that port only.
    pub fn allowing<S: AsRef<str>>(entries: impl IntoIterator<Item = S>) -> Result<Self, String> {
        let allow = entries
            .into_iter()
            .map(|e| e.as_ref().trim().to_owned())
            .filter(|e| !e.is_empty())
            .map(|e| Allow::parse(&e))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            rules: Arc::new(Rules { allow, own: None }),
        })
    }

    /// Also allows this instance's own public address, for URLs under
    /// `paths` only (the demo site is crawled from there, even on a
    /// loopback address): nothing else of this machine is opened.
    pub fn with_own_site(self, public_url: &str, paths: &[&str]) -> Self {
        let Ok(url) = Url::parse(public_url) else {
            return self;
        };
        let (Some(host), Some(port)) = (url.host_str(), url.port_or_known_default()) else {
            return self;
        };
        let own = OwnSite {
            scheme: url.scheme().to_owned(),
            host: normal_name(host),
            port,
            paths: paths.iter().map(|p| (*p).to_owned()).collect(),
        };
        Self {
            rules: Arc::new(Rules {
                allow: self.rules.allow.clone(),
                own: Some(own),
            }),
        }
    }

    /// Whether a request may go to `url`, as far as can be told before
    /// resolving its host (the resolver checks the addresses): the scheme
    /// is http(s); a literal address is public or allowed; a name is not
    /// one of the cloud metadata names, nor one the allow-list names for
    /// other ports only.
    pub fn check(&self, url: &Url) -> Result<(), Refused> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Refused);
        }
        let port = url.port_or_known_default().ok_or(Refused)?;
        if self.own_site(url) {
            return Ok(());
        }
        match url.host().ok_or(Refused)? {
            Host::Ipv4(ip) => self.address(IpAddr::V4(ip), Some(port)),
            Host::Ipv6(ip) => self.address(IpAddr::V6(ip), Some(port)),
            Host::Domain(name) => {
                let name = normal_name(name);
                let listed: Vec<&Allow> =
                    self.rules.allow.iter().filter(|a| a.names(&name)).collect();
                if !listed.is_empty() {
                    return if listed.iter().any(|a| a.port().is_none_or(|p| p == port)) {
                        Ok(())
                    } else {
                        Err(Refused)
                    };
                }
                // Tandem's own name, outside the paths it is open for.
                if self.rules.own.as_ref().is_some_and(|o| o.host == name) {
                    return Err(Refused);
                }
                if metadata_name(&name) {
                    return Err(Refused);
                }
                Ok(())
            }
        }
    }

    fn own_site(&self, url: &Url) -> bool {
        self.rules.own.as_ref().is_some_and(|own| {
            url.scheme() == own.scheme
                && url.host_str().map(normal_name).as_deref() == Some(own.host.as_str())
                && url.port_or_known_default() == Some(own.port)
                && own.paths.iter().any(|p| url.path().starts_with(p.as_str()))
        })
    }

    /// A literal address in a URL, with the URL's port.
    fn address(&self, ip: IpAddr, port: Option<u16>) -> Result<(), Refused> {
        let ip = canonical(ip);
        let allowed = is_public(ip)
            || self
                .rules
                .allow
                .iter()
                .any(|a| a.contains(ip) && a.port().is_none_or(|p| Some(p) == port));
        if allowed {
            Ok(())
        } else {
            Err(Refused)
        }
    }

    /// Whether a connection to `ip`, found by resolving `name`, may be
    /// made. The port is not known here: [`Self::check`] has already held
    /// the URL's port to the entries that name it.
    fn admits(&self, name: &str, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        let name = normal_name(name);
        if self.rules.allow.iter().any(|a| a.names(&name)) {
            return true;
        }
        if self.rules.own.as_ref().is_some_and(|o| o.host == name) {
            return true;
        }
        if metadata_name(&name) {
            return false;
        }
        is_public(ip)
            || self
                .rules
                .allow
                .iter()
                .any(|a| a.contains(ip) && a.port().is_none())
    }

    /// An HTTP client builder whose connections are held to this policy:
    /// names resolve through the guard, and no proxy is used (a proxy
    /// would resolve names out of the guard's sight). Redirects are the
    /// caller's to check (see [`Self::check`]).
    pub fn client(&self) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .dns_resolver(Arc::new(GuardedResolver(self.clone())))
            .no_proxy()
    }
}

/// Resolves names with the system resolver, keeping only the addresses the
/// policy admits; none left is a [`Refused`] error.
struct GuardedResolver(Outbound);

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let policy = self.0.clone();
        let name = name.as_str().to_owned();
        Box::pin(async move {
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((name.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = found
                .iter()
                .copied()
                .filter(|a| policy.admits(&name, a.ip()))
                .collect();
            if kept.is_empty() && !found.is_empty() {
                tracing::warn!(host = %name, "outbound request refused: the name resolves to a private or local address");
                return Err(Box::new(Refused) as Box<dyn std::error::Error + Send + Sync>);
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Names of cloud metadata services (they resolve to link-local addresses,
/// refused anyway; the name is refused before any lookup).
fn metadata_name(name: &str) -> bool {
    matches!(name, "metadata" | "metadata.goog" | "instance-data")
        || name == "internal"
        || name.ends_with(".internal")
}

fn normal_name(name: &str) -> String {
    name.trim_end_matches('.').to_ascii_lowercase()
}

/// An IPv4-mapped IPv6 address as the IPv4 address it is.
fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => ip,
        },
        v4 => v4,
    }
}

fn in_network(ip: IpAddr, network: IpAddr, prefix: u8) -> bool {
    match (canonical(ip), network) {
        (IpAddr::V4(ip), IpAddr::V4(net)) => {
            let mask = u32::MAX.checked_shl(32 - u32::from(prefix)).unwrap_or(0);
            u32::from(ip) & mask == u32::from(net) & mask
        }
        (IpAddr::V6(ip), IpAddr::V6(net)) => {
            let mask = u128::MAX.checked_shl(128 - u32::from(prefix)).unwrap_or(0);
            u128::from(ip) & mask == u128::from(net) & mask
        }
        _ => false,
    }
}

/// Whether an address is on the public internet: not loopback, private
/// (RFC 1918, fc00::/7), link-local (169.254/16 — the metadata address —,
/// fe80::/10), unspecified, shared (CGNAT, 100.64/10), multicast,
/// broadcast, reserved or for documentation; IPv6 forms that embed an IPv4
/// address (mapped, compatible, NAT64, 6to4) are judged by that address.
pub fn is_public(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => public_v4(v4),
        IpAddr::V6(v6) => public_v6(v6),
    }
}

fn public_v4(ip: Ipv4Addr) -> bool {
    const BLOCKED: &[([u8; 4], u8)] = &[
        ([0, 0, 0, 0], 8),       // "this network", unspecified
        ([10, 0, 0, 0], 8),      // private
        ([100, 64, 0, 0], 10),   // shared address space (CGNAT)
        ([127, 0, 0, 0], 8),     // loopback
        ([169, 254, 0, 0], 16),  // link-local, cloud metadata
        ([172, 16, 0, 0], 12),   // private
        ([192, 0, 0, 0], 24),    // IETF protocol assignments
        ([192, 0, 2, 0], 24),    // documentation
        ([192, 88, 99, 0], 24),  // 6to4 relay anycast
        ([192, 168, 0, 0], 16),  // private
        ([198, 18, 0, 0], 15),   // benchmarking
        ([198, 51, 100, 0], 24), // documentation
        ([203, 0, 113, 0], 24),  // documentation
        ([224, 0, 0, 0], 4),     // multicast
        ([240, 0, 0, 0], 4),     // reserved, broadcast
    ];
    !BLOCKED
        .iter()
        .any(|(net, prefix)| in_network(IpAddr::V4(ip), IpAddr::V4(Ipv4Addr::from(*net)), *prefix))
}

fn public_v6(ip: Ipv6Addr) -> bool {
    let bits = u128::from(ip);
    let segments = ip.segments();
    // IPv4-compatible (::a.b.c.d, deprecated), IPv4-translated
    // (::ffff:0:a.b.c.d, SIIT) and NAT64 (64:ff9b::/96).
    if bits >> 32 == 0 || bits >> 32 == 0xffff_0000 || bits >> 32 == 0x0064_ff9b_0000_0000_0000_0000
    {
        if bits <= 1 {
            return false; // :: and ::1
        }
        return public_v4(Ipv4Addr::from(bits as u32));
    }
    // 6to4 (2002::/16) carries an IPv4 address in its next 32 bits.
    if segments[0] == 0x2002 {
        return public_v4(Ipv4Addr::from((bits >> 80) as u32));
    }
    const BLOCKED: &[(u128, u8)] = &[
        (0x0100 << 112, 64),          // discard-only
        (0x2001_0000 << 96, 32),      // Teredo
        (0x2001_0db8 << 96, 32),      // documentation
        (0xfc00 << 112, 7),           // unique local
        (0xfe80 << 112, 10),          // link-local
        (0xfec0 << 112, 10),          // site-local (deprecated)
        (0xff00 << 112, 8),           // multicast
        (0x0064_ff9b_0001 << 80, 48), // local-use NAT64
    ];
    !BLOCKED
        .iter()
        .any(|(net, prefix)| in_network(IpAddr::V6(ip), IpAddr::V6(Ipv6Addr::from(*net)), *prefix))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn private_and_local_addresses_are_not_public() {
        for private in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "100.127.255.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.251",
            "::",
            "::1",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
            "::ffff:10.0.0.1",
            "::ffff:0:7f00:1",
            "::ffff:0:169.254.169.254",
            "::127.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:0001::1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip(private)), "{private}");
        }
        for public in [
            "93.184.216.34",
            "1.1.1.1",
            "172.32.0.1",
            "100.128.0.1",
            "169.255.0.1",
            "2606:4700::1111",
            "::ffff:93.184.216.34",
            "2002:5db8:d822::1",
        ] {
            assert!(is_public(ip(public)), "{public}");
        }
    }

    fn url(s: &str) -> Url {
        Url::parse(s).unwrap()
    }

    #[test]
    fn literal_addresses_are_checked_with_their_port() {
        let strict = Outbound::public_only();
        for refused in [
            "http://127.0.0.1:8080/secret.html",
            "http://[::1]/",
            "http://[::ffff:7f00:1]/",
            "http://2130706433/",
            "http://0x7f.1/",
            "http://169.254.169.254/latest/meta-data/",
            "http://10.0.0.1/",
            "http://metadata.google.internal/computeMetadata/v1/",
            "http://Metadata.Google.Internal./",
            "file:///etc/passwd",
            "ftp://example.com/",
        ] {
            assert_eq!(strict.check(&url(refused)), Err(Refused), "{refused}");
        }
        for fine in ["https://example.com/docs/", "http://93.184.216.34:8080/"] {
            assert_eq!(strict.check(&url(fine)), Ok(()), "{fine}");
        }
        let allowed = Outbound::allowing([
            "127.0.0.1",
            "10.0.0.0/8",
            "192.168.1.5:8080",
            "fd00::/8",
            "docs.intranet:8443",
            "*.corp",
        ])
        .unwrap();
        for fine in [
            "http://127.0.0.1:3001/",
            "http://[::ffff:127.0.0.1]:1/",
            "http://10.200.3.4/",
            "http://192.168.1.5:8080/",
            "http://[fd00::5]/",
            "https://docs.intranet:8443/",
            "http://wiki.corp/",
        ] {
            assert_eq!(allowed.check(&url(fine)), Ok(()), "{fine}");
        }
        for refused in [
            "http://192.168.1.5:8081/",
            "http://192.168.1.6:8080/",
            "https://docs.intranet/",
            "http://169.254.169.254/",
            "http://[fe80::1]/",
        ] {
            assert_eq!(allowed.check(&url(refused)), Err(Refused), "{refused}");
        }
    }

    #[test]
    fn resolved_addresses_are_admitted_by_network_or_by_name() {
        let allowed =
            Outbound::allowing(["10.0.0.0/8", "192.168.1.5:8080", "docs.intranet"]).unwrap();
        assert!(allowed.admits("example.com", ip("93.184.216.34")));
        assert!(!allowed.admits("evil.example", ip("127.0.0.1")));
        assert!(!allowed.admits("evil.example", ip("::ffff:127.0.0.1")));
        assert!(allowed.admits("evil.example", ip("10.9.9.9")));
        // An address entry with a port holds for URLs naming that address.
        assert!(!allowed.admits("evil.example", ip("192.168.1.5")));
        assert!(allowed.admits("docs.intranet", ip("172.20.0.4")));
        assert!(!Outbound::public_only().admits("metadata.google.internal", ip("93.184.216.34")));
    }

    #[tokio::test]
    async fn a_name_that_resolves_to_loopback_is_refused_after_resolution() {
        use reqwest::dns::Resolve as _;
        let resolver = GuardedResolver(Outbound::public_only());
        let result = resolver.resolve("localhost".parse().unwrap()).await;
        match result {
            Err(err) => assert!(refused(err.as_ref()), "{err}"),
            Ok(_) => panic!("localhost resolved through the guard"),
        }
        let allowed = GuardedResolver(Outbound::allowing(["127.0.0.1"]).unwrap());
        let found: Vec<SocketAddr> = allowed
            .resolve("localhost".parse().unwrap())
            .await
            .unwrap()
            .collect();
        assert!(found.iter().any(|a| a.ip() == ip("127.0.0.1")), "{found:?}");
    }

    #[test]
    fn the_own_site_is_open_for_its_paths_only() {
        let own = Outbound::public_only()
            .with_own_site("http://127.0.0.1:3000", &["/demo/", "/robots.txt"]);
        assert_eq!(
            own.check(&url("http://127.0.0.1:3000/demo/index.html")),
            Ok(())
        );
        assert_eq!(own.check(&url("http://127.0.0.1:3000/robots.txt")), Ok(()));
        for refused in [
            "http://127.0.0.1:3000/inbox",
            "http://127.0.0.1:3001/demo/index.html",
            "https://127.0.0.1:3000/demo/index.html",
            "http://127.0.0.1:3000/demo/../inbox",
        ] {
            assert_eq!(own.check(&url(refused)), Err(Refused), "{refused}");
        }
        let named = Outbound::public_only().with_own_site("http://localhost:3000", &["/demo/"]);
        assert_eq!(
            named.check(&url("http://localhost:3000/demo/a.html")),
            Ok(())
        );
        assert_eq!(
            named.check(&url("http://localhost:3000/inbox")),
            Err(Refused)
        );
        assert_eq!(named.check(&url("http://localhost:5432/")), Err(Refused));
    }

    #[test]
    fn allow_entries_are_parsed_or_refused() {
        for bad in [
            "10.0.0.0/33",
            "host:port",
            "a b",
            "*.",
            "http://x/",
            "1.2.3.4:99999",
        ] {
            assert!(Outbound::allowing([bad]).is_err(), "{bad}");
        }
        assert!(Outbound::allowing(["", " intranet.example ", "[fd00::1]:80"]).is_ok());
    }
}
