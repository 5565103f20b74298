//! The process-wide pool of idle workers.
//!
//! Starting a worker takes a fork, an exec and its start-up (about a millisecond);
//! taking one from the pool takes a lock. An instance takes a worker when it is created
//! and gives it back when dropped: the worker's guest memory and context are freed
//! (`Worker::wipe`), so nothing of one instance is visible to the next, and it goes back
//! to the pool if the pool has room, else it is killed. A worker that failed (crashed,
//! killed, timed out, broke the protocol) never goes back.
//!
//! Workers remember the module whose code they hold and the protections of its layout:
//! taking prefers a worker that ran the same module last, which then needs neither a copy
//! of the code nor any protection change.

use super::worker::{self, Worker};
use crate::error::SandboxError;
use core::sync::atomic::{AtomicU32, Ordering};
use std::sync::Mutex;
use std::vec::Vec;

/// Idle workers.
static IDLE: Mutex<Vec<Worker>> = Mutex::new(Vec::new());
/// How many idle workers to keep: the largest size any engine asked for.
static TARGET: AtomicU32 = AtomicU32::new(0);

fn idle() -> std::sync::MutexGuard<'static, Vec<Worker>> {
    IDLE.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// Raises the pool's size to at least `size` and starts workers until that many exist
/// (workers in use count: they come back when their instances are dropped).
pub(crate) fn reserve(size: u32) -> Result<(), SandboxError> {
    TARGET.fetch_max(size, Ordering::Relaxed);
    let wanted = usize::try_from(size).unwrap_or(usize::MAX);
    while worker::live() < wanted {
        let worker = Worker::start()?;
        idle().push(worker);
    }
    Ok(())
}

/// A worker for module `module`: an idle one that ran it last if there is one, else any
/// idle one, else a new one.
pub(crate) fn take(module: u64) -> Result<Worker, SandboxError> {
    loop {
        let candidate = {
            let mut idle = idle();
            let index = idle
                .iter()
                .rposition(|worker| worker.loaded() == Some(module))
                .or_else(|| idle.len().checked_sub(1));
            index.map(|index| idle.swap_remove(index))
        };
        match candidate {
            // A worker can die while idle (killed from outside): drop it, try the next.
            Some(mut worker) => {
                if worker.is_alive() {
                    return Ok(worker);
                }
            }
            None => return Worker::start(),
        }
    }
}

/// Takes back a healthy worker after its instance is dropped, erasing what the instance
/// left (keeping up to `retain` bytes of zeroed pages, see `Worker::wipe`).
pub(crate) fn give_back(mut worker: Worker, retain: u64) {
    if worker.wipe(retain).is_err() {
        // Its memory could not be freed: it must not serve anyone else.
        return;
    }
    let target = usize::try_from(TARGET.load(Ordering::Relaxed)).unwrap_or(usize::MAX);
    let mut idle = idle();
    if idle.len() < target {
        idle.push(worker);
        return;
    }
    drop(idle);
    // No room: killed and reaped here, outside the lock.
    drop(worker);
}

/// The pids of the idle workers (for measuring what an idle worker costs).
pub(crate) fn idle_pids() -> Vec<i32> {
    idle().iter().map(Worker::pid).collect()
}
