//! The per-(cid, T_obs, run) state of the predictor: halves waiting for
//! their partner, duplicates, the offsets they hold, failed fits and sizes.
//!
//! A half is keyed by its cascade run as well (README, Guarantees): the
//! same data set sent again right after `end` has its sizes arrive while
//! the first run's still wait for their parameters, and keyed by
//! (cid, T_obs) alone they were taken for duplicates and lost. A half
//! without lineage (a course producer's) has no run: it pairs with the
//! other half of its (cid, T_obs) whatever that one's run, so a course
//! estimator still works beside our collector.

use super::Predictor;
use super::done::Done;
use super::state::{Half, Key, Pending, Run};
use crate::schema::{FailedMsg, Message, SizeMsg, Window};
use crate::stage::{Ctx, Origin, StageError};

impl Predictor {
    /// Advances the stage's clock, which never goes back, so that the
    /// expiry queues stay sorted whatever the driver passes.
    pub(super) fn advance(&mut self, now: f64) -> f64 {
        if now.is_finite() {
            self.clock = self.clock.max(now);
        }
        self.clock
    }

    /// The entry for `key`, created (and queued for expiry) if new.
    pub(super) fn entry(&mut self, key: &Key) -> &mut Pending {
        if !self.pending.contains_key(key) {
            self.seq += 1;
            self.pending_queue
                .push_back((self.clock, self.seq, key.clone()));
            self.compact_expiry_queue();
            let seq = self.seq;
            self.pending.insert(
                key.clone(),
                Pending {
                    seq,
                    ..Pending::default()
                },
            );
            self.runs
                .entry((key.0.clone(), key.1))
                .or_default()
                .push(key.2);
        }
        self.pending.entry(key.clone()).or_default()
    }

    /// Drops the expiry queue's items of keys completed or re-created
    /// since: they are skipped at expiry, but until then (`state_ttl`, 7
    /// days) every key ever created kept its item, about 80 bytes each
    /// (bench-kafka: the predictor's RSS grew by 10 MiB over 67,000 keys).
    /// Run when stale items outnumber the live ones, so its cost is O(1)
    /// per created key, amortized.
    fn compact_expiry_queue(&mut self) {
        if self.pending_queue.len() <= 2 * self.pending.len() + 1024 {
            return;
        }
        let pending = &self.pending;
        self.pending_queue
            .retain(|(_, seq, key)| pending.get(key).is_some_and(|e| e.seq == *seq));
        self.pending_queue
            .shrink_to(2 * self.pending_queue.len() + 1024);
    }

    pub(super) fn hold(&mut self, origin: Origin) {
        *self
            .held
            .entry(origin.partition)
            .or_default()
            .entry(origin.offset)
            .or_default() += 1;
    }

    pub(super) fn release(&mut self, origin: Origin) {
        if let Some(offsets) = self.held.get_mut(&origin.partition) {
            if let Some(n) = offsets.get_mut(&origin.offset) {
                *n -= 1;
                if *n == 0 {
                    offsets.remove(&origin.offset);
                }
            }
            if offsets.is_empty() {
                self.held.remove(&origin.partition);
            }
        }
    }

    /// Frees an entry and the offsets it held.
    pub(super) fn remove(&mut self, key: &Key) -> Option<Pending> {
        let entry = self.pending.remove(key)?;
        let cid_window = (key.0.clone(), key.1);
        if let Some(runs) = self.runs.get_mut(&cid_window) {
            runs.retain(|r| *r != key.2);
            if runs.is_empty() {
                self.runs.remove(&cid_window);
            }
        }
        if let Some((_, origin)) = &entry.predicted {
            self.release(*origin);
        }
        if let Some((_, origin)) = &entry.size {
            self.release(*origin);
        }
        if let Some(l) = entry.size_lineage {
            self.unwait(l, key);
        }
        if let Some(origin) = entry.failed {
            self.release(origin);
        }
        Some(entry)
    }

    /// The key a half of (cid, T_obs) and `run` belongs to: its run's
    /// entry; else, between a half with lineage and one without, an entry
    /// still lacking this half (the oldest); else a new one of its run.
    pub(super) fn key_of(&self, cid: String, t_obs: Window, run: Option<Run>, half: Half) -> Key {
        let Some(runs) = self.runs.get(&(cid.clone(), t_obs)) else {
            return (cid, t_obs, run);
        };
        let lacks = |r: &Option<Run>| {
            self.pending
                .get(&(cid.clone(), t_obs, *r))
                .is_some_and(|e| !half.held_by(e))
        };
        let found = if runs.contains(&run) {
            Some(run)
        } else if run.is_some() {
            runs.iter().copied().find(|r| r.is_none() && lacks(r))
        } else {
            // Without a run, the (cid, T_obs) alone: an entry lacking this
            // half, or else one holding it (a duplicate).
            runs.iter().copied().find(lacks).or(runs.first().copied())
        };
        (cid, t_obs, found.unwrap_or(run))
    }

