//! The node's own RPC methods beside Substrate's: account nonces (`system_accountNextIndex`)
//! and fee queries (`payment_queryInfo`, `payment_queryFeeDetails`).

use crate::service::Block;
use jsonrpsee::RpcModule;
use pvm_runtime::{AccountId, Balance, Nonce};
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
    use substrate_frame_rpc_system::{System, SystemApiServer};

    let FullDeps { client, pool } = deps;
    let mut module = RpcModule::new(());
    module.merge(System::new(client.clone(), pool).into_rpc())?;
    module.merge(TransactionPayment::new(client).into_rpc())?;
    Ok(module)
}
