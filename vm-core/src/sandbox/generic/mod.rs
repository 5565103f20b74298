//! The generic (in-process) sandbox: runs a [`CompiledProgram`] on the calling thread,
//! with the guest isolated by its [`GuestAddressSpace`] and faults caught by a signal
//! handler (`signal.rs`).
//!
//! [`JitModule`] is the compiled code mapped executable, shared by instances;
//! [`JitInstance`] is one guest: its address space, registers, gas and where to resume.
//! Everything that touches the OS or runs generated code is here; the compiler in
//! `crate::jit` only produces bytes.

mod code;

pub use code::disable_dual_mapping;
mod signal;

use super::address_space::GuestAddressSpace;
use crate::isa::Reg;
use crate::jit::abi::{
    ctx_reg, ExitKind, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_GAS, CTX_INLINE_JUMP_TABLE, CTX_JUMP_TABLE,
    CTX_NEXT_PC, CTX_PC, CTX_RESUME, INLINE_JUMP_TABLE_ENTRIES,
};
use crate::jit::{CompiledProgram, INVALID_ENTRY};
use crate::memory::FaultMode;
use code::ExecutableCode;
use signal::{ActiveGuard, ActiveRun};
use std::boxed::Box;
use std::io;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;
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
}

/// Why [`JitInstance::run`] returned.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum JitExit {
    /// The guest returned to the host.
    Finished,
    /// The guest trapped.
    Trap,
    /// `ecalli n`.
    Ecalli(u32),
    /// A page fault on this page.
    PageFault(u32),
    /// The next block (or the rest of a `memset`) does not fit in the gas.
    NotEnoughGas,
}

/// One guest running JIT code in this process.
pub struct JitInstance {
    module: Arc<JitModule>,
    /// The guest's memory (and the context area below it).
    pub memory: GuestAddressSpace,
    /// The 13 guest registers.
    pub regs: [u64; 13],
    /// Remaining gas.
    pub gas: i64,
    /// Code offset to continue at, or `None` when nothing is runnable.
    resume: Option<usize>,
    /// The guest pc the next run continues at.
    next_pc: u32,
    /// The guest pc of the last exit.
    exit_pc: u32,
}

impl core::fmt::Debug for JitInstance {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JitInstance")
            .field("regs", &self.regs)
            .field("gas", &self.gas)
            .field("next_pc", &self.next_pc)
            .finish_non_exhaustive()
    }
}

impl JitInstance {
    /// A guest of `module` with `memory`; nothing runnable until
    /// [`set_next_program_counter`](Self::set_next_program_counter).
    pub fn new(module: Arc<JitModule>, memory: GuestAddressSpace) -> JitInstance {
        let mut instance = JitInstance {
            module,
            memory,
            regs: [0; 13],
            gas: 0,
            resume: None,
            next_pc: 0,
            exit_pc: 0,
        };
        // A small table goes into the context, where the code expects it (the context
        // survives `reset`, and the module's code never moves).
        let module = Arc::clone(&instance.module);
        if module.jump_table.len() - 1 <= INLINE_JUMP_TABLE_ENTRIES as usize {
            for (index, &entry) in module.jump_table[1..].iter().enumerate() {
                instance.write(CTX_INLINE_JUMP_TABLE + 8 * index as i32, entry);
            }
        }
        instance
    }

    /// Continues at the block starting at `pc` (charging it); `false` if no block starts
    /// there.
    pub fn set_next_program_counter(&mut self, pc: u32) -> bool {
        match self.module.program.block_offset(pc) {
            Some(offset) => {
                self.resume = Some(offset as usize);
                self.next_pc = pc;
                true
            }
            None => {
                self.resume = None;
                false
            }
        }
    }

    /// Where the next run continues, if anywhere.
    pub fn next_program_counter(&self) -> Option<u32> {
        self.resume.map(|_| self.next_pc)
    }

    /// The guest pc of the last exit.
    pub fn exit_program_counter(&self) -> u32 {
        self.exit_pc
    }

    fn ctx(&self) -> *mut u8 {
        self.memory.context_ptr()
    }

    /// Reads a context field.
    fn read<T: Copy>(&self, field: i32) -> T {
        // SAFETY: the context is CONTEXT_SIZE read-write bytes owned by our address space;
        // every field the ABI defines lies inside and is aligned for its type; no JIT code
        // runs while `&self` is held.
        unsafe { self.ctx().add(field as usize).cast::<T>().read() }
    }

    /// Writes a context field.
    fn write<T: Copy>(&mut self, field: i32, value: T) {
        // SAFETY: as in `read`, with `&mut self`.
        unsafe { self.ctx().add(field as usize).cast::<T>().write(value) }
    }

