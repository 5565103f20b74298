//! Step tracing for `pvm run --trace`: every executed instruction with its program counter
//! and disassembly, the register changes it made, and host calls, written to stderr.

use crate::host::{hex, Host, HostCall};
use pvm_core::isa::decode_code;
use pvm_core::{Instance, ProgramBlob, Reg};
use std::collections::HashMap;
use std::io::{self, BufWriter, Stderr, Write};

/// Writes the trace of one call.
pub struct Tracer {
    /// Disassembled instruction text by program counter.
    text: HashMap<u32, String>,
    /// Registers after the last reported change.
    regs: [u64; 13],
    /// Instructions reported so far.
    steps: u64,
    out: BufWriter<Stderr>,
}

impl Tracer {
    /// Decodes `blob` once so each step can be printed by program counter.
    pub fn new(blob: &ProgramBlob) -> Tracer {
        let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
        let text = stream
            .instructions
            .iter()
            .map(|decoded| {
                let text = match (&decoded.instruction, decoded.length) {
                    (Some(instruction), _) => instruction.to_string(),
                    (None, 0) => "trap ; implicit, past the end of the code".to_string(),
                    (None, length) => format!("invalid ; {length} bytes"),
                };
                (decoded.pc, text)
            })
            .collect();
        Tracer {
            text,
            regs: [0; 13],
            steps: 0,
            out: BufWriter::new(io::stderr()),
        }
    }

    /// Records the registers the call starts with, so later changes are relative to them.
    pub fn start(&mut self, instance: &Instance) -> io::Result<()> {
        self.regs = instance.regs();
        let pc = instance
            .next_program_counter()
            .map_or("none".to_string(), |pc| pc.to_string());
        writeln!(self.out, "trace: start at pc {pc}, gas {}", instance.gas())
    }

    /// Called on `Interrupt::Step`: reports what the previous instruction changed, then the
    /// instruction about to run.
    pub fn step(&mut self, instance: &Instance) -> io::Result<()> {
        self.report_changes(instance)?;
        let pc = instance.program_counter().unwrap_or(0);
        let text = self.text.get(&pc).map_or("?", String::as_str);
        self.steps += 1;
        writeln!(self.out, "{pc:>8}: {text:<40} ; gas {}", instance.gas())
    }

    /// Reports a completed host call and the registers it set (the `ecalli` before it
    /// changes no registers itself, so everything that changed since is the host's doing).
    pub fn host_call(
        &mut self,
        instance: &Instance,
        host: &Host,
        call: &HostCall,
    ) -> io::Result<()> {
        let args: Vec<String> = call.args[..call.function.arity()]
            .iter()
            .map(|value| format!("{value:#x}"))
            .collect();
        write!(
            self.out,
            "          host {}({})",
            call.function.name(),
            args.join(", ")
        )?;
        if let Some(result) = call.result {
            write!(self.out, " -> {result:#x}")?;
        }
        if let Some(range) = &call.emitted {
            write!(
                self.out,
                " emitted {} bytes: {}",
                range.len(),
                hex(&host.emitted[range.clone()])
            )?;
        }
        writeln!(self.out)?;
        self.report_changes(instance)
    }

    /// Ends the trace after the final interrupt.
    pub fn finish(&mut self, instance: &Instance, outcome: &str) -> io::Result<()> {
        self.report_changes(instance)?;
        writeln!(
            self.out,
            "trace: {outcome} after {} instructions",
            self.steps
        )?;
        self.out.flush()
    }

    /// Prints every register that differs from the last snapshot and takes a new one.
    fn report_changes(&mut self, instance: &Instance) -> io::Result<()> {
        let regs = instance.regs();
        for (n, (old, new)) in self.regs.iter().zip(&regs).enumerate() {
            if old != new {
                writeln!(
                    self.out,
                    "          {} = {new:#x} (was {old:#x})",
                    Reg::ALL[n]
                )?;
            }
        }
        self.regs = regs;
        Ok(())
    }
}
