//! Instruction semantics, gas and control flow, checked on small assembled programs in
//! every instruction set that has the instructions used, on every backend (the JIT and
//! crosscheck mode fall back to the interpreter where the JIT cannot run).

use pvm_core::asm::assemble;
use pvm_core::{
    BackendKind, Config, Engine, Instance, InstructionSet, Interrupt, Module, ModuleConfig, Reg,
};

fn instance_for(isa: InstructionSet, body: &str, config: &ModuleConfig) -> Option<Instance> {
    instance_on(BackendKind::Interpreter, isa, body, config)
}

fn instance_on(
    backend: BackendKind,
    isa: InstructionSet,
    body: &str,
    config: &ModuleConfig,
) -> Option<Instance> {
    let source = format!(
        ".isa {}\n.rw_data_size 8192\n.ro_data 11 22 33 44 55 66 77 88\n.stack_size 4096\n{body}",
        isa.name()
    );
    let blob = match assemble(&source) {
        Ok(blob) => blob,
        Err(error) if error.message.contains("does not exist in") => return None,
        Err(error) => panic!("{error}\n{source}"),
    };
    let engine = Engine::new(&Config {
        backend,
        ..Config::default()
    })
    .unwrap();
    Some(
        Module::from_blob(&engine, config, blob)
            .unwrap()
            .instantiate()
            .unwrap(),
    )
}

/// Runs `pub @main` with `args` in every instruction set that can express the program and
/// checks all agree; returns the interrupt and the instance of the last one.
fn run(body: &str, args: &[u64]) -> (Interrupt, Instance) {
    run_with(body, args, &ModuleConfig::default(), 1_000_000)
}

fn run_with(body: &str, args: &[u64], config: &ModuleConfig, gas: i64) -> (Interrupt, Instance) {
    let mut results: Vec<(String, Interrupt, [u64; 13], i64, Instance)> = Vec::new();
    for backend in BackendKind::ALL {
        for isa in [
            InstructionSet::ReviveV1,
            InstructionSet::JamV1,
            InstructionSet::Latest64,
            InstructionSet::Graypaper,
        ] {
            let Some(mut instance) = instance_on(backend, isa, body, config) else {
                continue;
            };
            instance.set_gas(gas);
            instance.prepare_call_export("main", args).unwrap();
            let interrupt = instance.run().unwrap();
            let name = format!("{isa} on the {}", backend.name());
            results.push((name, interrupt, instance.regs(), instance.gas(), instance));
        }
    }
    assert!(
        !results.is_empty(),
        "no instruction set can express:\n{body}"
    );
    let (first_isa, first_interrupt, first_regs, first_gas, _) = &results[0];
    for (isa, interrupt, regs, gas, _) in &results[1..] {
        assert_eq!(
            (interrupt, regs, gas),
            (first_interrupt, first_regs, first_gas),
            "{isa} disagrees with {first_isa}"
        );
    }
    let (_, interrupt, _, _, instance) = results.pop().unwrap();
    (interrupt, instance)
}

/// Runs a single ALU instruction `op a0, a1, a2` (or the given operand text) and returns A0.
fn alu(instruction: &str, a1: u64, a2: u64) -> u64 {
    let body = format!("pub @main:\n {instruction}\n jump_indirect ra, 0\n");
    let (interrupt, instance) = run(&body, &[0, a1, a2]);
    assert_eq!(interrupt, Interrupt::Finished, "{instruction}");
    instance.reg(Reg::A0)
}

const MIN64: u64 = i64::MIN as u64;
const MINUS_ONE: u64 = u64::MAX;

