//! The SSRF guard: every URL a user can make Herald fetch (a Mastodon instance, a Bluesky PDS,
//! a media import, a webhook endpoint) goes through it. It checks the URL itself, every address
//! DNS answers for its host (so a public name pointing at 10.0.0.1 is refused), and every
//! redirect hop. Loopback is allowed only for local tests (`--allow-loopback-targets`).

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use url::{Host, Url};

/// At most this many redirects are followed, each one checked.
const MAX_REDIRECTS: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum GuardError {
    #[error("not a valid URL: {0}")]
    Invalid(String),
    #[error("only https URLs are allowed, not {0}")]
    Scheme(String),
    #[error("URLs with a user name or password are not allowed")]
    UserInfo,
    #[error("the URL has no host")]
    NoHost,
    #[error("{0} is a {1} address, which Herald does not contact")]
    Forbidden(IpAddr, &'static str),
    #[error("{0} does not resolve to any address")]
    Unresolved(String),
}

/// The guard's policy. `Guard::default()` refuses loopback.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Guard {
    allow_loopback: bool,
}

impl Guard {
    pub fn new(allow_loopback: bool) -> Self {
        Guard { allow_loopback }
    }

    pub fn allows_loopback(&self) -> bool {
        self.allow_loopback
    }

    /// Parses and checks a user-supplied URL: https only (plain http only to a loopback host
    /// when loopback is allowed), no user info, and a literal IP host must be a public one.
    /// Host names are checked again when they resolve (see [`Guard::client`]).
    pub fn check_url(&self, url: &str) -> Result<Url, GuardError> {
        let parsed = Url::parse(url).map_err(|e| GuardError::Invalid(format!("{url}: {e}")))?;
        self.check_parsed(&parsed)?;
        Ok(parsed)
    }

    fn check_parsed(&self, url: &Url) -> Result<(), GuardError> {
        if !url.username().is_empty() || url.password().is_some() {
            return Err(GuardError::UserInfo);
        }
        let host = url.host().ok_or(GuardError::NoHost)?;
        let ip = match &host {
            Host::Ipv4(v4) => Some(IpAddr::V4(*v4)),
            Host::Ipv6(v6) => Some(IpAddr::V6(*v6)),
            Host::Domain(_) => None,
        };
        if let Some(ip) = ip {
            self.check_ip(ip)?;
        }
        match url.scheme() {
            "https" => Ok(()),
            "http" if self.allow_loopback && is_loopback_host(&host) => Ok(()),
            other => Err(GuardError::Scheme(other.to_owned())),
        }
    }

    /// Refuses every address that is not on the public internet.
    pub fn check_ip(&self, ip: IpAddr) -> Result<(), GuardError> {
        match classify(ip) {
            None => Ok(()),
            Some("loopback") if self.allow_loopback => Ok(()),
            Some(class) => Err(GuardError::Forbidden(ip, class)),
        }
    }

    /// A client whose DNS answers and redirects are all checked by this guard, with bounded
    /// timeouts and no proxy (a proxy would resolve names out of the guard's sight).
    pub fn client(&self) -> reqwest::Client {
        self.client_within(Duration::from_secs(60))
    }

    /// As [`Guard::client`], with the whole exchange bounded by `timeout`.
    pub fn client_within(&self, timeout: Duration) -> reqwest::Client {
        let guard = *self;
        let redirects = reqwest::redirect::Policy::custom(move |attempt| {
            if attempt.previous().len() >= MAX_REDIRECTS {
                return attempt.error("too many redirects");
            }
            match guard.check_parsed(attempt.url()) {
                Ok(()) => attempt.follow(),
                Err(e) => attempt.error(e),
            }
        });
        reqwest::Client::builder()
            .use_preconfigured_tls(crate::tls::client_config())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(redirects)
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { guard }))
            .user_agent(concat!("Herald/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in")
    }
}

