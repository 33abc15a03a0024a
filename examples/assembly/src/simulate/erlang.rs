//! Queueing theory's answers for one hour of the desk, to set beside the simulation's:
//! **Erlang C** (M/M/n: nobody leaves the queue) and **Erlang A** (M/M/n+M: visitors leave
//! after an exponential patience), both for a stationary hour with Poisson arrivals at rate
//! `λ`, exponential chat lengths of mean `1/μ` and `n` chat places (counsellors times the
//! chats each takes at once).
//!
//! Erlang A follows Mandelbaum and Zeltyn ("The impact of customers' patience on delay and
//! abandonment", *Operations Research* 2004, and Zeltyn's thesis): with `x = nμ/θ`,
//! `y = λ/θ`, `ρ = λ/(nμ)`, `E₁,ₙ` Erlang B's blocking probability and
//! `A(x, y) = x eʸ y⁻ˣ γ(x, y)` (`γ` the lower incomplete gamma function, from `statrs`):
//!
//! - `P(W > 0) = A E₁,ₙ / (1 + (A − 1) E₁,ₙ)`,
//! - `P(Ab | W > 0) = 1/(ρA) + 1 − 1/ρ`, `P(Ab) = P(Ab | W > 0) P(W > 0)`,
//! - `E[W] = P(Ab)/θ` (Little's law for the abandoning).
//!
//! The share of visitors served within `t` needs the waiting time's distribution, which the
//! paper gives for the offered wait `V` (the wait a visitor would have with endless
//! patience): a visitor who finds `j ≥ 0` others queueing ahead waits until those leave the
//! queue (served or gone, at rate `nμ + mθ` while `m` are ahead) and one more place frees
//! (rate `nμ`). [`ErlangA::wait_over`] sums that over the stationary distribution, by
//! uniformisation. The tests check every formula against the birth-and-death chain solved
//! numerically.
//!
//! What neither model knows, and the simulation does: the 45-minute limit (chat lengths are
//! cut there), that the desk opens and closes (an hour is not stationary: the queue starts
//! empty at opening and is sent home at closing), that a counsellor takes no new chat in the
//! last half hour of a shift, and that health questions wait for a medical counsellor.

use crate::error::{Error, Result};

/// One stationary hour: the rates, per minute, and the chat places.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hour {
    /// Arrivals per minute (`λ`).
    pub arrivals: f64,
    /// Mean chat length in minutes (`1/μ`).
    pub mean_length: f64,
    /// Chat places (`n`): counsellors times the chats each takes at once.
    pub places: u32,
}

impl Hour {
    fn mu(&self) -> f64 {
        1.0 / self.mean_length
    }

    /// The offered load in chat places (`λ/μ`).
    pub fn load(&self) -> f64 {
        self.arrivals * self.mean_length
    }

    fn check(&self) -> Result<()> {
        if !(self.arrivals.is_finite() && self.arrivals >= 0.0) {
            return Err(Error::Scenario(format!(
                "an arrival rate must be 0 or more, not {}",
                self.arrivals
            )));
        }
        if !(self.mean_length.is_finite() && self.mean_length > 0.0) {
            return Err(Error::Scenario(format!(
                "a mean chat length must be more than 0 minutes, not {}",
                self.mean_length
            )));
        }
        Ok(())
    }
}

/// Erlang B's blocking probability for `n` places and load `a`, by the stable recursion.
pub fn erlang_b(n: u32, a: f64) -> f64 {
    let mut b = 1.0;
    for k in 1..=n {
        b = a * b / (f64::from(k) + a * b);
    }
    b
}

/// Erlang C: nobody leaves the queue.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ErlangC {
    hour: Hour,
    /// `P(W > 0)`: the share who wait at all; 1 when the places cannot keep up.
    pub wait_probability: f64,
}

impl ErlangC {
    /// The model of `hour`.
    pub fn of(hour: Hour) -> Result<ErlangC> {
        hour.check()?;
        let a = hour.load();
        let n = f64::from(hour.places);
        let wait_probability = if a >= n {
            1.0
        } else {
            let b = erlang_b(hour.places, a);
            n * b / (n - a * (1.0 - b))
        };
        Ok(ErlangC {
            hour,
            wait_probability,
        })
    }

    /// Whether the places keep up (`λ/μ < n`); without that the queue grows without end.
    pub fn stable(&self) -> bool {
        self.hour.load() < f64::from(self.hour.places)
    }

