//! Poison-tolerant locking, shared by every hush crate that holds a `std::sync` lock.
//!
//! A task that panics while holding a lock poisons it; these helpers take the data as it is
//! instead of propagating the panic, so one failed task never takes every other task's state
//! down with it. Nothing here does I/O.
//!
//! ```
//! use std::sync::{Mutex, RwLock};
//! use hush_wire::sync::{lock, read, write};
//!
//! let m = Mutex::new(1);
//! *lock(&m) += 1;
//! let l = RwLock::new(vec![1]);
//! write(&l).push(2);
//! assert_eq!((*lock(&m), read(&l).len()), (2, 2));
//! ```

use std::sync::{Mutex, MutexGuard, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Locks `m`, taking the data of a poisoned lock as it is (every task's state stays usable).
pub fn lock<T: ?Sized>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Read-locks `l`, tolerating poison as [`lock`] does.
pub fn read<T: ?Sized>(l: &RwLock<T>) -> RwLockReadGuard<'_, T> {
    l.read().unwrap_or_else(PoisonError::into_inner)
}

/// Write-locks `l`, tolerating poison as [`lock`] does.
pub fn write<T: ?Sized>(l: &RwLock<T>) -> RwLockWriteGuard<'_, T> {
    l.write().unwrap_or_else(PoisonError::into_inner)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_poisoned_lock_still_gives_its_data() {
        let m = std::sync::Arc::new(Mutex::new(7));
        let l = std::sync::Arc::new(RwLock::new(8));
        let (m2, l2) = (m.clone(), l.clone());
        let _ = std::thread::spawn(move || {
            let _g = m2.lock();
            let _w = l2.write();
            panic!("poison both");
        })
        .join();
        assert!(m.is_poisoned() && l.is_poisoned());
        assert_eq!(*lock(&m), 7);
        assert_eq!(*read(&l), 8);
        *write(&l) = 9;
        assert_eq!(*read(&l), 9);
    }
}
