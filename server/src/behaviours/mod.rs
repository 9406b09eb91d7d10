//! What the server does beyond one HTTP call, each declared per method in the spec and
//! carried out when a tool's descriptor says so.

pub mod budget;
pub mod downloads;
pub mod flow_inputs;
pub mod images;
pub mod pages;
pub mod projection;
pub mod skills;
pub mod waiting;
