//! The live run: one e2ee meeting (a host and two guests) on the embedded relay, plus a hostile
//! participant, a breakout room, a connector, denied and locked-out joiners, region policies and
//! a transport-mode meeting on a second relay, and an insider forging the host (C12). Each phase fills in observations of
//! [`Evidence`]; nothing here decides a verdict.

mod forensics;
mod forgery;
mod hostile;
mod main_room;
mod others;

use std::sync::Arc;

use super::claims::Evidence;
use super::world::{Party, World};

/// The main meeting's room.
pub const MAIN_ROOM: &str = "board-meeting";
/// The host's display name.
pub const ALICE: &str = "Alice (host)";
/// The first guest.
pub const BOB: &str = "Bob Okafor";
/// The second guest.
pub const CAROL: &str = "Carol Mendes";

/// Texts the demo sent, to search for in what the relay and the recording kept.
#[derive(Debug, Default)]
pub struct Needles {
    /// Media plaintexts sent through the e2ee relay.
    pub media: Vec<String>,
    /// Chat, reaction and poll texts.
    pub data: Vec<String>,
    /// Every display name used.
    pub names: Vec<String>,
}

impl Needles {
    /// Every needle as bytes.
    pub fn all_bytes(&self) -> Vec<Vec<u8>> {
        self.media
            .iter()
            .chain(&self.data)
            .chain(&self.names)
            .map(|s| s.as_bytes().to_vec())
            .collect()
    }
}

/// Everything a phase needs.
pub struct Run {
    /// Relays and the temp dir.
    pub world: World,
    /// Host of the main meeting.
    pub alice: Party,
    /// First guest.
    pub bob: Party,
    /// Second guest (leaves in C11).
    pub carol: Party,
    /// The observations.
    pub ev: Evidence,
    /// What was sent.
    pub needles: Needles,
    /// Prints a progress line (text mode) or nothing.
    pub progress: Arc<dyn Fn(&str) + Send + Sync>,
}

impl Run {
    fn say(&self, what: &str) {
        (self.progress)(what);
    }
}

/// Runs every phase and returns the observations.
pub async fn run(progress: Arc<dyn Fn(&str) + Send + Sync>) -> anyhow::Result<Evidence> {
    progress("starting an e2ee relay (region eu-west) and a transport-mode relay on loopback");
    let world = World::start().await?;
    progress("the host opens the meeting; two guests ask to join and are admitted");
    let (alice, bob, carol) = main_room::start(&world).await?;
    let mut run = Run {
        world,
        alice,
        bob,
        carol,
        ev: Evidence::default(),
        needles: Needles::default(),
        progress,
    };
    run.needles.names = [ALICE, BOB, CAROL].iter().map(|s| s.to_string()).collect();
    main_room::first_epoch(&mut run).await?;
    main_room::data_messages(&mut run).await?;
    let mut mallory = hostile::inject(&mut run).await?;
    hostile::breakout(&mut run, &mut mallory).await?;
    mallory.close().await;
    forgery::impersonation(&mut run).await?;
    others::connector(&mut run).await?;
    others::leave(&mut run).await?;
    others::admission(&mut run).await?;
    others::geofence(&mut run).await?;
    others::transport(&mut run).await?;
    forensics::finish(run).await
}
