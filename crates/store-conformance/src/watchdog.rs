//! Hangs fail: every check runs under a time limit.
//!
//! A store that deadlocks (a lock taken twice, an actor waiting for a reply
//! that never comes, a `drop` joining a thread that never ends) would
//! otherwise hang `cargo test` forever, and a hung test names nothing.
//! [`with_time_limit`] runs a check on a thread of its own and waits for it
//! with a timeout: a check that finishes passes or fails as it would have
//! (its panic, message and all, becomes the test's); a check still running
//! at the limit fails the test with a message naming it. The hung thread
//! cannot be stopped from outside, so it is left behind; the test process
//! ends with it.
//!
//! The limit is [`DEFAULT_LIMIT_SECS`], or the number of seconds in the
//! environment variable [`LIMIT_ENV`]. It guards against hangs only: every
//! check finishes in a small fraction of it, and none asserts anything
//! about speed.

use std::panic;
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// Seconds a check may run before it counts as hung. The slowest check
/// (70,000 creates on the four-actor store, every call a cross-thread hop
/// with more spinning threads than cores) took up to 30 s in a debug build
/// on a busy 2-core machine; the limit leaves four times that.
pub const DEFAULT_LIMIT_SECS: u64 = 120;

/// The environment variable that overrides [`DEFAULT_LIMIT_SECS`].
pub const LIMIT_ENV: &str = "STORELAB_TEST_TIMEOUT_SECS";

/// The time limit in force: [`LIMIT_ENV`] if it holds a positive number of
/// seconds, else [`DEFAULT_LIMIT_SECS`].
pub fn limit() -> Duration {
    limit_from(std::env::var(LIMIT_ENV).ok().as_deref())
}

/// [`limit`] for a value of [`LIMIT_ENV`] (`None`: unset).
fn limit_from(var: Option<&str>) -> Duration {
    let secs = var
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|s| *s > 0)
        .unwrap_or(DEFAULT_LIMIT_SECS);
    Duration::from_secs(secs)
}

/// Runs `check` on a thread of its own and waits at most [`limit`] for it.
///
/// A panic inside `check` is re-raised here unchanged, so the test fails
/// with the check's own message. If `check` is still running at the limit,
/// this panics with a message naming `name`, and the check's thread is
/// left running.
pub fn with_time_limit<F>(name: &str, check: F)
where
    F: FnOnce() + Send + 'static,
{
    with_limit(name, limit(), check);
}

/// [`with_time_limit`] with an explicit limit.
pub fn with_limit<F>(name: &str, limit: Duration, check: F)
where
    F: FnOnce() + Send + 'static,
{
    let (done_tx, done_rx) = mpsc::channel::<()>();
    // The thread's name shows in the panic message of a failing check. It
    // must not start with the store thread prefix ("sl-"), which the
    // lifecycle checks count.
    let handle = thread::Builder::new()
        .name(format!("check {name}"))
        .spawn(move || {
            check();
            // The receiver is gone only if the watchdog already gave up.
            let _ = done_tx.send(());
        })
        .expect("the OS refused to start a check thread");
    match done_rx.recv_timeout(limit) {
        Ok(()) => {
            // The check returned; join only collects the thread.
            if let Err(payload) = handle.join() {
                panic::resume_unwind(payload);
            }
        }
        // The sender was dropped without a send: the check panicked.
        Err(mpsc::RecvTimeoutError::Disconnected) => match handle.join() {
            Err(payload) => panic::resume_unwind(payload),
            Ok(()) => unreachable!("a check thread that returns reports first"),
        },
        Err(mpsc::RecvTimeoutError::Timeout) => panic!(
            "conformance check `{name}` did not finish within {} s: a hang \
             (a deadlock, or a thread waiting for a reply that never comes). \
             Its thread is left running. Set {LIMIT_ENV} to change the limit.",
            limit.as_secs_f64()
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(payload: &(dyn std::any::Any + Send)) -> String {
        payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
            .unwrap_or_default()
    }

    #[test]
    fn the_limit_is_a_positive_override_or_the_default() {
        let secs = |v: Option<&str>| limit_from(v).as_secs();
        assert_eq!(secs(None), DEFAULT_LIMIT_SECS);
        assert_eq!(secs(Some(" 5 ")), 5);
        assert_eq!(secs(Some("1")), 1);
        assert_eq!(
            secs(Some("0")),
            DEFAULT_LIMIT_SECS,
            "0 would fail every check"
        );
        assert_eq!(secs(Some("soon")), DEFAULT_LIMIT_SECS);
    }

    #[test]
    fn a_passing_check_passes() {
        with_limit("quick", Duration::from_secs(30), || assert_eq!(1 + 1, 2));
    }

    #[test]
    fn a_failing_check_keeps_its_message() {
        let err = panic::catch_unwind(|| {
            with_limit("failing", Duration::from_secs(30), || {
                panic!("the store lost task 7")
            })
        })
        .expect_err("the check's panic propagates");
        assert_eq!(message(&*err), "the store lost task 7");
    }

    #[test]
    fn a_hung_check_fails_naming_itself() {
        let err = panic::catch_unwind(|| {
            with_limit("stuck_forever", Duration::from_millis(50), || {
                // Parks until the test process exits: the leaked thread.
                loop {
                    thread::park();
                }
            })
        })
        .expect_err("a hang fails");
        let msg = message(&*err);
        assert!(msg.contains("`stuck_forever`"), "{msg}");
        assert!(msg.contains("did not finish"), "{msg}");
    }

    #[test]
    fn the_limit_defaults_without_the_variable() {
        if std::env::var_os(LIMIT_ENV).is_none() {
            assert_eq!(limit(), Duration::from_secs(DEFAULT_LIMIT_SECS));
        }
    }
}
