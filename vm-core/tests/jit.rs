//! The JIT backend: that it is really used where it can run, that guest faults become the
//! interpreter's interrupts without hurting the host, and the fallbacks.
#![cfg(feature = "std")]

use pvm_core::asm::assemble;
use pvm_core::gas::CostTable;
use pvm_core::memory::PageMapping;
use pvm_core::{
    BackendKind, Config, Engine, Instance, InstructionSet, Interrupt, MemoryLayout, Module,
    ModuleConfig, Opcode, Reg, Segfault,
};

fn module(backend: BackendKind, source: &str, config: &ModuleConfig) -> Module {
    let blob = assemble(source).unwrap_or_else(|e| panic!("{e}\n{source}"));
    let engine = Engine::new(&Config {
        backend,
        ..Config::default()
    })
    .unwrap();
    Module::from_blob(&engine, config, blob).unwrap()
}

fn standard(body: &str) -> String {
    format!(".isa latest64\n.rw_data_size 4096\n.ro_data 1 2 3 4\n.stack_size 4096\n{body}")
}

/// Runs `main(args)` on both backends; returns the JIT instance after checking the
/// interrupt, pc, gas and registers agree with the interpreter's.
fn both(source: &str, args: &[u64]) -> (Interrupt, Instance) {
    let config = ModuleConfig::default();
    let mut results = Vec::new();
    for backend in [BackendKind::Interpreter, BackendKind::Jit] {
        let module = module(backend, source, &config);
        let mut instance = module.instantiate().unwrap();
        instance.set_gas(10_000);
        instance.prepare_call_export("main", args).unwrap();
        let interrupt = instance.run().unwrap();
        results.push((interrupt, instance));
    }
    let (jit_interrupt, jit) = results.pop().unwrap();
    let (interrupt, interpreter) = results.pop().unwrap();
    assert_eq!(jit_interrupt, interrupt, "{source}");
    assert_eq!(jit.program_counter(), interpreter.program_counter());
    assert_eq!(
        jit.next_program_counter(),
        interpreter.next_program_counter()
    );
    assert_eq!(jit.gas(), interpreter.gas());
    assert_eq!(jit.regs(), interpreter.regs());
    (jit_interrupt, jit)
}

#[test]
fn the_jit_is_used_where_it_can_run() {
    let source = standard("pub @main:\n add_64 a0, a0, a1\n jump_indirect ra, 0\n");
    let jit = module(BackendKind::Jit, &source, &ModuleConfig::default());
    if cfg!(all(target_os = "linux", target_arch = "x86_64")) {
        assert!(
            BackendKind::jit_supported(),
            "CI machines meet {}",
            BackendKind::JIT_REQUIREMENTS
        );
    }
    if BackendKind::jit_supported() {
        assert_eq!(jit.backend(), BackendKind::Jit);
        assert!(jit.jit_code_size() > 0);
    } else {
        assert_eq!(jit.backend(), BackendKind::Interpreter);
    }
    let (interrupt, instance) = both(&source, &[2, 40]);
    assert_eq!(interrupt, Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), 42);
}

/// JIT instances can move between threads and be shared read-only, like interpreter ones.
#[test]
fn instances_and_modules_are_send_and_sync() {
    fn send_sync<T: Send + Sync>() {}
    send_sync::<Instance>();
    send_sync::<Module>();
}

#[test]
fn gas_metering_off_runs_the_same() {
    let config = ModuleConfig {
        gas_metering: false,
        ..ModuleConfig::default()
    };
    for (name, bytes) in [(
        "compute.latest64",
        include_bytes!("../../contracts-examples/blobs/compute.latest64.polkavm").as_slice(),
    )] {
        let mut results = Vec::new();
        for backend in [BackendKind::Interpreter, BackendKind::Jit] {
            let engine = Engine::new(&Config {
                backend,
                ..Config::default()
            })
            .unwrap();
            let module = Module::new(&engine, &config, bytes).unwrap();
            let mut instance = module.instantiate().unwrap();
            instance.prepare_call_export("sieve", &[10_000]).unwrap();
            let interrupt = instance.run().unwrap();
            results.push((interrupt, instance.regs(), instance.gas()));
        }
        assert_eq!(results[0], results[1], "{name}");
        assert_eq!(results[0].0, Interrupt::Finished);
    }
}