    /// The mean wait in minutes (infinite when unstable).
    pub fn mean_wait(&self) -> f64 {
        if !self.stable() {
            return f64::INFINITY;
        }
        self.wait_probability / (f64::from(self.hour.places) * self.hour.mu() - self.hour.arrivals)
    }

    /// `P(W > t)`, `t` in minutes.
    pub fn wait_over(&self, t: f64) -> f64 {
        if !self.stable() {
            return 1.0;
        }
        let rate = f64::from(self.hour.places) * self.hour.mu() - self.hour.arrivals;
        self.wait_probability * (-rate * t.max(0.0)).exp()
    }

    /// The wait nine in ten stay under (minutes).
    pub fn p90_wait(&self) -> f64 {
        if !self.stable() {
            return f64::INFINITY;
        }
        if self.wait_probability <= 0.1 {
            return 0.0;
        }
        let rate = f64::from(self.hour.places) * self.hour.mu() - self.hour.arrivals;
        (self.wait_probability / 0.1).ln() / rate
    }
}

/// Erlang A: visitors leave the queue after an exponential patience of mean `1/θ`.
#[derive(Debug, Clone, PartialEq)]
pub struct ErlangA {
    hour: Hour,
    theta: f64,
    /// `P(W > 0)`.
    pub wait_probability: f64,
    /// `P(Ab)`: the share who leave the queue before a counsellor comes.
    pub abandon_probability: f64,
    /// The chance an arrival finds `j` queueing ahead, `j` = 0, 1, … (see
    /// [`ErlangA::queue_on_arrival`]).
    ahead: Vec<f64>,
}

/// `ln A(x, y)`, `A(x, y) = x eʸ y⁻ˣ γ(x, y)`, in logarithms (it overflows `f64` for a busy
/// hour with little patience otherwise). With `y ≤ x` (the places keep up) the regularised
/// gamma function underflows for a long patience, so `A` is summed from its series
/// `1 + Σⱼ yʲ / ((x+1)…(x+j))` there, whose terms fall from the first.
fn ln_a(x: f64, y: f64) -> f64 {
    if y <= x {
        let (mut term, mut sum) = (1.0f64, 1.0f64);
        let mut j = 0.0;
        while term > sum * 1e-17 {
            j += 1.0;
            term *= y / (x + j);
            sum += term;
        }
        return sum.ln();
    }
    let p = statrs::function::gamma::gamma_lr(x, y);
    x.ln() + y - x * y.ln() + statrs::function::gamma::ln_gamma(x) + p.ln()
}

impl ErlangA {
    /// The model of `hour` with a mean patience of `patience` minutes.
    pub fn of(hour: Hour, patience: f64) -> Result<ErlangA> {
        hour.check()?;
        if !(patience.is_finite() && patience > 0.0) {
            return Err(Error::Scenario(format!(
                "a mean patience must be more than 0 minutes, not {patience}"
            )));
        }
        let theta = 1.0 / patience;
        if hour.places == 0 {
            return Ok(ErlangA {
                hour,
                theta,
                wait_probability: 1.0,
                abandon_probability: 1.0,
                ahead: Vec::new(),
            });
        }
        if hour.arrivals == 0.0 {
            return Ok(ErlangA {
                hour,
                theta,
                wait_probability: 0.0,
                abandon_probability: 0.0,
                ahead: Vec::new(),
            });
        }
        let n = f64::from(hour.places);
        let x = n * hour.mu() / theta;
        let y = hour.arrivals / theta;
        let rho = hour.arrivals / (n * hour.mu());
        let e = erlang_b(hour.places, hour.load());
        let ln_big_a = ln_a(x, y);
        // P(W>0) = A E / (1 + (A-1) E) = E / (E + (1-E)/A).
        let wait_probability = e / (e + (1.0 - e) * (-ln_big_a).exp());
        let abandon_given_wait = (-ln_big_a).exp() / rho + 1.0 - 1.0 / rho;
        let mut model = ErlangA {
            hour,
            theta,
            wait_probability,
            abandon_probability: (abandon_given_wait * wait_probability).clamp(0.0, 1.0),
            ahead: Vec::new(),
        };
        model.ahead = model.queue_on_arrival();
        Ok(model)
    }

    /// The mean wait in minutes, served and leaving alike.
    pub fn mean_wait(&self) -> f64 {
        self.abandon_probability / self.theta
    }

