//! The smallest runtime around the pallet, for its own tests (the benchmark test suite):
//! contracts run on `InRuntimeEngine`, so no node extension is needed. Whole-runtime tests
//! live in `pvm-runtime-mock` and `pvm-tests`.

use crate as pallet_pvm;
use frame_support::{
    derive_impl, parameter_types,
    traits::{ConstU32, ConstU64},
};
use sp_runtime::{traits::IdentityLookup, AccountId32, BuildStorage};

type Block = frame_system::mocking::MockBlock<Test>;

frame_support::construct_runtime!(
    pub enum Test {
        System: frame_system,
        Balances: pallet_balances,
        Timestamp: pallet_timestamp,
        Pvm: pallet_pvm,
    }
);

#[derive_impl(frame_system::config_preludes::TestDefaultConfig)]
impl frame_system::Config for Test {
    type Block = Block;
    type AccountId = AccountId32;
    type Lookup = IdentityLookup<AccountId32>;
    type AccountData = pallet_balances::AccountData<u128>;
}

parameter_types! {
    pub const ExistentialDeposit: u128 = 1_000;
    pub const DepositPerByte: u128 = 10;
    pub const DepositPerItem: u128 = 1_000;
}

#[derive_impl(pallet_balances::config_preludes::TestDefaultConfig)]
impl pallet_balances::Config for Test {
    type Balance = u128;
    type ExistentialDeposit = ExistentialDeposit;
    type AccountStore = System;
}

#[derive_impl(pallet_timestamp::config_preludes::TestDefaultConfig)]
impl pallet_timestamp::Config for Test {}

impl pallet_pvm::Config for Test {
    type Currency = Balances;
    type RuntimeHoldReason = RuntimeHoldReason;
    type Time = Timestamp;
    type Engine = crate::InRuntimeEngine;
    type WeightInfo = ();
    type MaxCodeLen = ConstU32<{ 128 * 1024 }>;
    type MaxBasicBlockLen = ConstU32<1024>;
    type MemoryPerInstance = ConstU64<{ 16 << 20 }>;
    type MaxCallDepth = ConstU32<8>;
    type CostTableVersion = ConstU32<{ crate::gas::DEFAULT_COST_TABLE_VERSION }>;
    type DepositPerByte = DepositPerByte;
    type DepositPerItem = DepositPerItem;
    type RefTimePerGas = ConstU64<{ crate::gas::RECOMMENDED_REF_TIME_PER_GAS.in_runtime }>;
}

/// Genesis with nothing in it; tests fund their own accounts.
pub fn new_test_ext() -> sp_io::TestExternalities {
    frame_system::GenesisConfig::<Test>::default()
        .build_storage()
        .expect("the mock's genesis builds")
        .into()
}
