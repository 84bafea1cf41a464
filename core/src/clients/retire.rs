//! The end of a client: retirement now or as scheduled, cancelling it,
//! expiry of temporary clients, revocation's common step, deletion.

use super::*;

impl Clients {
    /// Retires a client now (`at` empty or past) or at `at`. Once retired,
    /// the token endpoint refuses it and every token it minted is refused
    /// by the gate and by introspection at once.
    #[tracing::instrument(skip_all, fields(account_id = %by.account_id, client_id = %client_id))]
    pub async fn retire(
        &self,
        by: Manager<'_>,
        client_id: &str,
        at: Option<Epoch>,
    ) -> Result<Client> {
        let (row, _) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        if row.disabled_at.is_some() {
            return Err(already_disabled());
        }
        let now = self.clock.now();
        match at.filter(|at| *at > now) {
            Some(at) => {
                if at > now + RETIRE_WITHIN_SECS {
                    return Err(Error::invalid(
                        "retire_at",
                        "Schedule retirement within 90 days.",
                    ));
                }
                let mut tx = self.db.begin().await?;
                if !store::clients::schedule_retirement(
                    &mut *tx,
                    &by.account_id,
                    client_id,
                    Some(at),
                )
                .await?
                {
                    return Err(already_disabled());
                }
                let detail = format!("to retire at {}", crate::calendar::date_time(at));
                self.commit_client(
                    tx,
                    by,
                    "client.retire_scheduled",
                    client_id,
                    &row.project_id,
                    detail,
                )
                .await?;
                tracing::info!(at, "client retirement scheduled");
            }
            None => {
                let reason = format!("Retired by {}", by.email);
                let used = row.last_used_at.max(
                    self.registry
                        .client(&row.id)
                        .and_then(|c| c.usage.last_used()),
                );
                let detail = match used {
                    Some(t) if now - t < RECENT_USE_SECS => {
                        format!("retired; last used {} s before", now - t)
                    }
                    _ => "retired".to_owned(),
                };
                let mut tx = self.db.begin().await?;
                if !store::clients::disable(&mut *tx, &by.account_id, client_id, now, &reason)
                    .await?
                {
                    return Err(already_disabled());
                }
                self.commit_client(tx, by, "client.retire", client_id, &row.project_id, detail)
                    .await?;
                tracing::info!(client_id, "client retired");
            }
        }
        let row = self.client_row(by, client_id).await?;
        let project = self.project_row(by, &row.project_id).await?;
        self.view_of(&by.account_id, row, &project).await
    }

    /// Cancels a scheduled retirement.
    pub async fn keep(&self, by: Manager<'_>, client_id: &str) -> Result<()> {
        let (row, _) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        let mut tx = self.db.begin().await?;
        if !store::clients::schedule_retirement(&mut *tx, &by.account_id, &row.id, None).await? {
            return Err(already_disabled());
        }
        let detail = "scheduled retirement cancelled".to_owned();
        self.commit_client(
            tx,
            by,
            "client.retire_cancelled",
            client_id,
            &row.project_id,
            detail,
        )
        .await
    }

    /// Disables `row` now with `reason`, writing `event` in the same
    /// transaction. False (and nothing written) when it was disabled
    /// already, by a racing request or another node.
    pub(crate) async fn disable_client_row(
        &self,
        row: &ClientRow,
        now: Epoch,
        reason: &str,
        event: audit::Event<'_>,
    ) -> Result<bool> {
        let mut tx = self.db.begin().await?;
        if !store::clients::disable(&mut *tx, &row.account_id, &row.id, now, reason).await? {
            return Ok(false);
        }
        self.feed
            .commit_audited(tx, event, (ChangeKind::Client, &row.id))
            .await?;
        tracing::info!(client_id = %row.id, reason, "client disabled");
        Ok(true)
    }

    /// Retires every client whose scheduled time has come; run by the
    /// server's housekeeping (on every node: each client is retired once).
    /// Returns how many.
    pub async fn retire_due(&self) -> Result<usize> {
        let now = self.clock.now();
        let due = store::clients::due_for_retirement(&self.db, now).await?;
        let mut retired = 0;
        for row in &due {
            let event = audit::Event {
                account_id: &row.account_id,
                actor: audit::Actor::System,
                action: "client.retire",
                target_kind: "client",
                target_id: &row.id,
                project_id: Some(&row.project_id),
                client_ip: None,
                detail: "retired as scheduled".into(),
            };
            let mut tx = self.db.begin().await?;
            // Cancelled (or retired otherwise) since it was found: leave it.
            if !store::clients::retire_if_due(&mut *tx, &row.account_id, &row.id, now).await? {
                continue;
            }
            self.feed
                .commit_audited(tx, event, (ChangeKind::Client, &row.id))
                .await?;
            tracing::info!(client_id = %row.id, "client retired as scheduled");
            retired += 1;
        }
        Ok(retired)
    }

    /// Writes a `client.expire` event for each temporary client that has
    /// expired since the last run; run by the server's housekeeping. The
    /// marking, the events and the feed entries commit together.
    pub async fn log_expiries(&self) -> Result<usize> {
        let now = self.clock.now();
        let mut tx = self.db.begin().await?;
        let expired = store::clients::take_newly_expired(&mut *tx, now).await?;
        if expired.is_empty() {
            return Ok(0);
        }
        for (id, account_id, project_id, name) in &expired {
            let event = audit::Event {
                account_id,
                actor: audit::Actor::System,
                action: "client.expire",
                target_kind: "client",
                target_id: id,
                project_id: Some(project_id),
                client_ip: None,
                detail: format!("temporary client {name:?} expired"),
            };
            crate::webhooks::outbox::record_and_tell(&mut tx, event, id, now).await?;
        }
        let changes: Vec<(ChangeKind, &str)> = expired
            .iter()
            .map(|(id, ..)| (ChangeKind::Client, id.as_str()))
            .collect();
        self.feed.commit(tx, &changes).await?;
        Ok(expired.len())
    }

    /// Deletes a client that can no longer get tokens (expired, retired or
    /// revoked). Live clients are retired first, never deleted.
    pub async fn delete(&self, by: Manager<'_>, client_id: &str) -> Result<()> {
        let (row, _) = self.client_to_change(by, client_id).await?;
        let by = by.principal();
        let now = self.clock.now();
        let dead = row.disabled_at.is_some() || row.expires_at.is_some_and(|at| at <= now);
        if !dead {
            return Err(Error::conflict(
                "Only expired or retired clients can be deleted; retire this one first.",
            ));
        }
        let mut tx = self.db.begin().await?;
        // Gates hold only what they must refuse: the tombstone refuses the
        // client's tokens that may still be live (issue 23).
        let until = now + crate::feed::gates::REFUSAL_KEPT_SECS;
        store::client_tombstones::bury(&mut tx, &by.account_id, client_id, until).await?;
        if !store::clients::delete(&mut tx, &by.account_id, client_id).await? {
            return Err(Error::NotFound);
        }
        let detail = format!("{:?} deleted", row.name);
        self.commit_client(tx, by, "client.delete", client_id, &row.project_id, detail)
            .await?;
        tracing::info!("client deleted");
        Ok(())
    }
}
