//! One guest running JIT code: its address space, registers, gas and where it resumes,
//! in either sandbox. The exits generated code takes are handled here, once, whether the
//! code ran on this thread ([`generic`](super::generic)) or in a worker process
//! ([`linux`](super::linux)): both leave the exit in the context, where the host reads it.

use super::generic::JitModule;
use super::GuestAddressSpace;
use crate::error::{Error, SandboxError};
use crate::gas::CostTable;
use crate::isa::Reg;
use crate::jit::abi::{
    ctx_reg, ExitKind, CTX_ACCESS_COST, CTX_EXIT_ARG, CTX_EXIT_KIND, CTX_GAS,
    CTX_INLINE_JUMP_TABLE, CTX_JUMP_TABLE, CTX_NEXT_PC, CTX_PC, CTX_RESUME,
    INLINE_JUMP_TABLE_ENTRIES,
};
use crate::jit::CompiledProgram;
use crate::memory::FaultMode;
use std::sync::Arc;
use std::vec::Vec;

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

/// Where the code runs.
pub(crate) enum Runner {
    /// On the calling thread.
    InProcess(Arc<JitModule>),
    /// In a worker process.
    Worker(super::linux::WorkerRun),
}

impl Runner {
    fn program(&self) -> &CompiledProgram {
        match self {
            Runner::InProcess(module) => module.program(),
            Runner::Worker(run) => run.code().program(),
        }
    }

    /// The address of code offset 0 where the code runs.
    fn code_origin(&self) -> u64 {
        match self {
            Runner::InProcess(module) => module.code_start() as u64,
            Runner::Worker(_) => super::linux::WORKER_CODE_ORIGIN,
        }
    }

    /// The jump table (a leading 0, then addresses where the code runs) and its address
    /// there.
    fn jump_table(&self) -> (&[u64], u64) {
        match self {
            Runner::InProcess(module) => {
                let table = module.jump_table();
                (table, table.as_ptr() as u64)
            }
            Runner::Worker(run) => (run.code().jump_table(), run.code().jump_table_address()),
        }
    }

    fn enter(&mut self, memory: &GuestAddressSpace) -> Result<(), SandboxError> {
        match self {
            Runner::InProcess(module) => {
                module.enter(memory);
                Ok(())
            }
            Runner::Worker(run) => run.enter(memory),
        }
    }

    fn protections_changed(&mut self) {
        match self {
            Runner::InProcess(_) => {}
            Runner::Worker(run) => run.protections_changed(),
        }
    }

    /// The run failed: a worker is killed and never runs again.
    fn fail(&mut self) {
        match self {
            Runner::InProcess(_) => {}
            Runner::Worker(run) => run.fail(),
        }
    }
}

/// Where the next run continues.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
enum Resume {
    /// At this code offset (a block the host chose, or the one that ran out of gas).
    At(u64),
    /// Where the code left off: the native address it stored in the context's resume
    /// field when it exited (after an `ecalli`, or in a `memset` out of gas).
    Left,
    /// At an `sbrk` (operands as in its exit's argument) that did not fit in the gas:
    /// the host grows the heap first, then continues where the code left off.
    Sbrk(u32),
}

/// One guest running JIT code.
///
/// Registers and gas live in the context only, which generated code reads on entry and
/// writes on exit: the host reads and writes just the ones it uses, so an `ecalli` round
/// trip through a worker process moves few cache lines between the processes.
pub struct JitInstance {
    // Declared before the runner, so dropped before it: in the Linux sandbox the address
    // space lives in the worker's files, which the runner gives back when dropped.
    memory: GuestAddressSpace,
    /// Where the next run continues, or `None` when nothing is runnable.
    resume: Option<Resume>,
    /// The guest pc the next run continues at.
    next_pc: u32,
    /// The guest pc of the last exit.
    exit_pc: u32,
    /// The cost table's charges the host makes (pages `sbrk` adds, the memory-access
    /// surcharge it keeps in the context); `None` without metering.
    table: Option<CostTable>,
    runner: Runner,
}

impl core::fmt::Debug for JitInstance {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("JitInstance")
            .field("regs", &self.regs())
            .field("gas", &self.gas())
            .field("next_pc", &self.next_pc)
            .finish_non_exhaustive()
    }
}

