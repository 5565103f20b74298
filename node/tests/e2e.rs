//! End to end: `pvm-node` started as a process on a temporary database, driven over RPC by a
//! standard client (subxt's dynamic API, no code generation from metadata).
//!
//! Contracts are uploaded, instantiated and called with extrinsics whose limits come from
//! the pallet's dry-run API called over RPC (`state_call` of `PvmApi_*`); events, balances,
//! fees and deposits are checked against what the chain reports; then the node is restarted
//! on the same database and the contracts' storage is still there. The same runs against the
//! `InRuntimeEngine` runtime. Malformed and oversized extrinsics are refused by the pool with
//! an error while the node goes on producing blocks.

mod common;

use common::*;
use pallet_pvm::runtime_api::UploadResult;
use pvm_contracts_examples::{COUNTER, FLIPPER, TOKEN};
use subxt::dynamic::Value;
use subxt::transactions::DefaultParams;
use subxt_signer::sr25519::dev;

/// What the scenario leaves on chain, to find again after a restart.
struct Deployed {
    flipper: Account,
    counter: Account,
    token: Account,
}

/// Uploads, instantiates and calls the example contracts as Alice.
async fn contracts(api: &Api, rpc: &Rpc) -> Deployed {
    let alice = dev::alice();
    let bob = dev::bob();

    // Upload the flipper's code alone: the dry run gives its deposit, used as the limit.
    let dry: Result<UploadResult<Balance>, sp_runtime::DispatchError> = state_call(
        rpc,
        "PvmApi_upload_code",
        (id(&alice), FLIPPER, None::<Balance>),
    )
    .await;
    let dry = dry.expect("the flipper's code is valid");
    let before = account(api, id(&alice)).await;
    let events = submit(
        api,
        &alice,
        pvm_call(
            "upload_code",
            vec![Value::from_bytes(FLIPPER), Value::u128(dry.deposit)],
        ),
    )
    .await
    .expect("the upload succeeds");
    let stored: CodeStored = one(&events, "Pvm", "CodeStored");
    assert_eq!(stored.code_hash, dry.code_hash.0);
    assert_eq!((stored.deposit, stored.uploader), (dry.deposit, id(&alice)));
    let after = account(api, id(&alice)).await;
    assert_eq!(after.reserved - before.reserved, stored.deposit);
    assert_eq!(
        before.free - after.free,
        stored.deposit + fee(&events, id(&alice))
    );

    let flipper = instantiate(api, rpc, &alice, FLIPPER, Some(stored.code_hash), vec![1]).await;
    let counter = instantiate(api, rpc, &alice, COUNTER, None, 5u64.to_le_bytes().to_vec()).await;
    let token = instantiate(
        api,
        rpc,
        &alice,
        TOKEN,
        None,
        1_000_000u128.to_le_bytes().to_vec(),
    )
    .await;

    // Flip (true -> false), count (5 + 3), and move tokens to Bob.
    call(api, rpc, &alice, flipper, &[0]).await;
    let mut increment = vec![0];
    increment.extend(3u64.to_le_bytes());
    assert_eq!(
        call(api, rpc, &alice, counter, &increment).await,
        8u64.to_le_bytes()
    );
    let mut transfer = vec![2];
    transfer.extend(id(&bob));
    transfer.extend(250u128.to_le_bytes());
    call(api, rpc, &alice, token, &transfer).await;

    check_state(
        rpc,
        &Deployed {
            flipper,
            counter,
            token,
        },
    )
    .await;
    Deployed {
        flipper,
        counter,
        token,
    }
}

/// The contracts' storage as the scenario left it, read with dry runs (as Bob).
async fn check_state(rpc: &Rpc, deployed: &Deployed) {
    let bob = id(&dev::bob());
    let read = |contract: Account, input: Vec<u8>| async move {
        let dry = dry_call(rpc, bob, contract, input).await;
        let outcome = dry.result.expect("a read succeeds");
        assert!(!outcome.reverted);
        outcome.output
    };
    assert_eq!(read(deployed.flipper, vec![1]).await, [0]);
    assert_eq!(read(deployed.counter, vec![2]).await, 8u64.to_le_bytes());
    let mut balance_of = vec![1];
    balance_of.extend(bob);
    assert_eq!(
        read(deployed.token, balance_of).await,
        250u128.to_le_bytes()
    );
}

