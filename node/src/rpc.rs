//! The node's own RPC methods beside Substrate's: account nonces (`system_accountNextIndex`),
//! fee queries (`payment_queryInfo`, `payment_queryFeeDetails`) and, unless blocks are
//! sealed instantly, `engine_createBlock` and `engine_finalizeBlock`.

use crate::service::Block;
use futures::channel::mpsc;
use jsonrpsee::RpcModule;
use pvm_runtime::{AccountId, Balance, Hash, Nonce};
use sc_consensus_manual_seal::EngineCommand;
use sc_transaction_pool_api::TransactionPool;
use sp_api::ProvideRuntimeApi;
use sp_blockchain::{Error as BlockChainError, HeaderBackend, HeaderMetadata};
use std::sync::Arc;

/// What the RPC methods need.
pub struct FullDeps<C, P> {
    /// The client.
    pub client: Arc<C>,
    /// The transaction pool.
    pub pool: Arc<P>,
    /// Where `engine_createBlock` sends its commands; `None` with instant sealing.
    pub seal_commands: Option<mpsc::Sender<EngineCommand<Hash>>>,
}

/// The node's RPC methods.
pub fn create_full<C, P>(
    deps: FullDeps<C, P>,
) -> Result<RpcModule<()>, Box<dyn std::error::Error + Send + Sync>>
where
    C: ProvideRuntimeApi<Block>
        + HeaderBackend<Block>
        + HeaderMetadata<Block, Error = BlockChainError>
        + Send
        + Sync
        + 'static,
    C::Api: substrate_frame_rpc_system::AccountNonceApi<Block, AccountId, Nonce>
        + sp_block_builder::BlockBuilder<Block>
        + pallet_transaction_payment_rpc::TransactionPaymentRuntimeApi<Block, Balance>,
    P: TransactionPool + 'static,
{
    use pallet_transaction_payment_rpc::{TransactionPayment, TransactionPaymentApiServer};
    use sc_consensus_manual_seal::rpc::{ManualSeal, ManualSealApiServer};
    use substrate_frame_rpc_system::{System, SystemApiServer};

    let FullDeps {
        client,
        pool,
        seal_commands,
    } = deps;
    let mut module = RpcModule::new(());
    module.merge(System::new(client.clone(), pool).into_rpc())?;
    module.merge(TransactionPayment::new(client).into_rpc())?;
    if let Some(commands) = seal_commands {
        module.merge(ManualSeal::new(commands).into_rpc())?;
    }
    Ok(module)
}
