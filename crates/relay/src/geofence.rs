//! The geofence at the relay (SPEC §15.6): a `Join` may state the regions its client allows;
//! a room is carried only by relays in regions that every participant in it allows. On one
//! relay that is its own region; on a cascade it is every relay carrying the room, which the
//! cluster's directory checks against everyone's policy in one atomic step.

use hush_wire::{ErrorCode, ParticipantId};

use crate::directory::{Refusal, Unavailable};
use crate::room::Shared;

/// `allow` as it is stored and reported: `a,b`, or `*` for any region.
pub(crate) fn policy(allow: Option<&[String]>) -> String {
    allow.map_or_else(|| "*".to_owned(), |a| a.join(","))
}

fn list(regions: &[String]) -> String {
    format!("[{}]", regions.join(", "))
}

/// Whether participant `id` with policy `allow` may enter `room` here. Err carries the code and
/// reason of the `Error` the client gets: `REGION_REFUSED` naming the regions, or
/// `DIRECTORY_UNAVAILABLE` for a room new to this relay while the directory is unreachable.
pub(crate) async fn admit(
    shared: &Shared,
    room: &str,
    id: ParticipantId,
    allow: Option<&[String]>,
) -> Result<(), (ErrorCode, String)> {
    let refused = |why: String| Err((ErrorCode::REGION_REFUSED, why));
    if let Some(allow) = allow
        && !allow.contains(&shared.region)
    {
        return refused(format!(
            "this relay is in region {:?}, which the client's allowed regions {} do not list",
            shared.region,
            list(allow)
        ));
    }
    let Some(cluster) = &shared.cluster else {
        return Ok(());
    };
    // What this relay knows itself: the relays carrying the room with it, and the policies
    // their participants announced.
    let existing = shared.existing(room);
    let carried = existing.as_ref().is_some_and(|r| !r.snapshot().is_empty());
    if let Some(r) = &existing {
        let regions = cluster.carrier_regions(r);
        if let Some(allow) = allow
            && regions.iter().any(|g| !allow.contains(g))
        {
            return refused(format!(
                "room {room:?} is carried in regions {}; the client allows only {}",
                list(&regions),
                list(allow)
            ));
        }
        if let Some(p) = r
            .remote_policies()
            .into_iter()
            .find(|p| !p.split(',').any(|g| g == shared.region))
        {
            return refused(format!(
                "a participant of room {room:?} allows only regions [{}], not this relay's {:?}",
                p.replace(',', ", "),
                shared.region
            ));
        }
    }
    let Some(dir) = &cluster.directory else {
        return Ok(());
    };
    match dir.admit(room, id.0, allow).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(Refusal::Member(p))) => refused(format!(
            "a participant of room {room:?} allows only regions [{}], not this relay's {:?}",
            p.replace(',', ", "),
            shared.region
        )),
        Ok(Err(Refusal::Carrier(regions))) => refused(format!(
            "room {room:?} is carried in regions [{}]; the client allows only {}",
            regions.replace(',', ", "),
            list(allow.unwrap_or_default())
        )),
        // The room already runs here: this relay adds no region to it, and it checked the
        // joiner against the ones it knows. The directory learns of the joiner once it is back.
        Err(Unavailable(_)) if carried => {
            dir.mark_dirty();
            Ok(())
        }
        Err(Unavailable(e)) => {
            tracing::warn!(room = ?room, error = %e, "join refused: directory unreachable");
            Err((
                ErrorCode::DIRECTORY_UNAVAILABLE,
                format!(
                    "the cluster directory is unreachable: room {room:?} cannot be opened on \
                     this relay until it is back; try again"
                ),
            ))
        }
    }
}