    /// `P(W > t)`, `t` in minutes: the share still waiting (neither served nor gone) after
    /// `t`, i.e. the offered wait over `t` and the patience too.
    pub fn wait_over(&self, t: f64) -> f64 {
        let t = t.max(0.0);
        self.offered_wait_over(t) * (-self.theta * t).exp()
    }

    /// `P(V > t)`: the offered wait over `t` (see the module docs), by uniformisation over
    /// the queue ahead of an arriving visitor.
    fn offered_wait_over(&self, t: f64) -> f64 {
        let n = self.hour.places;
        if n == 0 {
            return 1.0;
        }
        let service = f64::from(n) * self.hour.mu();
        let ahead = &self.ahead;
        let m = ahead.len();
        if m == 0 || t == 0.0 {
            return ahead.iter().sum();
        }
        // Each start j is absorbed after j+1 steps down, at rate service + iθ with i ahead.
        let rate = service + self.theta * (m as f64);
        let steps_mean = rate * t;
        // p[i]: weight with i still ahead (i = j: the tagged visitor's own last phase is i=0).
        let mut p = ahead.clone();
        let mut survive = 0.0;
        let mut poisson = (-steps_mean).exp();
        let mut k = 0u32;
        let limit = (steps_mean + 12.0 * steps_mean.sqrt() + 30.0) as u32;
        loop {
            survive += poisson * p.iter().sum::<f64>();
            k += 1;
            if k > limit {
                break;
            }
            poisson *= steps_mean / f64::from(k);
            // One uniformised step: from i, leave to i-1 (or out, from 0) at (service+iθ)/rate.
            let mut next = vec![0.0; m];
            for i in 0..m {
                let down = (service + self.theta * i as f64) / rate;
                next[i] += p[i] * (1.0 - down);
                if i > 0 {
                    next[i - 1] += p[i] * down;
                }
            }
            p = next;
        }
        survive.clamp(0.0, 1.0)
    }

    /// The chance an arrival finds `j` queueing ahead, `j` = 0, 1, …, until negligible: the
    /// chain's `π_{n+j}`, normalised with the states below `n` (arrivals see the stationary
    /// state).
    fn queue_on_arrival(&self) -> Vec<f64> {
        let n = self.hour.places;
        let lambda = self.hour.arrivals;
        let mu = self.hour.mu();
        // Unnormalised π_k in logarithms, k = 0…; stop far in the tail.
        let mut ln_pi = vec![0.0f64];
        let mut k = 0u32;
        loop {
            k += 1;
            let out = f64::from(k.min(n)) * mu + f64::from(k.saturating_sub(n)) * self.theta;
            let last = *ln_pi.last().unwrap_or(&0.0);
            ln_pi.push(last + (lambda / out).ln());
            if k > n && (ln_pi[k as usize] < ln_pi[n as usize] - 40.0 || k > n + 10_000) {
                break;
            }
        }
        let top = ln_pi.iter().cloned().fold(f64::NEG_INFINITY, f64::max);
        let total: f64 = ln_pi.iter().map(|l| (l - top).exp()).sum();
        ln_pi[n as usize..]
            .iter()
            .map(|l| (l - top).exp() / total)
            .collect()
    }

