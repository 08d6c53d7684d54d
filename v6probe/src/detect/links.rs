//! Links (interface name, outer VLAN id) interned as small ids, found by hashing.
//!
//! The names come from the host, from a capture's interface blocks or from a state file, and the
//! VLAN ids from frames: all of them chosen by whoever wrote the capture or sent the frames. A
//! map (not a list search) keeps the per-packet lookup O(1), and [`MAX_LINKS`] bounds its size:
//! past it, new links share the unnamed, untagged link, and each such lookup is counted.
use std::collections::HashMap;

use super::table::Hasher;

/// Links kept with their own id. A host has a handful of interfaces; a trunk carries at most
/// 4,094 VLANs: 16,384 leaves room for several trunks.
pub const MAX_LINKS: usize = 16_384;

#[derive(Debug, Default)]
pub struct Links {
    /// Named links: name -> VLAN id -> link id.
    named: HashMap<String, HashMap<u16, u16, Hasher>, Hasher>,
    /// Links without a name (a capture that does not say): VLAN id -> link id.
    unnamed: HashMap<u16, u16, Hasher>,
    /// Link id -> (name, VLAN id).
    list: Vec<(Option<String>, u16)>,
    /// Lookups of a new link made while the table was full (given the shared link).
    over_cap: u64,
    /// The id found last: frames come in runs from one link, so it is tried first, against
    /// its entry in `list`, before hashing the name.
    last: u16,
}

impl Links {
    /// The id of (name, vid), created when new. Past [`MAX_LINKS`] a new link gets the id of
    /// the unnamed, untagged link (one slot is kept for it), and is counted.
    pub fn id(&mut self, name: Option<&str>, vid: u16) -> u16 {
        if let Some((n, v)) = self.list.get(usize::from(self.last)) {
            if *v == vid && n.as_deref() == name {
                return self.last;
            }
        }
        if let Some(id) = self.get(name, vid) {
            self.last = id;
            return id;
        }
        let shared = name.is_none() && vid == 0;
        if self.list.len() >= MAX_LINKS - 1 && !shared {
            self.over_cap += 1;
            return self.id(None, 0);
        }
        let id = self.list.len() as u16;
        self.list.push((name.map(str::to_owned), vid));
        self.last = id;
        match name {
            Some(n) => self.named.entry(n.to_owned()).or_default().insert(vid, id),
            None => self.unnamed.insert(vid, id),
        };
        id
    }

    fn get(&self, name: Option<&str>, vid: u16) -> Option<u16> {
        match name {
            Some(n) => self.named.get(n)?.get(&vid).copied(),
            None => self.unnamed.get(&vid).copied(),
        }
    }

    /// The interface name of a link id.
    pub fn name(&self, id: u16) -> Option<&str> {
        self.list.get(id as usize).and_then(|l| l.0.as_deref())
    }

    /// The VLAN id of a link id (`None` for untagged).
    pub fn vlan(&self, id: u16) -> Option<u16> {
        self.list.get(id as usize).map(|l| l.1).filter(|v| *v != 0)
    }

    pub fn len(&self) -> usize {
        self.list.len()
    }

    pub fn is_empty(&self) -> bool {
        self.list.is_empty()
    }

    /// New links that got the shared id because the table was full.
    pub fn over_cap(&self) -> u64 {
        self.over_cap
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_and_distinct_per_name_and_vlan() {
        let mut l = Links::default();
        let a = l.id(Some("eth0"), 0);
        let b = l.id(Some("eth0"), 10);
        let c = l.id(None, 10);
        let d = l.id(None, 0);
        assert_eq!([a, b, c, d], [0, 1, 2, 3], "a new id per (name, vlan) pair");
        assert_eq!(l.id(Some("eth0"), 10), b);
        assert_eq!(l.id(None, 0), d);
        assert_eq!((l.name(b), l.vlan(b)), (Some("eth0"), Some(10)));
        assert_eq!((l.name(d), l.vlan(d)), (None, None));
        assert_eq!(l.name(999), None);
        assert_eq!(l.over_cap(), 0);
    }

    /// The last link found, tried first, gives the id the maps give, in runs and interleaved,
    /// past the cap too.
    #[test]
    fn the_last_link_found_is_the_same_id_as_the_maps_give() {
        let mut l = Links::default();
        let keys = [
            (Some("eth0"), 0),
            (Some("eth0"), 0),
            (Some("eth0"), 5),
            (None, 5),
            (None, 0),
            (Some("eth1"), 0),
            (Some("eth0"), 0),
            (Some("eth"), 0),
            (Some("eth0"), 5),
            (Some("eth0"), 5),
        ];
        let ids: Vec<u16> = keys.iter().map(|&(n, v)| l.id(n, v)).collect();
        assert_eq!(ids, [0, 0, 1, 2, 3, 4, 0, 5, 1, 1]);
        for (&(n, v), &id) in keys.iter().zip(&ids).rev() {
            assert_eq!(l.id(n, v), id);
            assert_eq!(l.get(n, v), Some(id));
        }
        let mut l = Links::default();
        let names: Vec<String> = (0..MAX_LINKS + 3).map(|i| format!("if{i}")).collect();
        for n in &names {
            l.id(Some(n), 0);
        }
        let extra = names.last().unwrap();
        let shared = l.id(Some(extra), 0);
        assert_eq!(l.id(Some(extra), 0), shared, "over the cap, twice in a row");
        assert_eq!((l.name(shared), l.vlan(shared)), (None, None));
        assert_eq!(l.over_cap(), 6, "each lookup of a link left out is counted");
    }

    #[test]
    fn past_the_cap_new_links_share_the_unnamed_one_and_are_counted() {
        let mut l = Links::default();
        let names: Vec<String> = (0..MAX_LINKS + 100).map(|i| format!("if{i}")).collect();
        let ids: Vec<u16> = names.iter().map(|n| l.id(Some(n), 7)).collect();
        assert_eq!(l.len(), MAX_LINKS);
        let shared = ids[MAX_LINKS - 1];
        assert_eq!((l.name(shared), l.vlan(shared)), (None, None));
        assert!(ids[MAX_LINKS - 1..].iter().all(|&i| i == shared));
        assert_eq!(l.over_cap(), 101);
        // Links admitted before the cap keep their ids.
        assert_eq!(l.id(Some("if5"), 7), ids[5]);
        assert_eq!(l.name(ids[5]), Some("if5"));
        assert_eq!(l.id(None, 0), shared);
        assert_eq!(l.over_cap(), 101);
    }
}