#[test]
fn division_by_zero_and_overflow() {
    assert_eq!(alu("div_unsigned_64 a0, a1, a2", 7, 0), u64::MAX);
    assert_eq!(alu("div_signed_64 a0, a1, a2", 7, 0), MINUS_ONE);
    assert_eq!(alu("rem_unsigned_64 a0, a1, a2", 7, 0), 7);
    assert_eq!(
        alu("rem_signed_64 a0, a1, a2", (-7i64) as u64, 0),
        (-7i64) as u64
    );
    assert_eq!(alu("div_signed_64 a0, a1, a2", MIN64, MINUS_ONE), MIN64);
    assert_eq!(alu("rem_signed_64 a0, a1, a2", MIN64, MINUS_ONE), 0);
    assert_eq!(alu("div_unsigned_32 a0, a1, a2", 7, 0), u64::MAX);
    assert_eq!(alu("div_signed_32 a0, a1, a2", 7, 0), MINUS_ONE);
    assert_eq!(
        alu("rem_unsigned_32 a0, a1, a2", 0x8000_0001, 0),
        0xffff_ffff_8000_0001
    );
    assert_eq!(
        alu("div_signed_32 a0, a1, a2", 0x8000_0000, 0xffff_ffff),
        0xffff_ffff_8000_0000
    );
    assert_eq!(alu("rem_signed_32 a0, a1, a2", 0x8000_0000, 0xffff_ffff), 0);
    assert_eq!(
        alu("div_signed_64 a0, a1, a2", (-7i64) as u64, 2),
        (-3i64) as u64
    );
    assert_eq!(
        alu("rem_signed_64 a0, a1, a2", (-7i64) as u64, 2),
        (-1i64) as u64
    );
}

#[test]
fn thirty_two_bit_results_are_sign_extended_and_arithmetic_wraps() {
    assert_eq!(
        alu("add_32 a0, a1, a2", 0x7fff_ffff, 1),
        0xffff_ffff_8000_0000
    );
    assert_eq!(alu("sub_32 a0, a1, a2", 0, 1), u64::MAX);
    assert_eq!(alu("mul_32 a0, a1, a2", 0x1_0000_0002, 3), 6);
    assert_eq!(alu("add_64 a0, a1, a2", u64::MAX, 2), 1);
    assert_eq!(alu("mul_64 a0, a1, a2", 1 << 63, 2), 0);
    assert_eq!(alu("add_imm_32 a0, a1, -1", 0, 0), u64::MAX);
    assert_eq!(alu("add_imm_64 a0, a1, -1", 0, 0), u64::MAX);
    assert_eq!(alu("negate_and_add_imm_64 a0, a1, 10", 3, 0), 7);
    assert_eq!(alu("negate_and_add_imm_32 a0, a1, 0", 1, 0), u64::MAX);
}

#[test]
fn shifts_and_rotates_take_the_amount_modulo_the_width() {
    assert_eq!(alu("shift_logical_left_64 a0, a1, a2", 1, 65), 2);
    assert_eq!(alu("shift_logical_left_32 a0, a1, a2", 1, 33), 2);
    assert_eq!(
        alu("shift_logical_left_32 a0, a1, a2", 1, 31),
        0xffff_ffff_8000_0000
    );
    assert_eq!(
        alu(
            "shift_logical_right_32 a0, a1, a2",
            0xffff_ffff_8000_0000,
            32
        ),
        0xffff_ffff_8000_0000
    );
    assert_eq!(
        alu("shift_arithmetic_right_64 a0, a1, a2", MIN64, 63),
        MINUS_ONE
    );
    assert_eq!(
        alu("shift_arithmetic_right_32 a0, a1, a2", 0x8000_0000, 4),
        0xffff_ffff_f800_0000
    );
    assert_eq!(alu("shift_logical_right_imm_64 a0, a1, 68", 0x100, 0), 0x10);
    assert_eq!(alu("shift_logical_left_imm_alt_64 a0, a1, 3", 2, 0), 12);
    assert_eq!(alu("rotate_left_64 a0, a1, a2", 1 << 63, 1), 1);
    assert_eq!(
        alu("rotate_right_32 a0, a1, a2", 1, 1),
        0xffff_ffff_8000_0000
    );
    assert_eq!(alu("rotate_right_imm_64 a0, a1, 4", 0x1, 0), 1 << 60);
    assert_eq!(
        alu("rotate_right_imm_alt_32 a0, a1, 1", 1, 0),
        0xffff_ffff_8000_0000
    );
}

