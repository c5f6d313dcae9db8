//! The order a run starts its probes in, and what it holds back: most overdue first, at
//! most so many probes in flight to one host, and none to a host that asked (HTTP 429,
//! `Retry-After`) to be left alone for a while. Values and rules only; the run
//! ([`crate::runner`]) drives them.

use super::target::ProbeTarget;
use crate::domain::ConnectorId;
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use std::time::Instant;
use url::Url;

/// Orders targets most overdue first: those never checked (no previous `lastChecked`),
/// then the one checked longest ago; ties by id. A run that cannot reach every target
/// before its deadline so leaves out the ones it checked most recently, and the next run
/// starts with the ones it left out.
pub fn most_overdue_first(targets: &mut [ProbeTarget]) {
    // `None` (never checked) orders before every `Some`.
    targets.sort_by_key(|t| (t.previous.last_checked, t.id));
}

/// What the per-host limits count: a URL's host, lowercased (as URLs compare host names),
/// and its port, the scheme's default when the URL names none. So `https://a.test` and
/// `https://A.test:443/x` are one host, and two servers on one address but different
/// ports are two.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum HostKey {
    /// A host name or address (IPv6 in brackets) and a port.
    Host(String, u16),
    /// A target whose URL has no host: it is limited on its own (its probe fails at once).
    NoHost(ConnectorId),
}

impl HostKey {
    /// The host `url` names, if it names one.
    pub fn of_url(url: &Url) -> Option<Self> {
        let host = url.host_str()?.to_ascii_lowercase();
        Some(Self::Host(host, url.port_or_known_default()?))
    }

    /// The host `target`'s URL names.
    pub fn of_target(target: &ProbeTarget) -> Self {
        Url::parse(target.url.trim())
            .ok()
            .and_then(|u| Self::of_url(&u))
            .unwrap_or(Self::NoHost(target.id))
    }
}

impl std::fmt::Display for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Host(host, port) => write!(f, "{host}:{port}"),
            Self::NoHost(id) => write!(f, "(connector {id} without a host)"),
        }
    }
}

/// One host's targets still to start, in order, and its probes in flight.
#[derive(Debug, Default)]
struct HostQueue {
    /// (rank in the run's order, target)
    queue: VecDeque<(usize, ProbeTarget)>,
    in_flight: usize,
    /// Nothing is started on the host before then.
    not_before: Option<Instant>,
}

/// The targets of one run still to start, one queue per host. [`Schedule::start_next`] gives the
/// most overdue target whose host has a free slot and is not held back, so a busy host
/// never holds up another's targets.
#[derive(Debug)]
pub struct Schedule {
    hosts: HashMap<HostKey, HostQueue>,
    /// The hosts that may start a target now, by the rank of their first one.
    ready: BTreeMap<usize, HostKey>,
    /// The hosts held back, by when they may start again.
    held: BTreeSet<(Instant, HostKey)>,
    per_host: usize,
    remaining: usize,
}

impl Schedule {
    /// `targets` in the order they should start (see [`most_overdue_first`]), with at most
    /// `per_host` (at least 1) in flight to one host.
    pub fn new(targets: Vec<ProbeTarget>, per_host: usize) -> Self {
        let mut hosts: HashMap<HostKey, HostQueue> = HashMap::new();
        let remaining = targets.len();
        for (rank, target) in targets.into_iter().enumerate() {
            let key = HostKey::of_target(&target);
            hosts
                .entry(key)
                .or_default()
                .queue
                .push_back((rank, target));
        }
        let ready = hosts
            .iter()
            .filter_map(|(key, h)| h.queue.front().map(|(rank, _)| (*rank, key.clone())))
            .collect();
        Self {
            hosts,
            ready,
            held: BTreeSet::new(),
            per_host: per_host.max(1),
            remaining,
        }
    }

    /// Targets not started yet.
    pub fn remaining(&self) -> usize {
        self.remaining
    }

    /// The most overdue target that may start now, counted in flight to its host until
    /// [`Schedule::done`]; `None` when every host with targets left is at its limit or
    /// held back.
    pub fn start_next(&mut self) -> Option<(HostKey, ProbeTarget)> {
        let (_, key) = self.ready.pop_first()?;
        let host = self.hosts.get_mut(&key)?;
        let (_, target) = host.queue.pop_front()?;
        host.in_flight += 1;
        self.remaining -= 1;
        self.refresh(&key);
        Some((key, target))
    }

    /// A probe on `key` ended (or was not started after all): its slot is free again.
    pub fn done(&mut self, key: &HostKey) {
        if let Some(host) = self.hosts.get_mut(key) {
            host.in_flight = host.in_flight.saturating_sub(1);
        }
        self.refresh(key);
    }

    /// Holds `key` back until `until`: nothing more starts on it before then. Its targets
    /// for which `keep` (asked as of `until`) is false are taken out and returned.
    pub fn hold(
        &mut self,
        key: &HostKey,
        until: Instant,
        mut keep: impl FnMut(&ProbeTarget) -> bool,
    ) -> Vec<ProbeTarget> {
        let Some(host) = self.hosts.get_mut(key) else {
            return Vec::new();
        };
        if let Some((rank, _)) = host.queue.front() {
            self.ready.remove(rank);
        }
        if let Some(before) = host.not_before.take() {
            self.held.remove(&(before, key.clone()));
        }
        let (kept, dropped): (VecDeque<_>, VecDeque<_>) = std::mem::take(&mut host.queue)
            .into_iter()
            .partition(|(_, t)| keep(t));
        host.queue = kept;
        self.remaining -= dropped.len();
        if !host.queue.is_empty() {
            host.not_before = Some(until);
            self.held.insert((until, key.clone()));
        }
        dropped.into_iter().map(|(_, t)| t).collect()
    }

