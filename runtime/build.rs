//! Builds the runtime to wasm twice: contracts on the node's native engine (the default),
//! and contracts on the interpreter inside the runtime (`in-runtime-engine`).

fn main() {
    #[cfg(feature = "std")]
    {
        substrate_wasm_builder::WasmBuilder::init_with_defaults().build();
        substrate_wasm_builder::WasmBuilder::init_with_defaults()
            .set_file_name("wasm_binary_in_runtime_engine.rs")
            .enable_feature("in-runtime-engine")
            .build();
    }
}
