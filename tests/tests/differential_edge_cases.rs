//! Small hand-written programs for every divergence the differential fuzzers found, so each
//! has a minimal, readable reproducer and a regression test. Each test runs its program on
//! pvm-core and polkavm 0.37 through the same harness as the fuzzers and requires identical
//! behaviour; the doc comment of each says what differs and what polkavm does. (Where it
//! matters: polkavm's recompiler backend behaves exactly like its interpreter on every one of
//! these programs, checked by hand on x86-64 Linux.)

mod common;

use common::{pair, polkavm_engine, PolkaVm};
use pvm_core::program::{CodeSection, ProgramBlob};
use pvm_core::Reg;
use pvm_tests::differential::{CallEnd, Exit, MixingHost, Vm};

/// Assembles `source`, runs export `main` on both VMs with `args` and `gas`, and fails with
/// the program and the first difference if they disagree. Returns how the call ended.
fn agree(source: &str, args: &[u64], gas: i64) -> CallEnd {
    let blob = pvm_core::asm::assemble(source).unwrap_or_else(|e| panic!("{e}\n{source}"));
    agree_blob(&blob, source, args, gas)
}

fn agree_blob(blob: &ProgramBlob, description: &str, args: &[u64], gas: i64) -> CallEnd {
    let bytes = blob.to_bytes().expect("container instruction set");
    let engine = polkavm_engine();
    let mut pair = pair(&engine, &bytes).unwrap_or_else(|e| panic!("{e:?}\n{description}"));
    let pc = pair.exports.first().map_or(0, |(_, pc)| *pc);
    let vms = &mut pair.vms;
    let mut hosts = (MixingHost::default(), MixingHost::default());
    let result = vms
        .prepare_call(pc, args, gas)
        .and_then(|()| vms.run_call(&mut hosts.0, &mut hosts.1, 100));
    match result {
        Ok(end) => end,
        Err(divergence) => panic!(
            "{divergence}\nsteps:\n{}program:\n{description}",
            vms.recent_log(10)
        ),
    }
}

/// `memset` costs 1 gas like every instruction in the naive model, plus 1 per byte written
/// (`CostModel::naive()` sets every field to 1; `GasVisitor::memset` adds
/// `cost_model.memset`); a `memset` cut short by gas stops before the byte it cannot pay.
#[test]
fn memset_costs_one_gas_plus_one_per_byte() {
    let source = "
        .isa latest64
        .rw_data_size 64
        pub @main:
            load_imm a0, 0x30000
            load_imm a1, 0xaa
            load_imm a2, 0
            memset
            jump_indirect ra, 0
    ";
    agree(source, &[], 100);
}

/// A basic block that starts with `unlikely` (JamV1, Latest64) keeps the block's own pc for
/// `next_program_counter()` and for `NotEnoughGas`, although pvm-core's interpreter drops the
/// `unlikely` op itself.
#[test]
fn a_block_starting_with_unlikely_keeps_its_pc() {
    for isa in ["jam_v1", "latest64"] {
        let source = format!(
            "
            .isa {isa}
            pub @main:
                unlikely
                load_imm a0, 1
                jump_indirect ra, 0
        "
        );
        agree(&source, &[], 0);
        agree(&source, &[], 100);
    }
}

/// A conditional branch whose target starts no basic block (here the middle of a block)
/// traps at the branch even when it is *not taken* (`emit_branch!` in polkavm's interpreter
/// checks `is_jump_target_valid(target)` when compiling the block). (For raw Graypaper code
/// pvm-core follows the Graypaper instead: only a taken bad branch traps.)
#[test]
fn an_untaken_branch_to_the_middle_of_a_block_traps() {
    for isa in ["revive_v1", "jam_v1", "latest64"] {
        let source = format!(
            "
            .isa {isa}
            pub @main:
                branch_eq_imm a0, 1, @middle
                load_imm a1, 2
            @middle:
                load_imm a2, 3
                jump_indirect ra, 0
        "
        );
        agree(&source, &[0], 100);
    }
}

/// A conditional branch that is the last instruction (not taking it would leave the code)
/// traps at the branch: its fall-through target is not a valid jump target, or for Latest64
/// not below the code length. JamV1 is left out: polkavm rejects such JamV1 code when it
/// loads the module (see `jam_v1_code_with_an_invalid_instruction`).
#[test]
fn a_branch_at_the_end_of_the_code_traps_at_the_branch() {
    for isa in ["revive_v1", "latest64"] {
        let source = format!(
            "
            .isa {isa}
            pub @main:
            @top:
                load_imm a1, 2
                branch_eq_imm a0, 1, @top
        "
        );
        agree(&source, &[0], 100);
    }
}

/// `fallthrough` as the last instruction: polkavm's `unresolved_fallthrough` finds no block at
/// the end of the code and traps at the `fallthrough` (JamV1 left out as above).
#[test]
fn a_fallthrough_at_the_end_of_the_code_traps_at_the_fallthrough() {
    for isa in ["revive_v1", "latest64"] {
        let source = format!(
            "
            .isa {isa}
            pub @main:
                load_imm a1, 2
                fallthrough
        "
        );
        agree(&source, &[0], 100);
        agree(&source, &[0], 2);
    }
}