#[test]
fn multiply_upper_comparisons_and_selects() {
    assert_eq!(
        alu("mul_upper_unsigned_unsigned a0, a1, a2", u64::MAX, u64::MAX),
        u64::MAX - 1
    );
    assert_eq!(
        alu("mul_upper_signed_signed a0, a1, a2", MINUS_ONE, MINUS_ONE),
        0
    );
    assert_eq!(
        alu("mul_upper_signed_unsigned a0, a1, a2", MINUS_ONE, u64::MAX),
        MINUS_ONE
    );
    assert_eq!(alu("set_less_than_signed a0, a1, a2", MINUS_ONE, 0), 1);
    assert_eq!(alu("set_less_than_unsigned a0, a1, a2", MINUS_ONE, 0), 0);
    assert_eq!(
        alu("set_greater_than_signed_imm a0, a1, -2", MINUS_ONE, 0),
        1
    );
    assert_eq!(alu("set_less_than_unsigned_imm a0, a1, -1", 5, 0), 1);
    assert_eq!(alu("cmov_if_zero a0, a1, a2", 9, 0), 9);
    assert_eq!(alu("cmov_if_not_zero a0, a1, a2", 9, 0), 0);
    assert_eq!(alu("cmov_if_zero_imm a0, a2, 77", 0, 0), 77);
    assert_eq!(alu("maximum a0, a1, a2", MINUS_ONE, 1), 1);
    assert_eq!(alu("maximum_unsigned a0, a1, a2", MINUS_ONE, 1), MINUS_ONE);
    assert_eq!(alu("minimum a0, a1, a2", MINUS_ONE, 1), MINUS_ONE);
    assert_eq!(alu("minimum_unsigned a0, a1, a2", MINUS_ONE, 1), 1);
    assert_eq!(alu("and_inverted a0, a1, a2", 0b1100, 0b1010), 0b0100);
    assert_eq!(alu("or_inverted a0, a1, a2", 0, MINUS_ONE), 0);
    assert_eq!(alu("xnor a0, a1, a2", 0, 0), MINUS_ONE);
}

#[test]
fn bit_counting_and_extension() {
    assert_eq!(alu("count_leading_zero_bits_64 a0, a1", 1, 0), 63);
    assert_eq!(alu("count_leading_zero_bits_32 a0, a1", 1 << 40, 0), 32);
    assert_eq!(alu("count_trailing_zero_bits_64 a0, a1", 0, 0), 64);
    assert_eq!(alu("count_trailing_zero_bits_32 a0, a1", 1 << 40, 0), 32);
    assert_eq!(alu("count_set_bits_64 a0, a1", MINUS_ONE, 0), 64);
    assert_eq!(alu("count_set_bits_32 a0, a1", MINUS_ONE, 0), 32);
    assert_eq!(alu("sign_extend_8 a0, a1", 0x80, 0), 0xffff_ffff_ffff_ff80);
    assert_eq!(
        alu("sign_extend_16 a0, a1", 0x1_8000, 0),
        0xffff_ffff_ffff_8000
    );
    assert_eq!(alu("zero_extend_16 a0, a1", MINUS_ONE, 0), 0xffff);
    assert_eq!(
        alu("reverse_byte a0, a1", 0x0102_0304_0506_0708, 0),
        0x0807_0605_0403_0201
    );
    assert_eq!(alu("load_imm a0, -1", 0, 0), MINUS_ONE);
    assert_eq!(
        alu("load_imm64 a0, 0x123456789abcdef0", 0, 0),
        0x1234_5678_9abc_def0
    );
}

