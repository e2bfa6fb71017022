//! `cargo bench -p store-shardunit [-- RUN OPTIONS]`: this crate's stores, as the
//! catalog lists them, through criterion and the lab (`storelab::crate_bench!`).

storelab::crate_bench!();
