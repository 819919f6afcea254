//! A [`PersistStore`](livetemplate_core::PersistStore) on sled.