    /// Runs until the next interrupt. Panics if nothing is runnable (the caller checks).
    pub fn run(&mut self) -> JitExit {
        let mut resume = self
            .resume
            .take()
            .expect("run() only on a runnable JIT instance");
        let code_start = self.module.code.start();
        for (index, value) in self.regs.into_iter().enumerate() {
            self.write(ctx_reg(index), value);
        }
        self.write(CTX_GAS, self.gas);
        self.write(CTX_JUMP_TABLE, self.module.jump_table.as_ptr() as u64);
        let module = Arc::clone(&self.module);
        let program = &module.program;
        let active = ActiveRun {
            code_start,
            code_end: code_start + self.module.code.len(),
            exit_address: code_start + program.exit_offset as usize,
            fault_sites: program.fault_sites.as_ptr(),
            fault_sites_len: program.fault_sites.len(),
            fault_mode: self.memory.fault_mode(),
        };
        let entry_address = code_start + program.entry_offset as usize;
        let exit = loop {
            self.write(CTX_RESUME, (code_start + resume) as u64);
            {
                let _guard = ActiveGuard::new(&active);
                // SAFETY: `entry_address` is the entry trampoline of code our compiler
                // generated for this module, mapped executable for as long as
                // `self.module` lives. It follows the sysv64 ABI (saves and restores every
                // callee-saved register and the stack pointer), touches only the context
                // and the guest range of the address space whose context pointer it gets
                // (every guest access is base + zero-extended 32-bit address + at most a
                // small displacement, inside the reservation by its invariant), and
                // returns through its exit path; a fault in it is turned into an exit by
                // the signal handler, which the guard above enables.
                unsafe {
                    let entry: extern "sysv64" fn(*mut u8) =
                        core::mem::transmute::<usize, extern "sysv64" fn(*mut u8)>(entry_address);
                    entry(self.ctx());
                }
            }
            let kind = ExitKind::from_u32(self.read(CTX_EXIT_KIND));
            let pc: u32 = self.read(CTX_PC);
            let native_resume = self.read::<u64>(CTX_RESUME) as usize;
            match kind {
                Some(ExitKind::Sbrk) => {
                    let arg: u32 = self.read(CTX_EXIT_ARG);
                    let (d, s) = ((arg >> 8) as usize & 0xff, arg as usize & 0xff);
                    let size_reg: u64 = self.read(ctx_reg(s));
                    let size = u32::try_from(size_reg as i64).unwrap_or(0);
                    let top = self.memory.sbrk(size).unwrap_or(0);
                    self.write(ctx_reg(d), top as i32 as i64 as u64);
                    resume = native_resume - code_start;
                    continue;
                }
                Some(ExitKind::Ecalli) => {
                    self.resume = Some(native_resume - code_start);
                    self.next_pc = self.read(CTX_NEXT_PC);
                    self.exit_pc = pc;
                    break JitExit::Ecalli(self.read(CTX_EXIT_ARG));
                }
                Some(ExitKind::BlockOutOfGas) => {
                    let block = self.read::<u32>(CTX_EXIT_ARG) as usize;
                    let (pc, offset) = program.blocks[block];
                    let gas: i64 = self.read(CTX_GAS);
                    self.write(
                        CTX_GAS,
                        gas.wrapping_add(i64::from(program.block_costs[block])),
                    );
                    self.resume = Some(offset as usize);
                    self.next_pc = pc;
                    self.exit_pc = pc;
                    break JitExit::NotEnoughGas;
                }
                Some(ExitKind::NotEnoughGas) => {
                    self.resume = Some(native_resume - code_start);
                    self.next_pc = pc;
                    self.exit_pc = pc;
                    break JitExit::NotEnoughGas;
                }
                Some(ExitKind::Finished) => {
                    self.exit_pc = pc;
                    break JitExit::Finished;
                }
                Some(ExitKind::Trap) => {
                    self.exit_pc = pc;
                    break JitExit::Trap;
                }
                Some(ExitKind::PageFault) => {
                    self.exit_pc = pc;
                    break JitExit::PageFault(self.read(CTX_EXIT_ARG));
                }
                None => unreachable!("generated code always sets an exit kind"),
            }
        };
        for index in 0..13 {
            self.regs[index] = self.read(ctx_reg(index));
        }
        self.gas = self.read(CTX_GAS);
        exit
    }

    /// A register.
    pub fn reg(&self, reg: Reg) -> u64 {
        self.regs[reg.index()]
    }

    /// The layout's fault mode.
    pub fn fault_mode(&self) -> FaultMode {
        self.memory.fault_mode()
    }

    /// The accessible memory as `(address, bytes, writable)`.
    pub fn regions(&self) -> Vec<(u32, &[u8], bool)> {
        self.memory.region_slices().collect()
    }
}
