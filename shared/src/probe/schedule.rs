//! The order a run starts its probes in.

use super::target::ProbeTarget;

/// Orders targets most overdue first: those never checked (no previous `lastChecked`),
/// then the one checked longest ago; ties by id. A run that cannot reach every target
/// before its deadline so leaves out the ones it checked most recently, and the next run
/// starts with the ones it left out.
pub fn most_overdue_first(targets: &mut [ProbeTarget]) {
    // `None` (never checked) orders before every `Some`.
    targets.sort_by_key(|t| (t.previous.last_checked, t.id));
}
