//! Keys in and out: an epoch's keys installed (e2ee or transport mode), expired ones erased.

use hush_frame::{FrameError, Sealer, Voucher};
use hush_group::SenderSecret;
use hush_group::issued::Issued;
use hush_session::IssuedRefusal;

use super::{Keys, base_key, suite_of};
use crate::shared::SealState;

impl Keys {
    /// Installs one receive key; `sender_auth`: its sender vouches for its frames (SPEC §14).
    pub(super) fn add_key(
        &mut self,
        epoch: u64,
        s: &SenderSecret,
        sender_auth: bool,
    ) -> Result<(), FrameError> {
        let (suite, key) = (suite_of(s.suite)?, base_key(s)?);
        let added = if sender_auth {
            self.opener.add_sender_key(s.kid, suite, key)
        } else {
            self.opener.add_key(s.kid, suite, key)
        };
        match added {
            Ok(()) | Err(FrameError::DuplicateKid(_)) => {}
            Err(e) => return Err(e),
        }
        self.epochs.entry(epoch).or_default().kids.push(s.kid);
        Ok(())
    }

    /// Installs an epoch's keys: every receiver key in the opener, the own key as the sealer.
    pub(crate) fn install_epoch(
        &mut self,
        epoch: u64,
        mine: &SenderSecret,
        receivers: &[SenderSecret],
    ) -> Result<(), FrameError> {
        let auth = self.sender_auth();
        for r in receivers {
            self.add_key(epoch, r, auth)?;
        }
        if let Some(keys) = &mut self.forge_keys {
            *keys = receivers
                .iter()
                .map(|r| (hush_group::split_kid(r.kid).1, r.clone()))
                .collect();
        }
        let sealer = Sealer::new(suite_of(mine.suite)?, mine.kid, base_key(mine)?);
        self.keyed = Some(epoch);
        if self.awaiting.is_some_and(|a| a <= epoch) {
            self.awaiting = None;
        }
        self.shared.set_sealer(Some(SealState {
            sealer,
            epoch,
            voucher: auth.then(Voucher::new),
        }));
        Ok(())
    }

    /// Transport mode: installs the issued epoch's own key; receiver keys come lazily.
    pub(crate) fn install_issued(
        &mut self,
        issued: &Issued,
        previous: Option<&Issued>,
        now: u64,
        grace: u64,
    ) -> Result<(), IssuedRefusal> {
        let mine = issued.my_sender()?;
        match previous {
            Some(p) if p.meeting != issued.meeting => self.clear(),
            Some(p) if p.epoch != issued.epoch => {
                self.expiring.push((p.epoch, now.saturating_add(grace)));
            }
            _ => {}
        }
        let key = base_key(&mine)?;
        let sealer = Sealer::new(issued.suite, mine.kid, key);
        self.keyed = Some(issued.epoch);
        self.transport = Some(issued.clone());
        // Transport mode: the relay's key service holds every key; nothing to vouch with.
        self.shared.set_sealer(Some(SealState {
            sealer,
            epoch: issued.epoch,
            voucher: None,
        }));
        Ok(())
    }

    /// Earliest transport-mode key expiry.
    pub(crate) fn poll_timeout(&self) -> Option<u64> {
        self.expiring.iter().map(|(_, at)| *at).min()
    }

    /// Transport-mode epochs whose grace is over.
    pub(crate) fn poll(&mut self, now: u64) -> Vec<u64> {
        let mut due = Vec::new();
        self.expiring.retain(|(e, at)| {
            if *at <= now {
                due.push(*e);
                false
            } else {
                true
            }
        });
        due
    }

    /// Erases every key of `epoch`.
    pub(crate) fn expire(&mut self, epoch: u64) {
        if let Some(e) = self.epochs.remove(&epoch) {
            for kid in e.kids {
                self.opener.remove_key(kid);
            }
        }
    }
}
