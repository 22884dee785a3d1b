//! The per-(cid, T_obs) state of the predictor: halves waiting for their
//! partner, duplicates, the offsets they hold, failed fits and sizes.

use super::Predictor;
use super::done::Done;
use super::state::{Key, Pending, Run};
use crate::schema::{FailedMsg, Lineage, Message, SizeMsg, Window};
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

    /// Whether this half repeats one already handled. A completed key of
    /// another run (both halves say which, through their lineage) is a new
    /// run of the same data set: it is forgotten and the half handled.
    pub(super) fn is_duplicate(
        &mut self,
        key: &Key,
        run: Option<Run>,
        has_half: impl Fn(&Pending) -> bool,
    ) -> bool {
        if let Some(Done {
            run: Some(done_run),
            ..
        }) = self.done.get(key)
            && run.is_some_and(|r| r != *done_run)
        {
            self.done.remove(key);
        }
        let dup = self.done.get(key).is_some() || self.pending.get(key).is_some_and(has_half);
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
        let key = (f.cid, t_obs);
        let run = f.lineage.map(|l| l.run());
        if self.is_duplicate(&key, run, |e| e.predicted.is_some() || e.failed.is_some()) {
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
        entry.run = entry.run.or(run);
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
            let done = Done {
                at: self.clock,
                partition,
                run: e.run,
            };
            self.done.insert(key, done);
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
        let key = (s.cid, t_obs);
        let run = s.lineage.map(|l| l.run());
        if self.is_duplicate(&key, run, |e| e.size.is_some()) {
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
        entry.run = entry.run.or(run);
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
}

/// Where a window's sizes wait for their parameters, per tweets partition.
type Stream = (i32, Window);

impl Predictor {
    /// A size whose parameters can no longer come: a parameters or failed
    /// record of its (tweets partition, window) decided after it was seen.
    fn is_orphan(&self, l: Lineage, t_obs: Window, partition: i32) -> bool {
        self.decided
            .get(&(l.partition, t_obs))
            .is_some_and(|&(d, p)| p == partition && d > l.decided)
    }

    fn count_orphan(&mut self, key: &Key, t_obs: Window) {
        self.stats.orphan_sizes += 1;
        tracing::debug!(cid = %key.0, window = t_obs, "size whose parameters can no longer come: dropped");
    }

    fn wait(&mut self, l: Lineage, t_obs: Window, key: &Key) {
        self.waiting
            .entry((l.partition, t_obs))
            .or_default()
            .insert((l.decided, key.clone()));
    }

    fn unwait(&mut self, l: Lineage, key: &Key) {
        let stream: Stream = (l.partition, key.1);
        if let Some(sizes) = self.waiting.get_mut(&stream) {
            sizes.remove(&(l.decided, key.clone()));
            if sizes.is_empty() {
                self.waiting.remove(&stream);
            }
        }
    }

    /// A parameters or failed record decided at `l.decided` came on
    /// `partition` of `cascade_properties`. Series of one tweets partition
    /// and window reach the predictor in the order the collector decided
    /// them, so every size of that stream decided earlier has had its
    /// parameters by now, or never will: those still waiting are orphans
    /// (their series was dead-lettered or lost), dropped to free the commit.
    pub(super) fn passed(&mut self, l: Option<Lineage>, t_obs: Window, partition: i32) {
        let Some(l) = l else {
            return;
        };
        let stream: Stream = (l.partition, t_obs);
        let newest = self.decided.entry(stream).or_insert((l.decided, partition));
        if newest.1 != partition || newest.0 < l.decided {
            *newest = (l.decided, partition);
        }
        let Some(sizes) = self.waiting.get_mut(&stream) else {
            return;
        };
        let mut orphans = Vec::new();
        while let Some((d, _)) = sizes.first()
            && *d < l.decided
        {
            if let Some((_, key)) = sizes.pop_first() {
                orphans.push(key);
            }
        }
        if sizes.is_empty() {
            self.waiting.remove(&stream);
        }
        for key in orphans {
            let orphan = self
                .pending
                .get(&key)
                .is_some_and(|e| e.predicted.is_none() && e.failed.is_none());
            if orphan && self.remove(&key).is_some() {
                self.count_orphan(&key, t_obs);
            }
        }
    }
}
