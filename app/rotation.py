"""`safeshare rotate-key`'s second half: the key ring's own keys (docs/operations.md, "Keys over time").

The ring's lookup key (every `subkey` and `lookup_hash`, the audit chain's key, the blind indexes)
and its retention chain are replaced in the file first, the old ones kept (the lookup key retired:
it only finds and opens, never writes; the chain until nothing names it). Then one transaction
moves everything the ring alone can move to the new keys, each package its own rows, and writes
the audit entry that marks where the chain's new key starts. A crash between the two leaves every
row under a key the file still holds; running it again finishes the move.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from app.auth import service as auth
from app.auth.models import User
from app.cases import access
from app.crypto import holders, keys
from app.crypto.keyring import KeyRing
from app.equality import service as equality
from app.saved_views import service as saved_views


@dataclass(frozen=True)
class Moved:
    """What one rotation moved to the new keys, for the command's line and the note in the docs."""

    closed_cases: int
    totp_secrets: int
    exclusions: int
    exclusions_left: int
    key_holders: int
    equality_pending: int
    saved_views: int

    def line(self) -> str:
        return (f"{self.closed_cases} closed case(s) to the new retention chain, {self.totp_secrets} two-factor "
                f"secret(s), {self.exclusions} exclusion(s), {self.key_holders} key holder row(s), "
                f"{self.equality_pending} pending equality answer(s), {self.saved_views} saved search(es)")


def reseal(session: Session, ring: KeyRing, *, done: Callable[[int], None] | None = None) -> Moved:
    """Move what the ring alone can move to its active lookup key and retention chain (one transaction:
    the caller's). Receipts' hashes and recovery codes stay under the retired key (only their holders
    have them); a receipt moves when it is next redeemed."""
    closed = keys.rewrap_retired_chains(session, ring, done=done)
    user_ids = list(session.scalars(select(User.id)).all())
    moved, left = access.rekey_exclusions(session)
    return Moved(
        closed_cases=closed,
        totp_secrets=auth.reseal_totp_secrets(session, ring),
        exclusions=moved,
        exclusions_left=left,
        key_holders=holders.rekey(session, user_ids),
        equality_pending=equality.reseal_pool(session, ring),
        saved_views=saved_views.reseal_under_ring(session, ring),
    )


def forget_unused_chains(session: Session, ring: KeyRing) -> int:
    """After the move committed: drop the retired retention chains no live row names (all of them,
    unless a purge or a crash came between); how many."""
    return ring.forget_chains(keys.chains_in_use(session))
