//! C6: relays carry a region; a client refuses a relay outside its policy before sending
//! anything, and says which relay carried its meeting.

use serde::Serialize;

use crate::verdict::{Claim, Saw, Verdict};

/// What C6 observed.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Obs {
    /// The relay's region.
    pub relay_region: String,
    /// The refusing client's allowed regions.
    pub refusing_policy: Vec<String>,
    /// The error it gave.
    pub refusing_error: String,
    /// The error is the region policy refusal.
    pub refused_by_region_policy: bool,
    /// Joins the relay recorded from it (its room in the relay's report).
    pub joins_from_refusing_client: usize,
    /// The allowed client's regions.
    pub allowed_policy: Vec<String>,
    /// It joined.
    pub allowed_joined: bool,
    /// The region it reports for its meeting.
    pub reported_region: String,
    /// The relay address it reports.
    pub reported_relay: String,
    /// Across a cascade: the two linked relays' regions.
    pub cascade_regions: Vec<String>,
    /// The host of the fenced meeting allows only these regions.
    pub fenced_policy: Vec<String>,
    /// What a guest on the far relay got when it tried to join the fenced meeting.
    pub far_join_error: String,
    /// The far relay refused it by the cascade's geofence (`REGION_REFUSED`, regions named).
    pub far_refused_by_geofence: bool,
    /// A meeting without a policy across both relays: both clients keyed, one security code.
    pub open_joined: bool,
    /// The relays the far client says carry that meeting, `(name, region)`.
    pub open_carriers: Vec<(String, String)>,
}

impl Claim for Obs {
    const ID: &'static str = "C6";
    const TITLE: &'static str =
        "Meeting content is routed only through regions a participant allows";
    const SHOWN: &'static str = "the relay is in region eu-west; one client allows only us-east, \
        another allows eu-west; then a cascade of the eu-west relay and one in us-east";

    fn judge(&self) -> Verdict {
        Verdict::default()
            .check(
                "the us-east-only client refused the relay by its region policy",
                self.refused_by_region_policy,
            )
            .check(
                "it sent nothing: the relay recorded no join from it",
                self.refused_by_region_policy && self.joins_from_refusing_client == 0,
            )
            .check(
                "the eu-west client joined and reports the relay and region that carry its meeting",
                self.allowed_joined
                    && !self.relay_region.is_empty()
                    && self.reported_region == self.relay_region
                    && !self.reported_relay.is_empty(),
            )
            .check(
                "across the cascade, a guest on the us-east relay cannot enter a meeting whose host \
                 allows only eu-west: that relay refuses it, naming the regions",
                self.far_refused_by_geofence,
            )
            .check(
                "a meeting without a policy spans both relays, and its client says it is carried \
                 in both regions",
                self.open_joined
                    && self.cascade_regions.len() == 2
                    && self
                        .cascade_regions
                        .iter()
                        .all(|g| self.open_carriers.iter().any(|(_, r)| r == g)),
            )
    }

    fn sabotage(&mut self) {
        self.joins_from_refusing_client += 1;
    }

    fn saw(&self) -> Vec<Saw> {
        vec![
            Saw::new("relay", format!("region {:?}", self.relay_region)),
            Saw::new(
                format!("client allowing {:?}", self.refusing_policy),
                format!(
                    "{}; joins the relay saw from it: {}",
                    self.refusing_error, self.joins_from_refusing_client
                ),
            ),
            Saw::new(
                format!("client allowing {:?}", self.allowed_policy),
                format!(
                    "joined: {}; meeting carried by relay {} in region {:?}",
                    self.allowed_joined, self.reported_relay, self.reported_region
                ),
            ),
            Saw::new(
                format!(
                    "cascade {:?}, host allowing {:?}",
                    self.cascade_regions, self.fenced_policy
                ),
                format!("guest on the far relay: {}", self.far_join_error),
            ),
            Saw::new(
                "meeting without a policy",
                format!(
                    "keyed on both relays: {}; carried by {}",
                    self.open_joined,
                    self.open_carriers
                        .iter()
                        .map(|(n, r)| format!("{n} ({r})"))
                        .collect::<Vec<_>>()
                        .join(", ")
                ),
            ),
        ]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::Outcome;

    fn good() -> Obs {
        Obs {
            relay_region: "eu-west".into(),
            refused_by_region_policy: true,
            allowed_joined: true,
            reported_region: "eu-west".into(),
            reported_relay: "127.0.0.1:1".into(),
            cascade_regions: vec!["eu-west".into(), "us-east".into()],
            far_refused_by_geofence: true,
            open_joined: true,
            open_carriers: vec![
                ("relay-us-east".into(), "us-east".into()),
                ("relay-eu-west".into(), "eu-west".into()),
            ],
            ..Obs::default()
        }
    }

    #[test]
    fn a_far_join_that_got_in_fails() {
        let mut o = good();
        o.far_refused_by_geofence = false;
        assert_eq!(o.judge().outcome(), Outcome::Fail);
        let mut o = good();
        o.open_carriers.pop();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn passes_on_good_observations() {
        assert_eq!(good().judge().outcome(), Outcome::Pass);
    }

    #[test]
    fn a_join_from_the_refusing_client_fails() {
        let mut o = good();
        o.sabotage();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }

    #[test]
    fn a_wrong_reported_region_fails() {
        let mut o = good();
        o.reported_region = "us-east".into();
        assert_eq!(o.judge().outcome(), Outcome::Fail);
    }
}