#[test]
fn step_tracing_falls_back_to_the_interpreter() {
    let config = ModuleConfig {
        step_tracing: true,
        ..ModuleConfig::default()
    };
    let source = standard("pub @main:\n add_64 a0, a0, a1\n jump_indirect ra, 0\n");
    let module = module(BackendKind::Jit, &source, &config);
    assert_eq!(module.backend(), BackendKind::Interpreter);
    let mut instance = module.instantiate().unwrap();
    instance.set_gas(100);
    instance.prepare_call_export("main", &[1, 2]).unwrap();
    assert_eq!(instance.run().unwrap(), Interrupt::Step);
}

#[test]
fn guest_faults_trap_as_on_the_interpreter_and_the_host_keeps_running() {
    let cases = [
        // Reads and writes outside its memory: below 0x10000, in the gap, at the very top
        // (the access wraps past 2^32 - 1), and a write to read-only data.
        "pub @main:\n load_u64 a0, 0x100\n jump_indirect ra, 0\n",
        "pub @main:\n load_imm a1, 0x7ff00000\n load_indirect_u32 a0, a1, 0\n jump_indirect ra, 0\n",
        "pub @main:\n load_imm a1, -4\n store_indirect_u64 a0, a1, 0\n jump_indirect ra, 0\n",
        "pub @main:\n load_imm a1, 0x10000\n store_indirect_u8 a0, a1, 0\n jump_indirect ra, 0\n",
        // Jumping to garbage: an odd address, one past the jump table, and zero.
        "pub @main:\n load_imm a1, 7\n jump_indirect a1, 0\n",
        "pub @main:\n load_imm a1, 0x1000\n jump_indirect a1, 0\n",
        "pub @main:\n load_imm a1, 0\n jump_indirect a1, 0\n",
        // An explicit trap.
        "pub @main:\n trap\n",
    ];
    for body in cases {
        let (interrupt, _) = both(&standard(body), &[0x55]);
        assert_eq!(interrupt, Interrupt::Trap, "{body}");
    }
    // Division by zero is defined (no trap) and the same on both.
    let (interrupt, instance) = both(
        &standard("pub @main:\n div_unsigned_64 a0, a0, a1\n rem_signed_32 a2, a0, a1\n jump_indirect ra, 0\n"),
        &[7, 0],
    );
    assert_eq!(interrupt, Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), u64::MAX);
}

#[test]
fn page_faults_name_the_first_inaccessible_page() {
    // Raw Graypaper code with a custom page map: one writable page, one read-only page.
    let pages = vec![
        PageMapping {
            address: 0x20000,
            length: 0x1000,
            writable: true,
        },
        PageMapping {
            address: 0x21000,
            length: 0x1000,
            writable: false,
        },
    ];
    let cases: [(&str, u32, Option<u32>); 5] = [
        // (body, base address, expected fault page or None for a trap)
        ("store_indirect_u64 a0, a1, 0", 0x21ffc, Some(0x21000)), // read-only page
        ("store_indirect_u64 a0, a1, 0", 0x20ffc, Some(0x21000)), // straddles into it
        ("load_indirect_u64 a0, a1, 0", 0x21ffc, Some(0x22000)),  // straddles past the end
        ("load_indirect_u32 a0, a1, 0", 0xfffe, None),            // below 0x10000: trap
        ("load_indirect_u64 a0, a1, 0", 0xfffffffc, Some(0xfffff000)), // wraps
    ];
    for (body, address, expected) in cases {
        let source = format!(".isa graypaper\npub @main:\n {body}\n trap\n");
        let assembled = assemble(&source).unwrap();
        let mut outcomes = Vec::new();
        for backend in [BackendKind::Interpreter, BackendKind::Jit] {
            let engine = Engine::new(&Config {
                backend,
                ..Config::default()
            })
            .unwrap();
            let blob = assembled.clone();
            assert_eq!(blob.isa, InstructionSet::Graypaper);
            let config = ModuleConfig {
                memory: MemoryLayout::Custom(pages.clone()),
                ..ModuleConfig::default()
            };
            let module = Module::from_blob(&engine, &config, blob).unwrap();
            let mut instance = module.instantiate().unwrap();
            instance.set_reg(Reg::A1, u64::from(address));
            instance.set_reg(Reg::A0, 0x1122_3344_5566_7788);
            instance.set_gas(100);
            instance.set_next_program_counter(0);
            let interrupt = instance.run().unwrap();
            let mut memory = vec![0u8; 0x2000];
            instance.read_memory_into(0x20000, &mut memory).unwrap();
            outcomes.push((
                interrupt,
                instance.program_counter(),
                instance.gas(),
                memory,
            ));
        }
        assert_eq!(outcomes[0], outcomes[1], "{body} at {address:#x}");
        let expected = match expected {
            Some(page_address) => Interrupt::Segfault(Segfault { page_address }),
            None => Interrupt::Trap,
        };
        assert_eq!(outcomes[1].0, expected, "{body} at {address:#x}");
        // A faulting store writes nothing, not even the bytes on the writable page.
        assert!(
            outcomes[1].3.iter().all(|&b| b == 0),
            "{body} at {address:#x}"
        );
    }
}