    /// The wait nine in ten stay under (minutes), to a second.
    pub fn p90_wait(&self) -> f64 {
        if self.wait_over(0.0) <= 0.1 {
            return 0.0;
        }
        let (mut lo, mut hi) = (0.0, 1.0);
        while self.wait_over(hi) > 0.1 {
            hi *= 2.0;
            if hi > 1e6 {
                return f64::INFINITY;
            }
        }
        while hi - lo > 1.0 / 60.0 {
            let mid = (lo + hi) / 2.0;
            if self.wait_over(mid) > 0.1 {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        hi
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The birth-and-death chain of M/M/n+M solved numerically: (P(W>0), P(Ab), E[W]).
    fn chain(hour: Hour, patience: Option<f64>) -> (f64, f64, f64) {
        let n = hour.places;
        let mu = 1.0 / hour.mean_length;
        let theta = patience.map_or(0.0, |p| 1.0 / p);
        let mut pi = vec![1.0f64];
        for k in 1..20_000u32 {
            let out = f64::from(k.min(n)) * mu + f64::from(k.saturating_sub(n)) * theta;
            let v = pi[pi.len() - 1] * hour.arrivals / out;
            pi.push(v);
            if k > n && v < 1e-18 * pi[n as usize] {
                break;
            }
        }
        let total: f64 = pi.iter().sum();
        let pi: Vec<f64> = pi.iter().map(|p| p / total).collect();
        let wait: f64 = pi[n as usize..].iter().sum();
        let queue: f64 = pi
            .iter()
            .enumerate()
            .skip(n as usize)
            .map(|(k, p)| (k as f64 - f64::from(n)) * p)
            .sum();
        (wait, theta * queue / hour.arrivals, queue / hour.arrivals)
    }

    fn close(a: f64, b: f64, rel: f64) -> bool {
        (a - b).abs() <= rel * b.abs().max(1e-12)
    }

    fn hours() -> Vec<Hour> {
        let mut out = Vec::new();
        for places in [1, 3, 4, 6, 10] {
            for load in [0.3, 0.7, 0.9] {
                out.push(Hour {
                    arrivals: load * f64::from(places) / 18.5,
                    mean_length: 18.5,
                    places,
                });
            }
        }
        out
    }

    #[test]
    fn erlang_c_agrees_with_the_chain() {
        for h in hours() {
            let c = ErlangC::of(h).unwrap();
            let (wait, _, mean) = chain(h, None);
            assert!(
                close(c.wait_probability, wait, 1e-9),
                "{h:?}: {c:?} vs {wait}"
            );
            assert!(
                close(c.mean_wait(), mean, 1e-9),
                "{h:?}: {} vs {mean}",
                c.mean_wait()
            );
        }
    }

    #[test]
    fn erlang_a_agrees_with_the_chain() {
        for h in hours() {
            for patience in [1.0, 5.0, 20.0] {
                let a = ErlangA::of(h, patience).unwrap();
                let (wait, abandon, mean) = chain(h, Some(patience));
                assert!(
                    close(a.wait_probability, wait, 1e-6),
                    "{h:?} {patience}: {a:?} vs {wait}"
                );
                assert!(
                    close(a.abandon_probability, abandon, 1e-6),
                    "{h:?} {patience}: {a:?} vs {abandon}"
                );
                assert!(
                    close(a.mean_wait(), mean, 1e-6),
                    "{h:?} {patience}: {} vs {mean}",
                    a.mean_wait()
                );
            }
        }
    }

    #[test]
    fn erlang_a_with_endless_patience_is_erlang_c() {
        for h in hours() {
            let c = ErlangC::of(h).unwrap();
            let a = ErlangA::of(h, 1e7).unwrap();
            assert!(close(a.wait_probability, c.wait_probability, 1e-4), "{h:?}");
            for t in [0.5, 2.0, 10.0] {
                assert!(
                    close(a.wait_over(t), c.wait_over(t), 1e-3),
                    "{h:?} t={t}: {} vs {}",
                    a.wait_over(t),
                    c.wait_over(t)
                );
            }
            let (pa, pc) = (a.p90_wait(), c.p90_wait());
            assert!(
                (pa - pc).abs() <= 1e-3 * pc + 2.0 / 60.0,
                "{h:?}: {pa} vs {pc}"
            );
        }
    }

    #[test]
    fn the_wait_over_t_falls_from_the_wait_probability() {
        let h = Hour {
            arrivals: 4.0 / 18.5,
            mean_length: 18.5,
            places: 5,
        };
        let a = ErlangA::of(h, 3.0).unwrap();
        assert!(close(a.wait_over(0.0), a.wait_probability, 1e-6));
        let mut last = 1.0;
        for t in [0.0, 0.5, 1.0, 2.0, 5.0, 20.0] {
            let w = a.wait_over(t);
            assert!(w <= last + 1e-12, "P(W>t) falls: {w} after {last}");
            last = w;
        }
        // The mean from the tail: E[W] = ∫ P(W>t) dt.
        // The tail is gone long before an hour (the patience is 3 minutes).
        let dt = 0.1;
        let integral: f64 = (0..600)
            .map(|i| a.wait_over((f64::from(i) + 0.5) * dt) * dt)
            .sum();
        assert!(
            close(integral, a.mean_wait(), 1e-3),
            "{integral} vs {}",
            a.mean_wait()
        );
    }

    #[test]
    fn bad_numbers_are_refused_in_words() {
        let bad = Hour {
            arrivals: -1.0,
            mean_length: 18.5,
            places: 3,
        };
        let e = ErlangC::of(bad).unwrap_err().to_string();
        assert!(e.contains("arrival rate must be 0 or more"), "{e}");
        let e = ErlangA::of(
            Hour {
                arrivals: 0.1,
                mean_length: 18.5,
                places: 3,
            },
            0.0,
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("patience"), "{e}");
    }
}
