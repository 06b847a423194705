//! State shared by every request: start time, pid, and a typed service map where each area hangs
//! its own long-lived service (scry's hot model + per-root index cache, secrets' TTL cache, the
//! agent state map) without a central struct to edit.

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// The daemon's shared state, one per process, handed to every handler as `Arc<DaemonState>`.
pub struct DaemonState {
    started: Instant,
    pid: u32,
    socket: PathBuf,
    /// Project roots the owner exposed over TCP (`serve --expose`), canonical.
    exposed: Vec<PathBuf>,
    services: Mutex<HashMap<TypeId, Arc<dyn Any + Send + Sync>>>,
}

impl DaemonState {
    pub fn new(socket: PathBuf) -> Self {
        DaemonState {
            started: Instant::now(),
            pid: std::process::id(),
            socket,
            exposed: Vec::new(),
            services: Mutex::new(HashMap::new()),
        }
    }

    /// The project roots a TCP request may name (canonical paths).
    pub fn with_exposed(mut self, roots: Vec<PathBuf>) -> Self {
        self.exposed = roots;
        self
    }

    /// The project roots exposed over TCP; a TCP request naming anything else is refused.
    pub fn exposed(&self) -> &[PathBuf] {
        &self.exposed
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    pub fn uptime_secs(&self) -> u64 {
        self.started.elapsed().as_secs()
    }

    /// The Unix socket this daemon serves on.
    pub fn socket(&self) -> &PathBuf {
        &self.socket
    }

    /// The area service of type `T`, created with `T::default()` on first use and shared from
    /// then on. Keep construction cheap (load models lazily inside the service); it runs under
    /// the map's lock.
    pub fn service<T: Default + Send + Sync + 'static>(&self) -> Arc<T> {
        self.service_with(T::default)
    }

    /// Like [`DaemonState::service`] with an explicit constructor.
    pub fn service_with<T: Send + Sync + 'static>(&self, init: impl FnOnce() -> T) -> Arc<T> {
        let mut map = self.services.lock().unwrap_or_else(|p| p.into_inner());
        let entry = map
            .entry(TypeId::of::<T>())
            .or_insert_with(|| Arc::new(init()) as Arc<dyn Any + Send + Sync>)
            .clone();
        entry
            .downcast::<T>()
            .unwrap_or_else(|_| unreachable!("service map keyed by TypeId"))
    }

    /// The service of type `T` if some request already created it (e.g. for shutdown hooks
    /// that must not create a service just to drop it).
    pub fn existing_service<T: Send + Sync + 'static>(&self) -> Option<Arc<T>> {
        let map = self.services.lock().unwrap_or_else(|p| p.into_inner());
        map.get(&TypeId::of::<T>())
            .cloned()
            .and_then(|s| s.downcast::<T>().ok())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[derive(Default)]
    struct Counter(AtomicU32);

    #[test]
    fn one_service_per_type() {
        let s = DaemonState::new(PathBuf::from("/x"));
        assert!(s.existing_service::<Counter>().is_none());
        s.service::<Counter>().0.fetch_add(1, Ordering::SeqCst);
        s.service::<Counter>().0.fetch_add(1, Ordering::SeqCst);
        assert_eq!(
            s.existing_service::<Counter>()
                .unwrap()
                .0
                .load(Ordering::SeqCst),
            2
        );
    }
}
