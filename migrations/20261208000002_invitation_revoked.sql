-- A revoked invitation is kept (marked), so what a workspace and an admin
-- sent today still counts against the daily cap after a revoke.
alter table invitation add column revoked_at timestamptz;
create index invitation_invited_by_idx on invitation (invited_by, created_at);
