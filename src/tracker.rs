#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
//! (No unwrap, expect or panic here: every path is reachable from JavaScript.)

//! The Node-API facade: one `NativeTracker` per JavaScript `WeakTracker`, holding a weak reference
//! per tracked object in a [`Ledger`], and a *canary* that tells whether a garbage collection has
//! happened since the last sweep.
//!
//! JavaScript holds each `NativeTracker` as an `External` and calls plain functions with it: a
//! napi-rs class method call costs about 0.8 µs here (it validates `this` against a registry),
//! a plain function taking an `External` about 0.3 µs, and `track` is the hot path.
//!
//! The canary is a fresh, unreachable object with a weak reference and a finalizer. Every
//! collection that can clear a tracked object's reference (a scavenge for young objects, a
//! mark-compact for all) also frees the young canary, so while its reference still reads alive no
//! tracked object can have been freed, and the counts need no sweep. Its finalizer runs at the next
//! `setImmediate` after the collection, and calls back into JavaScript to deliver `'gc'` events.
//!
//! After a young collection the sweep looks only at the entries that can still point at young
//! objects; an old canary tells a full collection, after which it looks at every entry
//! ([`Generations`] says how).

use std::cell::RefCell;
use std::rc::Rc;
use std::time::Instant;

use napi::bindgen_prelude::*;
use napi::{sys, JsValue};
use napi_derive::napi;

use crate::generations::{Canaries, Generations, Sweep};
use crate::ledger::{Ledger, Tick, TICK_MS};
use crate::process::{Labels, Name, TABLE};
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

/// The old canaries' operations, with Node-API references of `env`.
struct EnvCanaries(sys::napi_env);

impl Canaries for EnvCanaries {
    type Strong = StrongRef;
    type Weak = WeakRef;
    type Error = Error;

    fn plant(&mut self) -> Result<StrongRef> {
        StrongRef::new(self.0, weak::new_object(self.0)?)
    }

    fn weaken(&mut self, canary: StrongRef) -> std::result::Result<WeakRef, StrongRef> {
        canary.weaken(self.0)
    }

    fn is_alive(&mut self, canary: &WeakRef) -> bool {
        canary.is_alive(self.0)
    }

    fn release_strong(&mut self, canary: StrongRef) {
        canary.delete(self.0);
    }

    fn release_weak(&mut self, canary: WeakRef) {
        canary.delete(self.0);
    }
}

/// The native books of one tracker. Internal: use `WeakTracker` from `index.js`.
pub struct NativeTracker {
    env: sys::napi_env,
    ledger: Ledger<WeakRef>,
    canary: Option<WeakRef>,
    generations: Generations<StrongRef, WeakRef>,
    /// Sweeps that looked only at recent entries, and sweeps that looked at all of them.
    young_sweeps: u32,
    full_sweeps: u32,
    hook: Rc<Hook>,
    /// Zero of the ledger's clock.
    epoch: Instant,
    /// Names and counts for the process-wide view, and this tracker's id in it.
    labels: Labels,
    view: u64,
}

// The methods behind the functions at the end of this file, which document them (the functions
// that only read or drain the ledger reach it directly).
impl NativeTracker {
    fn new(
        env: sys::napi_env,
        owner: sys::napi_value,
        on_collected: sys::napi_value,
        thread: u32,
        sample: f64,
    ) -> Result<Self> {
        let hook = Hook {
            env,
            owner: Some(WeakRef::new(env, owner)?),
            callback: Some(StrongRef::new(env, on_collected)?),
        };
        // Last, after everything that can fail: the entry leaves the table in `drop`.
        let (view, labels) = TABLE.register(thread, sample);
        Ok(Self {
            env,
            ledger: Ledger::default(),
            canary: None,
            generations: Generations::default(),
            young_sweeps: 0,
            full_sweeps: 0,
            hook: Rc::new(hook),
            epoch: Instant::now(),
            labels,
            view,
        })
    }

    pub fn track(&mut self, site: u32, obj: sys::napi_value) -> Result<()> {
        let refused = |e: crate::ledger::LedgerError| {
            Error::new(Status::InvalidArg, format!("weak-tracker: {e}"))
        };
        self.ledger.accepts(site).map_err(refused)?;
        if self.canary.is_none() {
            // Nothing is tracked, so a collection triggered by planting cannot be missed.
            self.canary = Some(self.plant()?);
        }
        let weak = WeakRef::new(self.env, obj)?;
        let born = self.now();
        self.ledger.track(site, weak, born).map_err(refused)?;
        // Every thread counts the object from now on, not from the end of this turn.
        self.labels.tracked(self.ledger.sites(), site);
        Ok(())
    }