#[test]
fn many_threads_fault_at_once_without_disturbing_each_other() {
    let source = standard(
        "pub @main:\n\
         load_imm a2, 0\n\
         fallthrough\n\
         @loop:\n\
         add_imm_64 a2, a2, 1\n\
         branch_less_unsigned_imm a2, 1000, @loop\n\
         load_indirect_u64 a0, a1, 0\n\
         jump_indirect ra, 0\n",
    );
    let module = module(BackendKind::Jit, &source, &ModuleConfig::default());
    std::thread::scope(|scope| {
        for thread in 0..4u64 {
            let module = module.clone();
            scope.spawn(move || {
                for round in 0..200u64 {
                    let mut instance = module.instantiate().unwrap();
                    instance.set_gas(1_000_000);
                    // Every other call reads unmapped memory.
                    let address = if (thread + round) % 2 == 0 {
                        0x100
                    } else {
                        0x50000
                    };
                    let ro = module.memory_map().unwrap().ro_data_address;
                    let address = if address == 0x50000 {
                        u64::from(ro)
                    } else {
                        address
                    };
                    instance.prepare_call_export("main", &[0, address]).unwrap();
                    let interrupt = instance.run().unwrap();
                    if address == 0x100 {
                        assert_eq!(interrupt, Interrupt::Trap);
                    } else {
                        assert_eq!(interrupt, Interrupt::Finished);
                        assert_eq!(instance.reg(Reg::A0), 0x0403_0201);
                    }
                    assert_eq!(instance.reg(Reg::A2), 1000);
                }
            });
        }
    });
}

/// A branch to an offset ahead is compiled before the pass knows whether a block starts
/// there, and repaired at the end if none does: under PolkaVM's rules the branch traps
/// where it stands, taken or not; under the Graypaper's only when taken. Jumps too. Each
/// case must match the interpreter (interrupt, pc, gas, registers).
#[test]
fn forward_branches_into_the_middle_of_a_block_are_repaired() {
    let body = "pub @main:\n\
                branch_eq_imm a0, 1, @middle\n\
                fallthrough\n\
                add_imm_64 a1, a1, 10\n\
                @middle:\n\
                add_imm_64 a1, a1, 1\n\
                branch_eq_imm a0, 2, @after\n\
                jump @middle\n\
                @after:\n\
                add_imm_64 a1, a1, 100\n\
                jump_indirect ra, 0\n";
    for isa in ["latest64", "revive_v1", "graypaper"] {
        let source = format!(".isa {isa}\n.stack_size 4096\n{body}");
        for a0 in [0u64, 1, 2] {
            let (interrupt, _) = both(&source, &[a0]);
            // `jump @middle` goes to the middle of a block: a trap, whatever the rules.
            // Under PolkaVM's rules the first branch traps even when not taken.
            let polkavm_rules = isa != "graypaper";
            if polkavm_rules || a0 != 2 {
                assert_eq!(interrupt, Interrupt::Trap, "{isa}, a0 = {a0}");
            }
        }
    }
}

/// With per-instruction costs this large a block's cost may not fit the gas check's
/// 32-bit immediate (which the compiler otherwise patches at the block's end), so the
/// compiler sums the costs in a pass of its own first; the gas charged and where it runs
/// out must still be the interpreter's.
#[test]
fn block_costs_past_32_bits_are_charged_as_by_the_interpreter() {
    let source = standard(
        "pub @main:\n\
         load_imm a1, 5\n\
         fallthrough\n\
         @loop:\n\
         add_imm_64 a0, a0, 1\n\
         add_imm_64 a1, a1, -1\n\
         branch_not_eq_imm a1, 0, @loop\n\
         jump_indirect ra, 0\n",
    );
    let billion = 1_000_000_000;
    let config = ModuleConfig {
        cost_table: CostTable {
            costs: [billion; Opcode::ALL.len()],
            invalid: billion,
            ..CostTable::naive()
        },
        ..ModuleConfig::default()
    };
    // Blocks cost 2e9 (entry), 3e9 (each of five loop turns) and 1e9 (return): 18e9 in
    // all, so 100e9 finishes and 10e9 runs out before the third turn with 2e9 left.
    for (gas, expected, gas_left) in [
        (100_000_000_000, Interrupt::Finished, 82_000_000_000),
        (10_000_000_000, Interrupt::NotEnoughGas, 2_000_000_000),
    ] {
        for backend in [
            BackendKind::Interpreter,
            BackendKind::Jit,
            BackendKind::Crosscheck,
        ] {
            let module = module(backend, &source, &config);
            let mut instance = module.instantiate().unwrap();
            instance.set_gas(gas);
            instance.prepare_call_export("main", &[0]).unwrap();
            assert_eq!(instance.run().unwrap(), expected, "{backend:?}, gas {gas}");
            assert_eq!(instance.gas(), gas_left, "{backend:?}, gas {gas}");
        }
    }
}

