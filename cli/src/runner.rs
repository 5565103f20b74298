//! The run loop shared by `pvm run` and `pvm bench`: runs an instance until it finishes,
//! traps, faults or runs out of gas, serving host calls and step-trace stops on the way.

use crate::host::Host;
use crate::trace::Tracer;
use anyhow::{Context, Result};
use pvm_core::{Instance, Interrupt};
use std::fmt;

/// How a call ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The engine stopped with this interrupt (never `Ecalli` or `Step`).
    Interrupt(Interrupt),
    /// A host function faulted on the guest's memory; the call ends there, like a trap.
    HostFault(String),
}

impl Outcome {
    /// Whether the call returned normally.
    pub fn is_finished(&self) -> bool {
        *self == Outcome::Interrupt(Interrupt::Finished)
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Interrupt(Interrupt::Finished) => write!(f, "Finished"),
            Outcome::Interrupt(Interrupt::Trap) => write!(f, "Trap"),
            Outcome::Interrupt(Interrupt::NotEnoughGas) => write!(f, "NotEnoughGas"),
            Outcome::Interrupt(Interrupt::Segfault(fault)) => {
                write!(f, "Segfault (page {:#x})", fault.page_address)
            }
            Outcome::Interrupt(Interrupt::Ecalli(n)) => write!(f, "Ecalli({n})"),
            Outcome::Interrupt(Interrupt::Step) => write!(f, "Step"),
            Outcome::HostFault(message) => write!(f, "Trap (host function fault: {message})"),
        }
    }
}

/// Runs `instance` (already prepared) to its end. Errors are the CLI's: an engine API error
/// or an import the host does not provide.
pub fn run_to_end(
    instance: &mut Instance,
    host: &mut Host,
    mut tracer: Option<&mut Tracer>,
) -> Result<Outcome> {
    if let Some(tracer) = tracer.as_deref_mut() {
        tracer.start(instance).context("writing the trace")?;
    }
    let outcome = loop {
        match instance.run().context("running the program")? {
            Interrupt::Step => {
                if let Some(tracer) = tracer.as_deref_mut() {
                    tracer.step(instance).context("writing the trace")?;
                }
            }
            Interrupt::Ecalli(index) => match host.call(instance, index) {
                Ok(call) => {
                    if let Some(tracer) = tracer.as_deref_mut() {
                        tracer
                            .host_call(instance, host, &call)
                            .context("writing the trace")?;
                    }
                }
                Err(error) if error.is_guest_fault() => {
                    break Outcome::HostFault(error.to_string())
                }
                Err(error) => {
                    let pc = instance.program_counter().unwrap_or(0);
                    return Err(error).with_context(|| format!("host call at pc {pc}"));
                }
            },
            other => break Outcome::Interrupt(other),
        }
    };
    if let Some(tracer) = tracer {
        tracer
            .finish(instance, &outcome.to_string())
            .context("writing the trace")?;
    }
    Ok(outcome)
}
