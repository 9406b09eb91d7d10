//! The `fields` stage: the projection is checked with the arguments (its problems in the
//! same answer as the input schema's, and nothing sent), and applied to the final record,
//! after links, images and a flow's inputs schema were taken from the whole of it.

use gumloop_mcp_runtime::rules;
use serde_json::Value;

use super::finish::Finished;
use crate::behaviours::projection::Projection;
use crate::mcp::catalog::Entry;

/// The projection `args` ask for, if any; its problems are added to `problems`.
pub fn requested(entry: &Entry, args: &Value, problems: &mut Vec<String>) -> Option<Projection> {
    let (Some(paths), Some(fields)) = (&entry.fields, args.get(rules::FIELDS)) else { return None };
    paths.check(fields).unwrap_or_else(|found| {
        problems.extend(found);
        None
    })
}

/// The record kept to the projection's fields.
pub fn apply(f: &mut Finished, projection: Option<&Projection>) {
    if let Some(p) = projection {
        p.apply(&mut f.body);
    }
}
