//! End to end: `pvm-node` started as a process on a temporary database, driven over RPC by a
//! standard client (subxt's dynamic API, no code generation from metadata).
//!
//! Contracts are uploaded, instantiated and called with extrinsics whose limits come from
//! the pallet's dry-run API called over RPC (`state_call` of `PvmApi_*`); events, balances,
//! fees and deposits are checked against what the chain reports; then the node is restarted
//! on the same database and the contracts' storage is still there. The same runs against the
//! `InRuntimeEngine` runtime. Malformed and oversized extrinsics are refused by the pool with
//! an error while the node goes on producing blocks.

use codec::{Decode, Encode};
use pallet_pvm::runtime_api::{Code, ContractResult, UploadResult};
use pallet_pvm::{CallOutcome, InstantiateOutcome};
use pvm_contracts_examples::{COUNTER, FLIPPER, TOKEN};
use pvm_runtime::EventRecord;
use scale_decode::{DecodeAsFields, DecodeAsType};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use subxt::config::RpcConfigFor;
use subxt::dynamic::Value;
use subxt::extrinsics::ExtrinsicEvents;
use subxt::transactions::DefaultParams;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_rpcs::methods::LegacyRpcMethods;
use subxt_rpcs::RpcClient;
use subxt_signer::sr25519::{dev, Keypair};

type Balance = u128;
type Account = [u8; 32];
type Api = OnlineClient<PolkadotConfig>;
type Rpc = LegacyRpcMethods<RpcConfigFor<PolkadotConfig>>;

/// How long the node may take to open its RPC port (the first start compiles the runtime).
const START_TIMEOUT: Duration = Duration::from_secs(180);

/// `pvm-node` running as a child process; killed if a test fails before stopping it.
struct Node {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

impl Node {
    /// Starts the dev chain of `runtime` (`native-engine` or `in-runtime-engine`) with its
    /// database under `base`, sealing a block per transaction.
    fn start(base: &Path, runtime: &str) -> Node {
        let port = free_port();
        let log = base.join(format!("node-{port}.log"));
        let out = std::fs::File::create(&log).expect("the log file opens");
        let child = Command::new(env!("CARGO_BIN_EXE_pvm-node"))
            .args(["--dev", "--sealing", "instant", "--runtime", runtime])
            .arg("--base-path")
            .arg(base)
            .args(["--rpc-port", &port.to_string()])
            .args(["--port", &free_port().to_string()])
            .args(["--no-prometheus", "--no-telemetry", "--no-mdns"])
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("the log file clones"))
            .stderr(out)
            .spawn()
            .expect("pvm-node starts");
        Node {
            child: Some(child),
            port,
            log,
        }
    }

