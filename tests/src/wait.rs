//! Waiting for what another thread or process does: a condition polled until a deadline,
//! never a fixed sleep (on a loaded two-core machine any fixed wait is sometimes too short).

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often a condition is looked at.
const POLL: Duration = Duration::from_millis(10);

/// Polls `check` until it gives a value, and returns that; fails the test, saying that `what`
/// did not happen, once `limit` has passed.
pub fn wait_until<T>(limit: Duration, what: impl Display, mut check: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(found) = check() {
            return found;
        }
        assert!(Instant::now() < deadline, "{what}: not within {limit:?}");
        std::thread::sleep(POLL);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gives_what_the_check_found_once_it_finds_it() {
        let mut calls = 0;
        let found = wait_until(Duration::from_secs(5), "the third call", || {
            calls += 1;
            (calls == 3).then_some(calls * 10)
        });
        assert_eq!(found, 30);
    }

    #[test]
    #[should_panic(expected = "nothing: not within")]
    fn fails_the_test_after_the_limit() {
        wait_until(Duration::from_millis(30), "nothing", || None::<()>);
    }
}
