//! `pvm run`: call an export or program counter and print the outcome, registers and gas.

use super::call::CallArgs;
use crate::host::Host;
use crate::output;
use crate::runner::{run_to_end, Outcome};
use crate::trace::Tracer;
use anyhow::{Context, Result};
use clap::Args;
use pvm_core::{Instance, Interrupt, Reg};
use std::process::ExitCode;

/// Arguments of `pvm run`.
#[derive(Args, Debug)]
pub struct RunArgs {
    /// What to call.
    #[command(flatten)]
    pub call: CallArgs,
    /// Print every executed instruction, register change and host call to stderr.
    #[arg(long)]
    pub trace: bool,
}

/// Runs the call and prints the result to stdout. A trap, fault or running out of gas is
/// a normal outcome (exit code 0).
pub fn run(args: &RunArgs) -> Result<ExitCode> {
    let prepared = args.call.prepare(args.trace)?;
    let module = prepared.compile()?;
    let mut instance = prepared.instance(&module, &args.call.args, args.call.gas)?;
    let mut host = Host::new(module.imports());
    let mut tracer = args.trace.then(|| Tracer::new(module.blob()));
    let outcome = run_to_end(&mut instance, &mut host, tracer.as_mut())?;
    output::print(&report(&instance, &host, &outcome, args.call.gas))
        .context("writing to stdout")?;
    Ok(ExitCode::SUCCESS)
}

/// The text `pvm run` prints for a finished call.
fn report(instance: &Instance, host: &Host, outcome: &Outcome, initial_gas: i64) -> String {
    let mut out = String::new();
    let explanation = match outcome {
        Outcome::Interrupt(Interrupt::Trap) => " (the guest trapped)",
        Outcome::Interrupt(Interrupt::NotEnoughGas) => {
            " (out of gas: the next block costs more than is left)"
        }
        Outcome::Interrupt(Interrupt::Segfault(_)) => " (access to an unmapped or read-only page)",
        _ => "",
    };
    out += &format!("outcome: {outcome}{explanation}\n");
    match instance.program_counter() {
        Some(pc) => out += &format!("pc: {pc} ({pc:#x})\n"),
        None => out += "pc: none\n",
    }
    for reg in [Reg::A0, Reg::A1] {
        let value = instance.reg(reg);
        out += &format!("{reg}: {value:#x} ({value})\n");
    }
    let remaining = instance.gas();
    out += &format!(
        "gas used: {} (remaining {remaining})\n",
        initial_gas - remaining
    );
    if host.calls > 0 {
        out += &format!(
            "host calls: {} (host_emit: {} calls, {} bytes)\n",
            host.calls,
            host.emit_calls,
            host.emitted.len()
        );
    }
    out += "registers:\n";
    for (reg, value) in Reg::ALL.iter().zip(instance.regs()) {
        out += &format!("  {:<2} = {value:#018x}  {value}\n", reg.name());
    }
    out
}