    /// Whether this half repeats one already handled: its key completed
    /// (remembered by run, and without run for halves that came without
    /// lineage), or its entry holds this half already.
    pub(super) fn is_duplicate(&mut self, key: &Key, run: Option<Run>, half: Half) -> bool {
        let done = self.done.get(&(key.0.clone(), key.1, run)).is_some();
        let dup = done || self.pending.get(key).is_some_and(|e| half.held_by(e));
        if dup {
            self.stats.duplicates += 1;
        }
        dup
    }

    /// Refuses a window the predictor is not configured for.
    pub(super) fn check_window(&self, cid: &str, t_obs: Window) -> Result<(), StageError> {
        if self.cfg.windows.is_empty() || self.cfg.windows.contains(&t_obs) {
            Ok(())
        } else {
            Err(StageError::Invalid(format!(
                "cascade {cid}: window {t_obs} is not one of the configured windows {:?}",
                self.cfg.windows
            )))
        }
    }

    pub(super) fn on_failed(&mut self, f: FailedMsg, ctx: Ctx) -> Result<(), StageError> {
        let t_obs = f.t_obs.ok_or_else(|| {
            StageError::Invalid(format!("failed fit of cascade {} without T_obs", f.cid))
        })?;
        self.check_window(&f.cid, t_obs)?;
        self.passed(f.lineage, t_obs, ctx.origin.partition);
        let run = f.lineage.map(|l| l.run());
        let key = self.key_of(f.cid, t_obs, run, Half::Fit);
        if self.is_duplicate(&key, run, Half::Fit) {
            return Ok(());
        }
        self.mark_failed(&key, run, ctx);
        Ok(())
    }

    /// Records that `key` will have no prediction, so its size completes
    /// it instead of waiting (and holding the commit) for `state_ttl`.
    pub(super) fn mark_failed(&mut self, key: &Key, run: Option<Run>, ctx: Ctx) {
        self.stats.failed_fits += 1;
        self.advance(ctx.now);
        self.hold(ctx.origin);
        let entry = self.entry(key);
        entry.failed = Some(ctx.origin);
        entry.join(run);
        if entry.size.is_some() {
            self.close_failed(key);
        }
    }

    /// Refuses parameters that cannot give a prediction (the driver
    /// dead-letters them) and marks the key failed.
    pub(super) fn refuse(
        &mut self,
        key: &Key,
        run: Option<Run>,
        ctx: Ctx,
        reason: String,
    ) -> StageError {
        self.mark_failed(key, run, ctx);
        StageError::Invalid(reason)
    }

    /// A failed fit and its size: nothing to score, forget the entry but
    /// remember the key.
    pub(super) fn close_failed(&mut self, key: &Key) {
        if let Some(e) = self.remove(key) {
            let partition = e.failed.map_or(-1, |o| o.partition);
            self.remember(key, &e, partition);
        }
    }
    pub(super) fn on_size(
        &mut self,
        s: SizeMsg,
        ctx: Ctx,
        out: &mut Vec<Message>,
    ) -> Result<(), StageError> {
        self.stats.sizes += 1;
        let t_obs = s.t_obs.ok_or_else(|| {
            StageError::Invalid(format!("size of cascade {} without T_obs", s.cid))
        })?;
        self.check_window(&s.cid, t_obs)?;
        let run = s.lineage.map(|l| l.run());
        let key = self.key_of(s.cid, t_obs, run, Half::Size);
        if self.is_duplicate(&key, run, Half::Size) {
            return Ok(());
        }
        let matched = self
            .pending
            .get(&key)
            .is_some_and(|e| e.predicted.is_some() || e.failed.is_some());
        if !matched && let Some(l) = s.lineage {
            if self.is_orphan(l, t_obs, ctx.origin.partition) {
                self.count_orphan(&key, t_obs);
                return Ok(());
            }
            self.wait(l, t_obs, &key);
        }
        self.advance(ctx.now);
        self.hold(ctx.origin);
        let entry = self.entry(&key);
        entry.size = Some((s.n_tot, ctx.origin));
        entry.join(run);
        if !matched {
            entry.size_lineage = s.lineage;
        }
        if entry.predicted.is_some() {
            self.complete(&key, out);
        } else if entry.failed.is_some() {
            self.close_failed(&key);
        }
        Ok(())
    }

    /// Remembers a completed key, by its run and, if a half came without
    /// lineage, without it too (where such a half's replay looks).
    pub(super) fn remember(&mut self, key: &Key, e: &Pending, partition: i32) {
        let done = Done {
            at: self.clock,
            partition,
        };
        self.done.insert(&(key.0.clone(), key.1, e.run), done);
        if e.unrun && e.run.is_some() {
            self.done.insert(&(key.0.clone(), key.1, None), done);
        }
    }
}

impl Pending {
    /// Notes the run of a half joining this entry.
    pub(super) fn join(&mut self, run: Option<Run>) {
        self.run = self.run.or(run);
        self.unrun |= run.is_none();
    }
}
