// The engine's internals are not part of the public API: none of these paths resolves.
use livetemplate::core::tree::Tree;
use livetemplate::diff::Encoder;
use livetemplate::page::Page;

fn main() {}
