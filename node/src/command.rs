//! Parses the command line and runs the node or a subcommand.

use crate::{
    chain_spec,
    cli::{Cli, Subcommand},
    service::{self, PvmExtensionsFactory},
};
use pvm_host_functions::{NodeLimits, PvmExtension};
use sc_cli::SubstrateCli;
use sc_service::PartialComponents;

impl SubstrateCli for Cli {
    fn impl_name() -> String {
        "pvm-node".into()
    }

    fn impl_version() -> String {
        env!("SUBSTRATE_CLI_IMPL_VERSION").into()
    }

    fn description() -> String {
        env!("CARGO_PKG_DESCRIPTION").into()
    }

    fn author() -> String {
        "pvm developers".into()
    }

    fn support_url() -> String {
        "the project's issue tracker".into()
    }

    fn copyright_start_year() -> i32 {
        2026
    }

    fn load_spec(&self, id: &str) -> Result<Box<dyn sc_service::ChainSpec>, String> {
        Ok(match id {
            "" | "dev" => Box::new(chain_spec::development(self.runtime)?),
            path => Box::new(chain_spec::ChainSpec::from_json_file(
                std::path::PathBuf::from(path),
            )?),
        })
    }
}

impl Cli {
    /// The extensions factory for this node's arguments; fails if the backend asked for
    /// cannot run here at all.
    fn pvm(&self) -> sc_cli::Result<PvmExtensionsFactory> {
        let factory = PvmExtensionsFactory {
            backend: self.pvm_backend.into(),
            limits: NodeLimits::default(),
        };
        PvmExtension::with_backend(factory.backend, factory.limits).map_err(|error| {
            sc_cli::Error::Input(format!("pvm backend {:?}: {error:?}", self.pvm_backend))
        })?;
        Ok(factory)
    }
}

/// Runs what the command line says.
pub fn run() -> sc_cli::Result<()> {
    let cli = Cli::from_args();
    let pvm = cli.pvm()?;

    match &cli.subcommand {
        Some(Subcommand::Key(cmd)) => cmd.run(&cli),
        Some(Subcommand::ExportChainSpec(cmd)) => {
            let chain_spec = cli.load_spec(&cmd.chain)?;
            cmd.run(chain_spec)
        }
        Some(Subcommand::CheckBlock(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    import_queue,
                    ..
                } = service::new_partial(&config, pvm)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::ExportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config, pvm)?;
                Ok((cmd.run(client, config.database), task_manager))
            })
        }
        Some(Subcommand::ExportState(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config, pvm)?;
                Ok((cmd.run(client, config.chain_spec), task_manager))
            })
        }
        Some(Subcommand::ImportBlocks(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    import_queue,
                    ..
                } = service::new_partial(&config, pvm)?;
                Ok((cmd.run(client, import_queue), task_manager))
            })
        }
        Some(Subcommand::PurgeChain(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.sync_run(|config| cmd.run(config.database))
        }
        Some(Subcommand::Revert(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    backend,
                    ..
                } = service::new_partial(&config, pvm)?;
                Ok((cmd.run(client, backend, None), task_manager))
            })
        }
        Some(Subcommand::BenchmarkBlock(cmd)) => {
            let runner = cli.create_runner(cmd)?;
            runner.async_run(|config| {
                let PartialComponents {
                    client,
                    task_manager,
                    ..
                } = service::new_partial(&config, pvm)?;
                Ok((async move { cmd.run(client) }, task_manager))
            })
        }
        None => {
            let runner = cli.create_runner(&cli.run)?;
            let sealing = cli.sealing;
            runner.run_node_until_exit(|config| async move {
                match config.network.network_backend {
                    sc_network::config::NetworkBackendType::Libp2p => {
                        service::new_full::<sc_network::NetworkWorker<_, _>>(config, sealing, pvm)
                    }
                    sc_network::config::NetworkBackendType::Litep2p => {
                        service::new_full::<sc_network::Litep2pNetworkBackend>(config, sealing, pvm)
                    }
                }
                .map_err(sc_cli::Error::Service)
            })
        }
    }
}