impl JitInstance {
    /// A guest with `memory`, running on `runner`, charged by `table` (`None`: no
    /// metering); nothing runnable until
    /// [`set_next_program_counter`](Self::set_next_program_counter).
    pub(crate) fn new(
        mut memory: GuestAddressSpace,
        runner: Runner,
        table: Option<CostTable>,
    ) -> JitInstance {
        // The context starts zeroed (a fresh reservation, or a wiped worker's), so
        // registers and gas are 0. The jump table's address and a small table itself go
        // into the context, where the code expects them (the context survives `reset`, and
        // the code never moves).
        let (jump_table, address) = runner.jump_table();
        write_context(&mut memory, CTX_JUMP_TABLE, address);
        let entries = jump_table.get(1..).unwrap_or(&[]);
        if entries.len() <= INLINE_JUMP_TABLE_ENTRIES as usize {
            for (index, &entry) in entries.iter().enumerate() {
                write_context(&mut memory, CTX_INLINE_JUMP_TABLE + 8 * index as i32, entry);
            }
        }
        let mut instance = JitInstance {
            memory,
            resume: None,
            next_pc: 0,
            exit_pc: 0,
            table,
            runner,
        };
        instance.refresh_access_cost();
        instance
    }

    /// A register.
    pub fn reg(&self, reg: Reg) -> u64 {
        self.read(ctx_reg(reg.index()))
    }

    /// Sets a register.
    pub fn set_reg(&mut self, reg: Reg, value: u64) {
        self.write(ctx_reg(reg.index()), value);
    }

