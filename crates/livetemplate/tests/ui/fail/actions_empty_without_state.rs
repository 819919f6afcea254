use livetemplate::prelude::*;

pub struct About;

#[actions]
impl About {}

fn main() {}
