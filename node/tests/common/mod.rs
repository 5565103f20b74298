//! What the node's end-to-end test and its full-block benchmark share: `pvm-node` as a
//! child process, subxt's dynamic API and the pallet's dry-run API over RPC, and the
//! checked upload, instantiate and call steps.
#![allow(dead_code)] // each user takes what it needs

use codec::{Decode, Encode};
use pallet_pvm::runtime_api::{Code, ContractResult};
use pallet_pvm::{CallOutcome, InstantiateOutcome};
use pvm_runtime::EventRecord;
use scale_decode::{DecodeAsFields, DecodeAsType};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use subxt::config::RpcConfigFor;
use subxt::dynamic::Value;
use subxt::extrinsics::ExtrinsicEvents;
use subxt::{OnlineClient, PolkadotConfig};
use subxt_rpcs::methods::LegacyRpcMethods;
use subxt_rpcs::RpcClient;
use subxt_signer::sr25519::Keypair;

pub type Balance = u128;
pub type Account = [u8; 32];
pub type Api = OnlineClient<PolkadotConfig>;
pub type Rpc = LegacyRpcMethods<RpcConfigFor<PolkadotConfig>>;

/// How long the node may take to open its RPC port (the first start compiles the runtime).
pub const START_TIMEOUT: Duration = Duration::from_secs(180);

/// `pvm-node` running as a child process; killed if a test fails before stopping it.
pub struct Node {
    child: Option<Child>,
    port: u16,
    log: PathBuf,
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|listener| listener.local_addr())
        .expect("a free local port")
        .port()
}

impl Node {
    /// Starts the dev chain of `runtime` (`native-engine` or `in-runtime-engine`) with its
    /// database under `base`, sealing blocks as `sealing` says (`instant`: a block per
    /// transaction; `manual`: on `engine_createBlock`).
    pub fn start(base: &Path, runtime: &str, sealing: &str) -> Node {
        let port = free_port();
        let log = base.join(format!("node-{port}.log"));
        let out = std::fs::File::create(&log).expect("the log file opens");
        let child = Command::new(env!("CARGO_BIN_EXE_pvm-node"))
            .args(["--dev", "--sealing", sealing, "--runtime", runtime])
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

    /// The node's RPC address.
    pub fn url(&self) -> String {
        format!("ws://127.0.0.1:{}", self.port)
    }

    /// Connects subxt (and its legacy RPC methods) once the node answers.
    pub async fn connect(&mut self) -> (Api, Rpc) {
        let url = self.url();
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

    pub fn log_tail(&self) -> String {
        let log = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }

    /// Stops the node as Ctrl-C does (so the database is closed cleanly) and waits.
    pub fn stop(mut self) {
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
pub struct TransactionFeePaid {
    pub who: Account,
    pub actual_fee: Balance,
}

#[derive(Debug, DecodeAsType)]
pub struct CodeStored {
    pub code_hash: [u8; 32],
    pub deposit: Balance,
    pub uploader: Account,
}

#[derive(Debug, DecodeAsType)]
pub struct Instantiated {
    pub deployer: Account,
    pub contract: Account,
}

#[derive(Debug, DecodeAsType)]
pub struct Called {
    pub caller: Account,
    pub contract: Account,
}

#[derive(Debug, DecodeAsType)]
pub struct StorageDepositTransferred {
    pub who: Account,
    pub contract: Account,
    pub charged: Balance,
    pub refunded: Balance,
}

#[derive(Debug, DecodeAsType)]
pub struct ContractEmitted {
    pub contract: Account,
    pub data: Vec<u8>,
}

#[derive(Debug, DecodeAsType)]
pub struct AccountInfo {
    pub data: AccountData,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, DecodeAsType)]
pub struct AccountData {
    pub free: Balance,
    pub reserved: Balance,
}

/// The events `name` of `pallet` in `events`.
pub fn events_of<E: DecodeAsFields>(
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

pub fn one<E: DecodeAsFields + std::fmt::Debug>(
    events: &ExtrinsicEvents<PolkadotConfig>,
    pallet: &str,
    name: &str,
) -> E {
    let mut found = events_of::<E>(events, pallet, name);
    assert_eq!(found.len(), 1, "one {pallet}.{name} in {found:?}");
    found.remove(0)
}

/// The fee `who` paid for the extrinsic of `events`.
pub fn fee(events: &ExtrinsicEvents<PolkadotConfig>, who: Account) -> Balance {
    let paid: TransactionFeePaid = one(events, "TransactionPayment", "TransactionFeePaid");
    assert_eq!(paid.who, who);
    assert!(paid.actual_fee > 0);
    paid.actual_fee
}

pub fn id(key: &Keypair) -> Account {
    key.public_key().0
}

/// `who`'s balances at the best block.
pub async fn account(api: &Api, who: Account) -> AccountData {
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
pub async fn existential_deposit(api: &Api) -> Balance {
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
pub async fn submit(
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

pub fn pvm_call(name: &str, args: Vec<Value>) -> subxt::transactions::DynamicPayload<Vec<Value>> {
    subxt::dynamic::transaction("Pvm", name, args)
}

pub fn weight(ref_time: u64, proof_size: u64) -> Value {
    Value::named_composite([
        ("ref_time", Value::u128(ref_time.into())),
        ("proof_size", Value::u128(proof_size.into())),
    ])
}

/// An RPC error as the node sent it: code, message and data (the data says why the pool
/// refused a transaction; `Display` leaves it out).
pub fn rpc_error(error: subxt_rpcs::Error) -> String {
    match error {
        subxt_rpcs::Error::User(user) => format!(
            "{} ({}): {}",
            user.message,
            user.code,
            user.data.as_ref().map_or("", |data| data.get())
        ),
        other => other.to_string(),
    }
}

/// A runtime API call over RPC (`state_call`) at the best block.
pub async fn state_call<R: Decode>(rpc: &Rpc, method: &str, args: impl Encode) -> R {
    let bytes = rpc
        .state_call(method, Some(&args.encode()), None)
        .await
        .unwrap_or_else(|error| panic!("state_call {method}: {error}"));
    R::decode(&mut &bytes[..]).unwrap_or_else(|error| panic!("{method} result: {error}"))
}

pub type DryCall = ContractResult<CallOutcome, Balance, EventRecord>;
pub type DryInstantiate = ContractResult<InstantiateOutcome, Balance, EventRecord>;

pub async fn dry_call(rpc: &Rpc, origin: Account, dest: Account, input: Vec<u8>) -> DryCall {
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
pub async fn call(
    api: &Api,
    rpc: &Rpc,
    signer: &Keypair,
    contract: Account,
    input: &[u8],
) -> Vec<u8> {
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
pub async fn instantiate(
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