/// A jump table whose entries are 0 bytes wide: polkavm's `JumpTable::len` is 0 for entry
/// size 0 and `get_by_index` returns `None`, so every dynamic jump traps. With 1-byte entries
/// the same jump lands at pc 0. (pvm-core's assembler never writes size 0 for a non-empty
/// table, so the section is built by hand.)
#[test]
fn a_jump_table_with_zero_byte_entries() {
    let source = "
        .isa revive_v1
        pub @main:
        @start:
            branch_eq_imm a1, 1, @done
            load_imm a1, 1
            load_imm t0, @start
            jump_indirect t0, 0
        @done:
            jump_indirect ra, 0
    ";
    let blob = pvm_core::asm::assemble(source).expect("assembles");
    assert_eq!(blob.code.jump_table_entry_size, 1);
    assert_eq!(
        agree_blob(&blob, source, &[], 100),
        CallEnd::Exit(Exit::Finished)
    );

    let mut zero_bytes = blob.clone();
    zero_bytes.code = CodeSection {
        jump_table: vec![],
        jump_table_len: 1,
        jump_table_entry_size: 0,
        ..blob.code.clone()
    };
    assert_eq!(
        agree_blob(&zero_bytes, source, &[], 100),
        CallEnd::Exit(Exit::Trap)
    );
}

/// A bitmask without the bit for offset 0: the bytes from 0 to the first marked offset are an
/// invalid instruction, which traps when entered at 0 (see also
/// `opcode_table::a_bitmask_without_bit_0_decodes_alike`). JamV1 left out as above.
#[test]
fn code_whose_bitmask_does_not_mark_offset_0() {
    let source = ".isa revive_v1\npub @main:\n load_imm a0, 5\n jump_indirect ra, 0\n";
    let mut blob = pvm_core::asm::assemble(source).expect("assembles");
    blob.code.bitmask[0] &= !1;
    agree_blob(&blob, &format!("{source}(bitmask bit 0 cleared)"), &[], 100);
}

/// `sbrk` of 2 GiB - 1 on a fresh Latest64 instance: below `max_heap_size`, so it is granted;
/// both VMs back the heap with host memory only when the guest touches it.
#[test]
fn sbrk_of_almost_two_gibibytes_is_granted_lazily() {
    let source = "
        .isa latest64
        pub @main:
            load_imm64 a0, 0x7fffffff
            sbrk a0, a0
            jump_indirect ra, 0
    ";
    agree(source, &[], 100);
}

/// JamV1 code with an invalid instruction: polkavm refuses to compile it ("validation failed
/// at offset 0"; `Module::from_blob` runs `validate_code_with_isa(ISA_JamV1)`), pvm-core
/// accepts it and traps when the instruction runs, as the Graypaper specifies. This test pins
/// both behaviours; it is not a pvm-core bug.
#[test]
fn jam_v1_code_with_an_invalid_instruction() {
    let source = ".isa jam_v1\npub @main:\n load_imm a0, 5\n jump_indirect ra, 0\n";
    let mut blob = pvm_core::asm::assemble(source).expect("assembles");
    blob.code.code[0] = 255; // no JamV1 opcode
    let bytes = blob.to_bytes().expect("container");
    let error = PolkaVm::new(&polkavm_engine(), &bytes)
        .err()
        .expect("polkavm rejects it");
    assert!(error.contains("validation failed"), "{error}");

    let mut ours = pvm_tests::differential::PvmCoreVm::new(&bytes).expect("pvm-core accepts it");
    ours.prepare_call(0, 0xfffe_0000, &[]);
    ours.set_gas(100);
    assert_eq!(ours.run(), Ok(Exit::Trap));
    assert_eq!(ours.program_counter(), Some(0));
}

/// `Instance::prepare_call` after an earlier call clears every register first, as polkavm's
/// `prepare_call_untyped` does. (The harness clears registers itself, so only this test sees
/// it.)
#[test]
fn prepare_call_clears_the_registers_of_the_previous_call() {
    let source = "
        .isa latest64
        pub @main:
            load_imm s0, 7
            load_imm a3, 9
            jump_indirect ra, 0
    ";
    let bytes = pvm_core::asm::assemble(source)
        .expect("assembles")
        .to_bytes()
        .expect("container");
    let engine = polkavm_engine();
    let (mut theirs, _) = PolkaVm::new(&engine, &bytes).expect("polkavm");
    let mut ours = pvm_tests::differential::PvmCoreVm::new(&bytes).expect("pvm-core");
    for _ in 0..2 {
        theirs
            .instance
            .prepare_call_untyped(polkavm::ProgramCounter(0), &[1]);
        ours.instance.prepare_call(0, &[1]).expect("prepared");
        assert_eq!(ours.regs(), theirs.regs(), "registers after prepare_call");
        ours.set_gas(100);
        theirs.set_gas(100);
        assert_eq!(ours.run(), Ok(Exit::Finished));
        assert_eq!(theirs.run(), Ok(Exit::Finished));
        assert_eq!(ours.reg(Reg::S0), 7);
    }
}