    /// All 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        Reg::ALL.map(|reg| self.reg(reg))
    }

    /// Remaining gas.
    pub fn gas(&self) -> i64 {
        self.read(CTX_GAS)
    }

    /// Sets the remaining gas.
    pub fn set_gas(&mut self, gas: i64) {
        self.write(CTX_GAS, gas);
    }

    /// The guest's memory.
    pub fn memory(&self) -> &GuestAddressSpace {
        &self.memory
    }

    /// Host write into guest memory (see [`GuestAddressSpace::write`]).
    pub fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<(), u32> {
        self.memory.write(address, data)
    }

    /// Grows the heap as the guest's `sbrk` would (see [`GuestAddressSpace::sbrk`]),
    /// charging nothing (the host grows it).
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        let top = self.memory.sbrk(size);
        self.runner.protections_changed();
        self.refresh_access_cost();
        top
    }

    /// Restores the module's initial memory image (see [`GuestAddressSpace::reset`]).
    pub fn reset_memory(&mut self) -> Result<(), Error> {
        let result = self.memory.reset();
        self.runner.protections_changed();
        self.refresh_access_cost();
        result.map_err(|e| Error::Jit(alloc::format!("resetting memory: {e}")))
    }

    /// Puts the memory-access surcharge of the memory accessible now into the context,
    /// where the blocks' gas checks read it.
    fn refresh_access_cost(&mut self) {
        let cost = self.access_cost();
        self.write(CTX_ACCESS_COST, i64::from(cost));
    }

    /// The memory-access surcharge of the memory accessible now.
    fn access_cost(&self) -> u32 {
        self.table
            .as_ref()
            .map_or(0, |table| table.access_cost(self.memory.accessible_bytes()))
    }

    /// The guest's `sbrk` with operands `arg` (`d << 8 | s`), or `Ok(false)` when the
    /// pages it would add do not fit in the gas (then nothing changes).
    fn guest_sbrk(&mut self, arg: u32) -> Result<bool, Error> {
        let (d, s) = ((arg >> 8) & 0xff, arg & 0xff);
        if d >= 13 || s >= 13 {
            return Err(protocol("an sbrk with a register out of range"));
        }
        let size_reg: u64 = self.read(ctx_reg(s as usize));
        let size = u32::try_from(size_reg as i64).unwrap_or(0);
        let top = match self.memory.access_map().plan_sbrk(size) {
            Some(growth) => {
                if let Some(table) = &self.table {
                    let cost = table.pages_cost(growth.added_bytes());
                    let cost = i64::try_from(cost).unwrap_or(i64::MAX);
                    let gas: i64 = self.read(CTX_GAS);
                    if gas < cost {
                        return Ok(false);
                    }
                    self.write(CTX_GAS, gas - cost);
                }
                let top = self.memory.sbrk(size).unwrap_or(0);
                self.runner.protections_changed();
                self.refresh_access_cost();
                top
            }
            None => 0,
        };
        self.write(ctx_reg(d as usize), top as i32 as i64 as u64);
        Ok(true)
    }

    /// Continues at the block starting at `pc` (charging it); `false` if no block starts
    /// there.
    pub fn set_next_program_counter(&mut self, pc: u32) -> bool {
        match self.runner.program().block_offset(pc) {
            Some(offset) => {
                self.resume = Some(Resume::At(u64::from(offset)));
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

    /// Reads a context field.
    fn read<T: Copy>(&self, field: i32) -> T {
        let offset = usize::try_from(field).unwrap_or(0);
        // SAFETY: the context is CONTEXT_SIZE read-write bytes at the start of our address
        // space's reservation; every field the ABI defines lies inside and is aligned for
        // its type; no generated code runs on it while `&self` is held (in the Linux
        // sandbox a hostile worker might write it, which gives a wrong value, never an
        // invalid one: fields are plain integers). Volatile: the memory may be shared.
        unsafe {
            self.memory
                .context_ptr()
                .add(offset)
                .cast::<T>()
                .read_volatile()
        }
    }

    /// Writes a context field.
    fn write<T: Copy>(&mut self, field: i32, value: T) {
        write_context(&mut self.memory, field, value);
    }

    /// Runs until the next interrupt. Panics if nothing is runnable (the caller checks).
    /// Fails only in the Linux sandbox, when the worker fails (then nothing is runnable
    /// any more).
    pub fn run(&mut self) -> Result<JitExit, Error> {
        let resume = self
            .resume
            .take()
            .expect("run() only on a runnable JIT instance");
        let result = self.run_from(resume);
        if result.is_err() {
            self.resume = None;
            self.runner.fail();
        }
        result
    }

    fn run_from(&mut self, mut resume: Resume) -> Result<JitExit, Error> {
        let origin = self.runner.code_origin();
        let exit = loop {
            match resume {
                Resume::At(offset) => self.write(CTX_RESUME, origin.wrapping_add(offset)),
                Resume::Left => {}
                // Grown now, the code continues where it left off (after the `sbrk`).
                Resume::Sbrk(arg) => {
                    if !self.guest_sbrk(arg)? {
                        self.resume = Some(Resume::Sbrk(arg));
                        break JitExit::NotEnoughGas;
                    }
                }
            }
            self.runner.enter(&self.memory)?;
            let kind = ExitKind::from_u32(self.read(CTX_EXIT_KIND));
            let pc: u32 = self.read(CTX_PC);
            match kind {
                Some(ExitKind::Sbrk) => {
                    let arg: u32 = self.read(CTX_EXIT_ARG);
                    if self.guest_sbrk(arg)? {
                        resume = Resume::Left;
                        continue;
                    }
                    // Stop at the `sbrk`; it grows the heap when resumed with more gas.
                    self.resume = Some(Resume::Sbrk(arg));
                    self.next_pc = pc;
                    self.exit_pc = pc;
                    break JitExit::NotEnoughGas;
                }
                Some(ExitKind::Ecalli) => {
                    self.resume = Some(Resume::Left);
                    self.next_pc = self.read(CTX_NEXT_PC);
                    self.exit_pc = pc;
                    break JitExit::Ecalli(self.read(CTX_EXIT_ARG));
                }
                Some(ExitKind::BlockOutOfGas) => {
                    let block = self.read::<u32>(CTX_EXIT_ARG) as usize;
                    let program = self.runner.program();
                    let (Some(&(pc, offset)), cost) =
                        (program.blocks.get(block), program.block_costs.get(block))
                    else {
                        return Err(protocol("an out-of-gas exit for no block"));
                    };
                    let accesses = program.block_accesses.get(block).copied().unwrap_or(0);
                    // The host's own figure, not the context's (which a worker could
                    // have overwritten).
                    let cost = i64::from(cost.copied().unwrap_or(0))
                        + i64::from(accesses) * i64::from(self.access_cost());
                    let gas: i64 = self.read(CTX_GAS);
                    self.write(CTX_GAS, gas.wrapping_add(cost));
                    self.resume = Some(Resume::At(u64::from(offset)));
                    self.next_pc = pc;
                    self.exit_pc = pc;
                    break JitExit::NotEnoughGas;
                }
                Some(ExitKind::NotEnoughGas) => {
                    self.resume = Some(Resume::Left);
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
                None => return Err(protocol("an unknown exit kind")),
            }
        };
        Ok(exit)
    }

    /// The layout's fault mode.
    pub fn fault_mode(&self) -> FaultMode {
        self.memory.fault_mode()
    }

    /// The process id (in the host's PID namespace) of the worker running this guest,
    /// if it runs in one.
    pub fn worker_pid(&self) -> Option<i32> {
        match &self.runner {
            Runner::InProcess(_) => None,
            Runner::Worker(run) => Some(run.pid()),
        }
    }

    /// The accessible memory as `(address, bytes, writable)`.
    pub fn regions(&self) -> Vec<(u32, &[u8], bool)> {
        self.memory.region_slices().collect()
    }
}

/// An exit no honest code produces. In-process that would be a compiler bug; from a
/// worker it may be a hostile one, and the instance stops.
fn protocol(what: &'static str) -> Error {
    Error::Sandbox(SandboxError::Protocol(what))
}

/// Writes a field of `memory`'s context.
fn write_context<T: Copy>(memory: &mut GuestAddressSpace, field: i32, value: T) {
    let offset = usize::try_from(field).unwrap_or(0);
    // SAFETY: as in `JitInstance::read`, with the address space borrowed mutably.
    unsafe {
        memory
            .context_ptr()
            .add(offset)
            .cast::<T>()
            .write_volatile(value)
    }
}