#[test]
fn loads_and_stores_are_little_endian_and_may_be_unaligned() {
    // A1 holds a stack address; store 8 bytes unaligned and read them back at every width.
    let body = "
pub @main:
    add_imm_64 a1, sp, -13
    store_indirect_u64 a2, a1, 0
    load_indirect_u8 a0, a1, 0
    load_indirect_i8 a3, a1, 7
    load_indirect_u16 a4, a1, 1
    load_indirect_i32 a5, a1, 4
    load_indirect_u64 t0, a1, 0
    load_u32 t1, 0x10004
    jump_indirect ra, 0
";
    let (interrupt, instance) = run(body, &[0, 0, 0x8877_6655_4433_2211]);
    assert_eq!(interrupt, Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), 0x11);
    assert_eq!(instance.reg(Reg::A3), 0xffff_ffff_ffff_ff88);
    assert_eq!(instance.reg(Reg::A4), 0x3322);
    assert_eq!(instance.reg(Reg::A5), 0xffff_ffff_8877_6655);
    assert_eq!(instance.reg(Reg::T0), 0x8877_6655_4433_2211);
    assert_eq!(instance.reg(Reg::T1), 0x8877_6655, "ro data at 0x10000");
}

#[test]
fn out_of_bounds_access_and_writes_to_read_only_memory_trap() {
    for body in [
        "pub @main:\n load_u8 a0, 0x1000\n jump_indirect ra, 0\n",
        "pub @main:\n store_imm_u8 0x10000, 1\n jump_indirect ra, 0\n",
        "pub @main:\n load_u64 a0, 0x1fffc\n jump_indirect ra, 0\n",
        "pub @main:\n store_u32 a0, 0x20000\n jump_indirect ra, 0\n",
    ] {
        let (interrupt, instance) = run(body, &[]);
        assert_eq!(interrupt, Interrupt::Trap, "{body}");
        assert_eq!(
            instance.program_counter(),
            Some(0),
            "the faulting instruction's pc: {body}"
        );
    }
}

#[test]
fn fused_pairs_fault_and_take_the_slow_path_as_two_instructions() {
    // The interpreter fuses some adjacent pairs into one op; a fault in either half must
    // stop at that half's pc with the first half's effect (if it ran) kept.
    for (body, pc, a1) in [
        // add_64 (3 bytes) then a load that faults: a1 is updated, the load's pc reported.
        (
            "add_64 a1, a1, a2\n load_indirect_u64 a0, a1, 0\n",
            3,
            0x1000,
        ),
        // add_64 then a store below the address space.
        (
            "add_64 a1, a1, a2\n store_indirect_u64 a0, a1, 0\n",
            3,
            0x1000,
        ),
        // A faulting load then add_64: the add never runs.
        (
            "load_indirect_u64 a0, a1, 0\n add_64 a1, a1, a2\n",
            0,
            0x800,
        ),
    ] {
        let body = format!("pub @main:\n {body} jump_indirect ra, 0\n");
        let (interrupt, _) = run(&body, &[0, 0x800, 0x800]);
        assert_eq!(interrupt, Interrupt::Trap, "{body}");
        // The interpreter itself, in every instruction set that has the instructions.
        for isa in [InstructionSet::Latest64, InstructionSet::JamV1] {
            let config = ModuleConfig::default();
            let Some(mut instance) = instance_for(isa, &body, &config) else {
                continue;
            };
            instance.set_gas(1_000_000);
            instance
                .prepare_call_export("main", &[0, 0x800, 0x800])
                .unwrap();
            assert_eq!(instance.run().unwrap(), Interrupt::Trap, "{body}");
            assert_eq!(instance.program_counter(), Some(pc), "{isa}: {body}");
            assert_eq!(instance.reg(Reg::A1), a1, "{isa}: {body}");
        }
    }
    // Second halves that miss the fast view (uncommitted heap) but succeed, in a loop.
    let body = "
pub @main:
    sbrk a3, a1
    sbrk s1, a1
    load_imm a4, 3
    fallthrough
@again:
    add_64 a5, a3, a2
    store_indirect_u64 a5, a5, 8
    add_64 t0, a3, a2
    load_indirect_u64 t1, t0, 8
    load_indirect_u64 t2, a5, 8
    add_64 a0, a0, t1
    and_imm s0, t2, 0xff
    add_64 a0, a0, s0
    add_imm_64 a2, a2, 4096
    add_imm_64 a4, a4, -1
    branch_not_eq_imm a4, 0, @again
    jump_indirect ra, 0
";
    let (interrupt, instance) = run(body, &[0, 0x10000, 0]);
    assert_eq!(interrupt, Interrupt::Finished);
    let top = instance.reg(Reg::A3);
    let expected: u64 = (0..3)
        .map(|k| {
            let address = top + k * 4096;
            address + (address & 0xff)
        })
        .sum();
    assert_eq!(instance.reg(Reg::A0), expected);
}

