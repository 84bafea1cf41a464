//! Gates' reported feed positions and client cut-offs, with when each gate
//! applied each cut-off (see [`crate::gate_reach`]).

use sqlx::{Any, AnyConnection, Executor};

use crate::clock::Epoch;
use crate::error::Result;

/// One gate process, as its latest report left it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct GateConnectionRow {
    pub gate_id: String,
    pub instance: String,
    pub api_id: String,
    pub peer: String,
    pub version: String,
    pub position: i64,
    pub changes_behind: i64,
    pub behind_since: Option<Epoch>,
    pub first_seen: Epoch,
    pub last_seen: Epoch,
}

/// A gate connection with its credential's name.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct NamedConnectionRow {
    #[sqlx(flatten)]
    pub connection: GateConnectionRow,
    pub gate_name: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct CutOffRow {
    pub seq: i64,
    pub api_id: String,
    pub account_id: String,
    pub client_id: String,
    pub action: String,
    pub at_ms: i64,
}

const CONNECTION: &str = "c.gate_id, c.instance, c.api_id, c.peer, c.version, c.position, \
     c.changes_behind, c.behind_since, c.first_seen, c.last_seen";

/// The position `gate_id`'s `instance` reported last, if it has before.
pub async fn position(
    conn: &mut AnyConnection,
    gate_id: &str,
    instance: &str,
) -> Result<Option<(i64, Option<Epoch>)>> {
    Ok(sqlx::query_as(
        "select position, behind_since from gate_connections where gate_id = $1 and instance = $2",
    )
    .bind(gate_id)
    .bind(instance)
    .fetch_optional(conn)
    .await?)
}

/// How many processes of `gate_id` were heard from since `since`.
pub async fn live_instances(conn: &mut AnyConnection, gate_id: &str, since: Epoch) -> Result<i64> {
    let (n,): (i64,) = sqlx::query_as(
        "select count(*) from gate_connections where gate_id = $1 and last_seen >= $2",
    )
    .bind(gate_id)
    .bind(since)
    .fetch_one(conn)
    .await?;
    Ok(n)
}

/// Writes `row` over the connection's last report (its `first_seen` kept).
/// A report overtaken by a newer one (both in flight to two nodes) does
/// not move the position back, unless the process has been silent a while
/// (it then started over from an older node's snapshot).
pub async fn put(conn: &mut AnyConnection, row: &GateConnectionRow) -> Result<()> {
    sqlx::query(
        "insert into gate_connections (gate_id, instance, api_id, peer, version, position,
             changes_behind, behind_since, first_seen, last_seen)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
         on conflict (gate_id, instance) do update set
             api_id = excluded.api_id, peer = excluded.peer, version = excluded.version,
             position = excluded.position, changes_behind = excluded.changes_behind,
             behind_since = excluded.behind_since, last_seen = excluded.last_seen
         where gate_connections.position <= excluded.position
            or gate_connections.last_seen + 10 < excluded.last_seen",
    )
    .bind(&row.gate_id)
    .bind(&row.instance)
    .bind(&row.api_id)
    .bind(&row.peer)
    .bind(&row.version)
    .bind(row.position)
    .bind(row.changes_behind)
    .bind(row.behind_since)
    .bind(row.first_seen)
    .bind(row.last_seen)
    .execute(conn)
    .await?;
    Ok(())
}

/// Every gate process heard from since `since`, by credential and instance.
pub async fn connections_since<'e>(
    db: impl Executor<'e, Database = Any>,
    since: Epoch,
    limit: i64,
) -> Result<Vec<NamedConnectionRow>> {
    Ok(sqlx::query_as(&format!(
        "select {CONNECTION}, coalesce(g.name, c.gate_id) as gate_name
         from gate_connections c left join gate_credentials g on g.id = c.gate_id
         where c.last_seen >= $1 order by c.api_id, gate_name, c.first_seen, c.instance
         limit $2"
    ))
    .bind(since)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// `api_id`'s gate processes that were heard from between `from` and `to`
/// (at most `limit`).
pub async fn connections_of_api_between<'e>(
    db: impl Executor<'e, Database = Any>,
    api_id: &str,
    (from, to): (Epoch, Epoch),
    limit: i64,
) -> Result<Vec<NamedConnectionRow>> {
    Ok(sqlx::query_as(&format!(
        "select {CONNECTION}, coalesce(g.name, c.gate_id) as gate_name
         from gate_connections c left join gate_credentials g on g.id = c.gate_id
         where c.api_id = $1 and c.last_seen >= $2 and c.first_seen <= $3
         order by gate_name, c.first_seen, c.instance limit $4"
    ))
    .bind(api_id)
    .bind(from)
    .bind(to)
    .bind(limit)
    .fetch_all(db)
    .await?)
}

/// The credentials of `api_id` with a process that started after `after`
/// at a position at or past `seq`.
pub async fn restarted_past<'e>(
    db: impl Executor<'e, Database = Any>,
    api_id: &str,
    after: Epoch,
    seq: i64,
) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select distinct gate_id from gate_connections
         where api_id = $1 and first_seen > $2 and position >= $3",
    )
    .bind(api_id)
    .bind(after)
    .bind(seq)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(g,)| g).collect())
}