    pub fn sweep(&mut self, force: bool) -> Result<u32> {
        let env = self.env;
        let collected_since = match &self.canary {
            Some(canary) => !canary.is_alive(env),
            None => self.ledger.live() > 0,
        };
        if !collected_since && !force {
            return Ok(0);
        }
        let now = self.now();
        let mut plan = Sweep::Full;
        if collected_since {
            self.generations.collection_seen(now);
            plan = self.generations.plan(&mut EnvCanaries(env))?;
        }
        if force {
            plan = Sweep::Full;
        }
        // The new canary is planted before the sweep: planting allocates, and a collection it
        // triggers must be one that the sweep below still sees.
        let fresh = if self.ledger.live() > 0 {
            Some(self.plant()?)
        } else {
            None
        };
        let start = match plan {
            Sweep::Full => {
                self.full_sweeps = self.full_sweeps.wrapping_add(1);
                0
            }
            Sweep::Young { since } => {
                self.young_sweeps = self.young_sweeps.wrapping_add(1);
                self.ledger.tracked_since(since, now)
            }
        };
        let mut scopes = ScopeBatch::open(env)?;
        let collected = self.ledger.sweep_from(
            start,
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
        if self.ledger.live() == 0 {
            self.generations.release(&mut EnvCanaries(env));
        }
        if let Some(old) = std::mem::replace(&mut self.canary, fresh) {
            old.delete(env);
        }
        if collected > 0 {
            self.labels.swept(self.ledger.sites());
        }
        Ok(u32::try_from(collected).unwrap_or(u32::MAX))
    }

    pub fn suspects(&self, older_than_ms: f64) -> Uint32Array {
        // Ages are whole ticks: an object counts when its age in ticks exceeds the threshold's.
        let older_than =
            (older_than_ms.max(0.0) / f64::from(TICK_MS)).min(f64::from(Tick::MAX)) as Tick;
        let mut flat = Vec::new();
        for suspect in self.ledger.suspects(self.now(), older_than) {
            flat.extend([
                suspect.site,
                suspect.count,
                suspect.oldest.saturating_mul(TICK_MS),
            ]);
        }
        Uint32Array::new(flat)
    }

    fn now(&self) -> Tick {
        // Wraps after 497 days; the ledger compares ticks with wrapping arithmetic.
        (self.epoch.elapsed().as_millis() / u128::from(TICK_MS)) as Tick
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
        self.generations.release(&mut EnvCanaries(env));
        TABLE.remove(self.view);
        if let Some(canary) = self.canary.take() {
            canary.delete(env);
        }
    }
}

/// What JavaScript holds: the books, borrowed for the length of one call.
type Handle = External<RefCell<NativeTracker>>;

fn books(handle: &Handle) -> Result<std::cell::RefMut<'_, NativeTracker>> {
    handle.try_borrow_mut().map_err(|_| {
        Error::new(
            Status::GenericFailure,
            "weak-tracker: the tracker is already in use further up the stack",
        )
    })
}

/// New books for the `WeakTracker` `owner` of thread `thread`, which records the fraction
/// `sample` of its `track()` calls; `onCollected(owner)` is called after every garbage collection
/// that may have freed a tracked object.
#[napi(catch_unwind)]
pub fn create_tracker(
    env: Env,
    owner: Object,
    on_collected: Function<Object, ()>,
    thread: u32,
    sample: f64,
) -> Result<Handle> {
    let books = NativeTracker::new(env.raw(), owner.raw(), on_collected.raw(), thread, sample)?;
    Ok(External::new(RefCell::new(books)))
}

/// A key or origin from JavaScript: a string when it is well formed, its UTF-16 code units when it
/// holds a lone surrogate.
type JsName = Either<String, Uint16Array>;

fn name(value: JsName) -> Name {
    match value {
        Either::A(text) => Name::Utf8(text.into_boxed_str()),
        Either::B(units) => Name::Utf16(units.to_vec().into_boxed_slice()),
    }
}