    /// When the first held-back host with targets left may start again.
    pub fn wake_at(&self) -> Option<Instant> {
        self.held.first().map(|(at, _)| *at)
    }

    /// Releases the hosts held back until `now` or earlier.
    pub fn wake(&mut self, now: Instant) {
        while let Some((at, key)) = self.held.first().cloned() {
            if at > now {
                break;
            }
            self.held.pop_first();
            if let Some(host) = self.hosts.get_mut(&key) {
                host.not_before = None;
            }
            self.refresh(&key);
        }
    }

    /// Takes out every target not started yet.
    pub fn drain(&mut self) -> Vec<ProbeTarget> {
        self.ready.clear();
        self.held.clear();
        self.remaining = 0;
        self.hosts
            .values_mut()
            .flat_map(|h| std::mem::take(&mut h.queue))
            .map(|(_, t)| t)
            .collect()
    }

    /// Puts `key` in the ready set exactly when it may start its first target now.
    fn refresh(&mut self, key: &HostKey) {
        let Some(host) = self.hosts.get(key) else {
            return;
        };
        let Some((rank, _)) = host.queue.front() else {
            return;
        };
        if host.in_flight < self.per_host && host.not_before.is_none() {
            self.ready.insert(*rank, key.clone());
        } else {
            self.ready.remove(rank);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::FeedType;
    use std::time::Duration;

    fn t(id: u32, url: &str) -> ProbeTarget {
        ProbeTarget::new(ConnectorId::new(id).unwrap(), url, FeedType::Generic)
    }

    fn ids(started: &[(HostKey, ProbeTarget)]) -> Vec<u32> {
        started.iter().map(|(_, t)| t.id.get()).collect()
    }

    fn start_all(s: &mut Schedule) -> Vec<(HostKey, ProbeTarget)> {
        std::iter::from_fn(|| s.start_next()).collect()
    }

    #[test]
    fn a_host_is_its_lowercased_name_and_port() {
        let key = |url: &str| HostKey::of_target(&t(1, url));
        assert_eq!(key("https://A.Test/x"), key("https://a.test:443/y?q"));
        assert_eq!(key("https://a.test"), HostKey::Host("a.test".into(), 443));
        assert_ne!(key("http://a.test"), key("https://a.test"));
        assert_ne!(key("http://127.0.0.1:8001/"), key("http://127.0.0.1:8002/"));
        assert_eq!(
            key("http://user:secret@[::1]:8080/"),
            HostKey::Host("[::1]".into(), 8080)
        );
        assert_eq!(
            key("not a url"),
            HostKey::NoHost(ConnectorId::new(1).unwrap())
        );
        assert_eq!(key("https://a.test").to_string(), "a.test:443");
    }

    #[test]
    fn a_busy_host_does_not_hold_up_the_others() {
        // Given five targets on one host first, then two on others, two per host
        let mut targets: Vec<_> = (1..=5).map(|i| t(i, "http://busy.test/")).collect();
        targets.push(t(6, "http://a.test/"));
        targets.push(t(7, "http://b.test/"));
        let mut s = Schedule::new(targets, 2);
        // When everything that may start starts
        let started = start_all(&mut s);
        // Then the busy host has two, in order, and the others start at once
        assert_eq!(ids(&started), [1, 2, 6, 7]);
        assert_eq!(s.remaining(), 3);
        // And a slot freed on the busy host starts its next target
        s.done(&started[0].0);
        assert_eq!(ids(&start_all(&mut s)), [3]);
        s.done(&started[2].0);
        assert!(s.start_next().is_none(), "a.test has nothing left");
    }

    #[test]
    fn a_held_host_waits_and_what_cannot_wait_is_taken_out() {
        let now = Instant::now();
        let mut s = Schedule::new(
            vec![
                t(1, "http://slow.test/"),
                t(2, "http://slow.test/"),
                t(3, "http://slow.test/"),
                t(4, "http://other.test/"),
            ],
            1,
        );
        let (key, first) = s.start_next().unwrap();
        assert_eq!(first.id.get(), 1);
        // Held for 30 s; target 3 could not finish by then
        let dropped = s.hold(&key, now + Duration::from_secs(30), |t| t.id.get() != 3);
        assert_eq!(dropped.iter().map(|t| t.id.get()).collect::<Vec<_>>(), [3]);
        s.done(&key);
        assert_eq!(ids(&start_all(&mut s)), [4]);
        assert_eq!(s.wake_at(), Some(now + Duration::from_secs(30)));
        s.wake(now + Duration::from_secs(29));
        assert!(s.start_next().is_none());
        s.wake(now + Duration::from_secs(30));
        assert_eq!(s.wake_at(), None);
        assert_eq!(ids(&start_all(&mut s)), [2]);
        assert_eq!(s.remaining(), 0);
    }

    #[test]
    fn a_host_with_nothing_left_to_hold_is_not_waited_for() {
        let now = Instant::now();
        let mut s = Schedule::new(vec![t(1, "http://x.test/"), t(2, "http://x.test/")], 4);
        let (key, _) = s.start_next().unwrap();
        assert_eq!(s.hold(&key, now, |_| false).len(), 1);
        assert_eq!(s.wake_at(), None);
        assert!(s.start_next().is_none());
        assert!(s.drain().is_empty());
    }
}
