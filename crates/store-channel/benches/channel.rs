//! `cargo bench -p store-channel`: see the criterion-kit crate.

fn main() {
    criterion_kit::main("channel", store_channel::ChannelStore::with_capacity);
}