/// A new call site id for `(key, origin)`. JavaScript keeps the names for its own use and asks for
/// one id per pair; the copy here is for the process-wide view, one per key and tracker: `key` is
/// the id of an open site with the same key when there is one, and is not copied again.
#[napi(
    catch_unwind,
    ts_args_type = "handle: ExternalObject<unknown>, key: string | Uint16Array | number, origin: string | Uint16Array"
)]
pub fn open_site(handle: &Handle, key: Either<u32, JsName>, origin: JsName) -> Result<u32> {
    let mut books = books(handle)?;
    if let Either::A(same_key_as) = key {
        if !books.ledger.sites().contains(same_key_as) {
            return Err(Error::new(
                Status::InvalidArg,
                format!("weak-tracker: unknown call site {same_key_as}"),
            ));
        }
    }
    let id = books
        .ledger
        .open_site()
        .map_err(|e| Error::new(Status::GenericFailure, format!("weak-tracker: {e}")))?;
    let origin = name(origin);
    match key {
        Either::A(same_key_as) => {
            if !books.labels.open_with_key_of(id, same_key_as, origin) {
                return Err(Error::new(
                    Status::InvalidArg,
                    format!("weak-tracker: unknown call site {same_key_as}"),
                ));
            }
        }
        Either::B(key) => books.labels.open(id, name(key), origin),
    }
    Ok(id)
}

/// Watches `obj` (an object or function) under `site`, without keeping it alive.
#[napi(catch_unwind)]
pub fn track(handle: &Handle, site: u32, obj: Unknown) -> Result<()> {
    books(handle)?.track(site, obj.raw())
}

/// Brings the counts up to date: when a garbage collection has run since the last sweep (or
/// `force` is true), finds every tracked object it freed. Returns how many were found.
#[napi(catch_unwind)]
pub fn sweep(handle: &Handle, force: Option<bool>) -> Result<u32> {
    books(handle)?.sweep(force.unwrap_or(false))
}

/// Live counts indexed by site id (0 for released ids). Does not sweep.
#[napi(catch_unwind)]
pub fn counts(handle: &Handle) -> Result<Uint32Array> {
    Ok(Uint32Array::new(
        books(handle)?.ledger.sites().live_counts(),
    ))
}

/// Number of tracked objects not yet seen collected. Does not sweep.
#[napi(catch_unwind)]
pub fn live(handle: &Handle) -> Result<f64> {
    Ok(books(handle)?.ledger.live() as f64)
}

/// Site ids of the collections found by sweeps since the last call, one per object; each is
/// returned exactly once.
#[napi(catch_unwind)]
pub fn drain(handle: &Handle) -> Result<Uint32Array> {
    Ok(Uint32Array::new(books(handle)?.ledger.drain()))
}

/// Releases the sites that have nothing live and nothing pending, returning their ids so that
/// JavaScript can drop its caches for them.
#[napi(catch_unwind)]
pub fn release_idle(handle: &Handle) -> Result<Uint32Array> {
    let mut books = books(handle)?;
    let mut ids = Vec::new();
    for released in books.ledger.release_idle() {
        books
            .labels
            .release(released.id, released.tracked, released.collected);
        ids.push(released.id);
    }
    Ok(Uint32Array::new(ids))
}

/// Up to `limit` live objects tracked under `site`, oldest first, for `why()`: the caller must
/// not keep them.
#[napi(catch_unwind, ts_return_type = "object[]")]
pub fn sample<'env>(
    env: &'env Env,
    handle: &Handle,
    site: u32,
    limit: u32,
) -> Result<Unknown<'env>> {
    let books = books(handle)?;
    let raw = env.raw();
    let values: Vec<sys::napi_value> = books
        .ledger
        .sample(site, limit as usize, |weak| weak.is_alive(raw))
        .into_iter()
        .filter_map(|weak| weak.value(raw))
        .collect();
    let array = weak::new_array(raw, &values)?;
    // SAFETY: `array` is an array handle just created in `env`, alive in the current scope.
    Ok(unsafe { Unknown::from_raw_unchecked(raw, array) })
}

/// How many sweeps so far looked only at recently tracked objects (after young collections), and
/// how many looked at every tracked object: `[young, full]`. For tests and benchmarks.
#[napi(catch_unwind)]
pub fn sweep_stats(handle: &Handle) -> Result<Uint32Array> {
    let books = books(handle)?;
    Ok(Uint32Array::new(vec![
        books.young_sweeps,
        books.full_sweeps,
    ]))
}

/// Live objects tracked more than `olderThanMs` ago, as flat triples: site id, how many, and the
/// age of the oldest in milliseconds; sites in order of their oldest object. Does not sweep.
#[napi(catch_unwind)]
pub fn suspects(handle: &Handle, older_than_ms: f64) -> Result<Uint32Array> {
    Ok(books(handle)?.suspects(older_than_ms))
}
