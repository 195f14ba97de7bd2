#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

//! Node-API references that napi-rs v3 has no safe type for: weak references to any object (its
//! `Ref` is always strong), and finalizers that hand a Rust value back once an object is collected.
//!
//! Every function takes the raw `napi_env` of the environment (main thread or worker) that owns
//! the reference; the callers keep one env per tracker and never share references across envs.

use napi::{sys, Error, Result, Status};
use std::ffi::c_void;
use std::ptr;

fn check(status: sys::napi_status, what: &str) -> Result<()> {
    if status == sys::Status::napi_ok {
        Ok(())
    } else {
        Err(Error::new(
            Status::from(status),
            format!("weak-tracker: {what} failed"),
        ))
    }
}

/// A Node-API reference owned by Rust, holding its value with a reference count of `COUNT`.
#[derive(Debug)]
pub struct Reference<const COUNT: u32>(sys::napi_ref);

/// A reference with a count of zero: it does not keep its object alive, and reads as `None` as soon
/// as a garbage collection has freed the object (during the collection, not after it).
pub type WeakRef = Reference<0>;

/// A reference with a count of one: keeps its value alive until deleted.
pub type StrongRef = Reference<1>;

impl<const COUNT: u32> Reference<COUNT> {
    pub fn new(env: sys::napi_env, value: sys::napi_value) -> Result<Self> {
        let mut raw = ptr::null_mut();
        // SAFETY: `env` is the live environment of the current call and `value` a handle from it;
        // Node-API validates that the value is an object, function or symbol.
        let status = unsafe { sys::napi_create_reference(env, value, COUNT, &mut raw) };
        check(status, "napi_create_reference")?;
        Ok(Self(raw))
    }

    /// The value, if it is still alive. Creates a handle in the current handle scope.
    pub fn value(&self, env: sys::napi_env) -> Option<sys::napi_value> {
        let mut value = ptr::null_mut();
        // SAFETY: `self.0` was created in `env` and has not been deleted (`delete` consumes it).
        let status = unsafe { sys::napi_get_reference_value(env, self.0, &mut value) };
        (status == sys::Status::napi_ok && !value.is_null()).then_some(value)
    }

    /// Whether the value is still alive.
    pub fn is_alive(&self, env: sys::napi_env) -> bool {
        self.value(env).is_some()
    }

    /// Frees the reference itself. Must run on the thread of `env`, before `env` is torn down.
    pub fn delete(self, env: sys::napi_env) {
        // SAFETY: `self` is consumed, so the reference is deleted exactly once, in its own env.
        let status = unsafe { sys::napi_delete_reference(env, self.0) };
        debug_assert_eq!(status, sys::Status::napi_ok);
    }
}

impl StrongRef {
    /// The same reference with a count of zero: from now on it no longer keeps its value alive.
    /// Gives the strong reference back when Node-API refuses.
    pub fn weaken(self, env: sys::napi_env) -> std::result::Result<WeakRef, StrongRef> {
        let mut count = 0;
        // SAFETY: `self.0` is a live reference of `env` with a count of one.
        let status = unsafe { sys::napi_reference_unref(env, self.0, &mut count) };
        if status == sys::Status::napi_ok && count == 0 {
            Ok(Reference(self.0))
        } else {
            Err(self)
        }
    }
}

/// Runs `callback(env, data)` once `object` has been collected. At this module's Node-API version
/// Node defers finalizers out of the garbage collection to the next `setImmediate` phase, so the
/// callback may call JavaScript. During environment teardown it runs too, when JavaScript can no
/// longer be called (calls fail and are ignored by the callers).
pub fn on_collected<T: 'static>(
    env: sys::napi_env,
    object: sys::napi_value,
    data: T,
    callback: fn(sys::napi_env, T),
) -> Result<()> {
    struct Pending<T> {
        data: T,
        callback: fn(sys::napi_env, T),
    }

    unsafe extern "C" fn finalize<T>(env: sys::napi_env, data: *mut c_void, _hint: *mut c_void) {
        // SAFETY: `data` is the `Box<Pending<T>>` leaked below, and Node calls a finalizer once.
        let pending = unsafe { Box::from_raw(data.cast::<Pending<T>>()) };
        // A panic must not unwind into Node (that aborts the process), and a finalizer has nobody
        // to report it to: it is dropped here.
        let Pending { data, callback } = *pending;
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| callback(env, data)));
    }

    let data = Box::into_raw(Box::new(Pending { data, callback }));
    // SAFETY: `object` is an object handle of `env`; `data` stays valid until `finalize` takes it
    // back. A null result pointer asks Node to own the finalizer's bookkeeping itself.
    let status = unsafe {
        sys::napi_add_finalizer(
            env,
            object,
            data.cast(),
            Some(finalize::<T>),
            ptr::null_mut(),
            ptr::null_mut(),
        )
    };
    if status != sys::Status::napi_ok {
        // SAFETY: Node refused the finalizer, so `data` was not handed over and is still ours.
        drop(unsafe { Box::from_raw(data) });
    }
    check(status, "napi_add_finalizer")
}

