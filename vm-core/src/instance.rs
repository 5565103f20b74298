//! A running program: registers, memory, gas, and where execution continues.

use crate::error::Error;
use crate::interpreter::{ExecState, Exit, GuestMemory};
use crate::isa::Reg;
use crate::module::Module;
use crate::program::RETURN_TO_HOST;
use alloc::vec;
use alloc::vec::Vec;

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
    state: ExecState,
    /// Op index to resume at; `None` when nothing is runnable.
    resumable: bool,
    /// Set when `set_next_program_counter` named a pc that starts no basic block: the next
    /// run traps there.
    pending_bad_pc: Option<u32>,
    last_pc: Option<u32>,
    /// The last run stopped at an `ecalli` and nothing has moved the program counter since.
    after_ecalli: bool,
}

impl Instance {
    pub(crate) fn new(module: Module, memory: GuestMemory) -> Result<Instance, Error> {
        Ok(Instance {
            module,
            state: ExecState {
                regs: [0; 16],
                gas: 0,
                next_op: 0,
                entry_pending: false,
                resume_pc: 0,
                exit_op: 0,
                stepped: false,
                memory,
            },
            resumable: false,
            pending_bad_pc: None,
            last_pc: None,
            after_ecalli: false,
        })
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
        let config = &self.module.0.config;
        let code = &self.module.0.code;
        let exit = match (config.gas_metering, config.step_tracing) {
            (true, false) => self.state.run::<true, false>(code),
            (false, false) => self.state.run::<false, false>(code),
            (true, true) => self.state.run::<true, true>(code),
            (false, true) => self.state.run::<false, true>(code),
        };
        self.last_pc = Some(self.op_pc(self.state.exit_op));
        let interrupt = match exit {
            Exit::Finished => Interrupt::Finished,
            Exit::Trap => Interrupt::Trap,
            Exit::Ecalli(n) => Interrupt::Ecalli(n),
            Exit::PageFault(page_address) => Interrupt::Segfault(Segfault { page_address }),
            Exit::NotEnoughGas => Interrupt::NotEnoughGas,
            Exit::Step => Interrupt::Step,
        };
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
        if self.after_ecalli {
            return Some(self.state.resume_pc);
        }
        Some(self.op_pc(self.state.next_op))
    }

    /// The pc an op stands for: a block's own pc when the op is a block entry still to be
    /// charged (the block may begin with dropped `unlikely` instructions).
    fn op_pc(&self, op: u32) -> u32 {
        let code = &self.module.0.code;
        let block_pc = self
            .state
            .entry_pending
            .then(|| code.block_pc(op))
            .flatten();
        block_pc.unwrap_or(code.op_pcs[op as usize])
    }

    /// Continues execution at `pc` on the next `run()`. A pc where no basic block starts
    /// makes that run trap there.
    pub fn set_next_program_counter(&mut self, pc: u32) {
        self.state.stepped = false;
        self.after_ecalli = false;
        match self.module.0.code.block_op(pc) {
            Some(op) => {
                self.state.next_op = op;
                self.state.entry_pending = true;
                self.resumable = true;
                self.pending_bad_pc = None;
            }
            None => {
                self.resumable = false;
                self.pending_bad_pc = Some(pc);
            }
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
        self.state.regs = [0; 16];
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
        self.state.regs[reg.index()]
    }

    /// Sets a register.
    #[inline]
    pub fn set_reg(&mut self, reg: Reg, value: u64) {
        self.state.regs[reg.index()] = value;
    }

    /// All 13 registers.
    pub fn regs(&self) -> [u64; 13] {
        let mut out = [0; 13];
        out.copy_from_slice(&self.state.regs[..13]);
        out
    }

    /// Remaining gas.
    pub fn gas(&self) -> i64 {
        self.state.gas
    }

    /// Sets the remaining gas.
    pub fn set_gas(&mut self, gas: i64) {
        self.state.gas = gas;
    }

    /// Reads guest memory into `out`.
    pub fn read_memory_into(&self, address: u32, out: &mut [u8]) -> Result<(), Error> {
        self.state
            .memory
            .read(address, out)
            .map_err(|first_unmapped| Error::MemoryAccess {
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
            length: length as usize,
            first_unmapped,
        };
        self.state
            .memory
            .check_mapped(address, u64::from(length))
            .map_err(unmapped)?;
        if u64::from(length) > self.module.0.memory_limit {
            return Err(Error::MemoryLimit {
                required: u64::from(length),
                limit: self.module.0.memory_limit,
            });
        }
        let mut out = vec![0; length as usize];
        self.read_memory_into(address, &mut out)?;
        Ok(out)
    }

    /// Writes guest memory (the host may write read-only regions).
    pub fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<(), Error> {
        self.state
            .memory
            .write(address, data)
            .map_err(|first_unmapped| Error::MemoryAccess {
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
    pub fn sbrk(&mut self, size: u32) -> Option<u32> {
        self.state.memory.sbrk(size)
    }

    /// Bytes handed out by `sbrk`.
    pub fn heap_size(&self) -> u32 {
        self.state.memory.heap_size()
    }

    /// The mapped memory regions as `(address, bytes, writable)`.
    pub fn memory_regions(&self) -> impl Iterator<Item = (u32, &[u8], bool)> {
        self.state.memory.regions()
    }

    /// Restores memory to the module's initial image (registers and gas stay).
    pub fn reset_memory(&mut self) -> Result<(), Error> {
        self.state.memory = self.module.fresh_memory()?;
        Ok(())
    }
}
