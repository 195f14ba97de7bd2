#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade: one `NativeTracker` per JavaScript `WeakTracker`, holding a weak reference
//! per tracked object in a [`Ledger`], and a *canary* that tells whether a garbage collection has
//! happened since the last sweep.
//!
//! The canary is a fresh, unreachable object with a weak reference and a finalizer. Every
//! collection that can clear a tracked object's reference (a scavenge for young objects, a
//! mark-compact for all) also frees the young canary, so while its reference still reads alive no
//! tracked object can have been freed, and the counts need no sweep. Its finalizer runs at the next
//! `setImmediate` after the collection, and calls back into JavaScript to deliver `'gc'` events.

use std::rc::Rc;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;

use crate::ledger::Ledger;
use crate::weak::{self, ScopeBatch, StrongRef, WeakRef};

/// What a canary's finalizer needs to reach JavaScript without keeping the tracker alive.
struct Hook {
    env: sys::napi_env,
    /// The JavaScript `WeakTracker`, weakly: a tracker nobody uses can be collected.
    /// (Both are `Some` until `drop`.)
    owner: Option<WeakRef>,
    /// `onCollected(owner)`, a module-level function that closes over no tracker.
    callback: Option<StrongRef>,
}

impl Hook {
    fn owner_and_callback(&self) -> Option<(sys::napi_value, sys::napi_value)> {
        let owner = self.owner.as_ref()?.value(self.env)?;
        let callback = self.callback.as_ref()?.value(self.env)?;
        Some((owner, callback))
    }
}

impl Drop for Hook {
    fn drop(&mut self) {
        if let Some(owner) = self.owner.take() {
            owner.delete(self.env);
        }
        if let Some(callback) = self.callback.take() {
            callback.delete(self.env);
        }
    }
}

fn canary_died(env: sys::napi_env, hook: Rc<Hook>) {
    // Errors here mean the environment is being torn down and JavaScript can no longer run:
    // there is nobody left to tell.
    let _ = ScopeBatch::open(env).map(|_scope| {
        if let Some((owner, callback)) = hook.owner_and_callback() {
            let _ = weak::call(env, callback, owner);
        }
    });
}

/// The native books of one tracker. Internal: use `WeakTracker` from `index.js`.
#[napi]
pub struct NativeTracker {
    env: sys::napi_env,
    ledger: Ledger<WeakRef>,
    canary: Option<WeakRef>,
    hook: Rc<Hook>,
}

#[napi]
impl NativeTracker {
    /// `owner` is the `WeakTracker` this belongs to; `onCollected(owner)` is called after every
    /// garbage collection that may have freed a tracked object.
    #[napi(constructor)]
    pub fn new(env: Env, owner: Object, on_collected: Function<Object, ()>) -> Result<Self> {
        let env = env.raw();
        let hook = Hook {
            env,
            owner: Some(WeakRef::new(env, owner.raw())?),
            callback: Some(StrongRef::new(env, on_collected.raw())?),
        };
        Ok(Self {
            env,
            ledger: Ledger::default(),
            canary: None,
            hook: Rc::new(hook),
        })
    }

    /// The id of the call site `(key, origin)`, interning it if it is new.
    #[napi]
    pub fn intern(&mut self, key: String, origin: String) -> u32 {
        self.ledger.intern(&key, &origin)
    }

    /// Watches `obj` (an object or function) under `site`, without keeping it alive.
    #[napi]
    pub fn track(&mut self, site: u32, obj: Unknown) -> Result<()> {
        if !self.ledger.sites().contains(site) {
            return Err(Error::new(
                Status::InvalidArg,
                format!("weak-tracker: unknown call site {site}"),
            ));
        }
        if self.canary.is_none() {
            // Nothing is tracked, so a collection triggered by planting cannot be missed.
            self.canary = Some(self.plant()?);
        }
        let weak = WeakRef::new(self.env, obj.raw())?;
        self.ledger
            .track(site, weak)
            .map_err(|e| Error::new(Status::InvalidArg, e.to_string()))
    }

    /// Brings the counts up to date: when a garbage collection has run since the last sweep (or
    /// `force` is true), finds every tracked object it freed. Returns how many were found.
    #[napi]
    pub fn sweep(&mut self, force: Option<bool>) -> Result<u32> {
        let env = self.env;
        let collected_since = match &self.canary {
            Some(canary) => !canary.is_alive(env),
            None => self.ledger.live() > 0,
        };
        if !collected_since && !force.unwrap_or(false) {
            return Ok(0);
        }
        // The new canary is planted before the sweep: planting allocates, and a collection it
        // triggers must be one that the sweep below still sees.
        let fresh = if self.ledger.live() > 0 {
            Some(self.plant()?)
        } else {
            None
        };
        let mut scopes = ScopeBatch::open(env)?;
        let collected = self.ledger.sweep(
            |weak| {
                scopes.step();
                weak.is_alive(env)
            },
            |weak| weak.delete(env),
        );
        drop(scopes);
        let fresh = match fresh {
            Some(canary) if self.ledger.live() == 0 => {
                canary.delete(env);
                None
            }
            fresh => fresh,
        };
        if let Some(old) = std::mem::replace(&mut self.canary, fresh) {
            old.delete(env);
        }
        Ok(u32::try_from(collected).unwrap_or(u32::MAX))
    }

    /// Live counts indexed by site id (0 for released ids). Does not sweep.
    #[napi]
    pub fn counts(&self) -> Uint32Array {
        Uint32Array::new(self.ledger.sites().live_counts())
    }

    /// Number of tracked objects not yet seen collected. Does not sweep.
    #[napi]
    pub fn live(&self) -> f64 {
        self.ledger.live() as f64
    }

    /// Site ids of the collections found by sweeps since the last call, one per object; each is
    /// returned exactly once.
    #[napi]
    pub fn drain(&mut self) -> Uint32Array {
        Uint32Array::new(self.ledger.drain())
    }

    /// Releases the sites that have nothing live and nothing pending, returning their ids so that
    /// JavaScript can drop its caches for them.
    #[napi]
    pub fn release_idle(&mut self) -> Uint32Array {
        Uint32Array::new(self.ledger.release_idle())
    }

    fn plant(&self) -> Result<WeakRef> {
        let object = weak::new_object(self.env)?;
        let canary = WeakRef::new(self.env, object)?;
        weak::on_collected(self.env, object, Rc::clone(&self.hook), canary_died)?;
        Ok(canary)
    }
}

impl Drop for NativeTracker {
    fn drop(&mut self) {
        let env = self.env;
        self.ledger.clear(|weak| weak.delete(env));
        if let Some(canary) = self.canary.take() {
            canary.delete(env);
        }
    }
}
