//! The twelve claims of `CLAIMS.md`, one module each: the observations the scenario fills in,
//! the pure `judge` over them, the sabotage hook and what each party saw.

use super::verdict::{ClaimResult, judge};

pub mod c01_transport_vs_e2ee;
pub mod c02_connector;
pub mod c03_roster;
pub mod c04_no_key_service;
pub mod c05_features;
pub mod c06_geofence;
pub mod c07_report;
pub mod c08_recording;
pub mod c09_codes;
pub mod c10_admission;
pub mod c11_leave;
pub mod c12_impersonation;

/// Every claim's observations, as the scenario gathered them.
#[derive(Debug, Default)]
pub struct Evidence {
    /// C1.
    pub c1: c01_transport_vs_e2ee::Obs,
    /// C2.
    pub c2: c02_connector::Obs,
    /// C3.
    pub c3: c03_roster::Obs,
    /// C4.
    pub c4: c04_no_key_service::Obs,
    /// C5.
    pub c5: c05_features::Obs,
    /// C6.
    pub c6: c06_geofence::Obs,
    /// C7.
    pub c7: c07_report::Obs,
    /// C8.
    pub c8: c08_recording::Obs,
    /// C9.
    pub c9: c09_codes::Obs,
    /// C10.
    pub c10: c10_admission::Obs,
    /// C11.
    pub c11: c11_leave::Obs,
    /// C12.
    pub c12: c12_impersonation::Obs,
}

/// Judges every claim in order; the ids in `sabotage` (e.g. `C1`) get one observation
/// corrupted first.
pub fn results(e: Evidence, sabotage: &[String]) -> Vec<ClaimResult> {
    let s = |id: &str| sabotage.iter().any(|x| x.eq_ignore_ascii_case(id));
    vec![
        judge(e.c1, s("C1")),
        judge(e.c2, s("C2")),
        judge(e.c3, s("C3")),
        judge(e.c4, s("C4")),
        judge(e.c5, s("C5")),
        judge(e.c6, s("C6")),
        judge(e.c7, s("C7")),
        judge(e.c8, s("C8")),
        judge(e.c9, s("C9")),
        judge(e.c10, s("C10")),
        judge(e.c11, s("C11")),
        judge(e.c12, s("C12")),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    #[test]
    fn empty_evidence_never_passes() {
        for r in results(Evidence::default(), &[]) {
            assert_eq!(
                r.verdict.outcome(),
                Outcome::Fail,
                "{} passed on nothing",
                r.id
            );
        }
    }

    #[test]
    fn ids_are_in_order() {
        let ids: Vec<&str> = results(Evidence::default(), &[])
            .iter()
            .map(|r| r.id)
            .collect();
        assert_eq!(
            ids,
            [
                "C1", "C2", "C3", "C4", "C5", "C6", "C7", "C8", "C9", "C10", "C11", "C12"
            ]
        );
    }
}
