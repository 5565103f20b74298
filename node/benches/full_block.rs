//! A block full of contract calls, made and imported by `pvm-node`.
//!
//! For each runtime variant: a dev chain on a temporary database deploys the example token
//! contract; the node is restarted with manual sealing, the pool is filled with more token
//! transfers (each to a new holder, so each writes a new storage entry) than a block can
//! hold, and one block is sealed with `engine_createBlock`: the block builder takes calls
//! until the block's weight (normal class: 75% of 2 s of `ref_time` and of 5 MiB of proof)
//! is used up. Then the node is stopped and `pvm-node benchmark-block` executes that block
//! again as import does, with each backend of the engine, and its time is set beside the
//! weight the runtime charged for it.
//!
//! `cargo bench --manifest-path node/Cargo.toml --bench full_block -- [--runtime
//! native-engine|in-runtime-engine] [--repeat N]` (`scripts/node-full-block.sh`); prints a
//! Markdown table.

#[path = "../tests/common/mod.rs"]
mod common;

use common::*;
use pvm_contracts_examples::TOKEN;
use std::process::Command;
use subxt::config::DefaultExtrinsicParamsBuilder;
use subxt::PolkadotConfig;
use subxt_rpcs::{rpc_params, RpcClient};
use subxt_signer::sr25519::dev;

/// The normal dispatch class's share of a block (the runtime's `RuntimeBlockWeights`).
const NORMAL_REF_TIME_PS: u64 = 1_500_000_000_000;
const NORMAL_PROOF_BYTES: u64 = 5 * 1024 * 1024 * 3 / 4;
/// The pool's default limit of ready transactions.
const POOL_READY_LIMIT: u64 = 8_000;

/// The token's `transfer(to, amount)` input.
fn transfer(to: Account, amount: u128) -> Vec<u8> {
    let mut input = vec![2];
    input.extend(to);
    input.extend(amount.to_le_bytes());
    input
}

/// The `i`th new token holder.
fn holder(i: u32) -> Account {
    let mut account = [0x5a; 32];
    account[..4].copy_from_slice(&i.to_le_bytes());
    account
}

/// The full block on the chain a runtime variant made.
struct FullBlock {
    number: u32,
    extrinsics: usize,
    calls: usize,
    submitted: u64,
    call_weight: (u64, u64),
}

/// One line of `pvm-node benchmark-block`'s output.
struct Execution {
    weight_ref_time_ps: u64,
    weight_proof_size: u64,
    import_min_ns: u64,
    import_median_ns: u64,
    proof_bytes: u64,
}

/// Makes the full block on a new chain of `runtime` in `base`.
async fn make_full_block(base: &std::path::Path, runtime: &str) -> FullBlock {
    let alice = dev::alice();
    let mut node = Node::start(base, runtime, "instant");
    let (api, rpc) = node.connect().await;
    let token = instantiate(
        &api,
        &rpc,
        &alice,
        TOKEN,
        None,
        u128::MAX.to_le_bytes().to_vec(),
    )
    .await;
    // The limits of one transfer to a new holder, from a dry run.
    let probe = dry_call(&rpc, id(&alice), token, transfer(holder(u32::MAX), 1)).await;
    assert!(probe.result.as_ref().is_ok_and(|outcome| !outcome.reverted));
    let call_weight = (
        probe.weight_required.ref_time(),
        probe.weight_required.proof_size(),
    );
    drop((api, rpc));
    node.stop();

    let mut node = Node::start(base, runtime, "manual");
    let (api, rpc) = node.connect().await;
    let raw = RpcClient::from_insecure_url(node.url())
        .await
        .expect("the node's RPC");
    // More than fits (by either dimension), so the block is cut by its weight.
    let fit = (NORMAL_REF_TIME_PS / call_weight.0).min(NORMAL_PROOF_BYTES / call_weight.1.max(1));
    let submitted = (fit + fit / 4 + 16).min(POOL_READY_LIMIT);
    let nonce = rpc
        .system_account_next_index(&id(&alice).into())
        .await
        .expect("Alice's nonce");
    let at = api.at_current_block().await.expect("the best block");
    for i in 0..submitted {
        let call = pvm_call(
            "call",
            vec![
                subxt::dynamic::Value::from_bytes(token),
                subxt::dynamic::Value::u128(0),
                weight(call_weight.0, call_weight.1),
                subxt::dynamic::Value::u128(probe.storage_deposit_charged),
                subxt::dynamic::Value::from_bytes(transfer(holder(i as u32), 1)),
            ],
        );
        let params = DefaultExtrinsicParamsBuilder::<PolkadotConfig>::new()
            .immortal()
            .nonce(nonce + i)
            .build();
        let signed = at
            .transactions()
            .create_signed(&call, &alice, params)
            .await
            .expect("a transfer is signed");
        rpc.author_submit_extrinsic(signed.encoded())
            .await
            .expect("the pool takes the transfer");
    }
    let created: serde_json::Value = raw
        .request(
            "engine_createBlock",
            rpc_params![true, true, None::<String>],
        )
        .await
        .expect("engine_createBlock");
    let hash: subxt::config::substrate::H256 =
        serde_json::from_value(created["hash"].clone()).expect("the new block's hash");
    let header = rpc
        .chain_get_header(Some(hash))
        .await
        .expect("chain_getHeader")
        .expect("the new block");
    let number = header.number as u32;
    let block = rpc
        .chain_get_block(Some(hash))
        .await
        .expect("chain_getBlock")
        .expect("the new block");
    let events = api
        .at_block(number)
        .await
        .expect("the new block")
        .events()
        .fetch()
        .await
        .expect("its events");
    let mut calls = 0;
    for event in events.iter() {
        let event = event.expect("events decode");
        match (event.pallet_name(), event.event_name()) {
            ("Pvm", "Called") => calls += 1,
            ("System", "ExtrinsicFailed") => panic!("a transfer failed in the full block"),
            _ => {}
        }
    }
    assert!(
        (calls as u64) < submitted,
        "all {submitted} transfers fit: the block is not full"
    );
    drop((api, rpc, raw));
    node.stop();
    FullBlock {
        number,
        extrinsics: block.block.extrinsics.len(),
        calls,
        submitted,
        call_weight,
    }
}

