//! Exploratory: per corpus call, the accessible memory, and the gas under the naive and the
//! measured tables (how much of the measured gas is the memory-access surcharge).
use pvm_contracts_examples::corpus::CORPUS;
use pvm_core::gas::CostTable;
use pvm_core::*;

fn gas(engine: &Engine, table: CostTable, bytes: &[u8], export: &str, arg: u32) -> (u64, u64) {
    let config = ModuleConfig {
        cost_table: table,
        ..ModuleConfig::default()
    };
    let module = Module::new(engine, &config, bytes).unwrap();
    let mut instance = module.instantiate().unwrap();
    let accessible = instance.accessible_bytes();
    instance
        .prepare_call_export(export, &[u64::from(arg)])
        .unwrap();
    instance.set_gas(1 << 60);
    assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    ((1i64 << 60) as u64 - instance.gas() as u64, accessible)
}

fn main() {
    let engine = Engine::new(&Config::default()).unwrap();
    let name = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "interpreter".into());
    let table = CostTable::by_name(&name).expect("a table name");
    let mut zero_tiers = table.clone();
    zero_tiers.memory_tiers = &[];
    for program in CORPUS {
        for call in program.exec {
            let (naive, accessible) = gas(
                &engine,
                CostTable::naive(),
                program.latest64.bytes,
                call.export,
                call.arg,
            );
            let (measured, _) = gas(
                &engine,
                table.clone(),
                program.latest64.bytes,
                call.export,
                call.arg,
            );
            let (no_tiers, _) = gas(
                &engine,
                zero_tiers.clone(),
                program.latest64.bytes,
                call.export,
                call.arg,
            );
            println!(
                "{:<8} {:<14} accessible {:>9} KiB  naive {naive:>11}  measured {measured:>11} ({:.2}/instr)  of which surcharge {:.0}%",
                program.name,
                call.export,
                accessible >> 10,
                measured as f64 / naive as f64,
                100.0 * (measured - no_tiers) as f64 / measured as f64
            );
        }
    }
}