/// The newest cut-off of each of `account_id`'s clients since `since_ms`.
pub async fn cut_off_clients<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    since_ms: i64,
) -> Result<Vec<String>> {
    let rows: Vec<(String,)> = sqlx::query_as(
        "select distinct client_id from cut_offs where account_id = $1 and at_ms >= $2",
    )
    .bind(account_id)
    .bind(since_ms)
    .fetch_all(db)
    .await?;
    Ok(rows.into_iter().map(|(c,)| c).collect())
}

/// Records a cut-off in the change's own transaction.
pub async fn insert_cut_off(conn: &mut AnyConnection, row: &CutOffRow) -> Result<()> {
    sqlx::query(
        "insert into cut_offs (seq, api_id, account_id, client_id, action, at_ms)
         values ($1, $2, $3, $4, $5, $6)",
    )
    .bind(row.seq)
    .bind(&row.api_id)
    .bind(&row.account_id)
    .bind(&row.client_id)
    .bind(&row.action)
    .bind(row.at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// `api_id`'s cut-offs at positions in `(after, upto]`, oldest first.
pub async fn cut_offs_between(
    conn: &mut AnyConnection,
    api_id: &str,
    after: i64,
    upto: i64,
) -> Result<Vec<i64>> {
    let rows: Vec<(i64,)> = sqlx::query_as(
        "select seq from cut_offs where api_id = $1 and seq > $2 and seq <= $3 order by seq",
    )
    .bind(api_id)
    .bind(after)
    .bind(upto)
    .fetch_all(conn)
    .await?;
    Ok(rows.into_iter().map(|(s,)| s).collect())
}

/// Records that a gate process applied the cut-off at `seq` (the first
/// report of it counts).
pub async fn applied(
    conn: &mut AnyConnection,
    seq: i64,
    gate_id: &str,
    instance: &str,
    at_ms: i64,
) -> Result<()> {
    sqlx::query(
        "insert into cut_off_applied (seq, gate_id, instance, applied_at_ms)
         values ($1, $2, $3, $4) on conflict (seq, gate_id, instance) do nothing",
    )
    .bind(seq)
    .bind(gate_id)
    .bind(instance)
    .bind(at_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// The newest cut-off of `account_id`'s client `client_id`.
pub async fn newest_cut_off<'e>(
    db: impl Executor<'e, Database = Any>,
    account_id: &str,
    client_id: &str,
) -> Result<Option<CutOffRow>> {
    Ok(sqlx::query_as(
        "select seq, api_id, account_id, client_id, action, at_ms from cut_offs
         where account_id = $1 and client_id = $2 order by seq desc limit 1",
    )
    .bind(account_id)
    .bind(client_id)
    .fetch_optional(db)
    .await?)
}

/// When each gate process applied the cut-off at `seq`: (gate, instance,
/// milliseconds since the epoch).
pub async fn applied_of<'e>(
    db: impl Executor<'e, Database = Any>,
    seq: i64,
) -> Result<Vec<(String, String, i64)>> {
    Ok(sqlx::query_as(
        "select gate_id, instance, applied_at_ms from cut_off_applied where seq = $1",
    )
    .bind(seq)
    .fetch_all(db)
    .await?)
}

/// Forgets gate processes silent since `before` and cut-offs made before
/// `before_ms`, with what was applied of them (in one transaction: no
/// applied row outlives its cut-off).
pub async fn prune(conn: &mut AnyConnection, before: Epoch, before_ms: i64) -> Result<()> {
    sqlx::query("delete from gate_connections where last_seen < $1")
        .bind(before)
        .execute(&mut *conn)
        .await?;
    sqlx::query(
        "delete from cut_off_applied where seq in (select seq from cut_offs where at_ms < $1)",
    )
    .bind(before_ms)
    .execute(&mut *conn)
    .await?;
    sqlx::query("delete from cut_offs where at_ms < $1")
        .bind(before_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