/// Handle scopes for a long loop that creates one handle per step: the scope is closed and a fresh
/// one opened every `BATCH` steps, so a sweep over a million references holds a few thousand
/// handles at a time instead of a million.
pub struct ScopeBatch {
    env: sys::napi_env,
    scope: sys::napi_handle_scope,
    steps: u32,
}

impl ScopeBatch {
    const BATCH: u32 = 4096;

    pub fn open(env: sys::napi_env) -> Result<Self> {
        let mut scope = ptr::null_mut();
        // SAFETY: `env` is the live environment of the current call.
        let status = unsafe { sys::napi_open_handle_scope(env, &mut scope) };
        check(status, "napi_open_handle_scope")?;
        Ok(Self {
            env,
            scope,
            steps: 0,
        })
    }

    /// Counts one step; every `BATCH` steps, frees the handles created so far.
    pub fn step(&mut self) {
        self.steps += 1;
        if self.steps < Self::BATCH {
            return;
        }
        self.steps = 0;
        // SAFETY: `self.scope` is the innermost scope, opened by this batch in `self.env`; the
        // handles it frees were only used for a liveness test that is over.
        let closed = unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
        debug_assert_eq!(closed, sys::Status::napi_ok);
        // SAFETY: `self.env` is live for the whole call this batch belongs to.
        let opened = unsafe { sys::napi_open_handle_scope(self.env, &mut self.scope) };
        debug_assert_eq!(opened, sys::Status::napi_ok);
    }
}

impl Drop for ScopeBatch {
    fn drop(&mut self) {
        // SAFETY: the scope was opened by this batch and is closed exactly once, here.
        let closed = unsafe { sys::napi_close_handle_scope(self.env, self.scope) };
        debug_assert_eq!(closed, sys::Status::napi_ok);
    }
}

/// Creates a new empty object: young, and reachable from nothing but the returned handle.
pub fn new_object(env: sys::napi_env) -> Result<sys::napi_value> {
    let mut value = ptr::null_mut();
    // SAFETY: `env` is the live environment of the current call.
    let status = unsafe { sys::napi_create_object(env, &mut value) };
    check(status, "napi_create_object")?;
    Ok(value)
}

/// Calls `function(arg)` with `undefined` as `this`. An exception it throws stays pending and
/// reaches JavaScript as an uncaught exception once the native frame returns.
pub fn call(env: sys::napi_env, function: sys::napi_value, arg: sys::napi_value) -> Result<()> {
    let mut undefined = ptr::null_mut();
    let mut result = ptr::null_mut();
    // SAFETY: `env` is the live environment; `function` and `arg` are handles of it.
    let status = unsafe { sys::napi_get_undefined(env, &mut undefined) };
    check(status, "napi_get_undefined")?;
    // SAFETY: as above; one argument is passed and `argv` points at it.
    let status = unsafe { sys::napi_call_function(env, undefined, function, 1, &arg, &mut result) };
    check(status, "napi_call_function")
}

/// A new array holding `values`.
pub fn new_array(env: sys::napi_env, values: &[sys::napi_value]) -> Result<sys::napi_value> {
    let mut array = ptr::null_mut();
    // SAFETY: `env` is the live environment of the current call.
    let status = unsafe { sys::napi_create_array_with_length(env, values.len(), &mut array) };
    check(status, "napi_create_array_with_length")?;
    for (i, &value) in values.iter().enumerate() {
        let index =
            u32::try_from(i).map_err(|_| Error::new(Status::InvalidArg, "too many values"))?;
        // SAFETY: `array` and `value` are handles of `env`, alive in the current scope.
        let status = unsafe { sys::napi_set_element(env, array, index, value) };
        check(status, "napi_set_element")?;
    }
    Ok(array)
}
