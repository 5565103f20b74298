//! `pvm costs`: the gas cost table the pallet charges by default, with the `ref_time` per
//! gas its measurement recommends for each engine.

use anyhow::{Context, Result};
use clap::Args;
use pvm_core::gas::CostTable;
use pvm_core::Opcode;
use std::process::ExitCode;

/// Arguments of `pvm costs`.
#[derive(Args, Debug)]
pub struct CostsArgs {
    /// Print one JSON object instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// The table the pallet uses by default.
pub fn default_table() -> Result<CostTable> {
    CostTable::by_version(pallet_pvm::gas::DEFAULT_COST_TABLE_VERSION)
        .context("the pallet's default cost table is not in this build")
}

/// Prints the default table: name, version, `ref_time_ps_per_gas` per engine, every
/// opcode's cost and the other dimensions (invalid instruction, `memset` byte, page, memory
/// tiers, whether `memset` pays them).
pub fn run(args: &CostsArgs) -> Result<ExitCode> {
    let table = default_table()?;
    let ps = table.ref_time_ps_per_gas;
    if args.json {
        let opcodes: serde_json::Map<String, serde_json::Value> = Opcode::ALL
            .iter()
            .map(|&op| (op.name().to_string(), table.cost(op).into()))
            .collect();
        let tiers: Vec<serde_json::Value> = table
            .memory_tiers
            .iter()
            .map(|t| serde_json::json!({"up_to": t.up_to, "access": t.access}))
            .collect();
        let line = serde_json::json!({
            "name": table.name,
            "version": table.version,
            "ref_time_ps_per_gas": ps.map(|ps| serde_json::json!({
                "interpreter": ps.interpreter,
                "jit": ps.jit,
                "in_runtime": ps.in_runtime,
            })),
            "invalid": table.invalid,
            "memset_byte": table.memset_byte,
            "memset_pays_access": table.memset_pays_access,
            "page": table.page,
            "memory_tiers": tiers,
            "opcodes": opcodes,
        });
        println!("{line}");
        return Ok(ExitCode::SUCCESS);
    }
    println!("cost table {:?}, version {}", table.name, table.version);
    if let Some(ps) = ps {
        println!(
            "ref_time per gas (ps): interpreter {}, jit {}, in_runtime {}",
            ps.interpreter, ps.jit, ps.in_runtime
        );
    }
    println!(
        "invalid instruction {}, memset byte {}, page (4 KiB made accessible) {}",
        table.invalid, table.memset_byte, table.page
    );
    for tier in table.memory_tiers {
        let bound = if tier.up_to == u64::MAX {
            "any size".to_string()
        } else {
            format!("up to {} KiB accessible", tier.up_to >> 10)
        };
        println!("load/store surcharge {bound}: {}", tier.access);
    }
    if table.memset_pays_access {
        println!("memset pays the load/store surcharge once per page it writes into");
    }
    for &op in Opcode::ALL {
        println!("{:<40} {}", op.name(), table.cost(op));
    }
    Ok(ExitCode::SUCCESS)
}
