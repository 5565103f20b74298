//! Interpreter comparison: pvm-core against polkavm 0.37, same blobs, same host functions.
//!
//! * [`workloads`] — which blob, export and arguments make up each benchmark, with the
//!   results the guest sources document: the real-code corpus
//!   (`pvm_contracts_examples::corpus`) and our own guests.
//! * [`cold`] — cold calls on the real-code corpus: a fresh module, an instance and one
//!   short call, each phase timed, on all four VMs (`compare-cold`).
//! * [`host`] — the host functions the `hostcalls` guest imports, implemented once and
//!   shared by both VMs through [`host::GuestIo`].
//! * [`vm`] — the [`vm::Vm`] trait and its two implementations, [`vm::Ours`] and
//!   [`vm::Polkavm`]: compile a blob, execute one call on a fresh instance.
//! * [`stats`] — medians, minima and geometric means of timings.
//! * [`run`] — the measurement loop: check both VMs agree, then time compilation and
//!   execution, alternating between the VMs.
//! * [`report`] — the console table and the `BENCHMARKS.md` section.
//! * [`native`] — the `compute` guest's algorithms compiled for the host, for a native
//!   reference column.
//! * [`scaling`] — generated programs of a chosen code size and a linear fit, for compile
//!   time against code size (`compare-jit`).
//! * [`sandbox`] — the `ecalli` round trip, instantiation on a warm pool and idle-worker
//!   memory, pvm-core's Linux sandbox against polkavm's (`compare-sandbox`).
//!
//! Both VMs run with synchronous gas metering and PolkaVM's naive cost model (every
//! instruction costs 1), as production does; metering can also be switched off to see its
//! overhead.

pub mod args;
pub mod cold;
pub mod host;
pub mod native;
pub mod report;
pub mod run;
pub mod sandbox;
pub mod scaling;
pub mod stats;
pub mod vm;
pub mod workloads;