/// Executes block `number` of the chain in `base` again with `backend`, as import does.
fn execute(
    base: &std::path::Path,
    runtime: &str,
    backend: &str,
    number: u32,
    repeat: u32,
) -> Execution {
    let output = Command::new(env!("CARGO_BIN_EXE_pvm-node"))
        .args([
            "benchmark-block",
            "--runtime",
            runtime,
            "--pvm-backend",
            backend,
        ])
        .args(["--dev", "--base-path"])
        .arg(base)
        .args(["--from", &number.to_string(), "--to", &number.to_string()])
        .args(["--repeat", &repeat.to_string()])
        .output()
        .expect("pvm-node benchmark-block runs");
    assert!(
        output.status.success(),
        "benchmark-block failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stdout = String::from_utf8(output.stdout).expect("UTF-8");
    let line = stdout
        .lines()
        .find(|line| line.starts_with('{'))
        .unwrap_or_else(|| panic!("no figures in {stdout}"));
    let figures: serde_json::Value = serde_json::from_str(line).expect("a JSON line");
    let field = |name: &str| {
        figures[name]
            .as_u64()
            .unwrap_or_else(|| panic!("{name} in {line}"))
    };
    Execution {
        weight_ref_time_ps: field("weight_ref_time_ps"),
        weight_proof_size: field("weight_proof_size"),
        import_min_ns: field("import_min_ns"),
        import_median_ns: field("import_median_ns"),
        proof_bytes: field("proof_bytes"),
    }
}

fn ms(ns: u64) -> f64 {
    ns as f64 / 1e6
}

#[tokio::main(flavor = "multi_thread")]
async fn main() {
    let mut runtimes = vec!["native-engine", "in-runtime-engine"];
    let mut repeat = 10;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--runtime" => runtimes = vec![args.next().expect("--runtime NAME").leak()],
            "--repeat" => {
                repeat = args
                    .next()
                    .and_then(|n| n.parse().ok())
                    .expect("--repeat N")
            }
            "--bench" => {} // cargo bench's
            other => panic!("unknown argument {other}"),
        }
    }

    println!("| runtime | engine backend | transfers in the block (of submitted) | weight limit per transfer (ref_time µs / proof bytes) | block weight charged (ms / proof KiB) | import time, min / median (ms) | charged / import time (min / median) | block's storage proof (KiB) |");
    println!("|---|---|---|---|---|---|---|---|");
    for runtime in runtimes {
        let base = tempfile::tempdir().expect("a temporary directory");
        let block = make_full_block(base.path(), runtime).await;
        let backends: &[&str] = if runtime == "native-engine" {
            &["interpreter", "jit"]
        } else {
            // The engine runs inside the runtime: the node's backend is not used.
            &["interpreter"]
        };
        for backend in backends {
            let run = execute(base.path(), runtime, backend, block.number, repeat);
            let charged_ns = run.weight_ref_time_ps / 1000;
            println!(
                "| {runtime} | {} | {} ({} extrinsics; {} submitted) | {:.1} / {} | {:.1} / {:.0} | {:.1} / {:.1} | {:.1}x / {:.1}x | {:.0} |",
                if runtime == "native-engine" { backend } else { "in-runtime interpreter" },
                block.calls,
                block.extrinsics,
                block.submitted,
                block.call_weight.0 as f64 / 1e6,
                block.call_weight.1,
                ms(charged_ns),
                run.weight_proof_size as f64 / 1024.0,
                ms(run.import_min_ns),
                ms(run.import_median_ns),
                charged_ns as f64 / run.import_min_ns as f64,
                charged_ns as f64 / run.import_median_ns as f64,
                run.proof_bytes as f64 / 1024.0,
            );
        }
    }
}