/// The token transfer emitted its event (checked apart: `call` checks what every call does).
async fn token_event(api: &Api, deployed: &Deployed) {
    let alice = dev::alice();
    let mut transfer = vec![2];
    transfer.extend(id(&dev::charlie()));
    transfer.extend(1u128.to_le_bytes());
    let events = submit(
        api,
        &alice,
        pvm_call(
            "call",
            vec![
                Value::from_bytes(deployed.token),
                Value::u128(0),
                weight(10_000_000_000, 1 << 20),
                Value::u128(pvm_runtime::UNIT),
                Value::from_bytes(transfer),
            ],
        ),
    )
    .await
    .expect("a transfer with generous limits succeeds");
    let emitted: ContractEmitted = one(&events, "Pvm", "ContractEmitted");
    assert_eq!(emitted.contract, deployed.token);
    assert!(!emitted.data.is_empty());
}

async fn best_number(rpc: &Rpc) -> u64 {
    rpc.chain_get_header(None)
        .await
        .expect("chain_getHeader")
        .expect("a best block")
        .number
}

/// Bad extrinsics over RPC: refused by the pool with a clear error, and the node goes on.
async fn bad_extrinsics(api: &Api, rpc: &Rpc) {
    let error = rpc
        .author_submit_extrinsic(&[0x01, 0x02, 0xff])
        .await
        .map(|_| ())
        .map_err(rpc_error)
        .expect_err("garbage is refused");
    println!("malformed extrinsic: {error}");
    assert!(
        error.to_lowercase().contains("format") || error.to_lowercase().contains("decode"),
        "{error}"
    );

    // Longer than a block may hold for normal extrinsics (75% of 5 MiB).
    let huge = vec![0u8; 4 * 1024 * 1024];
    let at = api.at_current_block().await.expect("the best block");
    let signed = at
        .transactions()
        .create_signed(
            &pvm_call(
                "upload_code",
                vec![Value::from_bytes(&huge), Value::u128(0)],
            ),
            &dev::alice(),
            DefaultParams::default_params(),
        )
        .await
        .expect("the oversized extrinsic is signed");
    let error = rpc
        .author_submit_extrinsic(signed.encoded())
        .await
        .map(|_| ())
        .map_err(rpc_error)
        .expect_err("an extrinsic longer than a block is refused");
    println!("oversized extrinsic: {error}");
    // The pool's error 1010 (invalid transaction) says why in its data.
    assert!(
        error.contains("1010") && error.to_lowercase().contains("exhaust"),
        "{error}"
    );

    // Blocks go on: a transfer lands in a new block.
    let before = best_number(rpc).await;
    submit(
        api,
        &dev::alice(),
        subxt::dynamic::transaction(
            "Balances",
            "transfer_keep_alive",
            vec![
                Value::unnamed_variant("Id", [Value::from_bytes(id(&dev::bob()))]),
                Value::u128(pvm_runtime::UNIT),
            ],
        ),
    )
    .await
    .expect("a transfer after the bad extrinsics succeeds");
    assert!(best_number(rpc).await > before);
}

#[tokio::test(flavor = "multi_thread")]
async fn native_engine_node() {
    let base = tempfile::tempdir().expect("a temporary directory");
    let mut node = Node::start(base.path(), "native-engine", "instant");
    let (api, rpc) = node.connect().await;
    let deployed = contracts(&api, &rpc).await;
    token_event(&api, &deployed).await;
    bad_extrinsics(&api, &rpc).await;
    let height = best_number(&rpc).await;
    drop((api, rpc));
    node.stop();

    // The same database: the chain, the contracts and their storage are all there.
    let mut node = Node::start(base.path(), "native-engine", "instant");
    let (api, rpc) = node.connect().await;
    assert_eq!(best_number(&rpc).await, height);
    check_state(&rpc, &deployed).await;
    // And the restarted node builds on it.
    let mut increment = vec![0];
    increment.extend(1u64.to_le_bytes());
    let output = call(&api, &rpc, &dev::bob(), deployed.counter, &increment).await;
    assert_eq!(output, 9u64.to_le_bytes());
    assert!(best_number(&rpc).await > height);
    drop((api, rpc));
    node.stop();
}

#[tokio::test(flavor = "multi_thread")]
async fn in_runtime_engine_node() {
    let base = tempfile::tempdir().expect("a temporary directory");
    let mut node = Node::start(base.path(), "in-runtime-engine", "instant");
    let (api, rpc) = node.connect().await;
    let deployed = contracts(&api, &rpc).await;
    token_event(&api, &deployed).await;
    drop((api, rpc));
    node.stop();
}
