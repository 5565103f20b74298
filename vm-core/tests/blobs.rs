//! Program blob parsing: round trips, every malformed-input error, and decoding rules.

use pvm_core::asm::assemble;
use pvm_core::isa::{decode_code, Args, Opcode, RawInstruction};
use pvm_core::program::{CodeSection, ProgramBlob, ProgramError, MAX_CODE_SIZE};
use pvm_core::{Config, Engine, Error, InstructionSet, Module, ModuleConfig, Reg};

fn sample() -> ProgramBlob {
    assemble(
        ".isa jam_v1\n.import \"a\"\n.import \"bc\"\n.ro_data 01 02\n.rw_data 03\n.stack_size 4096\npub @main:\n ecalli 1\n load_imm t0, @main\n jump_indirect ra, 0\n",
    )
    .unwrap()
}

#[test]
fn containers_round_trip() {
    for isa in ["jam_v1", "revive_v1", "latest64"] {
        let source = format!(".isa {isa}\n.import \"host\"\n.rw_data 03 04\npub @f:\n add_64 a0, a0, a1\n load_imm t0, @f\n jump_indirect ra, 0\n");
        let blob = assemble(&source).unwrap();
        let bytes = blob.to_bytes().unwrap();
        assert_eq!(ProgramBlob::parse(&bytes).unwrap(), blob, "{isa}");
    }
    let blob = sample();
    assert_eq!(blob.imports, ["a", "bc"]);
    assert_eq!(blob.exports[0].symbol, "main");
    assert_eq!(blob.code.jump_table_entry(0), Some(0));
}

#[test]
fn every_malformed_container_gets_its_own_error() {
    let good = sample().to_bytes().unwrap();
    let set_length = |bytes: &mut Vec<u8>| {
        let length = bytes.len() as u64;
        bytes[5..13].copy_from_slice(&length.to_le_bytes());
    };

    assert_eq!(ProgramBlob::parse(b"ELF\0"), Err(ProgramError::BadMagic));
    assert_eq!(ProgramBlob::parse(&[]), Err(ProgramError::BadMagic));

    let mut bytes = good.clone();
    bytes[4] = 9;
    assert_eq!(
        ProgramBlob::parse(&bytes),
        Err(ProgramError::UnsupportedVersion(9))
    );

    let mut bytes = good.clone();
    bytes.push(0);
    assert!(matches!(
        ProgramBlob::parse(&bytes),
        Err(ProgramError::LengthMismatch { .. })
    ));

    // Truncations anywhere give a typed error, never a panic.
    for cut in 0..good.len() {
        let mut bytes = good[..cut].to_vec();
        if bytes.len() >= 13 {
            set_length(&mut bytes);
        }
        assert!(ProgramBlob::parse(&bytes).is_err(), "truncated at {cut}");
    }

    // An unknown required section.
    let mut bytes = good[..13].to_vec();
    bytes.extend_from_slice(&[7, 0, 0]);
    set_length(&mut bytes);
    assert!(matches!(
        ProgramBlob::parse(&bytes),
        Err(ProgramError::UnexpectedSection { section: 7, .. })
    ));

    // No code section.
    let mut bytes = good[..13].to_vec();
    bytes.push(0);
    set_length(&mut bytes);
    assert_eq!(ProgramBlob::parse(&bytes), Err(ProgramError::NoCode));

    // Unknown optional sections are skipped.
    let mut bytes = good.clone();
    bytes.pop();
    bytes.extend_from_slice(&[200, 2, 9, 9, 0]);
    set_length(&mut bytes);
    assert_eq!(ProgramBlob::parse(&bytes).unwrap(), sample());
}

#[test]
fn malformed_code_sections() {
    let isa = InstructionSet::Graypaper;
    // Bitmask too short, padding bits set, jump table entry size 5, oversized code.
    assert!(matches!(
        CodeSection::parse_raw(isa, &[0, 0, 9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1]),
        Err(ProgramError::BitmaskLengthMismatch {
            bitmask_length: 1,
            expected: 2
        })
    ));
    assert_eq!(
        CodeSection::parse_raw(isa, &[0, 0, 1, 0, 0b11]),
        Err(ProgramError::BitmaskPaddingNotZero)
    );
    assert_eq!(
        CodeSection::parse_raw(isa, &[0, 5, 1, 0, 1]),
        Err(ProgramError::BadJumpTableEntrySize(5))
    );
    assert!(matches!(
        CodeSection::parse_raw(isa, &[0, 0, 0xe4, 0, 0, 0]),
        Err(ProgramError::CodeTooLarge { .. } | ProgramError::UnexpectedEnd { .. })
    ));
    assert!(matches!(
        CodeSection::parse_raw(isa, &[0xf0, 0xff, 0xff, 0xff, 0xff]),
        Err(ProgramError::JumpTableTooLarge { .. })
    ));
    // A huge declared jump table with 4-byte entries cannot allocate past the input.
    assert!(matches!(
        CodeSection::parse_raw(isa, &[0xc0, 0xff, 0xff, 4, 0]),
        Err(ProgramError::UnexpectedEnd { .. })
    ));
    // Entry size 0: many entries, no storage, none usable (as in PolkaVM).
    let section = CodeSection::parse_raw(isa, &[0xc0, 0xff, 0xff, 0, 1, 0, 1]).unwrap();
    assert_eq!(section.jump_table_len, 0xffff);
    assert!(section.jump_table.is_empty());
    assert_eq!(section.jump_table_entry(0), None);
}

