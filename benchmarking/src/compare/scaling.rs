//! Compile time against code size: generated programs from 1 KiB to 1 MiB of code, compiled
//! by both VMs, with a least-squares line through each VM's points.

use anyhow::{anyhow, Result};

/// A ReviveV1 program (a bitmask instruction set, so no macro-block rules constrain the
/// generator) whose code section is at least `code_bytes` long: a chain of basic blocks
/// mixing ALU work, stack loads and stores and a conditional branch, ending in a return.
/// Returns the container bytes and the code size.
pub fn generated_program(code_bytes: usize) -> Result<(Vec<u8>, usize)> {
    // Measure one block's size on a small sample, then size the real program.
    let sample_blocks = 64;
    let (_, sample_size) = assemble_blocks(sample_blocks)?;
    let per_block = sample_size.div_ceil(sample_blocks).max(1);
    let mut blocks = code_bytes.div_ceil(per_block).max(1);
    loop {
        let (bytes, size) = assemble_blocks(blocks)?;
        if size >= code_bytes {
            return Ok((bytes, size));
        }
        // Block sizes vary with their immediates: grow in proportion and try again.
        blocks = blocks * code_bytes / size.max(1) + 1;
    }
}

fn assemble_blocks(blocks: usize) -> Result<(Vec<u8>, usize)> {
    let source = pvm_core::asm::chained_blocks_source(blocks, &["main"]);
    let blob = pvm_core::asm::assemble(&source).map_err(|e| anyhow!("generator: {e}"))?;
    let size = blob.code.code.len();
    let bytes = blob
        .to_bytes()
        .ok_or_else(|| anyhow!("generator: ReviveV1 blobs have a container form"))?;
    Ok((bytes, size))
}

/// A least-squares line `y = slope * x + intercept` and its coefficient of determination.
#[derive(Copy, Clone, Debug)]
pub struct Fit {
    /// Change in `y` per unit of `x`.
    pub slope: f64,
    /// `y` at `x = 0`.
    pub intercept: f64,
    /// R², 1 for points exactly on the line.
    pub r_squared: f64,
}

/// Fits a line through `points`.
pub fn linear_fit(points: &[(f64, f64)]) -> Fit {
    let n = points.len() as f64;
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    let slope = if sxx == 0.0 { 0.0 } else { sxy / sxx };
    let intercept = mean_y - slope * mean_x;
    let ss_res: f64 = points
        .iter()
        .map(|p| (p.1 - (slope * p.0 + intercept)).powi(2))
        .sum();
    let ss_tot: f64 = points.iter().map(|p| (p.1 - mean_y).powi(2)).sum();
    let r_squared = if ss_tot == 0.0 {
        1.0
    } else {
        1.0 - ss_res / ss_tot
    };
    Fit {
        slope,
        intercept,
        r_squared,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_fits_exactly() {
        let fit = linear_fit(&[(1.0, 5.0), (2.0, 7.0), (4.0, 11.0)]);
        assert!((fit.slope - 2.0).abs() < 1e-9);
        assert!((fit.intercept - 3.0).abs() < 1e-9);
        assert!((fit.r_squared - 1.0).abs() < 1e-9);
    }

    #[test]
    fn generated_programs_reach_their_size_and_run() {
        let (bytes, size) = generated_program(2048).unwrap();
        assert!((2048..4096).contains(&size), "{size}");
        let engine = pvm_core::Engine::new(&pvm_core::Config::default()).unwrap();
        let module =
            pvm_core::Module::new(&engine, &pvm_core::ModuleConfig::default(), &bytes).unwrap();
        let mut instance = module.instantiate().unwrap();
        instance.set_gas(1 << 30);
        instance.prepare_call_export("main", &[]).unwrap();
        assert_eq!(instance.run().unwrap(), pvm_core::Interrupt::Finished);
    }
}