#[test]
fn sbrk_grows_the_heap_and_returns_the_new_top() {
    let body = "
pub @main:
    load_imm a1, 0
    sbrk a2, a1
    load_imm a1, 100
    sbrk a3, a1
    store_indirect_u8 a1, a3, -1
    load_imm a1, -1
    sbrk a4, a1
    load_imm64 a1, 0xffffffff
    sbrk a5, a1
    jump_indirect ra, 0
";
    let (interrupt, instance) = run(body, &[]);
    assert_eq!(interrupt, Interrupt::Finished);
    let heap_base = instance.module().memory_map().unwrap().heap_base;
    assert_eq!(instance.reg(Reg::A2), u64::from(heap_base));
    assert_eq!(instance.reg(Reg::A3), u64::from(heap_base) + 100);
    assert_eq!(
        instance.reg(Reg::A4),
        u64::from(heap_base) + 100,
        "a size outside u32 reads as 0"
    );
    assert_eq!(
        instance.reg(Reg::A5),
        0,
        "growing past the maximum heap fails"
    );
    assert_eq!(instance.heap_size(), 100);
}

#[test]
fn memset_fills_and_charges_a_unit_per_byte() {
    let body = "
pub @main:
    add_imm_64 a0, sp, -64
    load_imm a1, 0xab
    load_imm a2, 10
    memset
    jump_indirect ra, 0
";
    let (interrupt, instance) = run(body, &[]);
    assert_eq!(interrupt, Interrupt::Finished);
    let end = instance.reg(Reg::A0) as u32;
    assert_eq!(instance.reg(Reg::A2), 0);
    assert_eq!(
        instance.read_memory(end - 10, 11).unwrap(),
        [vec![0xab; 10], vec![0]].concat()
    );
    // One block of 5 instructions plus one unit per byte.
    assert_eq!(1_000_000 - instance.gas(), 5 + 10);
}

#[test]
fn gas_is_charged_per_block_on_entry_and_stops_before_a_block_that_does_not_fit() {
    let body = "
pub @main:
    load_imm a0, 1
    load_imm a1, 2
    jump @next
@next:
    add_64 a0, a0, a1
    jump_indirect ra, 0
";
    let (interrupt, instance) = run_with(body, &[], &ModuleConfig::default(), 4);
    assert_eq!(interrupt, Interrupt::NotEnoughGas);
    assert_eq!(
        instance.gas(),
        1,
        "the first block (3 instructions) was charged, the second (2) did not fit"
    );
    assert_eq!(instance.reg(Reg::A0), 1);
    let next_pc = instance.program_counter().unwrap();
    assert_ne!(next_pc, 0);

    let mut instance = instance;
    instance.set_gas(instance.gas() + 1);
    assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    assert_eq!(instance.gas(), 0);
    assert_eq!(instance.reg(Reg::A0), 3);

    let (interrupt, instance) = run_with(body, &[], &ModuleConfig::default(), 2);
    assert_eq!(interrupt, Interrupt::NotEnoughGas);
    assert_eq!(
        instance.gas(),
        2,
        "gas is unchanged when the first block does not fit"
    );
    assert_eq!(instance.reg(Reg::A0), 0);
}

