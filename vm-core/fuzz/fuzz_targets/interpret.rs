//! Builds a program from the input and runs it under the checking driver.
//!
//! Input layout (every read past the end gives zeros):
//!
//! ```text
//! byte 0      ISA (bits 0-1: ReviveV1, JamV1, Graypaper, Latest64), program mode (bits
//!             2-3: 0 raw code + bitmask from the input, 1 raw code with every byte an
//!             instruction start, 2 raw code with a bitmask derived from plausible
//!             instruction lengths, 3 structured program through the assembler)
//! byte 1      flags: bit 0 custom page map, bit 1 random cost table, bit 2 step-tracing
//!             differential run, bit 3 start at a chosen block (else the first), bit 4
//!             aux data, bits 5-6 page size, bit 7 override registers
//! 3 bytes     gas (mod 100_001)      2 bytes refill      4 bytes chunk sizes
//! 6 bytes     ro, rw and stack sizes (u16 each, ro/rw capped at 0x3000)
//! 8 + 8       ro data, rw data
//! 1 byte      jump-table entry count (raw modes)   then 2 bytes per entry
//! 2 bytes     start selector          8 bytes cost-table seed
//! [1 byte]    aux data size / 256 (when flagged)
//! 13 bytes    register selectors (+ payload bytes as selected, read later)
//! [pages]     custom page map (when flagged)
//! rest        code (raw modes) or instruction stream (structured mode)
//! ```
//!
//! Checks (beyond "never panics"): see `pvm_core_fuzz::execute`; plus the same run twice
//! gives an identical trace (determinism), and a run with the same total gas handed out
//! in chunks — with step tracing when the budget is small — ends in the same state.

#![no_main]

use libfuzzer_sys::fuzz_target;
use pvm_core::isa::decode_code;
use pvm_core::program::RETURN_TO_HOST;
use pvm_core::{InstructionSet, MemoryLayout, Module, ModuleConfig, ProgramBlob, Reg};
use pvm_core_fuzz::*;

