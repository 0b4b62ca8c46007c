//! A non-member attacking a meeting from inside its room (issue 10, items 2 and 8): a raw
//! [`RelayConnection`] that joined the room but was never admitted, doing what a test chooses
//! from every attack a room member can make within its relay budget: group `Hello`s to the host
//! and to everyone, valid join requests under fresh identities, junk blobs, SFrame-shaped
//! frames that no key opens.
//!
//! The client abuse tests and the memory test (`tests/abuse_memory.rs`) run the same attacker
//! with their own [`Move`] mix.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use hush_client::net::{self, NetError, RelayConnection};
use hush_group::{Identity, Member, MemberConfig, Message};
use hush_wire::{ParticipantId, Target};

use crate::meeting::GUARD;
use crate::{connect_raw, sframe_frame};

/// One attack message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Move {
    /// A group `Hello` to the host (which may answer with its roster).
    HelloToHost,
    /// A group `Hello` to everyone in the room.
    HelloToAll,
    /// A valid join request to the host under a fresh identity, made from the latest roster the
    /// attacker holds (nothing is sent before it holds one).
    JoinRequest,
    /// A blob of `len` bytes of `fill` to the host.
    Junk {
        /// Bytes in the blob.
        len: usize,
        /// The byte repeated.
        fill: u8,
    },
    /// An SFrame-shaped media frame ([`sframe_frame`]) of `len` junk bytes, its KID claiming
    /// sender 0 in `epoch`, its counter the number of the move.
    Frame {
        /// The epoch the KID claims.
        epoch: Epoch,
        /// Bytes after the header.
        len: usize,
    },
}

/// The epoch a forged frame claims.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Epoch {
    /// Always this one.
    Fixed(u64),
    /// The one after the latest roster the attacker has seen (after epoch 1 before any).
    Next,
}

/// A non-member in a room, attacking its host.
#[derive(Debug)]
pub struct Attacker {
    conn: RelayConnection,
    events: net::Events,
    room: String,
    host: u64,
    roster: Option<Bytes>,
    epoch: u64,
}

impl Attacker {
    /// Connects to the relay at `addr` pinned to `pin` and joins `room`, whose host has relay id
    /// `host`.
    pub async fn connect(
        addr: SocketAddr,
        pin: [u8; 32],
        room: &str,
        host: u64,
    ) -> Result<Self, NetError> {
        let (conn, events) = connect_raw(addr, pin).await?;
        conn.join(room).await?;
        Ok(Attacker {
            conn,
            events,
            room: room.to_owned(),
            host,
            roster: None,
            epoch: 1,
        })
    }

    /// The raw connection, for attacks of a test's own.
    pub fn connection(&self) -> &RelayConnection {
        &self.conn
    }

    /// Sends the host a `Hello` and waits for its first answer, kept as the roster to make join
    /// requests from. False if the connection closed first; panics after [`GUARD`].
    pub async fn fetch_roster(&mut self) -> bool {
        self.conn
            .send_blob(self.to_host(), hello())
            .await
            .expect("cannot send a Hello to the host");
        loop {
            match tokio::time::timeout(GUARD, self.events.recv())
                .await
                .expect("the host never answered the Hello")
            {
                Some(net::Event::Deliver { from, blob }) if from.0 == self.host => {
                    self.learn(blob, true);
                    return true;
                }
                Some(_) => {}
                None => return false,
            }
        }
    }

    /// Plays `mix` until `until` at a steady 200 moves a second: each `(times, move)` that many
    /// times in a row, then the whole mix again. Reads what the relay delivers in between (a
    /// newer roster is kept). Stops early when the relay closes the connection or refuses a
    /// send. Returns how many moves were made.
    pub async fn run(&mut self, mix: &[(usize, Move)], until: Instant) -> u64 {
        let cycle: usize = mix.iter().map(|(times, _)| times).sum();
        let mut n = 0u64;
        let mut tick = tokio::time::interval(Duration::from_millis(5));
        // A starved test process must not turn into bursts.
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while Instant::now() < until {
            tick.tick().await;
            if !self.read_events() {
                return n;
            }
            let Some(m) = move_at(mix, cycle, n) else {
                return n;
            };
            if self.play(m, n).await.is_err() {
                return n;
            }
            n += 1;
        }
        n
    }

    /// Takes what is queued; false once the connection is closed.
    fn read_events(&mut self) -> bool {
        while let Ok(ev) = self.events.try_recv() {
            match ev {
                net::Event::Deliver { blob, .. } => self.learn(blob, false),
                net::Event::Closed { .. } => return false,
                _ => {}
            }
        }
        true
    }

    /// Keeps `blob` as the roster if it is one (or if `any`), and its epoch.
    fn learn(&mut self, blob: Bytes, any: bool) {
        let roster_epoch = match Message::decode(&blob) {
            Ok(Message::Roster(r)) => Some(r.content.epoch),
            Ok(Message::Commit(c)) => Some(c.content.epoch),
            _ => None,
        };
        if let Some(e) = roster_epoch {
            self.epoch = self.epoch.max(e);
        }
        if any || roster_epoch.is_some() {
            self.roster = Some(blob);
        }
    }

    fn to_host(&self) -> Target {
        Target::Participant(ParticipantId(self.host))
    }

    async fn play(&self, m: Move, n: u64) -> Result<(), NetError> {
        match m {
            Move::HelloToHost => self.conn.send_blob(self.to_host(), hello()).await,
            Move::HelloToAll => self.conn.send_blob(Target::All, hello()).await,
            Move::JoinRequest => match self.join_request() {
                Some(req) => self.conn.send_blob(self.to_host(), req).await,
                None => Ok(()),
            },
            Move::Junk { len, fill } => {
                let junk = Bytes::from(vec![fill; len]);
                self.conn.send_blob(self.to_host(), junk).await
            }
            Move::Frame { epoch, len } => {
                let epoch = match epoch {
                    Epoch::Fixed(e) => e,
                    Epoch::Next => self.epoch + 1,
                };
                let frame = sframe_frame(hush_group::kid(epoch, 0), n, len, 0);
                self.conn.send_media(frame).await.map(|_| ())
            }
        }
    }

    /// A join request from a fresh identity, if the attacker holds a roster and the group layer
    /// makes one from it.
    fn join_request(&self) -> Option<Bytes> {
        let roster = self.roster.as_ref()?;
        let mut rng = hush_group::os_rng();
        let mut m = Member::new(
            Identity::generate(&mut rng),
            "intruder",
            &self.room,
            None,
            MemberConfig::default(),
        )
        .expect("cannot make a member");
        let _ = m.handle(self.host, roster, 0);
        m.join_request(&mut rng).ok().map(Bytes::from)
    }
}

fn hello() -> Bytes {
    hush_group::message::hello().into()
}

/// The move number `n` plays in a mix of `cycle` moves in all.
fn move_at(mix: &[(usize, Move)], cycle: usize, n: u64) -> Option<Move> {
    let mut at = usize::try_from(n % u64::try_from(cycle.max(1)).ok()?).ok()?;
    for &(times, m) in mix {
        if at < times {
            return Some(m);
        }
        at -= times;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mix_plays_each_move_its_times_in_a_row_then_again() {
        let mix = [(2, Move::HelloToHost), (1, Move::HelloToAll)];
        let played: Vec<Option<Move>> = (0..6).map(|n| move_at(&mix, 3, n)).collect();
        let (h, a) = (Some(Move::HelloToHost), Some(Move::HelloToAll));
        assert_eq!(played, [h, h, a, h, h, a]);
        assert_eq!(move_at(&[], 0, 0), None);
    }
}