#[test]
fn crosscheck_runs_both_and_reports_nothing_when_they_agree() {
    let source = standard(
        "pub @main:\n\
         ecalli 3\n\
         load_imm a1, 0x20000\n\
         store_indirect_u32 a0, a1, 0\n\
         jump_indirect ra, 0\n",
    );
    let module = module(BackendKind::Crosscheck, &source, &ModuleConfig::default());
    let mut instance = module.instantiate().unwrap();
    instance.set_gas(100);
    instance.prepare_call_export("main", &[9]).unwrap();
    assert_eq!(instance.run().unwrap(), Interrupt::Ecalli(3));
    instance.set_reg(Reg::A0, 77);
    let result = instance.run();
    // 0x20000 is not writable in this layout (the rw data starts higher): both trap.
    assert!(
        matches!(result, Ok(Interrupt::Trap) | Ok(Interrupt::Finished)),
        "{result:?}"
    );
}

/// Jump tables too large for the context take the other lookup path; both must agree with
/// the interpreter, for valid targets, the last entry, and one past it.
#[test]
fn large_and_small_jump_tables() {
    for entries in [3usize, 2016, 2017, 3000] {
        let mut source = String::from(".isa revive_v1\n.stack_size 4096\npub @main:\n");
        // Take entry `a0`'s address from a chain of `load_imm` (each makes an entry).
        for i in 0..entries {
            source += &format!(" load_imm a2, @t{i}\n branch_eq_imm a0, {i}, @go{i}\n");
            source += &format!("@after{i}:\n fallthrough\n");
        }
        source += " trap\n";
        for i in 0..entries {
            source += &format!("@go{i}:\n jump_indirect a2, 0\n@t{i}:\n add_imm_64 a1, a0, 1000\n jump_indirect ra, 0\n");
        }
        let table = assemble(&source).unwrap().code.jump_table.len();
        assert!(
            table >= entries,
            "{table} jump-table entries for {entries} labels"
        );
        for (argument, expected) in [
            (0u64, Some(1000u64)),
            (entries as u64 - 1, Some(entries as u64 + 999)),
        ] {
            let (interrupt, instance) = both(&source, &[argument]);
            assert_eq!(
                interrupt,
                Interrupt::Finished,
                "{entries} entries, a0 = {argument}"
            );
            assert_eq!(Some(instance.reg(Reg::A1)), expected);
        }
        // Past the table, and an odd address: traps on both.
        let past = format!(
            ".isa revive_v1\n.stack_size 4096\npub @main:\n load_imm a2, {}\n jump_indirect a2, 0\n{}",
            (entries as u64 + 1) * 2,
            source.lines().skip(3).collect::<Vec<_>>().join("\n")
        );
        let (interrupt, _) = both(&past, &[0]);
        assert_eq!(
            interrupt,
            Interrupt::Trap,
            "{entries} entries, one past the end"
        );
    }
}