fuzz_target!(|input: &[u8]| {
    let mut d = Data::new(input);
    let selector = d.u8();
    let isa = ISAS[usize::from(selector & 3)];
    let mode = (selector >> 2) & 3;
    let flags = d.u8();
    let custom = flags & 1 != 0;
    let gas = i64::from(u32::from_le_bytes([d.u8(), d.u8(), d.u8(), 0]) % 100_001);
    let refill = i64::from(d.u16() % 20_001);
    let chunks = d.take(4).to_vec();
    let ro_size = u32::from(d.u16()) % 0x3001;
    let rw_size = u32::from(d.u16()) % 0x3001;
    let stack_size = u32::from(d.u16());
    let ro_data = d.take(8).to_vec();
    let rw_data = d.take(8).to_vec();
    let ro_size = ro_size.max(ro_data.len() as u32);
    let rw_size = rw_size.max(rw_data.len() as u32);
    let jump_table_selectors: Vec<u16> = (0..d.u8() % 9).map(|_| d.u16()).collect();
    let start_selector = d.u16();
    let cost_seed = d.u64();
    let page_size = [0x1000, 0x4000, 0x10000, 0x2000][usize::from(flags >> 5) & 3];
    let aux = if flags & 0x10 != 0 {
        u32::from(d.u8()) * 0x100
    } else {
        0
    };
    let register_selectors = d.take(13).to_vec();
    let pages = if custom {
        custom_pages(&mut d)
    } else {
        Vec::new()
    };

    let map = if custom {
        None
    } else {
        map_for(page_size, ro_size, rw_size, stack_size, aux)
    };
    let mut addresses = standard_addresses(map.as_ref());
    addresses.extend(pages.iter().map(|p| p.address));
    addresses.extend(
        pages
            .iter()
            .map(|p| p.address.wrapping_add(p.length).wrapping_sub(8)),
    );

    let blob = if mode == 3 {
        let mut header = format!(
            ".isa {}\n.stack_size {stack_size}\n.ro_data_size {ro_size}\n.rw_data_size {rw_size}\n",
            isa.name()
        );
        for (name, data) in [("ro_data", &ro_data), ("rw_data", &rw_data)] {
            if !data.is_empty() {
                header.push('.');
                header.push_str(name);
                for byte in data {
                    header.push_str(&format!(" {byte:02x}"));
                }
                header.push('\n');
            }
        }
        let generated = generate(isa, &mut d, 96, &addresses, &header);
        let Some(blob) = generated.assemble_and_check() else {
            return;
        };
        if isa == InstructionSet::Graypaper {
            check_raw_round_trip(isa, &blob.code);
        } else {
            check_container_round_trip(&blob);
        }
        blob
    } else {
        let code = raw_code(isa, d.rest(), mode, &jump_table_selectors);
        ProgramBlob {
            isa,
            ro_data_size: ro_size,
            rw_data_size: rw_size,
            stack_size,
            ro_data: ro_data.clone(),
            rw_data: rw_data.clone(),
            imports: Vec::new(),
            exports: Vec::new(),
            code,
        }
    };
    if blob.code.code.len() > 8192 {
        return;
    }

    let stream = decode_code(blob.isa, &blob.code.code, &blob.code.bitmask);
    let block_starts: Vec<u32> = stream
        .instructions
        .iter()
        .zip(&stream.block_starts)
        .filter(|(_, &start)| start)
        .map(|(i, _)| i.pc)
        .collect();
    let start_pc = if flags & 8 == 0 {
        0
    } else if start_selector & 0x8000 == 0 {
        block_starts[usize::from(start_selector) % block_starts.len()]
    } else {
        u32::from(start_selector & 0x7fff) % (blob.code.code.len() as u32 + 2)
    };

    let mut registers = Vec::new();
    let mut arguments = Vec::new();
    for (index, &selector) in register_selectors.iter().enumerate() {
        let value = match selector % 8 {
            0 | 1 => continue,
            2 => {
                let base = addresses[usize::from(selector >> 3) % addresses.len()];
                u64::from(base.wrapping_add(u32::from(d.u8()) & !7))
            }
            3 => d.u64(),
            4 => u64::from(selector >> 3),
            5 => u64::from(RETURN_TO_HOST),
            6 => u64::from(selector >> 3) * 2,
            _ => (i64::from(d.u8() as i8)) as u64,
        };
        if flags & 0x80 != 0 {
            registers.push((Reg::ALL[index], value));
        } else if arguments.len() < Reg::ARG_REGS.len() {
            arguments.push(value);
        }
    }

    let engine = engine();
    let mut config = ModuleConfig {
        page_size,
        aux_data_size: aux,
        cost_table: cost_table(flags & 2 != 0, cost_seed),
        memory: if custom {
            MemoryLayout::Custom(pages)
        } else {
            MemoryLayout::Standard
        },
        ..ModuleConfig::default()
    };
    let Ok(module) = Module::from_blob(&engine, &config, blob.clone()) else {
        return;
    };
    // Standard-layout modules must also accept the layout the harness computed.
    if !custom {
        assert_eq!(
            module.memory_map().copied(),
            map,
            "memory map differs from MemoryMap::new"
        );
    }

    let setup = Setup {
        start_pc,
        args: arguments,
        regs: registers,
        gas,
        refill,
        chunks,
        max_interrupts: 128,
    };
    let first = execute(&module, &stream, &setup, Schedule::Refill);
    let second = execute(&module, &stream, &setup, Schedule::Refill);
    assert_eq!(first, second, "two identical runs differ");

    // The same budget in chunks (with step tracing when the budget is small) must end
    // in the same state.
    let step = flags & 4 != 0 && gas + refill <= 20_000;
    config.step_tracing = step;
    let other = if step {
        Module::from_blob(&engine, &config, blob).expect("only step tracing changed")
    } else {
        module
    };
    let chunked = execute(&other, &stream, &setup, Schedule::Chunked);
    if !first.truncated && !chunked.truncated {
        assert_eq!(
            first.final_state(),
            chunked.final_state(),
            "chunked gas{} ended differently",
            if step { " with step tracing" } else { "" }
        );
    }
});
