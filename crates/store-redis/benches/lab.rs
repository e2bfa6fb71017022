//! `cargo bench -p store-redis [-- RUN OPTIONS]`: this crate's stores, as the
//! catalog lists them, through criterion and the lab (`storelab::crate_bench!`).

storelab::crate_bench!();