impl Guard {
    /// A client for outbound webhooks: DNS answers checked as in [`Guard::client`], but no
    /// redirect followed (a 3xx is the endpoint's answer, and a failure) and the whole
    /// exchange bounded by `timeout`.
    pub fn client_without_redirects(&self, timeout: Duration) -> reqwest::Client {
        reqwest::Client::builder()
            .use_preconfigured_tls(crate::tls::client_config())
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .timeout(timeout)
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(Arc::new(GuardedResolver { guard: *self }))
            .user_agent(concat!("Herald-Webhooks/", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a TLS backend is compiled in")
    }
}

fn is_loopback_host(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(d) => d.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(v4) => v4.is_loopback(),
        Host::Ipv6(v6) => {
            v6.is_loopback() || v6.to_ipv4_mapped().is_some_and(|v4| v4.is_loopback())
        }
    }
}

/// Why an address is off limits, or None for a public one.
pub fn classify(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => classify_v4(v4),
        IpAddr::V6(v6) => {
            // An IPv4-mapped (::ffff:a.b.c.d) or IPv4-compatible address reaches the IPv4 host.
            if let Some(v4) = v6.to_ipv4_mapped() {
                return classify_v4(v4);
            }
            classify_v6(v6)
        }
    }
}

fn classify_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    if ip == Ipv4Addr::new(169, 254, 169, 254) || ip == Ipv4Addr::new(100, 100, 100, 200) {
        // AWS/GCP/Azure instance metadata, and Alibaba's.
        return Some("cloud metadata");
    }
    if ip.is_unspecified() || a == 0 {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_private() {
        return Some("private");
    }
    if ip.is_link_local() {
        return Some("link-local");
    }
    if a == 100 && (64..128).contains(&b) {
        return Some("carrier-grade NAT");
    }
    if ip.is_multicast() {
        return Some("multicast");
    }
    if ip.is_broadcast() || a >= 240 {
        return Some("reserved");
    }
    if ip.is_documentation() {
        return Some("documentation");
    }
    if a == 198 && (b == 18 || b == 19) {
        return Some("benchmarking");
    }
    if a == 192 && b == 0 && c == 0 {
        // IETF protocol assignments (192.0.0.0/24), including NAT64 discovery.
        return Some("reserved");
    }
    None
}

fn classify_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let s = ip.segments();
    if ip == Ipv6Addr::new(0xfd00, 0xec2, 0, 0, 0, 0, 0, 0x254) {
        // AWS instance metadata over IPv6.
        return Some("cloud metadata");
    }
    if ip.is_unspecified() {
        return Some("unspecified");
    }
    if ip.is_loopback() {
        return Some("loopback");
    }
    if ip.is_multicast() {
        return Some("multicast");
    }
    if s[0] & 0xfe00 == 0xfc00 {
        return Some("unique-local");
    }
    if s[0] & 0xffc0 == 0xfe80 {
        return Some("link-local");
    }
    if s[0] & 0xffc0 == 0xfec0 {
        return Some("site-local");
    }
    if s[0] == 0x2001 && s[1] == 0x0db8 {
        return Some("documentation");
    }
    if s[0] == 0x0064 && s[1] == 0xff9b {
        // NAT64 (64:ff9b::/96 and 64:ff9b:1::/48) translates to IPv4 addresses we cannot see.
        return Some("NAT64");
    }
    if s[0] == 0x2002 {
        // 6to4 embeds an IPv4 address that may be private.
        return Some("6to4");
    }
    if s[0] == 0x2001 && s[1] == 0 {
        return Some("Teredo");
    }
    if s[0..6] == [0, 0, 0, 0, 0, 0] {
        // Deprecated IPv4-compatible addresses (::a.b.c.d).
        return Some("IPv4-compatible");
    }
    if s[0] == 0x0100 && s[1..4] == [0, 0, 0] {
        return Some("discard-only");
    }
    None
}

/// Resolves with the system resolver, then refuses the name if ANY answer is off limits: a
/// name that answers both a public and a private address must not reach the private one.
struct GuardedResolver {
    guard: Guard,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let guard = self.guard;
        let host = name.as_str().to_owned();
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if addrs.is_empty() {
                return Err(Box::new(GuardError::Unresolved(host)) as _);
            }
            for addr in &addrs {
                guard.check_ip(addr.ip())?;
            }
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// The guard as the use cases reach it: a user-supplied service URL is checked here before it
/// is kept, and every address it resolves to is checked again when a connector calls it.
#[async_trait::async_trait]
impl herald_ports::UrlGuard for Guard {
    fn check_url(&self, raw: &str) -> Result<(), String> {
        Guard::check_url(self, raw)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }

