//! The hook a key service plugs into the relay for transport mode (issue 5, SPEC §12), without
//! the relay crate linking any content crypto.

use bytes::Bytes;
use hush_wire::{ParticipantId, RelayMode, Target};

/// A blob the hook wants delivered; it arrives as `Deliver { from: 0, blob }` (SPEC §7.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HookMessage {
    /// Recipient(s) in the room.
    pub to: Target,
    /// Opaque bytes.
    pub blob: Bytes,
}

/// Callbacks from the relay. All methods have no-op defaults. They run on the relay's tasks:
/// keep them short and never block.
pub trait RelayHook: Send + Sync + 'static {
    /// Advertised in `Hello.relay_mode`.
    fn mode(&self) -> RelayMode {
        RelayMode::E2ee
    }

    /// `id` joined `room`, whose members are now `members` (including `id`).
    fn on_join(
        &self,
        room: &str,
        id: ParticipantId,
        members: &[ParticipantId],
    ) -> Vec<HookMessage> {
        let _ = (room, id, members);
        Vec::new()
    }

    /// `id` left `room`; `members` are the ones who remain.
    fn on_leave(
        &self,
        room: &str,
        id: ParticipantId,
        members: &[ParticipantId],
    ) -> Vec<HookMessage> {
        let _ = (room, id, members);
        Vec::new()
    }

    /// `from` sent `blob` to participant 0 (the relay).
    fn on_blob(&self, room: &str, from: ParticipantId, blob: &[u8]) -> Vec<HookMessage> {
        let _ = (room, from, blob);
        Vec::new()
    }

    /// Every media frame the relay forwards, exactly as received.
    fn on_media(&self, room: &str, from: ParticipantId, frame: &[u8]) {
        let _ = (room, from, frame);
    }
}
