//! The global bound on countermeasures: a token bucket driven by packet time (ns since the
//! epoch), so tests drive it with plain numbers and a replay gives the same decisions.

const SECOND: u64 = 1_000_000_000;

/// At most `per_sec` takes per second on average, and at most `burst` at once.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    /// Time one token takes to come back, in ns.
    every: u64,
    /// Saved-up time in ns: one token per `every`, at most `burst * every`.
    credit: u64,
    cap: u64,
    /// Time of the last refill; `None` before the first take (the bucket starts full).
    last: Option<u64>,
}

impl TokenBucket {
    /// `per_sec` and `burst` are at least 1.
    pub fn new(per_sec: u32, burst: u32) -> Self {
        let every = SECOND / u64::from(per_sec.max(1));
        let cap = every.saturating_mul(u64::from(burst.max(1)));
        Self {
            every,
            credit: cap,
            cap,
            last: None,
        }
    }

    /// Takes one token at time `t` if there is one. Time running backwards (a clock step)
    /// refills nothing.
    pub fn take(&mut self, t: u64) -> bool {
        if let Some(last) = self.last {
            let gained = t.saturating_sub(last);
            self.credit = self.credit.saturating_add(gained).min(self.cap);
        }
        self.last = Some(self.last.map_or(t, |l| l.max(t)));
        if self.credit >= self.every {
            self.credit -= self.every;
            true
        } else {
            false
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000 * SECOND;

    fn takes(b: &mut TokenBucket, t: u64, n: usize) -> usize {
        (0..n).filter(|_| b.take(t)).count()
    }

    #[test]
    fn burst_then_the_rate() {
        let mut b = TokenBucket::new(5, 5);
        assert_eq!(takes(&mut b, T, 20), 5, "a full bucket gives the burst");
        assert_eq!(
            takes(&mut b, T + SECOND / 10, 5),
            0,
            "no token back after 100 ms"
        );
        assert_eq!(takes(&mut b, T + SECOND / 5, 5), 1, "one back after 200 ms");
        // Ten seconds later: refilled to the burst, not to fifty.
        assert_eq!(takes(&mut b, T + 10 * SECOND, 100), 5);
        // Over one second of steady asking: the rate.
        let got: usize = (1..=100)
            .map(|i| takes(&mut b, T + 10 * SECOND + i * SECOND / 100, 1))
            .sum();
        assert_eq!(got, 5);
    }

    #[test]
    fn time_going_back_refills_nothing() {
        let mut b = TokenBucket::new(1, 1);
        assert!(b.take(T));
        assert!(!b.take(T - 100 * SECOND));
        assert!(
            !b.take(T + SECOND / 2),
            "the step back did not move the clock back"
        );
        assert!(b.take(T + SECOND));
    }

    #[test]
    fn zero_rate_is_one_per_second() {
        let mut b = TokenBucket::new(0, 0);
        assert_eq!(takes(&mut b, T, 3), 1);
        assert_eq!(takes(&mut b, T + SECOND, 3), 1);
    }
}
