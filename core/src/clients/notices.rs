//! What a client's card says of its end: "Expires in 3 days", and the
//! dormancy warning while it stands (see [`crate::lifecycle`]).

use crate::clock::Epoch;
use crate::store;
use crate::store::clients::ClientRow;

/// When `row` was warned it would be retired as dormant, if that warning
/// still stands: it counted from the client's last use as the database has
/// it, so a use since (written by any node within seconds) ends it.
pub(super) fn warned_for(warned: &[(String, Epoch, Epoch)], row: &ClientRow) -> Option<Epoch> {
    let since = row.last_used_at.unwrap_or(row.created_at);
    warned
        .iter()
        .filter(|(id, basis, _)| *id == row.id && *basis == since)
        .map(|(.., sent)| *sent)
        .min()
}

/// "Expires in 3 days" / "Retires within a day" for a live client whose
/// end is within 30 days.
pub(super) fn ends_soon(
    expires_at: Option<Epoch>,
    retire_at: Option<Epoch>,
    disabled_at: Option<Epoch>,
    now: Epoch,
) -> Option<String> {
    if disabled_at.is_some() {
        return None;
    }
    let (end, retires) = store::lifecycle::first_end(expires_at, retire_at)?;
    if end <= now || end - now > 30 * 86_400 {
        return None;
    }
    Some(crate::lifecycle::ends_phrase(end, retires, now))
}
