//! The reference queue: first come, first served over `n` identical chat places, with
//! patience, computed exactly by the classic recursion (each visitor's offered wait is the
//! time until the earliest place frees; they are served if that is within their patience,
//! and then hold that place for their length). It knows nothing of the engine: the tests
//! give it the very draws a play was given and expect every visitor's wait to be the one
//! the engine gave them, and they run it over millions of draws to check it against
//! Erlang C and Erlang A, where one play of the engine would be too short to say anything
//! within a few percent (the mean wait of a queue is a slow average: see
//! `docs/simulate.md`).

use super::run::{Outcome, Plan};

/// Each visitor's outcome in a first-come-first-served queue with `places` places, the
/// plans in arrival order. A visitor whose offered wait exceeds their patience leaves
/// (after their patience) and takes no place.
pub fn fcfs(plans: &[Plan], places: u32) -> Vec<Outcome> {
    let mut free = vec![0.0f64; places as usize];
    plans
        .iter()
        .map(|p| {
            let Some((slot, earliest)) = free
                .iter()
                .copied()
                .enumerate()
                .min_by(|a, b| a.1.total_cmp(&b.1))
            else {
                return Outcome::Abandoned {
                    after: p.patience.unwrap_or(0.0),
                };
            };
            let wait = (earliest - p.at).max(0.0);
            match p.patience {
                Some(patience) if wait > patience => Outcome::Abandoned { after: patience },
                _ => {
                    free[slot] = p.at + wait + p.length;
                    Outcome::Served {
                        wait,
                        length: p.length,
                    }
                }
            }
        })
        .collect()
}

/// `n` visitors of a stationary hour that lasts forever: Poisson arrivals at `per_minute`,
/// exponential lengths of mean `mean_length`, exponential patience of mean `patience`
/// (`None`: endless), from `seed`.
pub fn stationary(
    per_minute: f64,
    mean_length: f64,
    patience: Option<f64>,
    n: usize,
    seed: u64,
) -> Vec<Plan> {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut exp = |mean: f64| -mean * (1.0 - rng.gen::<f64>()).ln();
    let mut t = 0.0;
    (0..n)
        .map(|_| {
            t += exp(1.0 / per_minute);
            Plan {
                at: t,
                length: exp(mean_length),
                patience: patience.map(&mut exp),
                health: false,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_place_serves_in_turn_and_the_impatient_leave() {
        let plan = |at, length, patience| Plan {
            at,
            length,
            patience,
            health: false,
        };
        let out = fcfs(
            &[
                plan(0.0, 10.0, None),
                plan(1.0, 5.0, None),
                plan(2.0, 5.0, Some(3.0)),
                plan(3.0, 1.0, Some(20.0)),
            ],
            1,
        );
        assert_eq!(
            out,
            vec![
                Outcome::Served {
                    wait: 0.0,
                    length: 10.0
                },
                Outcome::Served {
                    wait: 9.0,
                    length: 5.0
                },
                Outcome::Abandoned { after: 3.0 },
                Outcome::Served {
                    wait: 12.0,
                    length: 1.0
                },
            ]
        );
    }
}
