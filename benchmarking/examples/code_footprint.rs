//! Exploratory (issue 15): does a large code footprint make dynamic jumps dearer than
//! the tables charge? Like `jump_indirect/random/N`, but every target block is followed by
//! `padding` never-executed instructions, so the targets spread over the code (and the
//! JIT's machine code) and a random jump misses the instruction caches and TLB. Gas is
//! charged for executed instructions only, so the padding is free to the guest.
//!
//! `cargo run --release -p pvm-benchmarking --example code_footprint [-- TARGETS PADDING...]`
use pvm_benchmarking::gas_model::programs::{dynamic_jumps, jump_table_setup, Gadget};
use pvm_benchmarking::gas_model::{
    assemble_padded, gas_per_unit, rw_base, time_gadget, EngineKind, Runners,
};
use pvm_core::gas::CostTable;
use std::time::Duration;

fn spread(targets: u32, padding: u32) -> Gadget {
    let mut gadget = dynamic_jumps(targets);
    gadget.setup = jump_table_setup(targets, padding);
    gadget.name = format!("jump_indirect/spread/{targets}x{padding}");
    gadget
}

fn main() -> anyhow::Result<()> {
    let args: Vec<u32> = std::env::args()
        .skip(1)
        .map(|s| s.parse().expect("a number"))
        .collect();
    let targets = args.first().copied().unwrap_or(1024);
    let paddings = if args.len() > 1 {
        args[1..].to_vec()
    } else {
        vec![0, 8, 24]
    };
    let base = rw_base()?;
    let mut runners = Runners::new(&[EngineKind::Interpreter, EngineKind::Jit])?;
    let tables = [
        (EngineKind::Interpreter, CostTable::interpreter()),
        (EngineKind::Jit, CostTable::jit()),
    ];
    for padding in paddings {
        let gadget = spread(targets, padding);
        let source = pvm_benchmarking::gas_model::programs::source(&gadget, 1, base);
        let code_len = assemble_padded(&source)?.code.code.len();
        for (engine, table) in &tables {
            let ps = table.ref_time_ps_per_gas.expect("measured table");
            let ps = match engine {
                EngineKind::Jit => ps.jit,
                _ => ps.interpreter,
            };
            let gas = gas_per_unit(&mut runners, &gadget, base, table)?;
            let t = time_gadget(
                &mut runners,
                *engine,
                &gadget,
                base,
                5,
                Duration::from_millis(20),
            )?;
            println!(
                "{} code {code_len} bytes on {}: {:.2} ns per jump (min), {:.1} gas: charged/measured {:.2}",
                gadget.name,
                engine.key(),
                t.ns_min,
                gas,
                gas * ps as f64 / 1000.0 / t.ns_min
            );
        }
    }
    Ok(())
}
