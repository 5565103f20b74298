//! The generic (in-process) sandbox: runs a [`CompiledProgram`] on the calling thread,
//! with the guest isolated by its [`GuestAddressSpace`] and faults caught by a signal
//! handler (`signal.rs`).
//!
//! [`JitModule`] is the compiled code mapped executable, shared by instances; one guest
//! is a [`JitInstance`](super::JitInstance) running on it. The compiler in `crate::jit`
//! only produces bytes.

mod code;

pub use code::disable_dual_mapping;
mod signal;

use super::address_space::GuestAddressSpace;
use crate::jit::{CompiledProgram, INVALID_ENTRY};
use code::ExecutableCode;
use signal::{ActiveGuard, ActiveRun};
use std::boxed::Box;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::vec::Vec;

const _: () = assert!(super::CONTEXT_SIZE == crate::jit::abi::CONTEXT_BYTES as usize);

/// `HWCAP2_FSGSBASE` of Linux's `AT_HWCAP2`: the kernel lets user space run `rdgsbase` and
/// `wrgsbase` (Linux 5.9 and later, on CPUs that have them).
const HWCAP2_FSGSBASE: u64 = 1 << 1;

/// 0: not probed yet, 1: usable, 2: not usable (or switched off).
static SEGMENT_BASE: AtomicU8 = AtomicU8::new(0);

/// Whether generated code may keep the guest memory base in the `gs` segment base
/// ([`CompileOptions::segment_memory`](crate::jit::CompileOptions)): the kernel says
/// user space may write it. Probed once per process.
pub fn segment_base_usable() -> bool {
    match SEGMENT_BASE.load(Ordering::Relaxed) {
        1 => true,
        2 => false,
        _ => {
            // SAFETY: `getauxval` reads the process's auxiliary vector; it has no
            // preconditions and returns 0 for an entry the kernel did not pass.
            let hwcap2 = unsafe { libc::getauxval(libc::AT_HWCAP2) } as u64;
            let usable = hwcap2 & HWCAP2_FSGSBASE != 0;
            // A concurrent `disable_segment_base` wins over the probe.
            let _ = SEGMENT_BASE.compare_exchange(
                0,
                if usable { 1 } else { 2 },
                Ordering::Relaxed,
                Ordering::Relaxed,
            );
            SEGMENT_BASE.load(Ordering::Relaxed) == 1
        }
    }
}

/// Makes modules compiled from now on in this process address guest memory without the
/// `gs` base, as on a host without `fsgsbase`: for tests of that code path. Results are
/// the same either way; only the generated code differs.
#[doc(hidden)]
pub fn disable_segment_base() {
    SEGMENT_BASE.store(2, Ordering::Relaxed);
}

/// Compiled code, mapped executable, with its native jump table.
pub struct JitModule {
    program: CompiledProgram,
    code: ExecutableCode,
    /// A 0, then the absolute address of each jump-table entry's block (0 for an invalid
    /// entry).
    jump_table: Box<[u64]>,
}

impl core::fmt::Debug for JitModule {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JitModule")
            .field("code_bytes", &self.code.len())
            .field("blocks", &self.program.blocks.len())
            .finish_non_exhaustive()
    }
}

impl JitModule {
    /// Maps `code`, `program`'s machine code (its `code` field, or the scratch it was
    /// compiled in), executable and installs the fault handler (once per process).
    pub fn new(mut program: CompiledProgram, code: &[u8]) -> io::Result<JitModule> {
        signal::install()?;
        let code = ExecutableCode::new(code)?;
        // The mapping is the code from now on.
        program.code = Vec::new();
        let start = code.start() as u64;
        // A zero (invalid) entry first: generated code indexes by `address / 2`.
        let jump_table = core::iter::once(0)
            .chain(program.jump_table.iter().map(|&offset| {
                if offset == INVALID_ENTRY {
                    0
                } else {
                    start + u64::from(offset)
                }
            }))
            .collect();
        Ok(JitModule {
            program,
            code,
            jump_table,
        })
    }

    /// The compiled program's metadata.
    pub fn program(&self) -> &CompiledProgram {
        &self.program
    }

    /// Bytes of machine code.
    pub fn code_len(&self) -> usize {
        self.code.len()
    }

    /// Address of the first byte of code.
    pub(crate) fn code_start(&self) -> usize {
        self.code.start()
    }

    /// The native jump table: a 0, then each entry's block address (0 if invalid).
    pub(crate) fn jump_table(&self) -> &[u64] {
        &self.jump_table
    }

    /// Runs the code on this thread from the resume address in `memory`'s context until
    /// it exits; the exit is in the context afterwards (a fault's too, written by the
    /// signal handler).
    pub(crate) fn enter(&self, memory: &GuestAddressSpace) {
        let code_start = self.code.start();
        let program = &self.program;
        let active = ActiveRun {
            code_start,
            code_end: code_start + self.code.len(),
            exit_address: code_start + program.exit_offset as usize,
            fault_sites: program.fault_sites.as_ptr(),
            fault_sites_len: program.fault_sites.len(),
            fault_mode: memory.fault_mode(),
            memory_base: memory.base() as usize,
        };
        let entry_address = code_start + program.entry_offset as usize;
        let _guard = ActiveGuard::new(&active);
        // SAFETY: `entry_address` is the entry trampoline of code our compiler generated
        // for this module, mapped executable for as long as `self` lives. It follows the
        // sysv64 ABI (saves and restores every callee-saved register and the stack
        // pointer), touches only the context and the guest range of the address space
        // whose context pointer it gets (every guest access is base + zero-extended 32-bit
        // address + at most a small displacement, inside the reservation by its
        // invariant), and returns through its exit path; a fault in it is turned into an
        // exit by the signal handler, which the guard above enables. The reservation is
        // our own (the in-process sandbox builds private ones).
        unsafe {
            let entry: extern "sysv64" fn(*mut u8) =
                core::mem::transmute::<usize, extern "sysv64" fn(*mut u8)>(entry_address);
            entry(memory.context_ptr());
        }
    }
}