    /// Connects subxt (and its legacy RPC methods) once the node answers.
    async fn connect(&mut self) -> (Api, Rpc) {
        let url = format!("ws://127.0.0.1:{}", self.port);
        let started = Instant::now();
        loop {
            if let Some(status) = self
                .child
                .as_mut()
                .and_then(|c| c.try_wait().ok())
                .flatten()
            {
                panic!("pvm-node exited with {status}:\n{}", self.log_tail());
            }
            if let Ok(rpc) = RpcClient::from_insecure_url(&url).await {
                let api = Api::from_rpc_client(rpc.clone())
                    .await
                    .expect("subxt connects to the node");
                return (api, Rpc::new(rpc));
            }
            assert!(
                started.elapsed() < START_TIMEOUT,
                "pvm-node's RPC did not open:\n{}",
                self.log_tail()
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Stops the node as Ctrl-C does (so the database is closed cleanly) and waits.
    fn stop(mut self) {
        let mut child = self.child.take().expect("the node runs");
        let _ = Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status();
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(60) {
            if child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = child.kill();
        let _ = child.wait();
        panic!("pvm-node did not stop on SIGINT:\n{}", self.log_tail());
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

// Events, decoded by field name through the metadata.

#[derive(Debug, DecodeAsType)]
struct TransactionFeePaid {
    who: Account,
    actual_fee: Balance,
}

#[derive(Debug, DecodeAsType)]
struct CodeStored {
    code_hash: [u8; 32],
    deposit: Balance,
    uploader: Account,
}

#[derive(Debug, DecodeAsType)]
struct Instantiated {
    deployer: Account,
    contract: Account,
}

#[derive(Debug, DecodeAsType)]
struct Called {
    caller: Account,
    contract: Account,
}

#[derive(Debug, DecodeAsType)]
struct StorageDepositTransferred {
    who: Account,
    contract: Account,
    charged: Balance,
    refunded: Balance,
}

#[derive(Debug, DecodeAsType)]
struct ContractEmitted {
    contract: Account,
    data: Vec<u8>,
}

#[derive(Debug, DecodeAsType)]
struct AccountInfo {
    data: AccountData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, DecodeAsType)]
struct AccountData {
    free: Balance,
    reserved: Balance,
}

/// The events `name` of `pallet` in `events`.
fn events_of<E: DecodeAsFields>(
    events: &ExtrinsicEvents<PolkadotConfig>,
    pallet: &str,
    name: &str,
) -> Vec<E> {
    events
        .iter()
        .map(|event| event.expect("events decode"))
        .filter(|event| event.pallet_name() == pallet && event.event_name() == name)
        .map(|event| {
            event
                .decode_fields_unchecked_as::<E>()
                .unwrap_or_else(|error| panic!("{pallet}.{name}: {error}"))
        })
        .collect()
}

fn one<E: DecodeAsFields + std::fmt::Debug>(
    events: &ExtrinsicEvents<PolkadotConfig>,
    pallet: &str,
    name: &str,
) -> E {
    let mut found = events_of::<E>(events, pallet, name);
    assert_eq!(found.len(), 1, "one {pallet}.{name} in {found:?}");
    found.remove(0)
}

/// The fee `who` paid for the extrinsic of `events`.
fn fee(events: &ExtrinsicEvents<PolkadotConfig>, who: Account) -> Balance {
    let paid: TransactionFeePaid = one(events, "TransactionPayment", "TransactionFeePaid");
    assert_eq!(paid.who, who);
    assert!(paid.actual_fee > 0);
    paid.actual_fee
}

fn id(key: &Keypair) -> Account {
    key.public_key().0
}

/// `who`'s balances at the best block.
async fn account(api: &Api, who: Account) -> AccountData {
    let at = api.at_current_block().await.expect("the best block");
    let address = subxt::dynamic::storage::<(Account,), AccountInfo>("System", "Account");
    at.storage()
        .fetch(address, (who,))
        .await
        .expect("System.Account reads")
        .decode()
        .expect("AccountInfo decodes")
        .data
}

/// The runtime's existential deposit, from its metadata.
async fn existential_deposit(api: &Api) -> Balance {
    let at = api.at_current_block().await.expect("the best block");
    at.constants()
        .entry(subxt::dynamic::constant::<Balance>(
            "Balances",
            "ExistentialDeposit",
        ))
        .expect("Balances.ExistentialDeposit")
}

/// Signs `call` as `signer`, submits it and waits until it is in a finalized block; the
/// extrinsic's events, or the error.
async fn submit(
    api: &Api,
    signer: &Keypair,
    call: subxt::transactions::DynamicPayload<Vec<Value>>,
) -> Result<ExtrinsicEvents<PolkadotConfig>, String> {
    let at = api.at_current_block().await.map_err(|e| e.to_string())?;
    at.transactions()
        .sign_and_submit_then_watch_default(&call, signer)
        .await
        .map_err(|e| e.to_string())?
        .wait_for_finalized_success()
        .await
        .map_err(|e| e.to_string())
}

fn pvm_call(name: &str, args: Vec<Value>) -> subxt::transactions::DynamicPayload<Vec<Value>> {
    subxt::dynamic::transaction("Pvm", name, args)
}

fn weight(ref_time: u64, proof_size: u64) -> Value {
    Value::named_composite([
        ("ref_time", Value::u128(ref_time.into())),
        ("proof_size", Value::u128(proof_size.into())),
    ])
}

/// A runtime API call over RPC (`state_call`) at the best block.
async fn state_call<R: Decode>(rpc: &Rpc, method: &str, args: impl Encode) -> R {
    let bytes = rpc
        .state_call(method, Some(&args.encode()), None)
        .await
        .unwrap_or_else(|error| panic!("state_call {method}: {error}"));
    R::decode(&mut &bytes[..]).unwrap_or_else(|error| panic!("{method} result: {error}"))
}

type DryCall = ContractResult<CallOutcome, Balance, EventRecord>;
type DryInstantiate = ContractResult<InstantiateOutcome, Balance, EventRecord>;

async fn dry_call(rpc: &Rpc, origin: Account, dest: Account, input: Vec<u8>) -> DryCall {
    let args = (
        origin,
        dest,
        0 as Balance,
        None::<()>, // the weight limit: the most an extrinsic may use
        None::<Balance>,
        input,
    );
    state_call(rpc, "PvmApi_call", args).await
}

/// Calls `contract` for real, with the weight and deposit limits a dry run found; checks
/// the events and what `signer` paid. Returns the contract's output (from the dry run,
/// which the extrinsic reproduced).
async fn call(api: &Api, rpc: &Rpc, signer: &Keypair, contract: Account, input: &[u8]) -> Vec<u8> {
    let who = id(signer);
    let dry = dry_call(rpc, who, contract, input.to_vec()).await;
    let outcome = dry.result.clone().expect("the dry run succeeds");
    assert!(!outcome.reverted, "the dry run reverted: {dry:?}");
    assert!(dry.gas_consumed > 0);
    let before = account(api, who).await;
    let events = submit(
        api,
        signer,
        pvm_call(
            "call",
            vec![
                Value::from_bytes(contract),
                Value::u128(0),
                weight(
                    dry.weight_required.ref_time(),
                    dry.weight_required.proof_size(),
                ),
                Value::u128(dry.storage_deposit_charged),
                Value::from_bytes(input),
            ],
        ),
    )
    .await
    .expect("the call succeeds within the dry run's limits");
    let called: Called = one(&events, "Pvm", "Called");
    assert_eq!((called.caller, called.contract), (who, contract));
    let deposits: Vec<StorageDepositTransferred> =
        events_of(&events, "Pvm", "StorageDepositTransferred");
    let charged: Balance = deposits.iter().map(|d| d.charged).sum();
    let refunded: Balance = deposits.iter().map(|d| d.refunded).sum();
    assert_eq!(charged, dry.storage_deposit_charged, "{deposits:?}");
    assert_eq!(refunded, dry.storage_deposit_refunded, "{deposits:?}");
    let after = account(api, who).await;
    assert_eq!(
        before.free - after.free + refunded,
        fee(&events, who) + charged,
        "the caller pays the fee and the storage deposit"
    );
    outcome.output
}

/// Instantiates `code` (uploading it unless `code_hash` says it is stored) with `data`,
/// with the limits of a dry run; checks events, the new account and the deposits.
async fn instantiate(
    api: &Api,
    rpc: &Rpc,
    signer: &Keypair,
    code: &[u8],
    stored: Option<[u8; 32]>,
    data: Vec<u8>,
) -> Account {
    let who = id(signer);
    let dry_code = match stored {
        Some(hash) => Code::Existing(hash.into()),
        None => Code::Upload(code.to_vec()),
    };
    let args = (
        who,
        0 as Balance,
        None::<()>,
        None::<Balance>,
        dry_code,
        data.clone(),
        Vec::<u8>::new(),
    );
    let dry: DryInstantiate = state_call(rpc, "PvmApi_instantiate", args).await;
    let outcome = dry.result.clone().expect("the dry run succeeds");
    assert!(!outcome.reverted, "deploy reverted in the dry run: {dry:?}");
    let contract: Account = outcome.contract.clone().into();
    let limits = [
        Value::u128(0),
        weight(
            dry.weight_required.ref_time(),
            dry.weight_required.proof_size(),
        ),
        Value::u128(dry.storage_deposit_charged),
    ];
    let tail = [
        Value::from_bytes(&data),
        Value::from_bytes(Vec::<u8>::new()),
    ];
    let call = match stored {
        Some(hash) => pvm_call(
            "instantiate",
            limits
                .into_iter()
                .chain([Value::from_bytes(hash)])
                .chain(tail)
                .collect(),
        ),
        None => pvm_call(
            "instantiate_with_code",
            limits
                .into_iter()
                .chain([Value::from_bytes(code)])
                .chain(tail)
                .collect(),
        ),
    };
    let before = account(api, who).await;
    let events = submit(api, signer, call)
        .await
        .expect("the instantiation succeeds within the dry run's limits");
    let instantiated: Instantiated = one(&events, "Pvm", "Instantiated");
    assert_eq!(
        (instantiated.deployer, instantiated.contract),
        (who, contract)
    );
    let code_deposit: Balance = events_of::<CodeStored>(&events, "Pvm", "CodeStored")
        .iter()
        .map(|stored| stored.deposit)
        .sum();
    let storage: StorageDepositTransferred = one(&events, "Pvm", "StorageDepositTransferred");
    assert_eq!((storage.who, storage.contract), (who, contract));
    // The new account: the existential deposit, which the deployer pays, and the deposit
    // for its info and storage, held on it; the dry run predicted all of it.
    let existential = existential_deposit(api).await;
    assert_eq!(
        dry.storage_deposit_charged,
        code_deposit + existential + storage.charged
    );
    let created = account(api, contract).await;
    assert_eq!(created.free, existential);
    assert_eq!(created.reserved, storage.charged);
    let after = account(api, who).await;
    assert_eq!(
        before.free - after.free,
        fee(&events, who) + dry.storage_deposit_charged,
        "the deployer pays the fee and every deposit the dry run predicted"
    );
    assert_eq!(after.reserved - before.reserved, code_deposit);
    contract
}

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
        .into()
}

/// Bad extrinsics over RPC: refused by the pool with a clear error, and the node goes on.
async fn bad_extrinsics(api: &Api, rpc: &Rpc) {
    let error = rpc
        .author_submit_extrinsic(&[0x01, 0x02, 0xff])
        .await
        .expect_err("garbage is refused")
        .to_string();
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
        .expect_err("an extrinsic longer than a block is refused")
        .to_string();
    println!("oversized extrinsic: {error}");
    assert!(error.to_lowercase().contains("exhaust"), "{error}");

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
    let mut node = Node::start(base.path(), "native-engine");
    let (api, rpc) = node.connect().await;
    let deployed = contracts(&api, &rpc).await;
    token_event(&api, &deployed).await;
    bad_extrinsics(&api, &rpc).await;
    let height = best_number(&rpc).await;
    drop((api, rpc));
    node.stop();

    // The same database: the chain, the contracts and their storage are all there.
    let mut node = Node::start(base.path(), "native-engine");
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
    let mut node = Node::start(base.path(), "in-runtime-engine");
    let (api, rpc) = node.connect().await;
    let deployed = contracts(&api, &rpc).await;
    token_event(&api, &deployed).await;
    drop((api, rpc));
    node.stop();
}