#[test]
fn ecalli_returns_to_the_host_and_resumes_after_it() {
    let source =
        ".import \"double\"\npub @main:\n ecalli 0\n add_imm_64 a0, a0, 1\n jump_indirect ra, 0\n";
    let blob = assemble(source).unwrap();
    let engine = Engine::new(&Config::default()).unwrap();
    let module = Module::from_blob(&engine, &ModuleConfig::default(), blob).unwrap();
    assert_eq!(module.imports(), ["double"]);
    let mut instance = module.instantiate().unwrap();
    instance.set_gas(100);
    instance.prepare_call_export("main", &[20]).unwrap();
    assert_eq!(instance.run().unwrap(), Interrupt::Ecalli(0));
    assert_eq!(instance.program_counter(), Some(0));
    let value = instance.reg(Reg::A0);
    instance.set_reg(Reg::A0, value * 2);
    assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), 41);
}

#[test]
fn control_flow_errors_trap_at_the_offending_instruction() {
    // A branch into the middle of a basic block.
    let body = "
pub @main:
    load_imm a0, 1
@middle:
    load_imm a1, 2
    branch_eq_imm a0, 1, @middle
    jump_indirect ra, 0
";
    let (interrupt, instance) = run(body, &[]);
    assert_eq!(interrupt, Interrupt::Trap);
    let branch_pc = instance.program_counter().unwrap();
    assert!(branch_pc > 0);

    // Dynamic jumps: 0, odd, past the table.
    for address in [0u64, 3, 1000] {
        let (interrupt, instance) = run("pub @main:\n jump_indirect a0, 0\n", &[address]);
        assert_eq!(interrupt, Interrupt::Trap, "jump to {address}");
        assert_eq!(instance.program_counter(), Some(0));
    }

    // Through the jump table to a real block.
    let body = "
pub @main:
    load_imm a1, @target
    jump_indirect a1, 0
@target:
    load_imm a0, 7
    jump_indirect ra, 0
";
    let (interrupt, instance) = run(body, &[]);
    assert_eq!(interrupt, Interrupt::Finished);
    assert_eq!(instance.reg(Reg::A0), 7);
}

#[test]
fn running_off_the_end_of_the_code() {
    let config = ModuleConfig::default();
    let run_one = |isa, body: &str| {
        let mut instance = instance_for(isa, body, &config).unwrap();
        instance.set_gas(100);
        instance.prepare_call_export("main", &[]).unwrap();
        let interrupt = instance.run().unwrap();
        let code_length = instance.module().blob().code.code.len() as u32;
        let pc = instance.program_counter().unwrap();
        (interrupt, pc, code_length, 100 - instance.gas())
    };
    // A plain last instruction runs into the implicit trap at pc = code length, charged
    // with its block.
    for isa in [
        InstructionSet::ReviveV1,
        InstructionSet::JamV1,
        InstructionSet::Graypaper,
    ] {
        let (interrupt, pc, code_length, gas) = run_one(isa, "pub @main:\n load_imm a0, 1\n");
        assert_eq!(
            (interrupt, pc, gas),
            (Interrupt::Trap, code_length, 2),
            "{isa}"
        );
    }
    // A trailing `fallthrough` or branch: PolkaVM traps at it; the Graypaper (and the
    // JAM vectors) fall into the implicit trap, a block of its own.
    for body in [
        "pub @main:\n fallthrough\n",
        "pub @main:\n branch_eq_imm a0, 1, @main\n",
    ] {
        for isa in [InstructionSet::ReviveV1, InstructionSet::JamV1] {
            let (interrupt, pc, _, gas) = run_one(isa, body);
            assert_eq!(
                (interrupt, pc, gas),
                (Interrupt::Trap, 0, 1),
                "{isa}: {body}"
            );
        }
        let (interrupt, pc, code_length, gas) = run_one(InstructionSet::Graypaper, body);
        assert_eq!(
            (interrupt, pc, gas),
            (Interrupt::Trap, code_length, 2),
            "{body}"
        );
    }
}

