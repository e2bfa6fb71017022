use store_channel::ChannelStore;

store_conformance::conformance_suite!(ChannelStore::new());
