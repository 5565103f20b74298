//! The node's service: client, executor with the pvm host functions, transaction pool,
//! network, RPC, and the sealing task.

use crate::cli::Sealing;
use futures::FutureExt;
use pvm_host_functions::{NodeLimits, PvmExtension};
use pvm_runtime::RuntimeApi;
use sc_client_api::{execution_extensions::ExtensionsFactory, ExecutorProvider};
use sc_executor::WasmExecutor;
use sc_service::{error::Error as ServiceError, Configuration, TaskManager};
use sc_telemetry::{Telemetry, TelemetryWorker};
use sp_externalities::Extensions;
use sp_runtime::traits::{Block as BlockT, NumberFor};
use std::sync::Arc;

/// Blocks as the node sees them: extrinsics stay opaque bytes, decoded by the runtime only.
pub type Block = sp_runtime::generic::Block<pvm_runtime::Header, sp_runtime::OpaqueExtrinsic>;

/// The host functions of the node's executor: Substrate's and pvm's. The runtime's
/// `NativeEngine` imports the latter; a runtime without them (the in-runtime-engine
/// variant) runs on this executor too.
pub type HostFunctions = (
    sp_io::SubstrateHostFunctions,
    pvm_host_functions::HostFunctions,
);

/// The client: the runtime through the wasm executor with [`HostFunctions`].
pub type FullClient = sc_service::TFullClient<Block, RuntimeApi, WasmExecutor<HostFunctions>>;
type FullBackend = sc_service::TFullBackend<Block>;
type FullSelectChain = sc_consensus::LongestChain<FullBackend, Block>;

/// The parts that chain maintenance subcommands need.
pub type Service = sc_service::PartialComponents<
    FullClient,
    FullBackend,
    FullSelectChain,
    sc_consensus::DefaultImportQueue<Block>,
    sc_transaction_pool::TransactionPoolHandle<Block, FullClient>,
    Option<Telemetry>,
>;

/// Registers a fresh [`PvmExtension`] (the native engine) for every runtime execution the
/// client makes: block import and authoring, transaction-pool validation, RPC calls and
/// dry runs all go through the client's call executor, which asks this factory.
///
/// A fresh one each time: an extension holds the live instances and module cache of one
/// execution, and nothing a node keeps between executions may change a result.
#[derive(Clone, Copy, Debug)]
pub struct PvmExtensionsFactory {
    /// The native engine's backend (speed only: results and gas are the same).
    pub backend: pvm_core::BackendKind,
    /// What the node lets the engine use (a runtime asking more gets a node-side error).
    pub limits: NodeLimits,
}

impl<B: BlockT> ExtensionsFactory<B> for PvmExtensionsFactory {
    fn extensions_for(&self, _: B::Hash, _: NumberFor<B>) -> Extensions {
        // The backend was checked at start-up; should it fail now (e.g. the JIT's worker
        // cannot start), the interpreter gives the same results.
        let extension = PvmExtension::with_backend(self.backend, self.limits)
            .unwrap_or_else(|error| {
                log::warn!(target: "pvm", "pvm backend {:?} unavailable ({error:?}): interpreter", self.backend);
                PvmExtension::new(self.limits)
            });
        let mut extensions = Extensions::new();
        extensions.register(extension);
        extensions
    }
}

/// The client, database, pool and import queue, with the pvm extensions factory set.
pub fn new_partial(
    config: &Configuration,
    pvm: PvmExtensionsFactory,
) -> Result<Service, ServiceError> {
    let telemetry = config
        .telemetry_endpoints
        .clone()
        .filter(|endpoints| !endpoints.is_empty())
        .map(|endpoints| -> Result<_, sc_telemetry::Error> {
            let worker = TelemetryWorker::new(16)?;
            let telemetry = worker.handle().new_telemetry(endpoints);
            Ok((worker, telemetry))
        })
        .transpose()?;

    let executor = sc_service::new_wasm_executor::<HostFunctions>(&config.executor);
    let (client, backend, keystore_container, task_manager) =
        sc_service::new_full_parts::<Block, RuntimeApi, _>(
            config,
            telemetry.as_ref().map(|(_, telemetry)| telemetry.handle()),
            executor,
            Vec::new(),
        )?;
    client.execution_extensions().set_extensions_factory(pvm);
    let client = Arc::new(client);

    let telemetry = telemetry.map(|(worker, telemetry)| {
        task_manager
            .spawn_handle()
            .spawn("telemetry", None, worker.run());
        telemetry
    });

    let select_chain = sc_consensus::LongestChain::new(backend.clone());
    let transaction_pool = Arc::from(
        sc_transaction_pool::Builder::new(
            task_manager.spawn_essential_handle(),
            client.clone(),
            config.role.is_authority().into(),
        )
        .with_options(config.transaction_pool.clone())
        .with_prometheus(config.prometheus_registry())
        .build(),
    );
    let import_queue = sc_consensus_manual_seal::import_queue(
        Box::new(client.clone()),
        &task_manager.spawn_essential_handle(),
        config.prometheus_registry(),
    );

    Ok(sc_service::PartialComponents {
        client,
        backend,
        task_manager,
        import_queue,
        keystore_container,
        select_chain,
        transaction_pool,
        other: telemetry,
    })
}