#[test]
fn step_tracing_stops_before_every_instruction() {
    let config = ModuleConfig {
        step_tracing: true,
        ..ModuleConfig::default()
    };
    let mut instance = instance_for(
        InstructionSet::JamV1,
        "pub @main:\n load_imm a0, 1\n add_imm_64 a0, a0, 1\n jump_indirect ra, 0\n",
        &config,
    )
    .unwrap();
    instance.set_gas(100);
    instance.prepare_call_export("main", &[]).unwrap();
    let mut pcs = Vec::new();
    loop {
        match instance.run().unwrap() {
            Interrupt::Step => pcs.push(instance.program_counter().unwrap()),
            Interrupt::Finished => break,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(pcs.len(), 3);
    assert_eq!(pcs[0], 0);
    assert_eq!(instance.reg(Reg::A0), 2);
}

#[test]
fn run_without_a_prepared_call_is_an_error_and_finished_instances_stop() {
    let mut instance = instance_for(
        InstructionSet::JamV1,
        "pub @main:\n jump_indirect ra, 0\n",
        &ModuleConfig::default(),
    )
    .unwrap();
    assert_eq!(instance.run(), Err(pvm_core::Error::NotRunnable));
    instance.set_gas(10);
    instance.prepare_call_export("main", &[]).unwrap();
    assert_eq!(instance.run().unwrap(), Interrupt::Finished);
    assert_eq!(instance.run(), Err(pvm_core::Error::NotRunnable));
    assert!(matches!(
        instance.prepare_call_export("nope", &[]),
        Err(pvm_core::Error::UnknownExport(_))
    ));
}

#[test]
fn custom_page_maps_are_validated() {
    use pvm_core::memory::PageMapping;
    use pvm_core::MemoryLayout;
    let blob = assemble(".isa jam_v1\npub @main:\n trap\n").unwrap();
    let engine = Engine::new(&Config::default()).unwrap();
    let page = |address, length| PageMapping {
        address,
        length,
        writable: true,
    };
    for pages in [
        vec![page(0x1000, 0x1000)],
        vec![page(0x10001, 0x1000)],
        vec![page(0x10000, 0x10)],
        vec![page(0xffff_f000, 0x2000)],
        vec![page(0x20000, 0x2000), page(0x21000, 0x1000)],
    ] {
        let config = ModuleConfig {
            memory: MemoryLayout::Custom(pages.clone()),
            ..ModuleConfig::default()
        };
        let result = Module::from_blob(&engine, &config, blob.clone());
        assert!(
            matches!(result, Err(pvm_core::Error::InvalidPageMapping { .. })),
            "{pages:x?}"
        );
    }
}

#[test]
fn the_heap_is_backed_lazily_and_bounded_by_the_memory_limit() {
    // A 1 MiB limit: the initial image fits, sbrk may map up to the limit and no further.
    let engine = Engine::new(&Config {
        memory_limit: 1 << 20,
        ..Config::default()
    })
    .unwrap();
    let source =
        ".isa latest64\n.stack_size 4096\npub @main:\n sbrk a0, a0\n jump_indirect ra, 0\n";
    let blob = assemble(source).unwrap();
    let module = Module::from_blob(&engine, &ModuleConfig::default(), blob).unwrap();
    let heap_base = module.memory_map().unwrap().heap_base;
    let sbrk = |size: u64| {
        let mut instance = module.instantiate().unwrap();
        instance.set_gas(100);
        instance.prepare_call_export("main", &[size]).unwrap();
        assert_eq!(instance.run().unwrap(), Interrupt::Finished);
        (instance.reg(Reg::A0), instance)
    };
    let (top, instance) = sbrk(512 << 10);
    assert_eq!(top, u64::from(heap_base) + (512 << 10));
    assert_eq!(sbrk(2 << 20).0, 0, "mapping past the memory limit fails");

    // Untouched heap reads as zero; a read past the mapped memory is refused before
    // anything is allocated.
    assert_eq!(
        instance.read_memory(heap_base + (256 << 10), 16).unwrap(),
        [0; 16]
    );
    assert!(matches!(
        instance.read_memory(heap_base, 32 << 20),
        Err(pvm_core::Error::MemoryAccess { .. })
    ));
}

#[test]
fn the_assembler_rejects_exports_without_code_and_nameless_labels() {
    assert!(assemble("pub @main:\n trap\npub @end:\n").is_err());
    assert!(assemble("@:\n trap\n").is_err());
}
