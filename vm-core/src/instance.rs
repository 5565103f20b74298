//! A running program: registers, memory, gas, and where execution continues.

use crate::cast::usize_from_u32;
use crate::error::Error;
use crate::interpreter::{ExecState, Exit, GuestMemory};
use crate::isa::Reg;
use crate::module::Module;
use crate::program::RETURN_TO_HOST;
use alloc::boxed::Box;
use alloc::vec;
use alloc::vec::Vec;

#[cfg(jit_sandbox)]
mod crosscheck;
#[cfg(jit_sandbox)]
use crate::sandbox::{JitExit, JitInstance};

/// Why `run()` returned.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub enum Interrupt {
    /// The guest jumped to the return-to-host address: the call is done.
    Finished,
    /// The guest trapped (explicit `trap`, invalid instruction or jump, or an access the
    /// standard layout forbids).
    Trap,
    /// The guest called host function `n` (`ecalli n`); set registers and memory, then
    /// `run()` again to resume after it.
    Ecalli(u32),
    /// An access touched an unmapped or read-only page of a custom layout.
    Segfault(Segfault),
    /// The next basic block (or the rest of a `memset`) does not fit in the remaining gas;
    /// gas is unchanged, and after adding gas `run()` resumes there.
    NotEnoughGas,
    /// Step tracing: the instruction at `program_counter()` runs next.
    Step,
}

/// Details of a page fault.
#[derive(Copy, Clone, PartialEq, Eq, Debug)]
pub struct Segfault {
    /// The first inaccessible page the access touched.
    pub page_address: u32,
}

/// A guest program's execution state.
pub struct Instance {
    module: Module,
    backend: Backend,
    /// Whether `run()` may continue (an interrupt other than `Finished`, `Trap` or a page
    /// fault, or a pc the host set).
    resumable: bool,
    /// Set when `set_next_program_counter` named a pc that starts no basic block: the next
    /// run traps there.
    pending_bad_pc: Option<u32>,
    last_pc: Option<u32>,
    /// The last run stopped at an `ecalli` and nothing has moved the program counter since.
    after_ecalli: bool,
    /// The most guest memory this instance may make accessible.
    memory_limit: u64,
    /// Gas for the memory the instantiation made accessible, charged before the first
    /// instruction runs (0 once paid, or without metering).
    unpaid: u64,
}

/// The backend-specific half of an instance.
enum Backend {
    Interpreter(Box<ExecState>),
    #[cfg(jit_sandbox)]
    Jit(Box<JitInstance>),
    #[cfg(jit_sandbox)]
    Crosscheck(Box<(ExecState, JitInstance)>),
}

fn fresh_exec_state(module: &Module, memory: GuestMemory) -> ExecState {
    let mut state = ExecState {
        regs: [0; 16],
        gas: 0,
        next_op: 0,
        entry_pending: false,
        resume_pc: 0,
        jump_address: 0,
        exit_op: 0,
        stepped: false,
        access_cost: 0,
        memory,
        code: module.lazy_code().map(Box::new),
    };
    state.refresh_access_cost(&module.0.code);
    state
}

/// The interpreter's side of the instance logic, shared by the interpreter and crosscheck
/// backends.
mod interp {
    use super::*;
    use crate::interpreter::CompiledCode;

