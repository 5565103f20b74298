//! The host functions of the `pvm-contracts-examples` guests (documented in
//! `contracts-examples/src/lib.rs`), implemented once over the [`Vm`] trait so that both VMs
//! get exactly the same host.

use crate::differential::{Host, Vm};
use pvm_contracts_examples::host;
use pvm_core::Reg;

/// Host state for one VM running an example guest.
#[derive(Clone, PartialEq, Eq, Debug, Default)]
pub struct GuestHost {
    /// The module's import symbols, by `ecalli` number.
    pub imports: Vec<String>,
    /// Everything the guest passed to `host_emit`, in order.
    pub emitted: Vec<u8>,
    /// How many times `host_emit` was called.
    pub emit_calls: u64,
    /// Host calls per import index.
    pub calls: Vec<u64>,
}

impl GuestHost {
    /// A host for a module with these imports.
    pub fn new(imports: Vec<String>) -> GuestHost {
        let calls = vec![0; imports.len()];
        GuestHost {
            imports,
            calls,
            ..GuestHost::default()
        }
    }
}

/// The low 32 bits of a register: guest pointers and `u32` arguments.
fn low32(vm: &dyn Vm, reg: Reg) -> u32 {
    vm.reg(reg) as u32
}

impl Host for GuestHost {
    fn ecalli(&mut self, vm: &mut dyn Vm, number: u32) -> Result<(), String> {
        let symbol = self
            .imports
            .get(number as usize)
            .ok_or_else(|| format!("ecalli {number}: no such import"))?
            .clone();
        self.calls[number as usize] += 1;
        match symbol.as_str() {
            "host_add" => {
                let sum = host::add(vm.reg(Reg::A0), vm.reg(Reg::A1));
                vm.set_reg(Reg::A0, sum);
            }
            "host_read_input" => {
                let (ptr, len) = (low32(vm, Reg::A0), low32(vm, Reg::A1));
                let mut bytes = [0u8; host::MAX_INPUT as usize];
                let n = host::input(len, &mut bytes);
                vm.write_memory(ptr, &bytes[..n])
                    .map_err(|e| format!("host_read_input: {e}"))?;
                vm.set_reg(Reg::A0, n as u64);
            }
            "host_emit" => {
                let (ptr, len) = (low32(vm, Reg::A0), low32(vm, Reg::A1));
                let bytes = vm
                    .read_memory(ptr, len)
                    .map_err(|e| format!("host_emit: {e}"))?;
                self.emitted.extend_from_slice(&bytes);
                self.emit_calls += 1;
            }
            "host_mix6" => {
                let regs = [Reg::A0, Reg::A1, Reg::A2, Reg::A3, Reg::A4, Reg::A5];
                let value = host::mix6(regs.map(|reg| vm.reg(reg)));
                vm.set_reg(Reg::A0, value);
            }
            other => return Err(format!("ecalli {number}: unknown import {other:?}")),
        }
        Ok(())
    }
}
