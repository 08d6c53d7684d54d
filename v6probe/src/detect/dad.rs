//! Duplicate address detection (RFC 4862 5.4): probes (NS from `::`) and what answers them.
//! An answer from another MAC while the attempt runs is `dad_dos`: `high` when every attempt
//! was answered, `low` when the answer comes from the address's known owner (a genuine
//! duplicate).
use std::net::Ipv6Addr;

use super::{
    alert::{AlertCode, DadAnswer, Detail, Severity},
    config::Config,
    sink::{ns, Cx, Key, Mac, Sink, Subject},
    table::BoundedMap,
};

#[derive(Debug, Clone)]
struct Attempt {
    prober: Mac,
    last_probe: u64,
    attempts: u32,
    answered: u32,
    answered_this: bool,
    /// The MAC bound to the target (fresh) when the first attempt started: if it answers, the
    /// address is a genuine duplicate.
    owner_before: Option<Mac>,
}

/// Running DAD attempts, per (link, tentative address).
pub struct DadWatch {
    attempts: BoundedMap<Key, Attempt>,
    /// An attempt lasts this long after its last probe.
    window: u64,
}

impl DadWatch {
    pub fn new(cfg: &Config) -> Self {
        Self {
            attempts: BoundedMap::new(cfg.max_dad),
            window: ns(cfg.dad_window),
        }
    }

    pub fn len(&self) -> usize {
        self.attempts.len()
    }

    pub fn is_empty(&self) -> bool {
        self.attempts.is_empty()
    }

    pub fn evictions(&self) -> u64 {
        self.attempts.evictions()
    }

    /// A probe for `target` from the packet's Ethernet source; `owner` is the MAC bound to
    /// the target (and recently heard) before it.
    pub fn probe(&mut self, cx: &Cx, sink: &mut Sink, target: Ipv6Addr, owner: Option<Mac>) {
        let mac = cx.eth_src();
        let key = (cx.link, target);
        match self.attempts.get_mut(&key) {
            Some(d) if cx.t.saturating_sub(d.last_probe) <= self.window => {
                if d.prober == mac {
                    d.last_probe = cx.t;
                } else {
                    // Another MAC probes the same tentative address: it answers the attempt.
                    self.answer(cx, sink, target, mac, DadAnswer::DadProbe);
                }
            }
            Some(d) => {
                d.attempts += 1;
                d.prober = mac;
                d.last_probe = cx.t;
                d.answered_this = false;
                // `owner_before` stays the owner at the first attempt: an earlier answer must
                // not make the answering MAC look like the address's owner.
            }
            None => {
                self.attempts.insert(
                    key,
                    Attempt {
                        prober: mac,
                        last_probe: cx.t,
                        attempts: 1,
                        answered: 0,
                        answered_this: false,
                        owner_before: owner,
                    },
                );
            }
        }
    }

    /// An NA (or a foreign probe) from `mac` for `target`; true when it answered a running
    /// attempt.
    pub fn answer(
        &mut self,
        cx: &Cx,
        sink: &mut Sink,
        target: Ipv6Addr,
        mac: Mac,
        how: DadAnswer,
    ) -> bool {
        let key = (cx.link, target);
        let Some(d) = self.attempts.get_mut(&key) else {
            return false;
        };
        if cx.t.saturating_sub(d.last_probe) > self.window || d.answered_this || mac == d.prober {
            return false;
        }
        d.answered += 1;
        d.answered_this = true;
        let (attempts, answered, prober) = (d.attempts, d.answered, d.prober);
        let genuine = d.owner_before == Some(mac);
        let sev = if genuine {
            Severity::Low
        } else if answered >= 2 && answered == attempts {
            Severity::High
        } else {
            Severity::Medium
        };
        sink.raise(cx, AlertCode::DadDos, sev, Subject::addr(target), |a| {
            a.message = if genuine {
                format!("DAD for {target} by {prober} answered by its current owner {mac} (duplicate address)")
            } else {
                format!("DAD for {target} by {prober} answered by {mac} ({answered} of {attempts} attempts)")
            };
            a.address = Some(target);
            a.mac = Some(mac);
            a.evidence.detail = Detail::Dad {
                prober,
                attempts,
                answered,
                answered_with: how,
                known_owner: genuine,
            };
        });
        true
    }
}