    /// Runs the interpreter; returns the interrupt and its pc. Lazily compiled code
    /// compiles blocks as the loop reaches them, between its runs.
    pub(super) fn run(module: &Module, state: &mut ExecState) -> (Interrupt, u32) {
        let config = &module.0.config;
        let mut lazy = state.code.take();
        let mem = config.gas_metering && module.0.code.table.has_access_costs();
        let (blob_code, isa) = (&module.0.blob.code, module.0.blob.isa);
        let exit = loop {
            let code = lazy.as_deref().map_or(&module.0.code, |lazy| &lazy.code);
            let exit = match (config.gas_metering, config.step_tracing, mem) {
                (true, false, false) => state.run::<true, false, false>(code),
                (true, false, true) => state.run::<true, false, true>(code),
                (false, false, _) => state.run::<false, false, false>(code),
                (true, true, false) => state.run::<true, true, false>(code),
                (true, true, true) => state.run::<true, true, true>(code),
                (false, true, _) => state.run::<false, true, false>(code),
            };
            // Lazily compiled code traps where it meets code not compiled yet.
            let (Exit::Trap, Some(lazy)) = (exit, lazy.as_deref_mut()) else {
                break exit;
            };
            let Some(op) = lazy.resolve_trap(blob_code, isa, state.exit_op, state.jump_address)
            else {
                break exit;
            };
            state.next_op = op;
            state.entry_pending = true;
        };
        let code = lazy.as_deref().map_or(&module.0.code, |lazy| &lazy.code);
        let pc = op_pc(code, state, state.exit_op);
        state.code = lazy;
        let interrupt = match exit {
            Exit::Finished => Interrupt::Finished,
            Exit::Trap => Interrupt::Trap,
            Exit::Ecalli(n) => Interrupt::Ecalli(n),
            Exit::PageFault(page_address) => Interrupt::Segfault(Segfault { page_address }),
            Exit::NotEnoughGas => Interrupt::NotEnoughGas,
            Exit::Step => Interrupt::Step,
        };
        (interrupt, pc)
    }

    /// The code the interpreter runs: the instance's own when compiled lazily.
    fn code<'a>(module: &'a Module, state: &'a ExecState) -> &'a CompiledCode {
        state
            .code
            .as_deref()
            .map_or(&module.0.code, |lazy| &lazy.code)
    }

    /// The pc an op stands for: a block's own pc when the op is a block entry still to be
    /// charged (the block may begin with dropped `unlikely` instructions).
    pub(super) fn op_pc(code: &CompiledCode, state: &ExecState, op: u32) -> u32 {
        let block_pc = state.entry_pending.then(|| code.block_pc(op)).flatten();
        block_pc.unwrap_or(code.op_pcs[usize_from_u32(op)])
    }

    /// Where a resumable interpreter continues.
    pub(super) fn next_pc(module: &Module, state: &ExecState, after_ecalli: bool) -> u32 {
        if after_ecalli {
            return state.resume_pc;
        }
        op_pc(code(module, state), state, state.next_op)
    }

    /// Points the interpreter at the block at `pc` (compiling it first, lazily); `false`
    /// if none starts there.
    pub(super) fn set_next_pc(module: &Module, state: &mut ExecState, pc: u32) -> bool {
        state.stepped = false;
        let op = match state.code.as_deref_mut() {
            Some(lazy) => lazy.compile_block(&module.0.blob.code, module.0.blob.isa, pc, false),
            None => module.0.code.block_op(pc),
        };
        match op {
            Some(op) => {
                state.next_op = op;
                state.entry_pending = true;
                true
            }
            None => false,
        }
    }
}

impl Instance {
    pub(crate) fn new(module: Module, memory_limit: u64) -> Result<Instance, Error> {
        let backend = match module.backend() {
            #[cfg(jit_sandbox)]
            crate::BackendKind::Jit => {
                Backend::Jit(Box::new(module.fresh_jit_instance(memory_limit)?))
            }
            #[cfg(jit_sandbox)]
            crate::BackendKind::Crosscheck => Backend::Crosscheck(Box::new((
                fresh_exec_state(&module, module.fresh_memory(memory_limit)?),
                module.fresh_jit_instance(memory_limit)?,
            ))),
            _ => Backend::Interpreter(Box::new(fresh_exec_state(
                &module,
                module.fresh_memory(memory_limit)?,
            ))),
        };
        let mut instance = Instance {
            module,
            backend,
            resumable: false,
            pending_bad_pc: None,
            last_pc: None,
            after_ecalli: false,
            memory_limit,
            unpaid: 0,
        };
        instance.unpaid = instance.instantiation_gas();
        Ok(instance)
    }

    /// The gas for the memory a fresh instance has accessible (see
    /// [`CostTable::page`](crate::gas::CostTable::page)); 0 without metering.
    fn instantiation_gas(&self) -> u64 {
        let config = &self.module.0.config;
        if !config.gas_metering {
            return 0;
        }
        config.cost_table.pages_cost(self.accessible_bytes())
    }

    /// Bytes of guest memory accessible now (the layout's regions and the heap's pages).
    pub fn accessible_bytes(&self) -> u64 {
        match &self.backend {
            Backend::Interpreter(state) => state.memory.access_map().accessible_bytes(),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.memory().accessible_bytes(),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.memory.access_map().accessible_bytes(),
        }
    }

