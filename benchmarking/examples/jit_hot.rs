//! Exploratory: runs one corpus call on the JIT (in process) repeatedly, for `perf`, and
//! writes the compiled code and its block table to a directory, so the samples in the
//! code's memory file (their offsets are code offsets) can be read against a disassembly.
//! This is how the `and_inverted` code of keccak was found (BENCHMARKS.md).
//!
//! ```sh
//! cargo run --release -p pvm-benchmarking --example jit_hot -- sha3 keccak256 262144 300 /tmp
//! perf record -e cpu-clock target/release/examples/jit_hot sha3 keccak256 262144 300 /tmp
//! objdump -D -b binary -m i386:x86-64 /tmp/jit_code.bin  # blocks: /tmp/jit_blocks.txt (pc, offset)
//! ```
use pvm_contracts_examples::corpus;
use pvm_core::*;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap();
    let export = args.next().unwrap();
    let arg: u64 = args.next().unwrap().parse().unwrap();
    let runs: usize = args.next().map_or(20, |a| a.parse().unwrap());
    let dump = std::path::PathBuf::from(args.next().unwrap_or_else(|| ".".into()));
    let program = corpus::program(&name).unwrap();
    let engine = Engine::new(&Config {
        backend: BackendKind::Jit,
        sandbox: SandboxConfig {
            kind: SandboxKind::Generic,
            ..SandboxConfig::default()
        },
        ..Config::default()
    })
    .unwrap();
    let bytes = program.latest64.bytes;
    let blob = ProgramBlob::parse(bytes).unwrap();
    let costs = gas::CostTable::naive();
    let options = jit::CompileOptions {
        gas_metering: true,
        costs: &costs,
        isa: blob.isa,
        segment_memory: sandbox::generic::segment_base_usable(),
    };
    let compiled = jit::compile(&blob.code, &options).unwrap();
    std::fs::write(dump.join("jit_code.bin"), &compiled.code).unwrap();
    let mut blocks = String::new();
    for (pc, offset) in &compiled.blocks {
        blocks += &format!("{pc} {offset}\n");
    }
    std::fs::write(dump.join("jit_blocks.txt"), blocks).unwrap();
    let module = Module::new(&engine, &ModuleConfig::default(), bytes).unwrap();
    let start = std::time::Instant::now();
    for _ in 0..runs {
        let mut instance = module.instantiate().unwrap();
        instance.prepare_call_export(&export, &[arg]).unwrap();
        instance.set_gas(1 << 50);
        assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    }
    eprintln!("{:?} per run", start.elapsed() / runs as u32);
}