/// The three-register bit, min/max, upper-multiply, shift and rotate ops compute into
/// the destination where it is free (BMI instructions are non-destructive), and `mulx`
/// multiplies by rdx (guest `sp`) and leaves rax (guest `ra`) alone, so every way the
/// destination can alias the operands, and those two registers in every position, are
/// run on both backends, with operands that tell signed from unsigned, in either order,
/// and shift counts past the width.
#[test]
fn three_register_ops_with_every_register_aliasing() {
    let ops = [
        "and_inverted",
        "or_inverted",
        "xnor",
        "maximum",
        "maximum_unsigned",
        "minimum",
        "minimum_unsigned",
        "mul_upper_unsigned_unsigned",
        "mul_upper_signed_signed",
        "mul_upper_signed_unsigned",
        "shift_logical_left_32",
        "shift_logical_left_64",
        "shift_logical_right_32",
        "shift_logical_right_64",
        "shift_arithmetic_right_32",
        "shift_arithmetic_right_64",
        "rotate_left_32",
        "rotate_left_64",
        "rotate_right_32",
        "rotate_right_64",
        "set_less_than_unsigned",
        "set_less_than_signed",
    ];
    let aliasings = [
        ("a2", "a0", "a1"),
        ("a0", "a0", "a1"),
        ("a1", "a0", "a1"),
        ("a2", "a0", "a0"),
        ("a0", "a0", "a0"),
        ("sp", "a0", "a1"),
        ("a2", "sp", "a1"),
        ("a2", "a0", "sp"),
        ("sp", "sp", "a1"),
        ("sp", "a0", "sp"),
        ("a2", "sp", "sp"),
        ("ra", "a0", "a1"),
        ("a2", "ra", "sp"),
        ("sp", "ra", "a1"),
        ("ra", "sp", "ra"),
    ];
    let (x, y) = (0x00FF_00FF_1234_5678u64, 0xF0F0_0F0F_8000_0001u64);
    for op in ops {
        for (d, a, b) in aliasings {
            // Guest sp and ra get values of their own, and the program stops at a trap
            // (a destination of ra leaves nothing to return to).
            let source = standard(&format!(
                "pub @main:\n add_64 sp, a0, a1\n xor ra, a0, a1\n {op} {d}, {a}, {b}\n trap\n"
            ));
            for args in [[x, y], [y, x], [x, x], [x, 37], [y, 63]] {
                let (interrupt, _) = both(&source, &args);
                assert_eq!(interrupt, Interrupt::Trap, "{op} {d}, {a}, {b}");
            }
        }
    }
    // The rotates by an immediate (rorx where the count is not 0 after masking), and the
    // compares with an immediate alongside.
    for op in [
        "rotate_right_imm_32",
        "rotate_right_imm_64",
        "set_less_than_unsigned_imm",
        "set_less_than_signed_imm",
        "set_greater_than_unsigned_imm",
        "set_greater_than_signed_imm",
    ] {
        for (d, a) in [("a1", "a0"), ("a0", "a0"), ("sp", "a0"), ("a1", "sp")] {
            for count in [0, 1, 7, 31, 32, 33, 63, 64, -1] {
                let source = standard(&format!(
                    "pub @main:\n add_64 sp, a0, a1\n {op} {d}, {a}, {count}\n trap\n"
                ));
                for args in [[x, y], [y, x]] {
                    let (interrupt, _) = both(&source, &args);
                    assert_eq!(interrupt, Interrupt::Trap, "{op} {d}, {a}, {count}");
                }
            }
        }
    }
}

/// Every branch against an immediate, with 0 and 1 as the immediate, taken or not,
/// agrees with the interpreter on the values where signed and unsigned orders part.
#[test]
fn branches_against_zero_and_one() {
    // From the opcode table, so a new one is covered: `load_imm_and_jump` shares the
    // format but is no compare.
    let ops: Vec<&str> = Opcode::ALL
        .iter()
        .filter(|op| op.format() == pvm_core::isa::Format::RegImmOffset)
        .map(|op| op.name())
        .filter(|name| name.starts_with("branch_"))
        .collect();
    assert_eq!(ops.len(), 10);
    for op in ops.iter().copied() {
        for imm in [0, 1] {
            let source = standard(&format!(
                "pub @main:\n {op} a0, {imm}, @taken\n load_imm a1, 1\n trap\n@taken:\n load_imm a1, 2\n trap\n"
            ));
            let mut outcomes = Vec::new();
            for value in [0, 1, 2, u64::MAX, 1 << 63, (1 << 63) - 1] {
                let (interrupt, instance) = both(&source, &[value]);
                assert_eq!(interrupt, Interrupt::Trap, "{op} {imm} with {value:#x}");
                outcomes.push(instance.reg(Reg::A1));
            }
            // Each branch goes both ways over these values, but for the two that compare
            // unsigned against 0 (never below it, always at least it).
            let one_way = imm == 0
                && matches!(
                    op,
                    "branch_less_unsigned_imm" | "branch_greater_or_equal_unsigned_imm"
                );
            assert!(
                one_way || (outcomes.contains(&1) && outcomes.contains(&2)),
                "{op} {imm}: {outcomes:?}"
            );
        }
    }
}