    async fn fetch(
        &self,
        raw: &str,
        max_bytes: u64,
        within: Duration,
    ) -> Result<herald_ports::Fetched, String> {
        let url = Guard::check_url(self, raw).map_err(|e| e.to_string())?;
        // The client's timeout bounds the whole exchange, body included: a peer that hangs
        // or drips costs `within`, no more.
        let mut response = self
            .client_within(within)
            .get(url)
            .send()
            .await
            .map_err(|e| fetch_error(&e, within))?;
        let status = response.status();
        if !status.is_success() {
            return Err(format!("the server answered {status}"));
        }
        let too_large = || format!("the file is larger than {max_bytes} bytes");
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(too_large());
        }
        let content_type = response
            .headers()
            .get(reqwest::header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(|v| v.split(';').next().unwrap_or(v).trim().to_ascii_lowercase());
        let mut bytes = Vec::new();
        while let Some(chunk) = response
            .chunk()
            .await
            .map_err(|e| fetch_error(&e, within))?
        {
            if bytes.len() as u64 + chunk.len() as u64 > max_bytes {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(herald_ports::Fetched {
            bytes,
            content_type,
        })
    }
}

/// A failed fetch said plainly, with the guard's own reason when a hop was refused.
fn fetch_error(e: &reqwest::Error, within: Duration) -> String {
    if e.is_timeout() {
        return format!("the server did not answer within {within:?}");
    }
    let mut source = std::error::Error::source(e);
    let mut reason = None;
    while let Some(s) = source {
        if let Some(g) = s.downcast_ref::<GuardError>() {
            return format!("refused: {g}");
        }
        reason = Some(s.to_string());
        source = s.source();
    }
    match reason {
        Some(r) if e.is_redirect() => format!("a redirect could not be followed: {r}"),
        Some(r) => format!("the fetch failed: {r}"),
        None => format!("the fetch failed: {e}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn refused(ip: &str) -> Option<&'static str> {
        classify(ip.parse().unwrap())
    }

    #[test]
    fn public_addresses_pass() {
        for ip in [
            "93.184.216.34",
            "1.1.1.1",
            "2606:4700:4700::1111",
            "8.8.8.8",
        ] {
            assert_eq!(refused(ip), None, "{ip}");
            assert!(Guard::default().check_ip(ip.parse().unwrap()).is_ok());
        }
    }

    #[test]
    fn private_ranges_are_refused() {
        for ip in ["10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1"] {
            assert_eq!(refused(ip), Some("private"), "{ip}");
        }
        assert_eq!(refused("172.32.0.1"), None);
    }

    #[test]
    fn loopback_is_refused_unless_allowed() {
        let strict = Guard::default();
        let local = Guard::new(true);
        for ip in ["127.0.0.1", "127.8.9.10", "::1"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                strict.check_ip(ip),
                Err(GuardError::Forbidden(ip, "loopback"))
            );
            assert_eq!(local.check_ip(ip), Ok(()));
        }
    }

    #[test]
    fn allowing_loopback_does_not_allow_private_addresses() {
        let local = Guard::new(true);
        assert!(local.check_ip("10.1.2.3".parse().unwrap()).is_err());
        assert!(local.check_ip("169.254.169.254".parse().unwrap()).is_err());
    }

    #[test]
    fn link_local_and_unique_local_are_refused() {
        assert_eq!(refused("169.254.1.2"), Some("link-local"));
        assert_eq!(refused("fe80::1"), Some("link-local"));
        assert_eq!(refused("fd12:3456::1"), Some("unique-local"));
        assert_eq!(refused("fc00::1"), Some("unique-local"));
    }

    #[test]
    fn carrier_grade_nat_is_refused() {
        assert_eq!(refused("100.64.0.1"), Some("carrier-grade NAT"));
        assert_eq!(refused("100.127.255.254"), Some("carrier-grade NAT"));
        assert_eq!(refused("100.128.0.1"), None);
    }

    #[test]
    fn multicast_unspecified_and_documentation_are_refused() {
        assert_eq!(refused("224.0.0.1"), Some("multicast"));
        assert_eq!(refused("ff02::1"), Some("multicast"));
        assert_eq!(refused("0.0.0.0"), Some("unspecified"));
        assert_eq!(refused("::"), Some("unspecified"));
        assert_eq!(refused("192.0.2.7"), Some("documentation"));
        assert_eq!(refused("198.51.100.7"), Some("documentation"));
        assert_eq!(refused("203.0.113.7"), Some("documentation"));
        assert_eq!(refused("2001:db8::7"), Some("documentation"));
        assert_eq!(refused("255.255.255.255"), Some("reserved"));
    }

    #[test]
    fn cloud_metadata_addresses_are_refused_even_with_loopback_allowed() {
        let local = Guard::new(true);
        for ip in ["169.254.169.254", "fd00:ec2::254"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(
                local.check_ip(ip),
                Err(GuardError::Forbidden(ip, "cloud metadata"))
            );
        }
    }

    #[test]
    fn ipv4_mapped_ipv6_is_judged_as_the_ipv4_address_it_maps() {
        assert_eq!(refused("::ffff:127.0.0.1"), Some("loopback"));
        assert_eq!(refused("::ffff:10.0.0.1"), Some("private"));
        assert_eq!(refused("::ffff:169.254.169.254"), Some("cloud metadata"));
        assert_eq!(refused("::ffff:93.184.216.34"), None);
    }

    #[test]
    fn ipv6_forms_embedding_ipv4_are_refused() {
        assert_eq!(refused("64:ff9b::a00:1"), Some("NAT64"));
        assert_eq!(refused("2002:a00:1::"), Some("6to4"));
        assert_eq!(refused("::10.0.0.1"), Some("IPv4-compatible"));
    }

    #[test]
    fn urls_must_be_https_without_user_info() {
        let g = Guard::default();
        assert_eq!(
            g.check_url("https://mastodon.example/").unwrap().host_str(),
            Some("mastodon.example")
        );
        assert_eq!(
            g.check_url("http://mastodon.example/"),
            Err(GuardError::Scheme("http".into()))
        );
        assert_eq!(
            g.check_url("ftp://mastodon.example/"),
            Err(GuardError::Scheme("ftp".into()))
        );
        assert_eq!(
            g.check_url("https://user:pw@mastodon.example/"),
            Err(GuardError::UserInfo)
        );
        assert!(matches!(
            g.check_url("not a url"),
            Err(GuardError::Invalid(_))
        ));
    }

    #[test]
    fn literal_private_hosts_in_urls_are_refused() {
        let g = Guard::default();
        assert!(matches!(
            g.check_url("https://10.0.0.1/"),
            Err(GuardError::Forbidden(_, "private"))
        ));
        assert!(matches!(
            g.check_url("https://[::ffff:169.254.169.254]/latest"),
            Err(GuardError::Forbidden(_, "cloud metadata"))
        ));
        // Decimal and hex spellings of an IPv4 address are normalised by the URL parser.
        assert!(matches!(
            g.check_url("https://2130706433/"),
            Err(GuardError::Forbidden(_, "loopback"))
        ));
        assert!(matches!(
            g.check_url("https://0x7f.1/"),
            Err(GuardError::Forbidden(_, "loopback"))
        ));
    }

    #[test]
    fn plain_http_is_allowed_only_to_loopback_when_loopback_is_allowed() {
        let local = Guard::new(true);
        assert!(local.check_url("http://127.0.0.1:8080/").is_ok());
        assert!(local.check_url("http://localhost:8080/").is_ok());
        assert!(local.check_url("http://[::1]:8080/").is_ok());
        assert_eq!(
            local.check_url("http://mastodon.example/"),
            Err(GuardError::Scheme("http".into()))
        );
        assert!(Guard::default().check_url("http://127.0.0.1/").is_err());
    }

    #[tokio::test]
    async fn the_guarded_resolver_refuses_a_name_that_resolves_to_loopback() {
        let strict = GuardedResolver {
            guard: Guard::default(),
        };
        let err = match strict.resolve("localhost".parse().unwrap()).await {
            Ok(_) => panic!("localhost resolved through the strict guard"),
            Err(e) => e,
        };
        assert!(err.to_string().contains("loopback"), "{err}");

        let local = GuardedResolver {
            guard: Guard::new(true),
        };
        let addrs: Vec<SocketAddr> = local
            .resolve("localhost".parse().unwrap())
            .await
            .expect("localhost resolves when loopback is allowed")
            .collect();
        assert!(addrs.iter().all(|a| a.ip().is_loopback()));
    }
}
