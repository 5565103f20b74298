//! `pvm-node benchmark-block`: executes blocks of the chain in the node's database again as
//! block import does (`Core_execute_block` on the parent's state, through the node's
//! executor with the pvm extension), and sets the time beside the weight the runtime
//! charged for them (`System::BlockWeight` at the block's end).
//!
//! It also executes each block once recording the storage proof, whose size stands beside
//! the proof size the runtime charged.
//!
//! A weight is a promise that a block's import takes at most that long; this measures
//! whether the promise holds for blocks a chain really made (e.g. a block full of contract
//! calls), on this machine, for the backend chosen with `--pvm-backend`.

use crate::service::{Block, FullClient};
use codec::{Compact, Decode, Encode};
use sc_client_api::{BlockBackend, StorageProvider};
use sp_api::{ApiExt, CallContext, Core, ProvideRuntimeApi};
use sp_blockchain::HeaderBackend;
use sp_core::storage::StorageKey;
use sp_runtime::traits::{Block as BlockT, Header as HeaderT};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// `benchmark-block`'s arguments.
#[derive(Debug, clap::Parser)]
pub struct BenchmarkBlockCmd {
    /// The first block to execute.
    #[arg(long)]
    pub from: u32,

    /// The last block to execute (inclusive).
    #[arg(long)]
    pub to: u32,

    /// Timed executions of each block, after one untimed (which compiles the runtime and
    /// warms the caches); the minimum and the median are reported.
    #[arg(long, default_value_t = 10)]
    pub repeat: u32,

    #[allow(missing_docs)]
    #[command(flatten)]
    pub shared_params: sc_cli::SharedParams,

    #[allow(missing_docs)]
    #[command(flatten)]
    pub import_params: sc_cli::ImportParams,
}

impl sc_cli::CliConfiguration for BenchmarkBlockCmd {
    fn shared_params(&self) -> &sc_cli::SharedParams {
        &self.shared_params
    }

    fn import_params(&self) -> Option<&sc_cli::ImportParams> {
        Some(&self.import_params)
    }
}

/// One block's figures, printed as a JSON line.
#[derive(Debug)]
struct BlockFigures {
    number: u32,
    extrinsics: usize,
    ref_time: u64,
    proof_size: u64,
    min: Duration,
    median: Duration,
    proof_bytes: usize,
}

impl BlockFigures {
    fn json(&self) -> String {
        let ps = |d: Duration| d.as_nanos() as f64 * 1000.0;
        serde_json::json!({
            "block": self.number,
            "extrinsics": self.extrinsics,
            "weight_ref_time_ps": self.ref_time,
            "weight_proof_size": self.proof_size,
            // The storage proof the block's execution really needs (recorded, not compacted).
            "proof_bytes": self.proof_bytes,
            "import_min_ns": self.min.as_nanos() as u64,
            "import_median_ns": self.median.as_nanos() as u64,
            // Above 1: the weight covers the time (the fastest run: the machine's floor).
            "weight_over_min_time": self.ref_time as f64 / ps(self.min),
            "weight_over_median_time": self.ref_time as f64 / ps(self.median),
        })
        .to_string()
    }
}

/// `System::BlockWeight` at `hash`: the weight consumed in the block, summed over the
/// dispatch classes (normal, operational, mandatory), after the refunds of actual weight.
fn block_weight(client: &FullClient, hash: <Block as BlockT>::Hash) -> sc_cli::Result<(u64, u64)> {
    let key = [
        sp_io::hashing::twox_128(b"System"),
        sp_io::hashing::twox_128(b"BlockWeight"),
    ]
    .concat();
    let bytes = client
        .storage(hash, &StorageKey(key))
        .map_err(|error| sc_cli::Error::Input(format!("System::BlockWeight: {error}")))?
        .ok_or_else(|| sc_cli::Error::Input(format!("no System::BlockWeight at {hash}")))?;
    // `PerDispatchClass<Weight>`: three weights of two compact integers each.
    let classes = <[(Compact<u64>, Compact<u64>); 3]>::decode(&mut &bytes.0[..])
        .map_err(|error| sc_cli::Error::Input(format!("System::BlockWeight: {error}")))?;
    Ok(classes.iter().fold((0, 0), |(ref_time, proof), (r, p)| {
        (ref_time + r.0, proof + p.0)
    }))
}

impl BenchmarkBlockCmd {
    /// Executes blocks `from..=to` `repeat` times each and prints a JSON line per block.
    pub fn run(&self, client: Arc<FullClient>) -> sc_cli::Result<()> {
        if self.from == 0 || self.from > self.to || self.repeat == 0 {
            return Err(sc_cli::Error::Input(
                "expected 1 <= --from <= --to and --repeat >= 1 (genesis is not executed)".into(),
            ));
        }
        let best = client.info().best_number;
        if self.to > best {
            return Err(sc_cli::Error::Input(format!(
                "block {} asked, the chain's best is {best}",
                self.to
            )));
        }
        for number in self.from..=self.to {
            let figures = self.execute(&client, number)?;
            println!("{}", figures.json());
        }
        Ok(())
    }

    fn execute(&self, client: &FullClient, number: u32) -> sc_cli::Result<BlockFigures> {
        let missing = |what: &str| sc_cli::Error::Input(format!("block {number}: no {what}"));
        let hash = client
            .hash(number)
            .map_err(|error| sc_cli::Error::Input(error.to_string()))?
            .ok_or_else(|| missing("hash"))?;
        let block = client
            .block(hash)
            .map_err(|error| sc_cli::Error::Input(error.to_string()))?
            .ok_or_else(|| missing("body"))?
            .block;
        let parent = *block.header().parent_hash();
        let (ref_time, proof_size) = block_weight(client, hash)?;

        let mut times = Vec::with_capacity(self.repeat as usize);
        for round in 0..=self.repeat {
            // As block import calls it: on-chain context, on the parent's state.
            let mut runtime = client.runtime_api();
            runtime.set_call_context(CallContext::Onchain { import: true });
            let block = block.clone();
            let started = Instant::now();
            runtime
                .execute_block(parent, block.into())
                .map_err(|error| sc_cli::Error::Input(format!("block {number}: {error}")))?;
            let elapsed = started.elapsed();
            if round > 0 {
                times.push(elapsed);
            }
        }
        times.sort();

        // Once more, recording the storage proof (untimed: recording slows execution).
        let mut runtime = client.runtime_api();
        runtime.set_call_context(CallContext::Onchain { import: true });
        runtime.record_proof();
        runtime
            .execute_block(parent, block.clone().into())
            .map_err(|error| sc_cli::Error::Input(format!("block {number}: {error}")))?;
        let proof_bytes = runtime
            .extract_proof()
            .map_or(0, |proof| proof.encoded_size());

        Ok(BlockFigures {
            number,
            extrinsics: block.extrinsics().len(),
            ref_time,
            proof_size,
            min: times[0],
            median: times[times.len() / 2],
            proof_bytes,
        })
    }
}