/// The full node: networking, RPC, and blocks sealed as `sealing` says.
pub fn new_full<Network: sc_network::NetworkBackend<Block, <Block as BlockT>::Hash>>(
    config: Configuration,
    sealing: Sealing,
    pvm: PvmExtensionsFactory,
) -> Result<TaskManager, ServiceError> {
    let sc_service::PartialComponents {
        client,
        backend,
        mut task_manager,
        import_queue,
        keystore_container,
        select_chain,
        transaction_pool,
        other: mut telemetry,
    } = new_partial(&config, pvm)?;

    let net_config = sc_network::config::FullNetworkConfiguration::<
        Block,
        <Block as BlockT>::Hash,
        Network,
    >::new(
        &config.network,
        config
            .prometheus_config
            .as_ref()
            .map(|cfg| cfg.registry.clone()),
    );
    let metrics = Network::register_notification_metrics(
        config.prometheus_config.as_ref().map(|cfg| &cfg.registry),
    );
    let (network, system_rpc_tx, tx_handler_controller, sync_service, _bitswap) =
        sc_service::build_network(sc_service::BuildNetworkParams {
            config: &config,
            net_config,
            client: client.clone(),
            transaction_pool: transaction_pool.clone(),
            spawn_handle: task_manager.spawn_handle(),
            spawn_essential_handle: task_manager.spawn_essential_handle(),
            import_queue,
            block_announce_validator_builder: None,
            warp_sync_config: None,
            block_relay: None,
            metrics,
            gap_sync_body_policy: None,
        })?;

    // Sealing commands: from the interval timer and from `engine_createBlock` (RPC). With
    // instant sealing the pool's imports seal blocks and the RPC method is not offered.
    let seal_channel = (sealing != Sealing::Instant).then(|| futures::channel::mpsc::channel(1024));
    let seal_commands = seal_channel.as_ref().map(|(sink, _)| sink.clone());
    let rpc_builder = {
        let client = client.clone();
        let pool = transaction_pool.clone();
        let seal_commands = seal_commands.clone();
        Box::new(move |_| {
            let deps = crate::rpc::FullDeps {
                client: client.clone(),
                pool: pool.clone(),
                seal_commands: seal_commands.clone(),
            };
            crate::rpc::create_full(deps).map_err(Into::into)
        })
    };
    let prometheus_registry = config.prometheus_registry().cloned();
    sc_service::spawn_tasks(sc_service::SpawnTasksParams {
        network,
        client: client.clone(),
        keystore: keystore_container.keystore(),
        task_manager: &mut task_manager,
        transaction_pool: transaction_pool.clone(),
        rpc_builder,
        backend,
        system_rpc_tx,
        tx_handler_controller,
        sync_service,
        config,
        telemetry: telemetry.as_mut(),
        tracing_execute_block: None,
    })?;

    let proposer = sc_basic_authorship::ProposerFactory::new(
        task_manager.spawn_handle(),
        client.clone(),
        transaction_pool.clone(),
        prometheus_registry.as_ref(),
        telemetry.as_ref().map(|telemetry| telemetry.handle()),
    );
    let create_inherent_data_providers =
        |_, ()| async move { Ok(sp_timestamp::InherentDataProvider::from_system_time()) };

    let authorship = match seal_channel {
        Some((mut sink, commands)) => {
            if let Sealing::Interval(ms) = sealing {
                task_manager
                    .spawn_handle()
                    .spawn("seal-interval", None, async move {
                        loop {
                            futures_timer::Delay::new(std::time::Duration::from_millis(ms)).await;
                            let command = sc_consensus_manual_seal::EngineCommand::SealNewBlock {
                                create_empty: true,
                                finalize: true,
                                parent_hash: None,
                                sender: None,
                            };
                            // A full channel means sealing lags behind: skip this tick.
                            if sink.try_send(command).is_err() && sink.is_closed() {
                                break;
                            }
                        }
                    });
            }
            sc_consensus_manual_seal::run_manual_seal(sc_consensus_manual_seal::ManualSealParams {
                block_import: client.clone(),
                env: proposer,
                client,
                pool: transaction_pool,
                select_chain,
                commands_stream: Box::pin(commands),
                consensus_data_provider: None,
                create_inherent_data_providers,
            })
            .boxed()
        }
        None => sc_consensus_manual_seal::run_instant_seal_and_finalize(
            sc_consensus_manual_seal::InstantSealParams {
                block_import: client.clone(),
                env: proposer,
                client,
                pool: transaction_pool,
                select_chain,
                consensus_data_provider: None,
                create_inherent_data_providers,
            },
        )
        .boxed(),
    };
    task_manager
        .spawn_essential_handle()
        .spawn_blocking("sealing", None, authorship);

    Ok(task_manager)
}