    /// Charges what the instantiation owes before the first instruction runs: `false` if
    /// the gas does not cover it (nothing is charged then, and the run stops resumably).
    fn pay_instantiation(&mut self) -> bool {
        if self.unpaid == 0 {
            return true;
        }
        let owed = i64::try_from(self.unpaid).unwrap_or(i64::MAX);
        let gas = self.gas();
        if gas < owed {
            return false;
        }
        self.set_gas(gas - owed);
        self.unpaid = 0;
        true
    }

    /// The module this instance runs.
    pub fn module(&self) -> &Module {
        &self.module
    }

    /// Runs until the next interrupt.
    pub fn run(&mut self) -> Result<Interrupt, Error> {
        if let Some(pc) = self.pending_bad_pc.take() {
            self.last_pc = Some(pc);
            self.resumable = false;
            return Ok(Interrupt::Trap);
        }
        if !self.resumable {
            return Err(Error::NotRunnable);
        }
        if !self.pay_instantiation() {
            self.last_pc = self.next_program_counter();
            return Ok(Interrupt::NotEnoughGas);
        }
        let (interrupt, pc) = match &mut self.backend {
            Backend::Interpreter(state) => interp::run(&self.module, state),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => match run_jit(jit) {
                Ok(result) => result,
                Err(error) => {
                    self.resumable = false;
                    return Err(error);
                }
            },
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                let (state, jit) = &mut **pair;
                let left = interp::run(&self.module, state);
                let right = match run_jit(jit) {
                    Ok(result) => result,
                    Err(error) => {
                        self.resumable = false;
                        return Err(error);
                    }
                };
                let after_ecalli = matches!(left.0, Interrupt::Ecalli(_));
                if let Some(difference) =
                    crosscheck::compare(&self.module, state, left, after_ecalli, jit, right)
                {
                    self.resumable = false;
                    return Err(Error::Divergence(difference));
                }
                left
            }
        };
        self.last_pc = Some(pc);
        self.resumable = matches!(
            interrupt,
            Interrupt::Ecalli(_) | Interrupt::NotEnoughGas | Interrupt::Step
        );
        self.after_ecalli = matches!(interrupt, Interrupt::Ecalli(_));
        Ok(interrupt)
    }

    /// The program counter of the instruction the last interrupt happened at (for
    /// `Finished`, the jump that returned; for `NotEnoughGas`, the block or `memset` that
    /// did not fit).
    pub fn program_counter(&self) -> Option<u32> {
        self.last_pc
    }

    /// Where the next `run()` continues, if anywhere.
    pub fn next_program_counter(&self) -> Option<u32> {
        if let Some(pc) = self.pending_bad_pc {
            return Some(pc);
        }
        if !self.resumable {
            return None;
        }
        match &self.backend {
            Backend::Interpreter(state) => {
                Some(interp::next_pc(&self.module, state, self.after_ecalli))
            }
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.next_program_counter(),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                Some(interp::next_pc(&self.module, &pair.0, self.after_ecalli))
            }
        }
    }

    /// Continues execution at `pc` on the next `run()`. A pc where no basic block starts
    /// makes that run trap there.
    pub fn set_next_program_counter(&mut self, pc: u32) {
        self.after_ecalli = false;
        let found = match &mut self.backend {
            Backend::Interpreter(state) => interp::set_next_pc(&self.module, state, pc),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.set_next_program_counter(pc),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                let left = interp::set_next_pc(&self.module, &mut pair.0, pc);
                let right = pair.1.set_next_program_counter(pc);
                debug_assert_eq!(left, right, "block starts differ at {pc}");
                left && right
            }
        };
        if found {
            self.resumable = true;
            self.pending_bad_pc = None;
        } else {
            self.resumable = false;
            self.pending_bad_pc = Some(pc);
        }
    }

    /// Sets up a call to the code at `pc` with PolkaVM's calling convention: `RA` returns
    /// to the host, `SP` at the top of the stack, arguments in `A0..A5, T0..T2`.
    pub fn prepare_call(&mut self, pc: u32, args: &[u64]) -> Result<(), Error> {
        if args.len() > Reg::ARG_REGS.len() {
            return Err(Error::TooManyArguments {
                given: args.len(),
                limit: Reg::ARG_REGS.len(),
            });
        }
        // A fresh call sees no registers of the previous one (as in PolkaVM).
        for reg in Reg::ALL {
            self.set_reg(reg, 0);
        }
        self.set_reg(Reg::RA, u64::from(RETURN_TO_HOST));
        if let Some(map) = self.module.memory_map() {
            self.set_reg(Reg::SP, u64::from(map.stack_address_high));
        }
        for (reg, value) in Reg::ARG_REGS.iter().zip(args) {
            self.set_reg(*reg, *value);
        }
        self.set_next_program_counter(pc);
        Ok(())
    }

    /// [`Instance::prepare_call`] on an export found by symbol.
    pub fn prepare_call_export(&mut self, symbol: &str, args: &[u64]) -> Result<(), Error> {
        let pc = self
            .module
            .export_pc(symbol)
            .ok_or_else(|| Error::UnknownExport(symbol.into()))?;
        self.prepare_call(pc, args)
    }

    /// A register's value.
    #[inline]
    pub fn reg(&self, reg: Reg) -> u64 {
        match &self.backend {
            Backend::Interpreter(state) => state.regs[reg.index()],
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.reg(reg),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.regs[reg.index()],
        }
    }

    /// Sets a register.
    #[inline]
    pub fn set_reg(&mut self, reg: Reg, value: u64) {
        match &mut self.backend {
            Backend::Interpreter(state) => state.regs[reg.index()] = value,
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.set_reg(reg, value),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                pair.0.regs[reg.index()] = value;
                pair.1.set_reg(reg, value);
            }
        }
    }

    /// All 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        Reg::ALL.map(|reg| self.reg(reg))
    }

    /// Remaining gas.
    pub fn gas(&self) -> i64 {
        match &self.backend {
            Backend::Interpreter(state) => state.gas,
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.gas(),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.gas,
        }
    }

    /// Sets the remaining gas.
    pub fn set_gas(&mut self, gas: i64) {
        match &mut self.backend {
            Backend::Interpreter(state) => state.gas = gas,
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.set_gas(gas),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                pair.0.gas = gas;
                pair.1.set_gas(gas);
            }
        }
    }

    /// Reads guest memory into `out`.
    pub fn read_memory_into(&self, address: u32, out: &mut [u8]) -> Result<(), Error> {
        let result = match &self.backend {
            Backend::Interpreter(state) => state.memory.read(address, out),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.memory().read(address, out),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.memory.read(address, out),
        };
        result.map_err(|first_unmapped| Error::MemoryAccess {
            address,
            length: out.len(),
            first_unmapped,
        })
    }

    /// Reads `length` bytes of guest memory. The whole range is checked to be mapped, and
    /// `length` to be within the memory limit, before anything is allocated, so a
    /// guest-chosen length cannot make the host allocate more than the limit.
    pub fn read_memory(&self, address: u32, length: u32) -> Result<Vec<u8>, Error> {
        let unmapped = |first_unmapped| Error::MemoryAccess {
            address,
            length: usize_from_u32(length),
            first_unmapped,
        };
        let mapped = match &self.backend {
            Backend::Interpreter(state) => state.memory.check_mapped(address, u64::from(length)),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.memory().check_mapped(address, u64::from(length)),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.memory.check_mapped(address, u64::from(length)),
        };
        mapped.map_err(unmapped)?;
        if u64::from(length) > self.memory_limit {
            return Err(Error::MemoryLimit {
                required: u64::from(length),
                limit: self.memory_limit,
            });
        }
        let mut out = vec![0; usize_from_u32(length)];
        self.read_memory_into(address, &mut out)?;
        Ok(out)
    }

    /// Writes guest memory (the host may write read-only regions).
    pub fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<(), Error> {
        let result = match &mut self.backend {
            Backend::Interpreter(state) => state.memory.write(address, data),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.write_memory(address, data),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                let left = pair.0.memory.write(address, data);
                let right = pair.1.write_memory(address, data);
                debug_assert_eq!(left, right, "host write at {address:#x}");
                left
            }
        };
        result.map_err(|first_unmapped| Error::MemoryAccess {
            address,
            length: data.len(),
            first_unmapped,
        })
    }

    /// Reads a little-endian `u32`.
    pub fn read_u32(&self, address: u32) -> Result<u32, Error> {
        let mut bytes = [0; 4];
        self.read_memory_into(address, &mut bytes)?;
        Ok(u32::from_le_bytes(bytes))
    }

    /// Reads a little-endian `u64`.
    pub fn read_u64(&self, address: u32) -> Result<u64, Error> {
        let mut bytes = [0; 8];
        self.read_memory_into(address, &mut bytes)?;
        Ok(u64::from_le_bytes(bytes))
    }

    /// Grows the heap as the guest's `sbrk` would; returns the new heap top.
    /// Charges nothing (the host grows the heap, not the guest), but later blocks pay
    /// the memory-access surcharge of the memory accessible then.
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        let code = &self.module.0.code;
        match &mut self.backend {
            Backend::Interpreter(state) => {
                let top = state.memory.sbrk(size);
                state.refresh_access_cost(code);
                top
            }
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.sbrk(size),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                let left = pair.0.memory.sbrk(size);
                pair.0.refresh_access_cost(code);
                let right = pair.1.sbrk(size);
                debug_assert_eq!(left, right, "host sbrk({size})");
                left
            }
        }
    }

    /// Bytes handed out by `sbrk`.
    pub fn heap_size(&self) -> u32 {
        match &self.backend {
            Backend::Interpreter(state) => state.memory.heap_size(),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.memory().heap_size(),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.memory.heap_size(),
        }
    }

    /// The mapped memory regions as `(address, bytes, writable)`. The interpreter lists
    /// the parts backed by host memory (a heap may extend past them with zeros); the JIT
    /// lists every accessible region whole.
    pub fn memory_regions(&self) -> impl Iterator<Item = (u32, &[u8], bool)> {
        let regions: Vec<(u32, &[u8], bool)> = match &self.backend {
            Backend::Interpreter(state) => state.memory.regions().collect(),
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.regions(),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.0.memory.regions().collect(),
        };
        regions.into_iter()
    }

    /// The process id of the Linux sandbox worker this instance runs in (see
    /// [`SandboxKind::Linux`](crate::SandboxKind::Linux)), or `None` when it runs in this
    /// process. For operators and tests: the worker can be inspected in `/proc`.
    pub fn sandbox_worker_pid(&self) -> Option<u32> {
        let pid: Option<i32> = match &self.backend {
            Backend::Interpreter(_) => None,
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.worker_pid(),
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => pair.1.worker_pid(),
        };
        pid.and_then(|pid| u32::try_from(pid).ok())
    }

    /// Restores memory to the module's initial image (registers and gas stay). The
    /// memory is as fresh as an instantiation's, and is charged as one before the next
    /// instruction runs.
    pub fn reset_memory(&mut self) -> Result<(), Error> {
        let code = &self.module.0.code;
        match &mut self.backend {
            Backend::Interpreter(state) => {
                state.memory = self.module.fresh_memory(self.memory_limit)?;
                state.refresh_access_cost(code);
            }
            #[cfg(jit_sandbox)]
            Backend::Jit(jit) => jit.reset_memory()?,
            #[cfg(jit_sandbox)]
            Backend::Crosscheck(pair) => {
                pair.0.memory = self.module.fresh_memory(self.memory_limit)?;
                pair.0.refresh_access_cost(code);
                pair.1.reset_memory()?;
            }
        }
        self.unpaid = self.instantiation_gas();
        Ok(())
    }
}

/// Runs the JIT; returns the interrupt and its pc.
#[cfg(jit_sandbox)]
fn run_jit(jit: &mut JitInstance) -> Result<(Interrupt, u32), Error> {
    let interrupt = match jit.run()? {
        JitExit::Finished => Interrupt::Finished,
        JitExit::Trap => Interrupt::Trap,
        JitExit::Ecalli(n) => Interrupt::Ecalli(n),
        JitExit::PageFault(page_address) => Interrupt::Segfault(Segfault { page_address }),
        JitExit::NotEnoughGas => Interrupt::NotEnoughGas,
    };
    Ok((interrupt, jit.exit_program_counter()))
}