// Lengths a blob declares reach `u32::MAX`, and an offset plus such a length is past what
// a 32-bit `usize` (wasm32, i686) holds. These are refused with the same typed error and
// the same figures on every target, never wrapped into a small in-bounds read.
#[test]
fn lengths_past_a_32_bit_usize_are_refused_alike_on_every_target() {
    let good = sample().to_bytes().unwrap();
    let set_length = |bytes: &mut Vec<u8>| {
        let length = u64::try_from(bytes.len()).unwrap();
        bytes[5..13].copy_from_slice(&length.to_le_bytes());
    };
    // A read-only data section of u32::MAX bytes, three of them present: its end, offset
    // 19 + 0xffff_ffff, does not fit a 32-bit usize.
    let mut bytes = good[..13].to_vec();
    bytes.extend_from_slice(&[2, 0xf0, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    set_length(&mut bytes);
    assert_eq!(
        ProgramBlob::parse(&bytes),
        Err(ProgramError::UnexpectedEnd {
            what: "ro data",
            offset: 19,
            needed: 0xffff_ffff,
            available: 3,
        })
    );

    let isa = InstructionSet::Graypaper;
    // A raw code blob declaring u32::MAX code bytes.
    assert_eq!(
        CodeSection::parse_raw(isa, &[0, 0, 0xf0, 0xff, 0xff, 0xff, 0xff, 0]),
        Err(ProgramError::CodeTooLarge {
            size: 0xffff_ffff,
            limit: MAX_CODE_SIZE,
        })
    );
    // The largest jump table (16 Mi entries of 4 bytes, after a code length of 0), absent.
    assert_eq!(
        CodeSection::parse_raw(isa, &[0xe1, 0, 0, 0, 4, 0, 9]),
        Err(ProgramError::UnexpectedEnd {
            what: "jump table",
            offset: 6,
            needed: 64 << 20,
            available: 1,
        })
    );
}

// A blob built by hand skips the parser; instantiating it checks the code size the
// decoders rely on (their offsets are `u32`s), instead of decoding past it.
#[test]
fn hand_built_blobs_with_oversized_code_are_refused() {
    let mut blob = sample();
    let size = usize::try_from(MAX_CODE_SIZE).unwrap() + 1;
    blob.code.code = vec![0; size];
    let engine = Engine::new(&Config::default()).unwrap();
    assert_eq!(
        Module::from_blob(&engine, &ModuleConfig::default(), blob).map(|_| ()),
        Err(Error::Program(ProgramError::CodeTooLarge {
            size: u64::from(MAX_CODE_SIZE) + 1,
            limit: MAX_CODE_SIZE,
        }))
    );
}

// A located instruction made by hand may point its operands anywhere. At the top of the
// 32-bit range, the offsets after the first operand byte wrapped on a 32-bit target (a
// panic in debug builds, the code's first bytes read in release ones); now every byte
// past the end reads as zero, as on 64 bits.
#[test]
fn operands_past_the_end_of_the_code_read_as_zero_on_every_target() {
    let code = [0xffu8; 16];
    for &opcode in Opcode::ALL {
        let raw = RawInstruction {
            pc: 0,
            length: 1,
            opcode_index: u8::try_from(opcode.index()).unwrap(),
            args_at: u32::MAX,
            args_length: 14,
        };
        let zeros = RawInstruction { args_at: 0, ..raw };
        assert_eq!(raw.decode(&code), zeros.decode(&[0; 16]), "{opcode}");
    }
}

#[test]
fn register_nibbles_above_twelve_read_as_a5() {
    // move_reg (100) with nibbles 15 and 13.
    let code = [100u8, 0xdf];
    let stream = decode_code(InstructionSet::Graypaper, &code, &[0b01]);
    let instruction = stream.instructions[0].instruction.unwrap();
    assert_eq!(instruction.opcode, Opcode::MoveReg);
    assert_eq!(instruction.args, Args::RegReg(Reg::A5, Reg::A5));
}

#[test]
fn skips_longer_than_24_bytes_become_an_invalid_instruction() {
    // load_imm a0 with 30 argument bytes: the instruction takes 25 bytes, the rest is invalid.
    let mut code = vec![51u8, 7];
    code.extend_from_slice(&[0xff; 29]);
    code.push(0); // trap
    let mut bitmask = vec![0u8; code.len().div_ceil(8)];
    bitmask[0] = 1;
    bitmask[31 / 8] |= 1 << (31 % 8);
    let stream = decode_code(InstructionSet::Graypaper, &code, &bitmask);
    let pcs: Vec<(u32, u32, bool)> = stream
        .instructions
        .iter()
        .map(|i| (i.pc, i.length, i.instruction.is_some()))
        .collect();
    assert_eq!(pcs, [(0, 25, true), (25, 6, false), (31, 1, true)]);
    // The immediate is 4 bytes at most, sign-extended.
    assert_eq!(
        stream.instructions[0].instruction.unwrap().args,
        Args::RegImm(Reg::A0, u32::MAX)
    );
}

#[test]
fn latest64_instructions_may_not_straddle_macro_blocks() {
    // 1023 one-byte `fallthrough`s, then a 2-byte instruction crossing the boundary.
    let mut code = vec![1u8; 1023];
    code.extend_from_slice(&[227, 0x87, 0]);
    let stream = decode_code(InstructionSet::Latest64, &code, &[]);
    let crossing = stream.instructions.iter().find(|i| i.pc == 1023).unwrap();
    assert!(
        crossing.instruction.is_none(),
        "an instruction crossing the boundary is invalid"
    );
    assert_eq!(crossing.length, 1);
    let at_boundary = stream
        .instructions
        .iter()
        .position(|i| i.pc == 1024)
        .unwrap();
    assert!(stream.block_starts[at_boundary]);
}
